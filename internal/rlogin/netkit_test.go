package rlogin

import (
	"bytes"
	"fmt"
	"github.com/krx-suite/krx/internal/testutil/rhoststest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

const rlogind = "/usr/sbin/in.rlogind"

// startRlogind serves netkit in.rlogind with socat on a free 127.0.0.1
// port (TESTBED.md) and authorises root by .rhosts lines of this test's
// own, removed exactly at cleanup.
func startRlogind(t *testing.T) int {
	t.Helper()
	needRoot(t)
	for _, p := range []string{"socat", rlogind} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (Debian socat, rsh-server): %v", p, err)
		}
	}
	rhoststest.AuthorizeRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("socat", "TCP-LISTEN:"+strconv.Itoa(port)+",bind=127.0.0.1,reuseaddr,fork",
		"EXEC:"+rlogind+",nofork,stderr")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	for i := 0; i < 300; i++ {
		b, _ := os.ReadFile("/proc/net/tcp")
		if strings.Contains(string(b), fmt.Sprintf("0100007F:%04X 00000000:0000 0A", port)) {
			return port
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("socat did not start listening")
	return 0
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// rloginBinary builds cmd/rlogin once per test run.
func rloginBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "krx-rlogin-test-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binDir,
			"github.com/krx-suite/krx/cmd/rlogin").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "rlogin")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// client is the rlogin binary running on a pty whose master the test holds.
type client struct {
	*term
	cmd  *exec.Cmd
	done chan error
	buf  bytes.Buffer // recent bytes read from the master
	rd   *masterReader
}

// masterReader reads the pty master on request only (the master is a
// blocking file: no deadlines), so the test can stop reading the
// terminal and let output back up.
type masterReader struct {
	req     chan struct{}
	res     chan chunk
	pending bool
}

type chunk struct {
	b   []byte
	err error
}

func newMasterReader(m *os.File) *masterReader {
	r := &masterReader{req: make(chan struct{}), res: make(chan chunk, 1)}
	go func() {
		buf := make([]byte, 64<<10)
		for range r.req {
			n, err := m.Read(buf)
			r.res <- chunk{append([]byte(nil), buf[:n]...), err}
			if err != nil {
				return
			}
		}
	}()
	return r
}

var errQuiet = fmt.Errorf("no output")

// read returns the next bytes, or errQuiet after d without any.
func (r *masterReader) read(d time.Duration) ([]byte, error) {
	if !r.pending {
		r.req <- struct{}{}
		r.pending = true
	}
	select {
	case c := <-r.res:
		r.pending = false
		return c.b, c.err
	case <-time.After(d):
		return nil, errQuiet
	}
}

func startClient(t *testing.T, port int, args ...string) *client {
	t.Helper()
	tm := newTerm(t)
	c := &client{term: tm, done: make(chan error, 1)}
	c.cmd = exec.Command(rloginBinary(t), append([]string{"-p", strconv.Itoa(port)}, append(args, "127.0.0.1")...)...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = tm.slave, tm.slave, tm.slave
	c.cmd.Env = append(os.Environ(), "TERM=xterm")
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.rd = newMasterReader(tm.master)
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// expect reads until want appears after the bytes already seen.
func (c *client) expect(t *testing.T, want string) {
	t.Helper()
	start := c.buf.Len()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.buf.String()[start:], want) {
		b, err := c.rd.read(time.Until(deadline))
		c.buf.Write(b)
		if err != nil {
			t.Fatalf("waiting for %q: %v; transcript ends %q", want, err, tail(c.buf.Bytes()))
		}
	}
}

// quiet reads until nothing arrives for d and returns the byte count.
func (c *client) quiet(d time.Duration) int {
	total := 0
	for {
		b, err := c.rd.read(d)
		total += len(b)
		if len(b) > 0 {
			c.buf.Reset() // keep memory small during floods
			c.buf.Write(b[max(0, len(b)-4096):])
		}
		if err != nil {
			return total
		}
	}
}

func (c *client) typeLine(s string) { c.master.Write([]byte(s + "\r")) }

// login waits for a working remote shell. login(1) flushes typed-ahead
// input before it starts the shell, so the command is typed again until
// it runs.
func (c *client) login(t *testing.T) {
	t.Helper()
	for i := 0; i < 60; i++ {
		c.typeLine(fmt.Sprintf("echo KRX$((%d*7))OK", i+6))
		want := fmt.Sprintf("KRX%dOK", (i+6)*7)
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			b, err := c.rd.read(time.Until(deadline))
			c.buf.Write(b)
			if strings.Contains(c.buf.String(), want) {
				return
			}
			if err != nil && err != errQuiet {
				t.Fatalf("login: %v; transcript ends %q", err, tail(c.buf.Bytes()))
			}
		}
	}
	t.Fatalf("no shell; transcript ends %q", tail(c.buf.Bytes()))
}

