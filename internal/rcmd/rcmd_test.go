package rcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/privdrop"
	"github.com/krx-suite/krx/internal/rcmd/rshdtest"
	"github.com/krx-suite/krx/internal/rport"
)

const helperEnv = "KRX_RCMD_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "nobody" {
		os.Exit(unprivilegedHelper())
	}
	os.Exit(m.Run())
}

// unprivilegedHelper drops to nobody and dials, printing the error.
func unprivilegedHelper() int {
	t, err := privdrop.Lookup("nobody")
	if err == nil {
		err = privdrop.Drop(t)
	}
	if err != nil {
		fmt.Println("drop:", err)
		return 1
	}
	_, err = Dial(context.Background(), os.Getenv("KRX_RCMD_ADDR"), Options{ClientUser: "nobody", Command: "true"})
	fmt.Printf("privilege=%v\nerr=%v\n", errors.Is(err, rport.ErrNeedPrivilege), err)
	return 0
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: rcmd binds reserved ports (512-1023)")
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"ls"}, "ls"},
		{[]string{"echo", "a b", "'c'"}, "echo a b 'c'"},
		{[]string{"cat", ">/dev/null"}, "cat >/dev/null"},
	} {
		if got := Command(c.args); got != c.want {
			t.Errorf("Command(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

// TestNetkitRshd runs commands through the real in.rshd: both channels,
// stdin half-close, and the status of a refused user.
func TestNetkitRshd(t *testing.T) {
	rshdtest.NeedRoot(t)
	rshdtest.AuthorizeRoot(t)
	addr := rshdtest.Start(t, 0)

	c, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: Command([]string{"echo", "out;", "echo", "err", ">&2;", "tr", "a-z", "A-Z"}), Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Stderr == nil {
		t.Fatal("no stderr channel")
	}
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Stderr.SetDeadline(time.Now().Add(20 * time.Second))
	out, err := io.ReadAll(c)
	if err != nil || string(out) != "out\nHELLO\n" {
		t.Fatalf("stdout %q, %v", out, err)
	}
	errOut, err := io.ReadAll(c.Stderr)
	if err != nil || string(errOut) != "err\n" {
		t.Fatalf("stderr %q, %v", errOut, err)
	}

	// Without a stderr channel the command's stderr goes to the main
	// connection too (in.rshd: fd 2 is the socket).
	c2, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: "echo one; echo two >&2"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(20 * time.Second))
	out, _ = io.ReadAll(c2)
	if c2.Stderr != nil || string(out) != "one\ntwo\n" {
		t.Fatalf("no-stderr session: %q", out)
	}

	// A client user .rhosts does not allow: in.rshd's refusal, verbatim.
	_, err = Dial(ctx(t), addr, Options{ClientUser: "krx-nobody-here", ServerUser: "root", Command: "true", Stderr: true})
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || re.Code != 1 || re.Message == "" {
		t.Fatalf("refused: %#v (%v)", err, err)
	}
	t.Logf("in.rshd refused with %q", re.Message)
	if err.Error() != strings.TrimSuffix(re.Message, "\r") {
		t.Fatalf("message not verbatim: %q vs %q", err.Error(), re.Message)
	}
}

func TestConnectionRefused(t *testing.T) {
	needRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Dial(ctx(t), addr, Options{ClientUser: "root", Command: "true"})
	var e *Error
	if !errors.As(err, &e) || e.Op != "connect" || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("got %v", err)
	}
}

func TestNotRoot(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=nobody", "KRX_RCMD_ADDR=127.0.0.1:9")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "privilege=true") || !strings.Contains(string(out), "needs root") {
		t.Fatalf("%v: %s", err, out)
	}
}

// fakeServer accepts one connection on a loopback port and runs serve on
// it in the background.
func fakeServer(t *testing.T, serve func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serve(c, bufio.NewReader(c))
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// connectBack dials the client's stderr port from local port lport (0: any).
func connectBack(t *testing.T, c net.Conn, port, lport int) net.Conn {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lport}}
	ip := c.RemoteAddr().(*net.TCPAddr).IP
	e, err := d.Dial("tcp", net.JoinHostPort(ip.String(), fmt.Sprint(port)))
	if err != nil {
		t.Error(err)
		return nil
	}
	return e
}

