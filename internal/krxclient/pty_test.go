package krxclient

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// screenWait is how long a test waits for something to show on a pty or
// for a client on it to exit.
const screenWait = 20 * time.Second

// screen collects what a pty master shows.
type screen struct{ syncbuf.Buffer }

// waitFor waits up to screenWait until the screen, after offset from,
// contains want, and returns the offset past it.
func (s *screen) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	return s.WaitFor(t, from, want, screenWait)
}

// openPty opens a pty that the test's cleanup closes.
func openPty(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ptmx.Close()
		tty.Close()
	})
	return ptmx, tty
}

// ptyClient is one of the built client programs running on a real pty as
// its controlling terminal.
type ptyClient struct {
	args   []string
	scr    *screen
	exited chan struct{} // closed when the program has exited
	err    error         // its exit status, once exited is closed
}

// startOnPty runs the built program args[0] with args[1:] and alice's
// Kerberos environment (TERM=xterm) in a new session on tty, as a user's
// shell would. Everything ptmx shows goes to the client's screen and to
// each of also. Cleanup (registered after openPty's, so it runs first)
// kills the program if it still runs and waits for it.
func startOnPty(t *testing.T, r *krbtest.Realm, ptmx, tty *os.File, args []string, also ...io.Writer) *ptyClient {
	t.Helper()
	cmd := exec.Command(filepath.Join(programs(t), args[0]), args[1:]...)
	cmd.Env = append(env(r), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &ptyClient{args: args, scr: &screen{}, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.exited
	})
	w := io.MultiWriter(append([]io.Writer{c.scr}, also...)...)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return c
}

// waitExit waits up to screenWait for the program to exit after what the
// test did (after, for the messages): a failing exit is an error, still
// running is fatal.
func (c *ptyClient) waitExit(t *testing.T, after string) {
	t.Helper()
	select {
	case <-c.exited:
		if c.err != nil {
			t.Errorf("%v after %s: %v; screen ends %q", c.args, after, c.err, c.tail())
		}
	case <-time.After(screenWait):
		t.Fatalf("%v still running %v after %s; screen ends %q", c.args, screenWait, after, c.tail())
	}
}

// tail returns the last KiB the screen shows, for failure messages.
func (c *ptyClient) tail() string {
	s := c.scr.String()
	return s[max(0, len(s)-1024):]
}
