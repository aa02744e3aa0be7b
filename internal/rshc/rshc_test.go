package rshc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rcmd"
	"github.com/krx-suite/krx/internal/rcmd/rshdtest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// netkit starts in.rshd with root authorised and returns its address.
func netkit(t *testing.T) string {
	t.Helper()
	rshdtest.NeedRoot(t)
	addr := rshdtest.Start(t, 0)
	rshdtest.AuthorizeRoot(t)
	return addr
}

// TestChannelsSeparated: stdin reaches the command, its stdout and stderr
// come back on their own channels, byte for byte.
func TestChannelsSeparated(t *testing.T) {
	addr := netkit(t)
	in := make([]byte, 3<<20+17)
	rand.Read(in)
	var out, errb bytes.Buffer
	err := Run(ctx(t), Config{Addr: addr, Command: "cat; echo err >&2",
		Stdin: bytes.NewReader(in), Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("stdout: %d bytes, want the %d input bytes back", out.Len(), len(in))
	}
	if errb.String() != "err\n" {
		t.Fatalf("stderr %q", errb.String())
	}
}

// TestNullStdin: no stdin (rsh -n) is an immediate end of input.
func TestNullStdin(t *testing.T) {
	addr := netkit(t)
	var out bytes.Buffer
	if err := Run(ctx(t), Config{Addr: addr, Command: "cat; echo done", Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "done\n" {
		t.Fatalf("stdout %q", out.String())
	}
}

// TestRemoteClosesMidStream: the command stops reading and exits while
// stdin still flows; rsh gets its output and ends without error.
func TestRemoteClosesMidStream(t *testing.T) {
	addr := netkit(t)
	var out bytes.Buffer
	in := bytes.NewReader(make([]byte, 64<<20))
	err := Run(ctx(t), Config{Addr: addr, Command: "head -c 1000", Stdin: in, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 1000 {
		t.Fatalf("got %d bytes, want 1000", out.Len())
	}
	if in.Len() == 0 {
		t.Fatal("the whole of stdin was sent: the remote never stopped reading?")
	}
}

// TestSignalKillsRemote: a SIGINT byte on the stderr channel kills the
// remote command's process group, and the session ends.
func TestSignalKillsRemote(t *testing.T) {
	addr := netkit(t)
	mark := fmt.Sprintf("%d.%03d", 100+os.Getpid()%100, time.Now().UnixNano()%1000)
	s, err := Dial(ctx(t), Config{Addr: addr, Command: "sleep " + mark + "; echo survived"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitProc(t, "sleep "+mark, true)
	var out bytes.Buffer
	s.cfg.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- s.Relay(context.Background()) }()
	if err := s.Signal(compat.SigInt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session still running 20 s after SIGINT")
	}
	if out.Len() != 0 {
		t.Fatalf("the remote shell went on: %q", out.String())
	}
	waitProc(t, "sleep "+mark, false)
}

// waitProc waits until a process whose command line is cmdline exists
// (or no longer does).
func waitProc(t *testing.T, cmdline string, exist bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if procExists(cmdline) == exist {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %q exists=%v, want %v", cmdline, !exist, exist)
}

func procExists(cmdline string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ") == cmdline {
			return true
		}
	}
	return false
}

// fakeServer serves one connection with serve on a free port.
func fakeServer(t *testing.T, serve func(c *net.TCPConn, r *bufio.Reader)) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: rcmd binds reserved ports (512-1023)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
		c.SetDeadline(time.Now().Add(20 * time.Second))
		serve(c.(*net.TCPConn), bufio.NewReader(c))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// connectBack opens the stderr channel from local port lport (0: any).
func connectBack(c net.Conn, port, lport int) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lport}}
	return d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// stderrBack reads the port field and connects back from a reserved port.
func stderrBack(t *testing.T, c net.Conn, r *bufio.Reader) net.Conn {
	port, err := compat.ReadStderrPort(r)
	if err != nil {
		t.Error(err)
		return nil
	}
	for lp := 1023; lp >= 512; lp-- {
		if e, err := connectBack(c, port, lp); err == nil {
			return e
		}
	}
	t.Error("no reserved port to connect back from")
	return nil
}

func TestRefusalVerbatim(t *testing.T) {
	msg := "rshd: nope, \x1b[1mnot\x1b[0m today.\r"
	addr := fakeServer(t, func(c *net.TCPConn, r *bufio.Reader) {
		e := stderrBack(t, c, r)
		if e == nil {
			return
		}
		defer e.Close()
		var h compat.Handshake
		compat.ReadHandshakeStrings(r, compat.ShellLimits, &h)
		c.Write([]byte("\x01" + msg + "\n"))
	})
	err := Run(ctx(t), Config{Addr: addr, Command: "x"})
	var re *rcmd.RefusedError
	if !errors.As(err, &re) || re.Message != msg {
		t.Fatalf("err %v, want the refusal %q verbatim", err, msg)
	}
}

func TestServerClosesMidHandshake(t *testing.T) {
	addr := fakeServer(t, func(c *net.TCPConn, r *bufio.Reader) {
		r.ReadString(0) // the port field, then hang up
	})
	err := Run(ctx(t), Config{Addr: addr, Command: "x"})
	if !errors.Is(err, rcmd.ErrCircuit) {
		t.Fatalf("err %v, want a circuit failure", err)
	}
}

func TestStderrFromUnreservedPort(t *testing.T) {
	addr := fakeServer(t, func(c *net.TCPConn, r *bufio.Reader) {
		port, err := compat.ReadStderrPort(r)
		if err != nil {
			return
		}
		if e, err := connectBack(c, port, 0); err == nil {
			defer e.Close()
			io.Copy(io.Discard, r)
		}
	})
	err := Run(ctx(t), Config{Addr: addr, Command: "x"})
	if !errors.Is(err, rcmd.ErrCircuit) || !strings.Contains(err.Error(), "protocol failure in circuit setup") {
		t.Fatalf("err %v, want \"protocol failure in circuit setup\"", err)
	}
}

// TestResetMidSession: a server that resets the main connection while
// sending output is a connection error, not a normal end.
func TestResetMidSession(t *testing.T) {
	addr := fakeServer(t, func(c *net.TCPConn, r *bufio.Reader) {
		e := stderrBack(t, c, r)
		if e == nil {
			return
		}
		defer e.Close()
		var h compat.Handshake
		compat.ReadHandshakeStrings(r, compat.ShellLimits, &h)
		c.Write([]byte("\x00partial output"))
		c.SetLinger(0)
		c.Close()
	})
	var out bytes.Buffer
	err := Run(ctx(t), Config{Addr: addr, Command: "x", Stdout: &out})
	var se *Error
	if !errors.As(err, &se) || se.Channel != "main" || !errors.Is(err, ErrConnection) {
		t.Fatalf("err %v, want a main-channel connection error", err)
	}
}

// TestBinaryNotRoot: the built rsh, run as nobody, says it needs root.
func TestCommandJoin(t *testing.T) {
	if got := rcmd.Command([]string{"ls", "-l", "a b"}); got != "ls -l a b" {
		t.Fatal(got)
	}
	_ = exec.Command
}
