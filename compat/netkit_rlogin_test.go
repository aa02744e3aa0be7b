package compat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// sendUrgent sends one TCP urgent byte (test-only; the oob package owns this
// for real use).
func sendUrgent(t *testing.T, c net.Conn, b Control) {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = syscall.Sendto(int(fd), []byte{byte(b)}, syscall.MSG_OOB, nil)
		return serr != syscall.EAGAIN
	}); err != nil || serr != nil {
		t.Fatalf("MSG_OOB: %v %v", err, serr)
	}
}

// scanUntil reads client input through a WindowScanner until done says
// so, returning the data and window messages seen.
func scanUntil(t *testing.T, c net.Conn, s *WindowScanner, done func([]byte, []WindowSize) bool) ([]byte, []WindowSize) {
	t.Helper()
	data, wins, err := scanErr(c, s, done)
	if err != nil {
		t.Fatalf("reading client input: %v (data %q, windows %v)", err, data, wins)
	}
	return data, wins
}

// scanErr is scanUntil that returns a read error with what came before it.
func scanErr(c net.Conn, s *WindowScanner, done func([]byte, []WindowSize) bool) ([]byte, []WindowSize, error) {
	var data []byte
	var wins []WindowSize
	buf := make([]byte, 512)
	for !done(data, wins) {
		n, err := c.Read(buf)
		if err != nil {
			return data, wins, err
		}
		for chunk := buf[:n]; len(chunk) > 0; {
			var ws WindowSize
			var found bool
			var k int
			data, k, ws, found = s.Scan(data, chunk)
			chunk = chunk[k:]
			if found {
				wins = append(wins, ws)
			}
		}
	}
	return data, wins, nil
}

func gotWindow(_ []byte, w []WindowSize) bool { return len(w) > 0 }

// TestNetkitRloginClient captures the real netkit rlogin client (Debian has
// -p PORT) on a pty against a listener driven by our codec: handshake,
// status, the 0x80 window request, window messages, data both ways.
func TestNetkitRloginClient(t *testing.T) {
	needRoot(t, "rlogin")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := exec.Command("rlogin", "-8", "-p", port, "-l", "bob", "127.0.0.1")
	cmd.Env = append(os.Environ(), "TERM=vt100")
	ptm, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101, X: 640, Y: 480})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait(); ptm.Close() }()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if p := c.RemoteAddr().(*net.TCPAddr).Port; !IsReservedPort(p) {
		t.Fatalf("netkit rlogin came from port %d", p)
	}

	h, err := ReadHandshake(c, LoginLimits)
	if err != nil {
		t.Fatal(err)
	}
	if h.StderrPort != 0 || h.ClientUser != "root" || h.ServerUser != "bob" {
		t.Fatalf("handshake %+v", h)
	}
	ts, err := ParseTermSpeed(h.Payload)
	if err != nil || ts.Term != "vt100" || ts.Speed != 38400 {
		t.Fatalf("payload %q: %+v, %v", h.Payload, ts, err)
	}
	// Byte-exact: our encoder produces what netkit sent.
	if b, _ := h.Marshal(); !bytes.Equal(b, []byte("\x00root\x00bob\x00vt100/38400\x00")) {
		t.Fatalf("re-encoded %q", b)
	}

	var sc ServerControl
	var scan WindowScanner
	if err := WriteStatus(c, Status{}); err != nil {
		t.Fatal(err)
	}
	sendUrgent(t, c, sc.Initial())
	// netkit rlogin loses an urgent byte that reaches it before its reader
	// process has taken the socket's SIGURG (F_SETOWN, its oob() handler):
	// it then never sends a window size (seen once in CI, under load).
	// Until the first window message every control byte carries 0x80, so
	// ask once more after a second, as a real server's next one would.
	c.SetReadDeadline(time.Now().Add(time.Second))
	data, wins, err := scanErr(c, &scan, gotWindow)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Log("no window message a second after the urgent 0x80: asking again")
		sendUrgent(t, c, sc.Initial())
		d, w := scanUntil(t, c, &scan, gotWindow)
		data, wins = append(data, d...), append(wins, w...)
	} else if err != nil {
		t.Fatalf("reading client input: %v (data %q, windows %v)", err, data, wins)
	}
	if len(data) != 0 || len(wins) != 1 || wins[0] != (WindowSize{Rows: 33, Cols: 101, XPixel: 640, YPixel: 480}) {
		t.Fatalf("first window %+v, data %q", wins, data)
	}
	sc.WindowReceived()

	// Server → client data reaches the terminal.
	io.WriteString(c, "hello from server\r\n")
	pr := bufio.NewReader(ptm)
	for {
		line, err := pr.ReadString('\n')
		if err != nil {
			t.Fatalf("pty: %v", err)
		}
		if strings.Contains(line, "hello from server") {
			break
		}
	}
	// Typed bytes, including FF FF that is not a window message, pass
	// through the scanner unchanged; then a resize sends a new message.
	const typed = "typed\xff\xffxy"
	io.WriteString(ptm, typed)
	data, wins = scanUntil(t, c, &scan, func(d []byte, w []WindowSize) bool { return len(d) >= len(typed) || len(w) > 0 })
	if string(data) != typed || len(wins) != 0 {
		t.Fatalf("typed: data %q, windows %v", data, wins)
	}
	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	data, wins = scanUntil(t, c, &scan, gotWindow)
	if len(data) != 0 || len(wins) != 1 || wins[0] != (WindowSize{Rows: 40, Cols: 120}) {
		t.Fatalf("after resize: data %q, windows %+v", data, wins)
	}
}
