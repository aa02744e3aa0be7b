package krxsess

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
)

// TestEitherService: one port serving both krx services tells them apart
// by what the client bound into its authenticator checksum, not by how the
// strings look: a shell command shaped like "term/speed" is a shell
// session, a login a login; a stderr port means shell; strings that match
// neither binding are refused.
func TestEitherService(t *testing.T) {
	tr := realm(t, "aes256")
	long := strings.Repeat("x", 300) // too long for a login's term/speed
	for _, tc := range []struct {
		name    string
		svc     krxproto.Service
		payload string
		stderr  bool
		tamper  func(*krxproto.Params)
		want    krxproto.Service // "" : refused
	}{
		{"login", krxproto.Login, "xterm/38400", false, nil, krxproto.Login},
		{"shell", krxproto.Shell, "ls -l", false, nil, krxproto.Shell},
		{"shell-shaped-like-login", krxproto.Shell, "xterm/38400", false, nil, krxproto.Shell},
		{"shell-long", krxproto.Shell, "echo " + long, false, nil, krxproto.Shell},
		{"shell-stderr", krxproto.Shell, "cat", true, nil, krxproto.Shell},
		{"login-tampered", krxproto.Login, "xterm/38400", false, func(p *krxproto.Params) { p.Payload = "vt100/9600" }, ""},
		{"shell-tampered", krxproto.Shell, "ls", false, func(p *krxproto.Params) { p.ServerUser = "root" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t, "127.0.0.1:0")
			type result struct {
				svc    krxproto.Service
				params krxproto.Params
				err    error
			}
			res := make(chan result, 1)
			acceptOne(ln, func(c *net.TCPConn) error {
				a, err := Authenticate(c, ServerConfig{Acceptor: tr.acceptor(t), Service: EitherService, Prog: "rlogind"})
				if err != nil {
					res <- result{err: err}
					return err
				}
				s, err := a.Start()
				if err != nil {
					res <- result{err: err}
					return err
				}
				res <- result{svc: s.Service(), params: s.Params}
				return s.Accept()
			})
			cfg := ClientConfig{Service: tc.svc, ServerUser: "alice", ClientUser: "al", Payload: tc.payload,
				Ticket: tr.ticket(t), Host: "localhost", Stderr: tc.stderr, Timeout: 10 * time.Second, tamperParams: tc.tamper}
			cs, cerr := Dial(context.Background(), ln.Addr().String(), cfg)
			if cs != nil {
				defer cs.Close()
			}
			r := <-res
			if tc.want == "" {
				var be *BindingError
				if !errors.As(r.err, &be) || !errors.Is(r.err, krbauth.ErrBadChecksum) {
					t.Errorf("server: %v, service %q; want a binding refusal", r.err, r.svc)
				}
				var se *krxproto.StatusError
				if !errors.As(cerr, &se) || !strings.Contains(se.Message, "connection parameters refused") {
					t.Errorf("client: %v", cerr)
				}
				return
			}
			if r.err != nil || cerr != nil {
				t.Fatalf("server %v, client %v", r.err, cerr)
			}
			if r.svc != tc.want || r.params.Payload != tc.payload || r.params.ClientUser != "al" {
				t.Errorf("server saw %q %+v, want %q with payload %q", r.svc, r.params, tc.want, tc.payload)
			}
		})
	}
}
