package rcp

// Interop with the real netkit programs (Debian rsh-server, rsh-client):
// krx rcp against in.rshd served by socat, the remote side running netkit
// rcp (or krx's rcp through --remote-rcp), and krx's engine against
// netkit's rcp -t/-f on socket pairs.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/rcmd/rshdtest"
)

const netkitRcp = "/usr/bin/rcp"

var (
	buildOnce sync.Once
	krxRcp    string
	buildErr  error
	buildDir  string
)

// krxBinary builds cmd/rcp once per test binary.
func krxBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "krx-rcp-bin-")
		if buildErr != nil {
			return
		}
		os.Chmod(buildDir, 0755)
		krxRcp = filepath.Join(buildDir, "rcp")
		out, err := exec.Command("go", "build", "-o", krxRcp, "github.com/krx-suite/krx/cmd/rcp").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building krx rcp: %v", buildErr)
	}
	return krxRcp
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// rshd starts in.rshd and authorises root; it returns the port.
func rshd(t *testing.T) string {
	t.Helper()
	rshdtest.NeedRoot(t, netkitRcp)
	rshdtest.AuthorizeRoot(t)
	_, port, _ := net.SplitHostPort(rshdtest.Start(t, 0))
	return port
}

// runKrx runs the krx rcp program; it returns stderr and the exit code.
func runKrx(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(krxBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	timer := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Run()
	close(done)
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return stderr.String(), cmd.ProcessState.ExitCode()
}

func randomFile(t testing.TB, path string, size int64) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func hashFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return h.Sum(nil)
}

// TestInteropBigFile: 100 MiB to and from netkit (rcp -t / rcp -f under
// in.rshd).
func TestInteropBigFile(t *testing.T) {
	port := rshd(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "big")
	sum := randomFile(t, src, 100<<20)
	os.Mkdir(filepath.Join(tmp, "remote"), 0755)
	if out, code := runKrx(t, "-P", port, src, "127.0.0.1:"+filepath.Join(tmp, "remote")); code != 0 || out != "" {
		t.Fatalf("to remote: exit %d: %s", code, out)
	}
	if !bytes.Equal(hashFile(t, filepath.Join(tmp, "remote", "big")), sum) {
		t.Fatal("to remote: contents differ")
	}
	back := filepath.Join(tmp, "back")
	if out, code := runKrx(t, "-P", port, "127.0.0.1:"+filepath.Join(tmp, "remote", "big"), back); code != 0 || out != "" {
		t.Fatalf("from remote: exit %d: %s", code, out)
	}
	if !bytes.Equal(hashFile(t, back), sum) {
		t.Fatal("from remote: contents differ")
	}
}

// TestInteropTree: a tree with -rp both ways; contents, modes, mtimes.
func TestInteropTree(t *testing.T) {
	port := rshd(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "tree")
	makeTree(t, src, true)
	want := snapshot(t, src)

	// krx source → netkit sink.
	os.Mkdir(filepath.Join(tmp, "remote"), 0755)
	if out, code := runKrx(t, "-rp", "-P", port, src, "127.0.0.1:"+filepath.Join(tmp, "remote")); code != 0 || out != "" {
		t.Fatalf("to remote: exit %d: %s", code, out)
	}
	if d := diffSnap(want, snapshot(t, filepath.Join(tmp, "remote", "tree"))); d != "" {
		t.Fatalf("to remote, trees differ:\n%s", d)
	}
	// netkit source → krx sink: exactly the original.
	os.Mkdir(filepath.Join(tmp, "local"), 0755)
	if out, code := runKrx(t, "-rp", "-P", port, "127.0.0.1:"+src, filepath.Join(tmp, "local")); code != 0 || out != "" {
		t.Fatalf("from remote: exit %d: %s", code, out)
	}
	if d := diffSnap(want, snapshot(t, filepath.Join(tmp, "local", "tree"))); d != "" {
		t.Fatalf("from remote, trees differ:\n%s", d)
	}
}

// TestInteropRemoteToRemote: "rcp host1:src host2:dst" runs rcp on host1
// through in.rshd; here host1's rcp is krx's (--remote-rcp), since only
// it understands -P for the second hop.
func TestInteropRemoteToRemote(t *testing.T) {
	port := rshd(t)
	bin := krxBinary(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "tree")
	makeTree(t, src, false)
	dst := filepath.Join(tmp, "dst")
	os.Mkdir(dst, 0755)
	out, code := runKrx(t, "-rp", "-P", port, "--remote-rcp", bin, "127.0.0.1:"+src, "127.0.0.1:"+dst)
	if code != 0 || out != "" {
		t.Fatalf("exit %d: %s", code, out)
	}
	if d := diffSnap(snapshot(t, src), snapshot(t, filepath.Join(dst, "tree"))); d != "" {
		t.Fatalf("trees differ:\n%s", d)
	}
	// A missing source: the remote rcp's message comes back, exit 1.
	out, code = runKrx(t, "-P", port, "--remote-rcp", bin, "127.0.0.1:"+filepath.Join(tmp, "nope"), "127.0.0.1:"+dst)
	if code != 1 || !strings.Contains(out, "nope: no such file or directory") {
		t.Fatalf("missing source: exit %d: %s", code, out)
	}
}

