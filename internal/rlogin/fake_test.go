package rlogin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/oob"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: rlogin connects from a reserved port (512-1023)")
	}
}

// fakeRlogind accepts one rlogin connection, answers the handshake with
// "\0" and runs serve.
func fakeRlogind(t *testing.T, serve func(c *net.TCPConn, r *bufio.Reader, h compat.Handshake)) string {
	t.Helper()
	needRoot(t)
	lc := net.ListenConfig{Control: oob.Control}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		h, err := compat.ReadHandshake(r, compat.LoginLimits)
		if err != nil {
			t.Errorf("handshake: %v", err)
			return
		}
		c.Write([]byte{0})
		serve(c.(*net.TCPConn), r, h)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// term is a pty whose slave is the session's terminal.
type term struct {
	master, slave *os.File
}

func newTerm(t *testing.T) *term {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	pty.Setsize(m, &pty.Winsize{Rows: 24, Cols: 80})
	t.Cleanup(func() { m.Close(); s.Close() })
	return &term{master: m, slave: s}
}

func (tm *term) termios(t *testing.T) unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tm.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return *tio
}

// readUntil reads the master until want has been seen and returns all.
func (tm *term) readUntil(t *testing.T, want string) string {
	t.Helper()
	var got []byte
	buf := make([]byte, 64<<10)
	tm.master.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !bytes.Contains(got, []byte(want)) {
		n, err := tm.master.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %d bytes, ending %q", want, err, len(got), tail(got))
		}
	}
	return string(got)
}

func tail(b []byte) []byte {
	if len(b) > 200 {
		return b[len(b)-200:]
	}
	return b
}

// runClient runs Run on tm in the background.
func runClient(t *testing.T, tm *term, addr string, mod func(*Config)) <-chan error {
	t.Helper()
	var msgs bytes.Buffer
	cfg := Config{Addr: addr, Term: "xterm/38400", In: tm.slave, Out: tm.slave, Messages: &msgs}
	if mod != nil {
		mod(&cfg)
	}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), cfg) }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("rlogin did not finish")
	}
	return nil
}

// TestControlBytes: every urgent byte is consumed at its mark — the data
// around it arrives in order and intact, unknown bits are ignored, and
// NOSTOP/DOSTOP switch IXON. Each urgent byte is sent when the client
// has read everything before it (the idle case, where Linux hands the
// urgent byte over as the first byte of a read).
func TestControlBytes(t *testing.T) {
	tm := newTerm(t)
	orig := tm.termios(t)
	step := make(chan string)
	var srvErr error
	addr := fakeRlogind(t, func(c *net.TCPConn, r *bufio.Reader, h compat.Handshake) {
		if h.Payload != "xterm/38400" {
			srvErr = errors.New("payload " + h.Payload)
		}
		for _, b := range []byte{0x01, 0x04, 0x08, 0x40, 0x00, byte(compat.CtlNoStop), byte(compat.CtlDoStop)} {
			<-step
			if err := oob.SendUrgent(c, b); err != nil {
				srvErr = err
				return
			}
			c.Write([]byte{'<', "0123456789abcdef"[b>>4], "0123456789abcdef"[b&15], '>'})
		}
		<-step
	})
	done := runClient(t, tm, addr, nil)
	var out strings.Builder
	for _, want := range []string{"<01>", "<04>", "<08>", "<40>", "<00>", "<10>", "<20>"} {
		step <- ""
		out.WriteString(tm.readUntil(t, want))
		tio := tm.termios(t)
		switch want {
		case "<10>":
			if tio.Iflag&unix.IXON != 0 {
				t.Error("IXON still on after NOSTOP")
			}
		case "<20>":
			if tio.Iflag&unix.IXON == 0 {
				t.Error("IXON off after DOSTOP")
			}
		}
	}
	step <- ""
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if srvErr != nil {
		t.Fatal(srvErr)
	}
	if got := out.String(); got != "<01><04><08><40><00><10><20>" {
		t.Fatalf("painted %q: an urgent byte leaked or data was lost", got)
	}
	if tio := tm.termios(t); tio != orig {
		t.Fatalf("terminal not restored:\n%+v\n%+v", tio, orig)
	}
}

