package shelld

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/rport"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
)

// rawUser is the client user of the raw-client tests, allowed into root's
// account by a .rhosts in a temporary home (servertest.RhostsHome), so
// these tests never edit /root/.rhosts.
const rawUser = "krx-shelld-test"

// newServer starts a shell service with cfg on addr and returns its
// address and logs.
func newServer(t testing.TB, cfg server.Config, addr string) (string, *servertest.Logs) {
	t.Helper()
	logs := &servertest.Logs{}
	cfg.Log = logs.Logger()
	return servertest.Start(t, server.Shell, New(&cfg), addr), logs
}

// shServer serves root's account with a temporary home and /bin/sh as
// the shell (root's bash here sources a slow .bashrc when its stdin is a
// socket).
func shServer(t testing.TB) (string, *servertest.Logs) {
	t.Helper()
	servertest.NeedRoot(t)
	home := servertest.RhostsHome(t, "127.0.0.1 "+rawUser)
	return newServer(t, server.Config{Rhosts: true, Lookup: servertest.RootWithHome(home, "/bin/sh")}, "127.0.0.1:0")
}

// refusal reads the whole answer, which must be "\1" + want + "\n".
func refusal(t *testing.T, c io.Reader, want string) {
	t.Helper()
	got, err := io.ReadAll(c)
	if cl, ok := c.(io.Closer); ok {
		cl.Close() // ends the server's lingering close
	}
	if err != nil {
		t.Fatalf("reading refusal: %v (got %q)", err, got)
	}
	if string(got) != "\x01"+want+"\n" {
		t.Fatalf("answer %q, want %q", got, "\x01"+want+"\n")
	}
}

// rsh is a hand-written rsh client.
type rsh struct {
	c    *net.TCPConn
	errc *net.TCPConn // nil without a stderr channel
}

// dialRsh connects from a reserved port, sets up the stderr channel when
// asked (a reserved listening port, as glibc rcmd does), sends the
// handshake and checks the status byte.
func dialRsh(t testing.TB, addr, command string, stderr bool) *rsh {
	t.Helper()
	c := servertest.DialReserved(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &rsh{c: c}
	port := ""
	var l net.Listener
	if stderr {
		var p int
		var err error
		l, p, err = rport.Listen(context.Background(), "tcp4", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port = strconv.Itoa(p)
	}
	io.WriteString(c, port+"\x00")
	if stderr {
		l.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		e, err := l.Accept()
		if err != nil {
			t.Fatalf("stderr connection: %v", err)
		}
		r.errc = e.(*net.TCPConn)
		t.Cleanup(func() { r.errc.Close() })
		if p := r.errc.RemoteAddr().(*net.TCPAddr).Port; !rport.Reserved(p) {
			t.Fatalf("stderr connection from port %d, not reserved", p)
		}
	}
	io.WriteString(c, rawUser+"\x00root\x00"+command+"\x00")
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("status: %v", err)
	}
	if b[0] != 0 {
		rest, _ := io.ReadAll(c)
		t.Fatalf("refused: %q", append(b[:], rest...))
	}
	return r
}

// waitLines waits until logs has n lines containing all parts.
func waitLines(t *testing.T, logs *servertest.Logs, n int, parts ...string) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for {
		got := 0
		for _, l := range strings.Split(logs.String(), "\n") {
			ok := l != ""
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d of %d log lines with %q:\n%s", got, n, parts, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
