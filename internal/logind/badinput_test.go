package logind

import (
	"bufio"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
)

// newServer starts a login service with cfg on a loopback port and
// returns its address and logs.
func newServer(t *testing.T, cfg server.Config) (string, *servertest.Logs) {
	t.Helper()
	logs := &servertest.Logs{}
	cfg.Log = logs.Logger()
	h := New(&cfg)
	h.IdleFlush = time.Second
	return servertest.Start(t, server.Login, h, "127.0.0.1:0"), logs
}

// refusal reads the server's whole answer, which must be a refusal
// carrying want, and EOF.
func refusal(t *testing.T, c io.Reader, want string) {
	t.Helper()
	got, err := io.ReadAll(c)
	if cl, ok := c.(io.Closer); ok {
		cl.Close() // ends the server's lingering close
	}
	if err != nil {
		t.Fatalf("reading refusal: %v (got %q)", err, got)
	}
	if len(got) == 0 || got[0] != 1 || !strings.Contains(string(got), want) || !strings.HasSuffix(string(got), ".\r\n") {
		t.Fatalf("answer %q, want \\1…%s….\\r\\n", got, want)
	}
}

func TestNonReservedPortRefused(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true})
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	refusal(t, c, "rlogind: Permission denied")
	logs.WaitFor(t, 5*time.Second, "decision=refused", "not reserved")
}

func TestRhostsOffRefused(t *testing.T) {
	addr, logs := newServer(t, server.Config{NoReservedPortCheck: true})
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "\x00alice\x00bob\x00xterm/38400\x00")
	refusal(t, c, "rlogind: .rhosts authentication disabled (start with --rhosts)")
	logs.WaitFor(t, 5*time.Second, "decision=refused", "client-user=alice", "server-user=bob", "no --rhosts")
}

func TestOverlongHandshake(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true})
	for _, tc := range []struct{ send, peer, log string }{
		{"\x00" + strings.Repeat("a", 300) + "\x00", "client-user too long", "client-user"},
		{"\x00alice\x00" + strings.Repeat("b", 300) + "\x00", "server-user too long", "server-user"},
		{"\x00alice\x00bob\x00" + strings.Repeat("x", 300) + "/9600\x00", "payload too long", "payload"},
		{"12x\x00", "bad stderr port", "port"},
	} {
		c := servertest.DialAny(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.send)
		refusal(t, c, tc.peer)
		logs.WaitFor(t, 5*time.Second, "decision=failed", tc.log)
	}
}

func TestLoginPortFieldRefused(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true})
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "1022\x00alice\x00bob\x00xterm\x00")
	refusal(t, c, "protocol error")
	logs.WaitFor(t, 5*time.Second, "decision=failed", "port field 1022")
}

func TestUnterminatedHandshakeTimesOut(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true, HandshakeTimeout: time.Second})
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "\x00alice\x00bo") // and nothing more
	refusal(t, c, "timeout reading the handshake")
	logs.WaitFor(t, 5*time.Second, "decision=failed", "no complete handshake within 1s", "client-user=alice")
}

func TestPeerClosesMidHandshake(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true})
	// Warm up so that the server's own goroutines are counted.
	c := servertest.DialAny(t, addr)
	io.WriteString(c, "\x00")
	c.Close()
	logs.WaitFor(t, 5*time.Second, "decision=failed", "peer closed")
	fds, gs := servertest.FDCount(t), runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		c := servertest.DialAny(t, addr)
		io.WriteString(c, "\x00alice\x00b")
		c.Close()
	}
	// Connections still in the listen backlog have no goroutine yet, so
	// wait for every log line first, then for the counts to settle.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := strings.Count(logs.String(), "peer closed the connection during the handshake")
		if n == 21 {
			break
		}
		if n > 21 || time.Now().After(end) {
			t.Fatalf("%d log lines for 21 half handshakes:\n%s", n, logs.String())
		}
	}
	servertest.Settle(t, fds, gs, 0, 10*time.Second)
}

func TestTermOf(t *testing.T) {
	for in, want := range map[string]string{
		"xterm/38400": "xterm", "vt100": "vt100", "vt220/fast": "vt220", "/9600": "network", "": "network",
	} {
		if got := TermOf(in); got != want {
			t.Errorf("TermOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// readStatusOK reads the confirmation "\0" and fails on a refusal.
func readStatusOK(t *testing.T, r *bufio.Reader) {
	t.Helper()
	b, err := r.ReadByte()
	if err != nil {
		t.Fatal(err)
	}
	if b != 0 {
		line, _ := r.ReadString('\n')
		t.Fatalf("refused: %q", string(b)+line)
	}
}