// TestFlushWrite: data queued before a FLUSHWRITE mark is dropped, data
// after it survives, in order. The terminal is read all the time (a user
// watching a flood); the server notes how many bytes were still in its
// send queue when it sent the urgent byte: with flushing, at least half
// of those must never be painted; ignoring flushes, every byte is.
func TestFlushWrite(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		tm := newTerm(t)
		const flood = 16 << 20
		var outq int
		addr := fakeRlogind(t, func(c *net.TCPConn, r *bufio.Reader, h compat.Handshake) {
			b := bytes.Repeat([]byte("x"), 64<<10)
			for n := 0; n < flood; n += len(b) {
				if _, err := c.Write(b); err != nil {
					return
				}
			}
			rc, _ := c.SyscallConn()
			rc.Control(func(fd uintptr) { outq, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
			oob.SendUrgent(c, byte(compat.CtlFlushWrite))
			c.Write([]byte("AFTER-THE-MARK"))
			r.ReadByte() // until the client goes
		})
		done := runClient(t, tm, addr, func(c *Config) { c.IgnoreFlush = ignore })
		got := tm.readUntil(t, "AFTER-THE-MARK")
		painted := strings.Index(got, "AFTER-THE-MARK")
		if strings.Trim(got[:painted], "x") != "" {
			t.Fatalf("ignore=%v: foreign bytes before the data after the mark: %q", ignore, tail([]byte(got[:painted])))
		}
		dropped := flood - painted
		t.Logf("ignore=%v: %d bytes in the server's send queue at the urgent byte; %d of %d flood bytes painted, %d dropped",
			ignore, outq, painted, flood, dropped)
		if ignore && dropped != 0 {
			t.Fatalf("ignoring flushes, %d bytes were lost", dropped)
		}
		if !ignore && dropped < outq/2 {
			t.Fatalf("flush dropped %d bytes; %d were still queued at the server when it flushed", dropped, outq)
		}
		tm.master.Write([]byte("~."))
		if err := wait(t, done); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEscapesAndWindow: escapes at line start, what reaches the server,
// and window messages on request and on SIGWINCH.
func TestEscapesAndWindow(t *testing.T) {
	tm := newTerm(t)
	var mu sync.Mutex
	var got []byte
	gotWin := make(chan compat.WindowSize, 4)
	addr := fakeRlogind(t, func(c *net.TCPConn, r *bufio.Reader, h compat.Handshake) {
		oob.SendUrgent(c, byte(compat.CtlWindow))
		c.Write([]byte("READY"))
		var sc compat.WindowScanner
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			src := buf[:n]
			for len(src) > 0 {
				var ws compat.WindowSize
				var found bool
				var k int
				mu.Lock()
				got, k, ws, found = sc.Scan(got, src)
				mu.Unlock()
				src = src[k:]
				if found {
					gotWin <- ws
				}
			}
			if err != nil {
				return
			}
		}
	})
	done := runClient(t, tm, addr, nil)
	tm.readUntil(t, "READY")
	if ws := <-gotWin; ws.Rows != 24 || ws.Cols != 80 {
		t.Fatalf("first window %+v", ws)
	}
	pty.Setsize(tm.master, &pty.Winsize{Rows: 33, Cols: 101, X: 7, Y: 9})
	syscall.Kill(os.Getpid(), syscall.SIGWINCH) // the pty's session is not ours
	select {
	case ws := <-gotWin:
		if ws != (compat.WindowSize{Rows: 33, Cols: 101, XPixel: 7, YPixel: 9}) {
			t.Fatalf("second window %+v", ws)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no window message after SIGWINCH")
	}
	tm.master.Write([]byte("a~b\r~~c\r~x\r"))
	for i := 0; ; i++ {
		mu.Lock()
		s := string(got)
		mu.Unlock()
		if s == "a~b\r~c\r~x\r" {
			break
		}
		if i > 500 {
			t.Fatalf("server got %q", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tm.master.Write([]byte("~."))
	echo := tm.readUntil(t, "~.\r\n")
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if string(got) != "a~b\r~c\r~x\r" {
		t.Fatalf("after ~. the server got %q (echo %q)", got, echo)
	}
}

// TestServerCloses: the server's EOF ends the session without error and
// restores the terminal.
func TestServerCloses(t *testing.T) {
	tm := newTerm(t)
	orig := tm.termios(t)
	addr := fakeRlogind(t, func(c *net.TCPConn, r *bufio.Reader, h compat.Handshake) {
		c.Write([]byte("bye"))
	})
	var msgs bytes.Buffer
	done := runClient(t, tm, addr, func(c *Config) { c.Messages = &msgs })
	tm.readUntil(t, "bye")
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if msgs.String() != MsgServerClosed+"\r\n" {
		t.Fatalf("message %q", msgs.String())
	}
	if tio := tm.termios(t); tio != orig {
		t.Fatal("terminal not restored")
	}
}

// TestRefused: a refusal is returned verbatim.
func TestRefused(t *testing.T) {
	needRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		compat.ReadHandshake(bufio.NewReader(c), compat.LoginLimits)
		c.Write([]byte("\x01rlogind: Permission denied.\r\n"))
		io.Copy(io.Discard, c)
	}()
	tm := newTerm(t)
	err = wait(t, runClient(t, tm, ln.Addr().String(), nil))
	if err == nil || err.Error() != "rlogind: Permission denied." {
		t.Fatalf("err %v", err)
	}
}