func TestServerClosesBeforeStatus(t *testing.T) {
	needRoot(t)
	addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
		compat.ReadHandshake(r, compat.ShellLimits)
	})
	_, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: "x"})
	if !errors.Is(err, ErrNoStatus) {
		t.Fatalf("got %v", err)
	}
}

// TestStringsAfterAccept checks glibc's order: the three strings come only
// after the stderr connection has been accepted.
func TestStringsAfterAccept(t *testing.T) {
	needRoot(t)
	addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
		port, err := compat.ReadStderrPort(r)
		if err != nil || !compat.IsReservedPort(port) {
			t.Errorf("port %d, %v", port, err)
			return
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := r.Peek(1); err == nil {
			t.Error("strings sent before the stderr connection")
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var e net.Conn
		for lp := 1023; lp >= 512 && e == nil; lp-- {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lp}}
			e, _ = d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		}
		if e == nil {
			t.Error("cannot connect back")
			return
		}
		defer e.Close()
		h := compat.Handshake{StderrPort: port}
		if err := compat.ReadHandshakeStrings(r, compat.ShellLimits, &h); err != nil || h.Payload != "cmd" || h.ServerUser != "bob" {
			t.Errorf("handshake %+v, %v", h, err)
		}
		compat.WriteStatus(c, compat.Status{})
		io.WriteString(e, "E")
		io.WriteString(c, "M")
	})
	c, err := Dial(ctx(t), addr, Options{ClientUser: "root", ServerUser: "bob", Command: "cmd", Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 'M' {
		t.Fatalf("main %q %v", b, err)
	}
	if _, err := io.ReadFull(c.Stderr, b[:]); err != nil || b[0] != 'E' {
		t.Fatalf("stderr %q %v", b, err)
	}
}

func TestCircuitFailures(t *testing.T) {
	needRoot(t)
	t.Run("data first", func(t *testing.T) {
		addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
			compat.ReadStderrPort(r)
			compat.WriteStatus(c, compat.Status{Code: 1, Message: "go away"})
			time.Sleep(300 * time.Millisecond)
		})
		_, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: "x", Stderr: true})
		if !errors.Is(err, ErrCircuit) || !strings.Contains(err.Error(), "go away") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unreserved port", func(t *testing.T) {
		addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
			port, _ := compat.ReadStderrPort(r)
			if e := connectBack(t, c, port, 0); e != nil {
				defer e.Close()
			}
			time.Sleep(300 * time.Millisecond)
		})
		_, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: "x", Stderr: true})
		if !errors.Is(err, ErrCircuit) || !strings.Contains(err.Error(), "connected back from") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) { compat.ReadStderrPort(r) })
		_, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: "x", Stderr: true})
		if !errors.Is(err, ErrCircuit) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
			compat.ReadStderrPort(r)
			time.Sleep(time.Second)
		})
		start := time.Now()
		_, err := Dial(ctx(t), addr, Options{ClientUser: "root", Command: "x", Stderr: true, SetupTimeout: 200 * time.Millisecond})
		if !errors.Is(err, ErrSetupTimeout) || time.Since(start) > 900*time.Millisecond {
			t.Fatalf("got %v after %v", err, time.Since(start))
		}
	})
	t.Run("context", func(t *testing.T) {
		addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
			compat.ReadHandshake(r, compat.ShellLimits)
			time.Sleep(time.Second)
		})
		cx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := Dial(cx, addr, Options{ClientUser: "root", Command: "x"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestBadStrings(t *testing.T) {
	_, err := Dial(context.Background(), "127.0.0.1:1", Options{ClientUser: "a\x00b", Command: "x"})
	if !errors.Is(err, compat.ErrEmbeddedNUL) {
		t.Fatalf("got %v", err)
	}
}
