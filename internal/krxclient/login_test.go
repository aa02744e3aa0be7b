package krxclient

import (
	"strconv"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/krxproto"
)

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
	ptmx, tty := openPty(t)
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 31, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	c := startOnPty(t, r, ptmx, tty, args)
	scr := c.scr
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
	c.waitExit(t, strconv.Quote(end))
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
