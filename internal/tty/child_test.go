package tty

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// The test binary re-executes itself with helperEnv set to play a raw-mode
// rlogin client on a pty (its stdin); it talks to the parent test on its
// stdout, a pipe. The parent checks the pty's termios from outside.
const helperEnv = "KRX_TTY_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role))
	}
	os.Exit(m.Run())
}

func runHelper(role string) int {
	term, err := New(0)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	wait := func() { // one byte from the parent through the pty
		b := make([]byte, 1)
		os.Stdin.Read(b)
	}
	switch role {
	case "panic":
		if err := term.MakeRaw(Options{}); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("raw")
		wait()
		go func() {
			defer term.RestoreOnPanic()
			panic("helper boom")
		}()
		time.Sleep(time.Minute)
	case "signal":
		stop := term.HandleSignals()
		defer stop()
		if err := term.MakeRaw(Options{}); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("raw")
		time.Sleep(time.Minute)
	case "suspend":
		if err := term.MakeRaw(Options{}); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		term.SetFlowControl(false)
		fmt.Println("raw")
		wait()
		if err := term.Suspend(os.Getenv("KRX_TTY_GROUP") == "1"); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("continued", term.IsRaw())
		wait()
		if err := term.Restore(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		return 0
	case "winch":
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ch := term.WatchSize(ctx)
		ws, _ := term.Size()
		fmt.Println("ready", ws.Rows, ws.Cols)
		for ws := range ch {
			fmt.Println("size", ws.Rows, ws.Cols)
			if ws.Rows == 40 {
				return 0
			}
		}
		return 1
	}
	fmt.Println("unknown role", role)
	return 3
}

// child starts the helper with the pty slave as stdin and returns a line
// reader on its stdout.
func child(t *testing.T, role string, slave *os.File, attr *syscall.SysProcAttr) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	cmd.Stdin = slave
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("helper stderr:\n%s", stderr.String())
		}
	})
	return cmd, bufio.NewReader(out)
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != want {
		t.Fatalf("helper said %q (%v), want %q", line, err, want)
	}
}

func TestRestoreAfterPanicInChild(t *testing.T) {
	master, slave := openPty(t)
	orig := termios(t, slave)
	cmd, out := child(t, "panic", slave, nil)
	expectLine(t, out, "raw")
	checkRaw(t, termios(t, slave), false)
	master.Write([]byte("g"))
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("helper exit = %v, want a panic (status 2)", err)
	}
	if got := termios(t, slave); got != orig {
		t.Fatalf("termios after panic:\n got %+v\nwant %+v", got, orig)
	}
}

func TestRestoreAfterSignalInChild(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			_, slave := openPty(t)
			orig := termios(t, slave)
			cmd, out := child(t, "signal", slave, nil)
			expectLine(t, out, "raw")
			checkRaw(t, termios(t, slave), false)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != sig {
				t.Fatalf("helper ended with %v, want death by %v", err, sig)
			}
			if got := termios(t, slave); got != orig {
				t.Fatalf("termios after %v:\n got %+v\nwant %+v", sig, got, orig)
			}
		})
	}
}

// procState returns the state letter of pid from /proc/pid/stat.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

func TestSuspendAndContinueInChild(t *testing.T) {
	for _, group := range []string{"0", "1"} {
		t.Run("group="+group, func(t *testing.T) {
			t.Setenv("KRX_TTY_GROUP", group)
			testSuspend(t)
		})
	}
}

func testSuspend(t *testing.T) {
	master, slave := openPty(t)
	start := termios(t, slave)
	start.Iflag |= unix.IXON
	setTermios(t, slave, start)
	orig := termios(t, slave)
	// Own process group, so SIGTSTP stops only the helper; its group is
	// not orphaned (we are its parent in the same session).
	cmd, out := child(t, "suspend", slave, &syscall.SysProcAttr{Setpgid: true})
	expectLine(t, out, "raw")
	master.Write([]byte("z"))
	deadline := time.Now().Add(10 * time.Second)
	for procState(cmd.Process.Pid) != 'T' {
		if time.Now().After(deadline) {
			t.Fatalf("helper never stopped (state %c)", procState(cmd.Process.Pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := termios(t, slave); got != orig {
		t.Fatalf("termios while stopped:\n got %+v\nwant %+v", got, orig)
	}
	// While stopped the "user" changes a setting; after SIGCONT raw mode
	// is rebuilt on top of the new settings, and flow control stays off as
	// the helper set it before stopping.
	changed := orig
	changed.Cc[unix.VERASE] = 0x08
	setTermios(t, slave, changed)
	cmd.Process.Signal(syscall.SIGCONT)
	expectLine(t, out, "continued true")
	raw := termios(t, slave)
	checkRaw(t, raw, false)
	if raw.Iflag&unix.IXON != 0 {
		t.Error("flow control came back on after suspend")
	}
	if raw.Cc[unix.VERASE] != 0x08 {
		t.Error("raw mode after SIGCONT ignored the settings changed while stopped")
	}
	master.Write([]byte("q"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if got := termios(t, slave); got != changed {
		t.Fatalf("final termios:\n got %+v\nwant %+v", got, changed)
	}
}

func TestWatchSizeSeesSIGWINCHInChild(t *testing.T) {
	master, slave := openPty(t)
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	// The helper is a session leader with the pty as controlling terminal,
	// so the kernel sends it SIGWINCH when we resize through the master.
	cmd, out := child(t, "winch", slave, &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0})
	expectLine(t, out, "ready 24 80")
	if err := pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	expectLine(t, out, "size 40 100")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}
