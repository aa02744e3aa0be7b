package logind

import (
	"bytes"
	"github.com/krx-suite/krx/oob"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
)

// rawUser is the client user of the raw-client tests, allowed into root's
// account by a .rhosts in a temporary home (servertest.RhostsHome), so
// these tests never edit /root/.rhosts.
const rawUser = "krx-logind-test"

// shServer serves logins with root's account, a temporary home and
// /bin/sh as the shell (faster and quieter than root's interactive bash).
func shServer(t *testing.T) (string, *servertest.Logs) {
	t.Helper()
	servertest.NeedRoot(t)
	home := servertest.RhostsHome(t, "127.0.0.1 "+rawUser)
	return newServer(t, server.Config{Rhosts: true, Lookup: servertest.RootWithHome(home, "/bin/sh")})
}

// rawSession is a hand-written rlogin client: SO_OOBINLINE on, so urgent
// bytes stay in the stream, and SIOCATMARK after each read records which
// bytes were urgent.
type rawSession struct {
	c *net.TCPConn

	mu    sync.Mutex
	data  []byte
	marks []int // offsets in data of urgent bytes
	err   error
	grew  chan struct{}
}

func dialSession(t *testing.T, addr, term string) *rawSession {
	t.Helper()
	c := servertest.DialReserved(t, addr)
	rc, _ := c.SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE, 1) })
	io.WriteString(c, "\x00"+rawUser+"\x00root\x00"+term+"\x00")
	s := &rawSession{c: c, grew: make(chan struct{}, 1)}
	go s.read()
	return s
}

// read reads the socket through oob.Reader, which never crosses the urgent
// mark and reports it before the urgent byte is read (a plain SIOCATMARK
// then read races with an urgent byte arriving in between, which is then
// read as data — seen under load), and records where each urgent byte is.
func (s *rawSession) read() {
	r := oob.NewReader(s.c, nil)
	buf := make([]byte, 32<<10)
	nextUrgent := false
	for {
		n, err := r.Read(buf)
		s.mu.Lock()
		if nextUrgent && n > 0 {
			s.marks = append(s.marks, len(s.data))
			nextUrgent = false
		}
		s.data = append(s.data, buf[:n]...)
		s.err = err
		s.mu.Unlock()
		nextUrgent = nextUrgent || r.AtMark()
		select {
		case s.grew <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// waitFor waits until cond holds for the data received after offset from.
func (s *rawSession) waitFor(t *testing.T, from int, what string, cond func(data []byte) bool) int {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		d := s.data[min(from, len(s.data)):len(s.data):len(s.data)]
		err, n := s.err, len(s.data)
		s.mu.Unlock()
		if cond(d) {
			return n
		}
		if err != nil {
			t.Fatalf("waiting for %s: %v; got %q", what, err, d)
		}
		select {
		case <-s.grew:
		case <-deadline:
			t.Fatalf("no %s within 20s; got %q", what, d)
		}
	}
}

// waitEOF waits until the server has closed the connection.
func (s *rawSession) waitEOF(t *testing.T) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("waiting for EOF: %v", err)
		}
		select {
		case <-s.grew:
		case <-deadline:
			t.Fatal("the server did not close the connection within 20s")
		}
	}
}

func (s *rawSession) waitText(t *testing.T, from int, text string) int {
	t.Helper()
	return s.waitFor(t, from, "output "+text, func(d []byte) bool { return bytes.Contains(d, []byte(text)) })
}

func (s *rawSession) send(t *testing.T, b string) {
	t.Helper()
	if _, err := io.WriteString(s.c, b); err != nil {
		t.Fatal(err)
	}
}

// urgentBytes returns the urgent bytes received so far.
func (s *rawSession) urgentBytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u []byte
	for _, m := range s.marks {
		if m < len(s.data) {
			u = append(u, s.data[m])
		}
	}
	return u
}

