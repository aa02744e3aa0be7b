package krxclient

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/krxproto"
)

// screen collects what a pty master shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen, after offset from, contains want.
func (s *screen) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if out := s.String(); len(out) >= from {
			if i := strings.Index(out[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q on the screen after 20 s; it shows %q", want, s.String()[from:])
	return 0
}

// TestRloginX: the built rlogin -x on a real pty against an in-process
// krx login server: a command's output, window sizes at the server's
// request and on SIGWINCH, ~. with its message, and the terminal restored.
// rsh -x without a command does the same, here ended by the remote shell.
func TestRloginX(t *testing.T) {
	needRoot(t)
	r := realm(t)
	srv := startServer(t, r, krxproto.Login)
	t.Run("rlogin", func(t *testing.T) {
		loginOnPty(t, r, srv, []string{"rlogin", "-x", "-p", srv.port(), "localhost"}, "~.", "rlogin: closed connection.")
	})
	t.Run("rlogin-8", func(t *testing.T) {
		loginOnPty(t, r, srv, []string{"rlogin", "-8", "-x", "-p", srv.port(), "localhost"}, "~.", "rlogin: closed connection.")
	})
	t.Run("rsh", func(t *testing.T) {
		loginOnPty(t, r, srv, []string{"rsh", "-x", "-p", srv.port(), "localhost"}, "exit\r", "rlogin: connection closed.")
	})
}

func loginOnPty(t *testing.T, r *krbtest.Realm, srv *server, args []string, end, endMsg string) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 31, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(programs(t), args[0]), args[1:]...)
	cmd.Env = append(env(r), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	var scr screen
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			scr.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	at := scr.waitFor(t, 0, "krx$ ")
	raw, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("terminal not raw during the session: lflag %#x", raw.Lflag)
	}
	// The server sent NOSTOP first: ^S/^Q are not handled locally.
	if before.Iflag&unix.IXON == 0 {
		t.Fatal("the test pty starts without IXON")
	}
	if raw.Iflag&unix.IXON != 0 {
		t.Errorf("IXON still on after the server's NOSTOP")
	}
	ptmx.Write([]byte("echo KRX''DOSTOP\r"))
	at = scr.waitFor(t, at, "KRXDOSTOP")
	// Output after DOSTOP on the screen: the client has acted on it.
	ptmx.Write([]byte("echo sy''nc1\r"))
	at = scr.waitFor(t, at, "sync1")
	at = scr.waitFor(t, at, "krx$ ")
	ixon := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		return err == nil && tio.Iflag&unix.IXON != 0
	}
	if eightBit := args[1] == "-8"; ixon() == eightBit {
		t.Errorf("after DOSTOP (-8 %v): IXON %v", eightBit, ixon())
	}
	ptmx.Write([]byte("echo hel''lo krx\r"))
	at = scr.waitFor(t, at, "hello krx")
	at = scr.waitFor(t, at, "krx$ ")
	ptmx.Write([]byte("stty size\r"))
	at = scr.waitFor(t, at, "31 101")
	at = scr.waitFor(t, at, "krx$ ")
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 42, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	// SIGWINCH goes to the foreground process group: rlogin.
	time.Sleep(100 * time.Millisecond)
	ptmx.Write([]byte("stty size\r"))
	at = scr.waitFor(t, at, "42 120")
	scr.waitFor(t, at, "krx$ ")
	ptmx.Write([]byte(end))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%v after %q: %v; screen %q", args, end, err, scr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%v still running 20 s after %q; screen %q", args, end, scr.String())
	}
	scr.waitFor(t, at, endMsg)
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal not restored: lflag %#x iflag %#x oflag %#x, want %#x %#x %#x",
			after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
	}
}
