package krxd_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/klogind/krxdtest"
	"github.com/krx-suite/krx/internal/krxd"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

func TestMain(m *testing.M) {
	code := m.Run()
	krxdtest.Close()
	os.Exit(code)
}

// TestBothServicesOnOnePort: a shell client and a login client on the same
// listener each get the service they bound, and each is logged under it.
func TestBothServicesOnOnePort(t *testing.T) {
	r := krxdtest.Get(t)
	logs := &servertest.Logs{}
	addr := servertest.Start(t, server.Krx, krxd.New(r.Config(t, logs, krxdtest.Alice)), "127.0.0.1:0")
	dial := func(svc krxproto.Service, payload string) *krxsess.ClientSession {
		cs, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: svc,
			ServerUser: "root", ClientUser: "al", Payload: payload, Ticket: r.Ticket(t), Host: "localhost",
			Timeout: 20 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}

	sh := dial(krxproto.Shell, "echo shell-$((40+2))")
	out, err := io.ReadAll(sh)
	if err != nil || string(out) != "shell-42\n" {
		t.Errorf("shell session: %q, %v", out, err)
	}
	logs.WaitFor(t, 10*time.Second, "service=kshell", "principal="+krxdtest.Alice, "decision=accepted")

	lg := dial(krxproto.Login, "xterm/38400")
	var screen syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := lg.CopyOutput(krxsess.OutputOptions{Terminal: &screen, OnCommand: func(c krxproto.Command) error {
			if c.Control.Window() {
				return lg.SendWindow(compat.WindowSize{Rows: 24, Cols: 80})
			}
			return nil
		}})
		done <- err
	}()
	in := lg.Input()
	in.Write([]byte("echo lo''gin-$((6*7)); tty\r"))
	at := screen.WaitFor(t, 0, "login-42", 20*time.Second)
	screen.WaitFor(t, at, "/dev/pts/", 20*time.Second) // a pty: the login service
	in.Write([]byte("exit\r"))
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("login session did not end after exit")
	}
	logs.WaitFor(t, 10*time.Second, "service=eklogin", "principal="+krxdtest.Alice, "decision=accepted")
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "service=krx ") && strings.Contains(l, "decision=accepted") {
			t.Errorf("accepted connection logged without its service: %s", l)
		}
	}
}