func TestSessionWindowSplitAcrossReads(t *testing.T) {
	addr, logs := shServer(t)
	s := dialSession(t, addr, "vt100/9600")
	// "\0" confirmation, then the urgent window request 0x80.
	s.waitFor(t, 0, "status and 0x80", func(d []byte) bool { return len(d) >= 2 })
	s.mu.Lock()
	head, marks := append([]byte(nil), s.data[:2]...), append([]int(nil), s.marks...)
	s.mu.Unlock()
	if !bytes.Equal(head, []byte{0, 0x80}) || len(marks) == 0 || marks[0] != 1 {
		t.Fatalf("start %q, urgent marks %v; want \\0 then urgent 0x80", head, marks)
	}
	logs.WaitFor(t, 5*time.Second, "decision=accepted", "client-user="+rawUser, "server-user=root", "127.0.0.1 "+rawUser)

	msg := compat.WindowSize{Rows: 37, Cols: 111, XPixel: 1, YPixel: 2}.Marshal()
	s.send(t, string(msg[:5]))
	time.Sleep(100 * time.Millisecond) // a separate read on the server
	s.send(t, string(msg[5:]))
	s.send(t, "stty size; echo TERM=$TERM; echo MARK$((6*7))\r")
	n := s.waitText(t, 2, "MARK42\r\n")
	s.mu.Lock()
	out := string(s.data[:n])
	s.mu.Unlock()
	if !strings.Contains(out, "\r\n37 111\r\n") || !strings.Contains(out, "TERM=vt100\r\n") {
		t.Fatalf("stty size/TERM: %q", out)
	}
	// The message was taken out of the input: the command line the shell
	// echoed has no trace of it.
	if strings.Contains(out, "ss") || strings.Contains(out, "\xff") {
		t.Fatalf("window message leaked into the input: %q", out)
	}
	// A second message in one write, then exit.
	msg = compat.WindowSize{Rows: 50, Cols: 132}.Marshal()
	s.send(t, string(msg[:])+"stty size; exit\r")
	n = s.waitText(t, n, "50 132\r\n")
	s.waitEOF(t)
	logs.WaitFor(t, 10*time.Second, "session ended", "exit status 0")
	// 0x80 is no longer OR-ed in after the first window message; the
	// window request itself was the only urgent byte with it.
	for i, u := range s.urgentBytes() {
		if i > 0 && u&0x80 != 0 {
			t.Errorf("urgent byte %#x after the window message", u)
		}
	}
}