// stty asks the remote shell for its terminal size until it is want.
func (c *client) sttySize(t *testing.T, want string) {
	t.Helper()
	for i := 0; i < 50; i++ {
		c.typeLine(fmt.Sprintf("echo S$((%d+1)); stty size; echo E$((%d+1))", i, i))
		c.expect(t, fmt.Sprintf("E%d", i+1))
		out := c.buf.String()
		out = out[strings.LastIndex(out, fmt.Sprintf("S%d", i+1)):]
		if strings.Contains(out, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("remote stty size never became %q; last %q", want, tail(c.buf.Bytes()))
}

func (c *client) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("rlogin did not exit")
	}
	return nil
}

// TestNetkitSession drives krx rlogin against netkit in.rlogind through a
// pty: a command, window sizes, ~. and the terminal restored.
func TestNetkitSession(t *testing.T) {
	port := startRlogind(t)
	c := startClient(t, port)
	before := c.termios(t)
	c.login(t)
	c.sttySize(t, "24 80")
	pty.Setsize(c.master, &pty.Winsize{Rows: 31, Cols: 101}) // SIGWINCH to rlogin
	c.sttySize(t, "31 101")
	if c.termios(t) == before {
		t.Fatal("terminal not in raw mode during the session")
	}
	c.master.Write([]byte("\r~."))
	c.expect(t, "rlogin: closed connection.")
	if err := c.waitExit(t); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if after := c.termios(t); after != before {
		t.Fatalf("terminal not restored after ~.:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestNetkitSIGTERM: rlogin killed by SIGTERM restores the terminal first.
func TestNetkitSIGTERM(t *testing.T) {
	port := startRlogind(t)
	c := startClient(t, port)
	before := c.termios(t)
	c.login(t)
	c.cmd.Process.Signal(syscall.SIGTERM)
	err := c.waitExit(t)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("exit %v, want death by SIGTERM", err)
	}
	if after := c.termios(t); after != before {
		t.Fatalf("terminal not restored after SIGTERM:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestNetkitFlush: od floods the terminal while the test reads it only a
// little, so the flood backs up in every buffer between od and the screen;
// then ^C. Counted: bytes painted after the ^C until the output goes
// quiet. The same with --debug-ignore-flush shows what was in flight;
// honouring netkit's FLUSHWRITE must paint far less.
//
// in.rlogind sends its urgent byte with a non-blocking send that fails
// with EAGAIN when its socket is full (seen with tcpdump: no URG segment
// for some ^C), so a try counts only if the client reports (--debug-stats)
// that a flush arrived; without one in 10 tries the test skips —
// TestFlushWrite covers the client's flush against a server that always
// sends one.
func TestNetkitFlush(t *testing.T) {
	port := startRlogind(t)
	inFlight, _ := floodAndInterrupt(t, port, true)
	for try := 1; try <= 10; try++ {
		painted, flushes := floodAndInterrupt(t, port, false)
		t.Logf("try %d: ignoring FLUSHWRITE painted %d after ^C; honouring it %d (flushes received: %d)",
			try, inFlight, painted, flushes)
		if flushes == 0 {
			continue
		}
		if painted*4 > inFlight {
			t.Fatalf("a flush arrived, yet %d bytes were painted after ^C; %d without flushing: not far below", painted, inFlight)
		}
		return
	}
	t.Skip("in.rlogind sent no urgent FLUSHWRITE for ^C in 10 tries (its MSG_OOB send fails on a full socket)")
}

// floodAndInterrupt runs one session: od -v /dev/zero, the terminal read
// only a little so the flood backs up, ^C, and a count of what is painted
// until the output is quiet; then ~. and the client's count of FLUSHWRITE
// bytes received.
func floodAndInterrupt(t *testing.T, port int, ignore bool) (painted, flushes int) {
	args := []string{"--debug-stats"}
	if ignore {
		args = append(args, "--debug-ignore-flush")
	}
	c := startClient(t, port, args...)
	c.login(t)
	c.typeLine("od -v /dev/zero")
	c.expect(t, "0000000")
	for n := 0; n < 4<<20; {
		b, err := c.rd.read(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
	}
	// Let the flood back up while reading a little.
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		c.rd.read(10 * time.Millisecond)
		time.Sleep(10 * time.Millisecond)
	}
	c.master.Write([]byte{0x03}) // ^C
	painted = c.quiet(time.Second)
	c.login(t) // the session lives on
	c.master.Write([]byte("\r~."))
	c.expect(t, "rlogin: stats:")
	if err := c.waitExit(t); err != nil {
		t.Fatal(err)
	}
	for { // the rest of the line, if it came in a later read
		b, err := c.rd.read(200 * time.Millisecond)
		c.buf.Write(b)
		if err != nil {
			break
		}
	}
	line := c.buf.String()[strings.LastIndex(c.buf.String(), "rlogin: stats:"):]
	var urgent, dropped int
	if _, err := fmt.Sscanf(line, "rlogin: stats: urgent %d flushes %d dropped %d", &urgent, &flushes, &dropped); err != nil {
		t.Fatalf("stats line %q: %v", line, err)
	}
	return painted, flushes
}