// TestInteropDiskFull: netkit's source sends into a full tmpfs; krx's sink
// reports it, the old file survives, no temporary file is left.
func TestInteropDiskFull(t *testing.T) {
	port := rshd(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "f")
	randomFile(t, src, 3<<20)
	target := filepath.Join(tmp, "small")
	os.Mkdir(target, 0755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "krx-rcp-test", target).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	defer syscall.Unmount(target, syscall.MNT_DETACH)
	os.WriteFile(filepath.Join(target, "f"), []byte("old"), 0644)
	out, code := runKrx(t, "-P", port, "127.0.0.1:"+src, target)
	if code != 1 || !strings.Contains(out, "rcp: "+filepath.Join(target, "f")+": no space left on device") {
		t.Fatalf("exit %d: %q", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "f")); string(b) != "old" {
		t.Fatalf("old file now %d bytes", len(b))
	}
	if n := listDir(t, target); len(n) != 1 {
		t.Fatalf("entries: %v", n)
	}
}

// startNetkit runs netkit rcp in server mode on a socket pair (its fd 0
// and 1, as rshd gives it); it returns our end.
func startNetkit(t *testing.T, args ...string) (*exec.Cmd, *net.UnixConn) {
	t.Helper()
	rshdtest.NeedRoot(t, netkitRcp)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	child := os.NewFile(uintptr(fds[0]), "child")
	f := os.NewFile(uintptr(fds[1]), "ours")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(netkitRcp, args...)
	cmd.Stdin, cmd.Stdout = child, child
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	t.Cleanup(func() { c.Close(); cmd.Process.Kill(); cmd.Wait() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return cmd, c.(*net.UnixConn)
}

// TestNetkitPipesTree: krx's source into netkit's "rcp -r -p -t", and
// netkit's "rcp -r -p -f" into krx's sink: byte-identical trees.
func TestNetkitPipesTree(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "tree")
	makeTree(t, src, true)
	want := snapshot(t, src)

	a := filepath.Join(tmp, "a")
	os.Mkdir(a, 0755)
	cmd, c := startNetkit(t, "-r", "-p", "-t", a)
	if err := Source(c, c, []string{src}, Options{Recursive: true, Preserve: true}); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	cmd.Wait()
	if d := diffSnap(want, snapshot(t, filepath.Join(a, "tree"))); d != "" {
		t.Fatalf("netkit sink, trees differ:\n%s", d)
	}

	b := filepath.Join(tmp, "b")
	os.Mkdir(b, 0755)
	cmd, c = startNetkit(t, "-r", "-p", "-f", src)
	if err := Sink(c, c, b, Options{Recursive: true, Preserve: true}); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if d := diffSnap(want, snapshot(t, filepath.Join(b, "tree"))); d != "" {
		t.Fatalf("netkit source, trees differ:\n%s", d)
	}
}

// killAfter passes reads through and kills the process once n bytes went by.
type killAfter struct {
	r    io.Reader
	n    int64
	cmd  *exec.Cmd
	done bool
}

func (k *killAfter) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.n -= int64(n)
	if k.n <= 0 && !k.done {
		k.done = true
		k.cmd.Process.Kill()
	}
	return n, err
}

// TestNetkitSourceKilled: netkit's "rcp -f" is killed in the middle of a
// 64 MiB body: the old destination is intact and no temporary file is left.
func TestNetkitSourceKilled(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "big")
	randomFile(t, src, 64<<20)
	dst := filepath.Join(tmp, "dst")
	os.Mkdir(dst, 0755)
	os.WriteFile(filepath.Join(dst, "big"), []byte("precious"), 0644)
	cmd, c := startNetkit(t, "-f", src)
	var log bytes.Buffer
	err := Sink(&killAfter{r: c, n: 8 << 20, cmd: cmd}, c, dst, Options{Log: &log})
	if err == nil || !strings.Contains(log.String(), "source died mid-file") {
		t.Fatalf("sink: %v; log %q", err, log.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "big")); string(b) != "precious" {
		t.Fatalf("old file replaced (%d bytes)", len(b))
	}
	if n := listDir(t, dst); len(n) != 1 {
		t.Fatalf("entries: %v", n)
	}
	t.Log(strconv.Quote(strings.TrimSpace(log.String())))
}
