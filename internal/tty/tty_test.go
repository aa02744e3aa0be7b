package tty

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// openPty returns a real pty pair; the slave is a real terminal.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

func termios(t *testing.T, f *os.File) unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("TCGETS: %v", err)
	}
	return *tio
}

func setTermios(t *testing.T, f *os.File, tio unix.Termios) {
	t.Helper()
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &tio); err != nil {
		t.Fatalf("TCSETS: %v", err)
	}
}

// checkRaw asserts the rlogin raw-mode flags of tio.
func checkRaw(t *testing.T, tio unix.Termios, eight bool) {
	t.Helper()
	if tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG|unix.IEXTEN) != 0 {
		t.Errorf("lflag %#o still has ICANON/ECHO/ISIG/IEXTEN", tio.Lflag)
	}
	if tio.Iflag&(unix.ICRNL|unix.INLCR|unix.IGNCR) != 0 {
		t.Errorf("iflag %#o still maps CR/NL", tio.Iflag)
	}
	if tio.Oflag&(unix.OPOST|unix.ONLCR) != 0 {
		t.Errorf("oflag %#o still has OPOST/ONLCR", tio.Oflag)
	}
	if tio.Cc[unix.VMIN] != 1 || tio.Cc[unix.VTIME] != 0 {
		t.Errorf("VMIN/VTIME = %d/%d", tio.Cc[unix.VMIN], tio.Cc[unix.VTIME])
	}
	if eight && tio.Iflag&(unix.ISTRIP|unix.IXON) != 0 {
		t.Errorf("-8: iflag %#o still has ISTRIP/IXON", tio.Iflag)
	}
}

func TestNewRefusesNonTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := New(int(r.Fd())); !errors.Is(err, ErrNotTerminal) {
		t.Fatalf("New(pipe) = %v, want ErrNotTerminal", err)
	}
}

func TestMakeRawAndRestoreExactly(t *testing.T) {
	_, slave := openPty(t)
	// A cooked starting point with ISTRIP and IXON on, to see both kept.
	start := termios(t, slave)
	start.Iflag |= unix.ISTRIP | unix.IXON | unix.ICRNL
	start.Lflag |= unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN
	start.Oflag |= unix.OPOST | unix.ONLCR
	start.Cc[unix.VMIN], start.Cc[unix.VTIME] = 4, 3
	setTermios(t, slave, start)
	orig := termios(t, slave)

	term, err := New(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := term.MakeRaw(Options{}); err != nil {
		t.Fatal(err)
	}
	raw := termios(t, slave)
	checkRaw(t, raw, false)
	if raw.Iflag&unix.ISTRIP == 0 || raw.Iflag&unix.IXON == 0 {
		t.Errorf("without -8 ISTRIP and IXON must stay as the terminal had them: iflag %#o", raw.Iflag)
	}
	if !term.IsRaw() {
		t.Error("IsRaw false after MakeRaw")
	}
	if err := term.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := termios(t, slave); got != orig {
		t.Fatalf("restored termios differs:\n got %+v\nwant %+v", got, orig)
	}
	// Idempotent: a second Restore must not fail or change anything.
	setTermios(t, slave, raw) // even if someone changed it meanwhile
	if err := term.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := termios(t, slave); got != raw {
		t.Error("second Restore wrote the terminal again")
	}
}

func TestEightBit(t *testing.T) {
	_, slave := openPty(t)
	start := termios(t, slave)
	start.Iflag |= unix.ISTRIP | unix.IXON
	setTermios(t, slave, start)
	term, err := New(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := term.MakeRaw(Options{EightBit: true}); err != nil {
		t.Fatal(err)
	}
	defer term.Restore()
	checkRaw(t, termios(t, slave), true)
	// -8 ignores the server's flow-control requests.
	if err := term.SetFlowControl(true); err != nil {
		t.Fatal(err)
	}
	if termios(t, slave).Iflag&unix.IXON != 0 || term.FlowControl() {
		t.Error("SetFlowControl(true) turned IXON on under -8")
	}
}

func TestSetFlowControl(t *testing.T) {
	_, slave := openPty(t)
	term, err := New(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := term.MakeRaw(Options{}); err != nil {
		t.Fatal(err)
	}
	defer term.Restore()
	for _, on := range []bool{false, true, false} {
		if err := term.SetFlowControl(on); err != nil {
			t.Fatal(err)
		}
		tio := termios(t, slave)
		if got := tio.Iflag&unix.IXON != 0; got != on {
			t.Errorf("SetFlowControl(%v): IXON %v", on, got)
		}
		checkRaw(t, tio, false)
	}
}

// TestRawIsTransparent pushes bytes through the real line discipline:
// CR typed at the terminal must arrive as CR, and NL written to the
// screen must not become CR NL.
func TestRawIsTransparent(t *testing.T) {
	master, slave := openPty(t)
	term, err := New(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := term.MakeRaw(Options{}); err != nil {
		t.Fatal(err)
	}
	defer term.Restore()
	in := []byte("a\rb\n\x03\x1a\xff")
	if _, err := master.Write(in); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(in))
	if _, err := io.ReadFull(slave, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(in) {
		t.Errorf("input %q arrived as %q", in, got)
	}
	if _, err := slave.Write([]byte("x\ny\n")); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 4)
	if _, err := io.ReadFull(master, out); err != nil {
		t.Fatal(err)
	}
	if string(out) != "x\ny\n" {
		t.Errorf("output arrived as %q", out)
	}
}

func TestRestoreOnPanicInProcess(t *testing.T) {
	_, slave := openPty(t)
	orig := termios(t, slave)
	term, err := New(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := term.MakeRaw(Options{}); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("panic value %v was not passed on", r)
			}
		}()
		defer term.RestoreOnPanic()
		panic("boom")
	}()
	if got := termios(t, slave); got != orig {
		t.Error("terminal not restored after panic")
	}
	// Without a panic RestoreOnPanic leaves raw mode alone.
	if err := term.MakeRaw(Options{}); err != nil {
		t.Fatal(err)
	}
	func() { defer term.RestoreOnPanic() }()
	if !term.IsRaw() {
		t.Error("RestoreOnPanic restored without a panic")
	}
	term.Restore()
}

func TestSizeAndWatchCoalesces(t *testing.T) {
	master, slave := openPty(t)
	term, err := New(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	if ws, err := term.Size(); err != nil || ws != (Winsize{Rows: 24, Cols: 80}) {
		t.Fatalf("Size = %+v, %v", ws, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := term.WatchSize(ctx)
	// Nobody reads while the size changes three times; each change is
	// announced by SIGWINCH (sent to ourselves: this process does not have
	// the pty as controlling terminal).
	for i, ws := range []pty.Winsize{{Rows: 30, Cols: 90}, {Rows: 31, Cols: 91}, {Rows: 50, Cols: 132, X: 7, Y: 9}} {
		if err := pty.Setsize(master, &ws); err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	want := Winsize{Rows: 50, Cols: 132, XPixel: 7, YPixel: 9}
	deadline := time.After(10 * time.Second)
	got := 0
	for done := false; !done; {
		select {
		case ws := <-ch:
			got++
			if ws == want {
				done = true
			}
		case <-deadline:
			t.Fatal("watcher never delivered the latest size")
		}
	}
	if got > 3 {
		t.Errorf("received %d sizes for 3 changes", got)
	}
	// Unchanged size: a SIGWINCH must not produce a duplicate.
	unix.Kill(os.Getpid(), syscall.SIGWINCH)
	select {
	case ws := <-ch:
		t.Errorf("unchanged size delivered again: %+v", ws)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	for range ch { // must be closed after cancel
	}
}
