package logind

import (
	"bytes"
	"github.com/krx-suite/krx/internal/testutil/rhoststest"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
)

// terminal collects what a program paints on its pty. It keeps only the
// last tailMax bytes, so that it reads as fast as it can: netkit rlogin
// becomes very slow to flush behind a slow terminal (its oob() sleeps a
// second per 8 KiB read while the urgent byte is still behind queued data).
type terminal struct {
	ptm  *os.File
	mu   sync.Mutex
	out  []byte // the tail of the output
	base int    // offset of out[0] in the whole output
	done chan struct{}
	grew chan struct{}
}

const tailMax = 1 << 20

func newTerminal(ptm *os.File) *terminal {
	tm := &terminal{ptm: ptm, done: make(chan struct{}), grew: make(chan struct{}, 1)}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := ptm.Read(buf)
			tm.mu.Lock()
			tm.out = append(tm.out, buf[:n]...)
			if len(tm.out) > tailMax {
				drop := len(tm.out) - tailMax/2
				tm.out = append(tm.out[:0], tm.out[drop:]...)
				tm.base += drop
			}
			tm.mu.Unlock()
			select {
			case tm.grew <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return tm
}

func (tm *terminal) len() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.base + len(tm.out)
}

// waitText waits for text painted after offset from and returns the
// offset just past it.
func (tm *terminal) waitText(t *testing.T, from int, text string) int {
	t.Helper()
	return tm.waitTextFor(t, from, text, 30*time.Second)
}

func (tm *terminal) waitTextFor(t *testing.T, from int, text string, wait time.Duration) int {
	t.Helper()
	deadline := time.After(wait)
	for {
		tm.mu.Lock()
		start := min(max(from-tm.base, 0), len(tm.out))
		i := bytes.Index(tm.out[start:], []byte(text))
		end := tm.base + start + i + len(text)
		tail := string(tm.out[max(0, len(tm.out)-300):])
		tm.mu.Unlock()
		if i >= 0 {
			return end
		}
		select {
		case <-tm.grew:
		case <-tm.done:
			t.Fatalf("terminal closed before %q; last output %q", text, tail)
		case <-deadline:
			t.Fatalf("no %q within %v; last output %q", text, wait, tail)
		}
	}
}

// lastIndex reports where text last occurs in everything received, or -1.
func (tm *terminal) lastIndex(text string) int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return bytes.LastIndex(tm.out, []byte(text))
}

func (tm *terminal) typeIn(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(tm.ptm, s); err != nil {
		t.Fatal(err)
	}
}

// TestNetkitRlogin drives the real netkit rlogin client on a pty against
// krx's login service, with root's real login shell: a command and its
// output, window-size changes seen by stty, ^C during an output flood,
// and exit.
func TestNetkitRlogin(t *testing.T) {
	servertest.NeedRoot(t, "rlogin")
	rhoststest.AuthorizeRoot(t)
	addr, logs := newServer(t, server.Config{Rhosts: true})
	_, port, _ := net.SplitHostPort(addr)

	cmd := exec.Command("rlogin", "-8", "-p", port, "-l", "root", "127.0.0.1")
	cmd.Env = append(os.Environ(), "TERM=vt100")
	ptm, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	tm := newTerminal(ptm)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		ptm.Close()
		<-tm.done
	}()
	logs.WaitFor(t, 10*time.Second, "decision=accepted", "client-user=root", "server-user=root", "reason=\"rhosts: root@127.0.0.1 as root: /root/.rhosts:")

	// netkit rlogin sends its first window message only when our urgent
	// 0x80 reaches it, which may be after this line is typed: wait for it
	// (at most 10 s). Under load netkit rlogin can miss that urgent byte
	// (it arrives before its reader process handles SIGURG); the server
	// then asks again (windowAsks, TestSessionAsksForWindowAgain).
	tm.typeIn(t, "for i in $(seq 100); do [ \"$(stty size)\" != '0 0' ] && break; sleep 0.1; done; stty size; echo MARK$((6*7))\r")
	n := tm.waitText(t, 0, "MARK42\r\n")
	if tm.lastIndex("0 0\r\nMARK42\r\n") >= 0 {
		t.Fatal("netkit rlogin sent no window size in 10 s, though the server asked again")
	}
	n = tm.waitText(t, 0, "33 101\r\nMARK42\r\n")

	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // SIGWINCH → rlogin sends the window message
	tm.typeIn(t, "stty size; echo MARK$((7*7))\r")
	n = tm.waitText(t, n, "40 120\r\nMARK49\r\n")

	// Flood, then ^C: the flood stops and the session goes on.
	tm.typeIn(t, "yes flooding-the-terminal\r")
	n = tm.waitText(t, n, "flooding-the-terminal\r\nflooding-the-terminal\r\n")
	for tm.len() < n+512<<10 {
		tm.waitText(t, tm.len(), "flooding-the-terminal\r\n")
	}
	tm.typeIn(t, "\x03")
	tm.typeIn(t, "echo DONE$((1+1))\r")
	// netkit rlogin's oob() sleeps one second per failed recv(MSG_OOB)
	// and then reads only 8 KiB: when its terminal is slow (the race
	// detector, a loaded machine) and a few hundred KiB are queued before
	// the urgent byte, its flush takes tens of seconds. The server sent
	// exactly one FLUSHWRITE (see the debug log); allow for the client.
	t0 := time.Now()
	n = tm.waitTextFor(t, n, "DONE2\r\n", 150*time.Second)
	t.Logf("^C to the next command's output: %v", time.Since(t0))
	logs.WaitFor(t, time.Second, "urgent control byte", "sent=0x02")
	// Quiet after the prompt: nothing of the flood follows.
	time.Sleep(300 * time.Millisecond)
	tm.mu.Lock()
	after := string(tm.out[min(max(n-tm.base, 0), len(tm.out)):])
	tm.mu.Unlock()
	if bytes.Contains([]byte(after), []byte("flooding")) {
		t.Fatalf("flood output after the next command's output: %q", after)
	}

	tm.typeIn(t, "exit\r")
	tm.waitText(t, n, "connection closed")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("rlogin: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("rlogin did not exit")
	}
	logs.WaitFor(t, 10*time.Second, "session ended", "exit status 0")
}
