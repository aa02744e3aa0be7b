package e2e

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/krx-suite/krx/internal/flakylink"
	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// krxPort is rlogind's eklogin port inside the server's namespace (each
// link has fresh namespaces, so nothing else is there).
const krxPort = "2105"

// world is what every link's session shares: the built programs and a
// realm with alice authorised for root.
type world struct {
	bin        string // rlogin, rlogind
	self       string // this test binary: the flood generator
	realm      *krbtest.Realm
	ccache     string
	k5loginDir string
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
	worldSkip string
)

// needRoot skips t unless it can build links and run the realm.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, nftables, rlogind logging in as root")
	}
	if err := flakylink.Available(flakylink.Options{}); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("kvno"); err != nil {
		t.Skipf("kvno not installed (Debian krb5-user): %v", err)
	}
}

// getWorld builds the programs and starts the realm once for the package;
// the realm is stopped by TestMain's caller through cleanupWorld.
func getWorld(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() { theWorld, worldErr = newWorld() })
	if errors.Is(worldErr, krbtest.ErrNoMIT) {
		t.Skip(worldErr)
	}
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

func newWorld() (*world, error) {
	w := &world{}
	var err error
	if w.self, err = os.Executable(); err != nil {
		return nil, err
	}
	if w.bin, err = os.MkdirTemp("", "krx-e2e-"); err != nil {
		return nil, err
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, p := range []string{"rlogin", "rlogind"} {
		out, err := exec.Command(goBin, "build", "-o", filepath.Join(w.bin, p), "github.com/krx-suite/krx/cmd/"+p).CombinedOutput()
		if err != nil {
			return w, errors.New("go build " + p + ": " + err.Error() + "\n" + string(out))
		}
	}
	if w.realm, err = krbtest.Start("", krbtest.Options{}); err != nil {
		return w, err
	}
	if w.ccache, err = w.realm.Kinit("alice"); err != nil {
		return w, err
	}
	w.k5loginDir = filepath.Join(w.bin, "k5login")
	if err := os.MkdirAll(w.k5loginDir, 0o755); err != nil {
		return w, err
	}
	err = os.WriteFile(filepath.Join(w.k5loginDir, "root"), []byte("alice@"+w.realm.Name+"\n"), 0o644)
	return w, err
}

// close stops the realm and removes the programs.
func (w *world) close() {
	if w == nil {
		return
	}
	if w.realm != nil {
		w.realm.Close()
	}
	if w.bin != "" {
		os.RemoveAll(w.bin)
	}
}

// env is the realm's environment with alice's ccache.
func (w *world) env() []string {
	return append(os.Environ(), w.realm.Env(w.ccache)...)
}

// hostTicket gives rlogind a key for host/<addr> and puts that ticket in
// alice's ccache now: the client's namespace cannot reach the KDC on this
// one's loopback. Once per address (every link uses the same one).
func (w *world) hostTicket(addr string) error {
	princ := "host/" + addr
	if err := w.realm.Kadmin("addprinc -randkey " + princ); err != nil && !bytes.Contains([]byte(err.Error()), []byte("already exists")) {
		return err
	}
	if err := w.realm.Kadmin("ktadd -k " + w.realm.HostKeytab + " " + princ); err != nil {
		return err
	}
	kvno := exec.Command("kvno", princ)
	kvno.Env = w.env()
	if out, err := kvno.CombinedOutput(); err != nil {
		return errors.New("kvno " + princ + ": " + err.Error() + ": " + string(out))
	}
	return nil
}

// startRlogind runs rlogind with -D serving eklogin only, in ns; t.Cleanup
// stops it by its pid.
func (w *world) startRlogind(t *testing.T, ns *flakylink.Namespace, log *syncbuf.Buffer) int {
	t.Helper()
	dir := t.TempDir()
	addr := net.JoinHostPort(ns.Addr, krxPort)
	cmd := exec.Command("ip", "netns", "exec", ns.Name, filepath.Join(w.bin, "rlogind"), "-D",
		"--login-addr", "off", "--shell-addr", "off", "--eklogin-addr", addr, "--kshell-addr", "off",
		"-K", w.realm.HostKeytab, "--rcache", filepath.Join(dir, "rcache"), "--k5login-dir", w.k5loginDir)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+w.realm.Krb5Conf)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("rlogind log (last 48 KiB):\n%s", tail(log.String(), 48<<10))
		}
		if dir := os.Getenv(dumpEnv); dir != "" {
			os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".rlogind.log"), []byte(log.String()), 0o644)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := ns.Dial(addr)
		if err == nil {
			c.Close()
			return cmd.Process.Pid
		}
		select {
		case <-done:
			t.Fatalf("rlogind exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rlogind does not listen on %s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// client is "rlogin -x" on a pty the test holds as a terminal would.
type client struct {
	cmd  *exec.Cmd
	ptmx *os.File
	out  chan []byte // what the client painted, chunk by chunk (short: a slow reader slows the client, as a terminal does)
	done chan struct{}
	err  error // cmd.Wait's, after done
}

// startClient runs rlogin -x in ns against host on a new 24x80 pty.
func (w *world) startClient(t *testing.T, ns *flakylink.Namespace, host string, extra ...string) *client {
	t.Helper()
	args := append([]string{"netns", "exec", ns.Name, filepath.Join(w.bin, "rlogin"), "-x", "-p", krxPort}, extra...)
	cmd := exec.Command("ip", append(args, host)...)
	cmd.Env = append(w.env(), "TERM=xterm")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80})
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		ptmx.Close()
		tty.Close()
		t.Fatal(err)
	}
	tty.Close()
	c := &client{cmd: cmd, ptmx: ptmx, out: make(chan []byte, 4), done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	go func() {
		defer close(c.out)
		for {
			buf := make([]byte, 64<<10)
			n, err := ptmx.Read(buf)
			if n > 0 {
				c.out <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			cmd.Process.Kill()
			<-c.done
		}
		ptmx.Close()
	})
	return c
}
