package klogind

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/krbauth"
)

func TestEnvelopeDecision(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("verify: %w", krbauth.ErrReplay), server.Refused},
		{fmt.Errorf("verify: %w", krbauth.ErrClockSkew), server.Refused},
		{krbauth.ErrAppVersionRejected, server.Refused},
		{io.ErrUnexpectedEOF, server.Failed},
		{os.ErrDeadlineExceeded, server.Failed},
		{errors.New("something else"), server.Failed},
	} {
		if got := envelopeDecision(tc.err); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
	}
}