// TestSessionAsksForWindowAgain: a client that missed the first window
// request (netkit rlogin's start-up SIGURG race) is asked again, a second
// later; once its window message has come, no request follows.
func TestSessionAsksForWindowAgain(t *testing.T) {
	addr, _ := shServer(t)
	start := time.Now()
	s := dialSession(t, addr, "vt100/9600")
	urgent80 := func() int {
		n := 0
		for _, u := range s.urgentBytes() {
			if u&0x80 != 0 {
				n++
			}
		}
		return n
	}
	// Ignore the first request, as a client that lost it would.
	s.waitFor(t, 0, "the first window request", func([]byte) bool { return urgent80() >= 1 })
	s.waitFor(t, 0, "a second window request", func([]byte) bool { return urgent80() >= 2 })
	if d := time.Since(start); d < windowAsks[0]/2 {
		t.Errorf("asked again after %v, not about %v", d, windowAsks[0])
	}
	msg := compat.WindowSize{Rows: 41, Cols: 99}.Marshal()
	s.send(t, string(msg[:])+"stty size; echo MARK$((6*7))\r")
	s.waitText(t, 0, "41 99\r\nMARK42\r\n")
	// Past the last planned request: nothing more was asked.
	if wait := time.Until(start.Add(windowAsks[len(windowAsks)-1] + 500*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	if n := urgent80(); n != 2 {
		t.Errorf("%d window requests; want 2 (the first, one more, none after the answer)", n)
	}
	s.send(t, "exit\r")
	s.waitEOF(t)
}

func TestSessionFlushOnInterrupt(t *testing.T) {
	addr, _ := shServer(t)
	s := dialSession(t, addr, "xterm")
	s.waitFor(t, 0, "status", func(d []byte) bool { return len(d) >= 2 })
	msg := compat.WindowSize{Rows: 24, Cols: 80}.Marshal()
	s.send(t, string(msg[:]))
	s.send(t, "echo READY; yes flooding-the-terminal\r")
	n := s.waitText(t, 0, "flooding-the-terminal\r\nflooding")
	// Let it flood a little more, then ^C.
	n = s.waitFor(t, n, "more flood", func(d []byte) bool { return len(d) > 256<<10 })
	before := len(s.urgentBytes())
	s.send(t, "\x03")
	s.waitFor(t, n, "urgent FLUSHWRITE", func([]byte) bool {
		for _, u := range s.urgentBytes()[before:] {
			if compat.Control(u).FlushWrite() {
				return true
			}
		}
		return false
	})
	// The session still works: the flood stopped and a command runs.
	s.send(t, "echo DONE$((1+1))\r")
	n = s.waitText(t, n, "DONE2\r\n")
	for _, u := range s.urgentBytes()[before:] {
		if u&^byte(compat.CtlForwardMask) != 0 {
			t.Errorf("urgent byte %#x has bits other than FLUSHWRITE|NOSTOP|DOSTOP", u)
		}
	}
	t.Logf("urgent bytes after ^C: %x", s.urgentBytes()[before:])
	s.send(t, "exit\r")
	s.waitEOF(t)
}

// TestSessionsDoNotLeak runs many sessions, half ended by the shell and
// half by the client hanging up, and checks that every descriptor and
// goroutine of theirs is gone.
func TestSessionsDoNotLeak(t *testing.T) {
	addr, logs := shServer(t)
	one := func(clientCloses bool) {
		s := dialSession(t, addr, "vt100")
		s.waitFor(t, 0, "status", func(d []byte) bool { return len(d) >= 2 })
		s.send(t, "echo UP$((2+3))\r")
		s.waitText(t, 0, "UP5")
		if clientCloses {
			s.c.Close()
			return
		}
		s.send(t, "exit\r")
		s.waitEOF(t)
		s.c.Close()
	}
	one(false) // warm-up: lazily started runtime goroutines, tty group lookup
	one(true)
	logs.WaitFor(t, 10*time.Second, "session ended", "signal: hangup")
	time.Sleep(200 * time.Millisecond)
	fds, gs := servertest.FDCount(t), runtime.NumGoroutine()
	const n = 16
	for i := range n {
		one(i%2 == 1)
	}
	servertest.Settle(t, fds, gs, 0, 20*time.Second)
	if got := strings.Count(logs.String(), "msg=\"session ended\""); got != n+2 {
		t.Fatalf("%d sessions ended, want %d:\n%s", got, n+2, logs.String())
	}
	if got := strings.Count(logs.String(), "signal: hangup"); got != n/2+1 {
		t.Errorf("%d sessions hung up, want %d", got, n/2+1)
	}
}

// TestShutdownHangsUp: at daemon shutdown a live session is hung up (its
// shell gets SIGHUP), the client sees the connection end, and the server
// returns only when the session is gone.
func TestShutdownHangsUp(t *testing.T) {
	servertest.NeedRoot(t)
	home := servertest.RhostsHome(t, "127.0.0.1 "+rawUser)
	logs := &servertest.Logs{}
	cfg := server.Config{Rhosts: true, Log: logs.Logger(), Lookup: servertest.RootWithHome(home, "/bin/sh")}
	addr, stop := servertest.StartStoppable(t, server.Login, New(&cfg), "127.0.0.1:0")
	s := dialSession(t, addr, "vt100")
	s.send(t, "echo UP$((2+3))\r")
	s.waitText(t, 0, "UP5")
	stop()
	s.waitEOF(t)
	logs.WaitFor(t, time.Second, "session ended", "signal: hangup")
}
