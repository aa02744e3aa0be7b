package krxclient

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/krx-suite/krx/internal/krxproto"
)

// TestAddr: the krx default ports, -p/-P, and bad values.
func TestAddr(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		svc  krxproto.Service
		want string
	}{
		{Options{Host: "h"}, krxproto.Login, "h:2105"},
		{Options{Host: "h"}, krxproto.Shell, "h:544"},
		{Options{Host: "h", Port: 9}, krxproto.Shell, "h:9"},
		{Options{Host: "::1"}, krxproto.Shell, "[::1]:544"},
	} {
		if got, err := tc.o.Addr(tc.svc); err != nil || got != tc.want {
			t.Errorf("%+v %s: %q %v, want %q", tc.o, tc.svc, got, err, tc.want)
		}
	}
	for _, o := range []Options{{}, {Host: "h", Port: 70000}, {Host: "h", Port: -1}} {
		if got, err := o.Addr(krxproto.Shell); err == nil {
			t.Errorf("%+v: %q, want an error", o, got)
		}
	}
}

// TestHaveCCache: a regular file where krbauth looks, nothing else.
func TestHaveCCache(t *testing.T) {
	dir := t.TempDir()
	cc := filepath.Join(dir, "cc")
	if err := os.WriteFile(cc, []byte{5, 4}, 0o600); err != nil {
		t.Fatal(err)
	}
	if !HaveCCache("FILE:" + cc) {
		t.Error("FILE: ccache not found")
	}
	if HaveCCache(filepath.Join(dir, "none")) || HaveCCache(dir) {
		t.Error("a missing file or a directory counts as a ccache")
	}
	t.Setenv("KRB5CCNAME", cc)
	if !HaveCCache("") {
		t.Error("$KRB5CCNAME ignored")
	}
	t.Setenv("KRB5CCNAME", "MEMORY:x")
	if HaveCCache("") {
		t.Error("a non-FILE ccache type counts")
	}
}

// TestNoServiceError: errors.Is and a message that names the way to a
// plain session.
func TestNoServiceError(t *testing.T) {
	var err error = &NoServiceError{Addr: "h:544", Err: syscall.ECONNREFUSED}
	if !errors.Is(err, ErrNoService) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Error("Unwrap")
	}
	if !strings.Contains(err.Error(), "h:544") || !strings.Contains(err.Error(), "-X") {
		t.Errorf("message %q", err)
	}
}
