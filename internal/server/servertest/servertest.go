// Package servertest holds test helpers for rlogind's services: a server
// on a loopback port, captured logs, raw clients from reserved ports,
// /root/.rhosts lines added and removed exactly, and re-running a test in
// a fresh network namespace (for netkit rsh and rcp, which only connect to
// port 514). It is imported by tests only.
package servertest

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/rport"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// NeedRoot skips t unless it runs as root with the named programs on PATH.
func NeedRoot(t testing.TB, programs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as a user, and reserved ports (512-1023) need root")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (Debian rsh-client/rsh-server, util-linux, iproute2): %v", p, err)
		}
	}
}

// Logs is a concurrency-safe log sink; its zero value is ready to use.
type Logs struct {
	buf syncbuf.Buffer
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) { return l.buf.Write(p) }

// String returns everything logged so far.
func (l *Logs) String() string { return l.buf.String() }

// Logger returns a debug-level text logger writing to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// WaitFor waits until a logged line contains every one of parts and
// returns that line; it fails t after timeout.
func (l *Logs) WaitFor(t testing.TB, timeout time.Duration, parts ...string) string {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			ok := line != ""
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return line
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no log line with %q within %v; log:\n%s", parts, timeout, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Start serves h for svc on addr ("127.0.0.1:0" for a free port) until
// the test ends, and returns the listening address. Cleanup shuts the
// server down and waits for every connection's handler.
func Start(t testing.TB, svc server.Service, h server.Handler, addr string) string {
	t.Helper()
	a, _ := StartStoppable(t, svc, h, addr)
	return a
}

// StartStoppable is Start that also returns stop, which shuts the server
// down (as SIGTERM does rlogind) and waits until Serve has returned —
// every handler included — failing t after 30 s. Cleanup calls it too.
func StartStoppable(t testing.TB, svc server.Service, h server.Handler, addr string) (string, func()) {
	t.Helper()
	l, err := server.Listen(context.Background(), svc, addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server.Server{Handlers: map[server.Service]server.Handler{svc: h}, Log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("server did not shut down within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return l.Addr().String(), stop
}

// DialReserved connects to addr from a reserved port (needs root).
func DialReserved(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := rport.Dial("tcp4", addr)
	if err != nil {
		t.Fatalf("dial %s from a reserved port: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// DialAny connects to addr from an ephemeral (non-reserved) port.
func DialAny(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// FDCount returns the number of open descriptors of this process.
func FDCount(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Settle waits until the descriptor and goroutine counts are at most the
// given ones (+slack goroutines), failing t after timeout.
func Settle(t testing.TB, fds, goroutines, slack int, timeout time.Duration) {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		f, g := FDCount(t), runtime.NumGoroutine()
		if f <= fds && g <= goroutines+slack {
			return
		}
		if time.Now().After(end) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d descriptors (before %d), %d goroutines (before %d)\n%s", f, fds, g, goroutines, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// NetnsEnv marks a test process re-run inside a fresh network namespace.
const NetnsEnv = "KRX_SERVERTEST_IN_NETNS"

// InNetns reports whether this process is the re-run inside the namespace.
func InNetns() bool { return os.Getenv(NetnsEnv) == "1" }

// RunInNetns re-runs the test named name in a fresh network namespace with
// only loopback up (so ports 513/514 are free) and fails t unless it
// passes there. Output of the re-run is logged.
func RunInNetns(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "sh", "-c",
		`ip link set lo up && exec "$0" -test.run="^$1\$" -test.v -test.count=1`, os.Args[0], name)
	cmd.Env = append(os.Environ(), NetnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	t.Logf("in a fresh netns:\n%s", out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+name)) {
		t.Fatalf("%s in a fresh netns: %v", name, err)
	}
}

// FreePort returns a loopback TCP port nothing listens on (just closed).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// ReadAll reads c until EOF, failing t after timeout.
func ReadAll(t testing.TB, c net.Conn, timeout time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	_, err := b.ReadFrom(c)
	if err != nil {
		t.Fatalf("reading to EOF: %v (got %q)", err, b.Bytes())
	}
	return b.Bytes()
}

// RootWithHome returns a Lookup for server.Config that resolves users as
// usual but gives them home as their home directory and shell as their
// shell: with a home holding a test's own .rhosts (see RhostsHome), tests
// authorise through the real rules without editing /root/.rhosts.
func RootWithHome(home, shell string) func(string) (*server.Account, error) {
	return func(name string) (*server.Account, error) {
		a, err := server.LookupAccount(name)
		if a != nil {
			t := *a.Target
			t.Home = home
			a.Target = &t
			a.Shell = shell
		}
		return a, err
	}
}

// RhostsHome makes a temporary home directory holding a .rhosts with
// lines (mode 0600, owned by the test's user) and returns it.
func RhostsHome(t testing.TB, lines ...string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(home+"/.rhosts", []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}
