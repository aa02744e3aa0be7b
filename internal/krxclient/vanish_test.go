package krxclient

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// exitCode is the exit status of a finished program (-1: it did not exit
// by itself, 0: no error).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// smallFS mounts a 1 MiB tmpfs on a new directory; t.Cleanup unmounts it.
func smallFS(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "krx-rcpx-test", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

// TestRcpXRemoteDiskFull: rcp -x into a full file system on the rlogind
// side: the remote rcp's "no space left on device" reaches the user
// through the encrypted stream, rcp exits 1, and the file that was there
// is kept whole with no partial copy beside it.
func TestRcpXRemoteDiskFull(t *testing.T) {
	needRoot(t)
	r := realm(t)
	d := startRlogind(t, r)
	target := smallFS(t)
	old := filepath.Join(target, "f")
	if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, randomBytes(t, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	rr := "--remote-rcp=" + filepath.Join(programs(t), "rcp")
	_, serr, err := run(t, r, nil, "rcp", "-x", rr, "-P", d.shell, src, "root@localhost:"+target)
	if exitCode(err) != 1 || !strings.Contains(string(serr), "rcp: "+old+": no space left on device") {
		t.Fatalf("rcp -x into a full disk: %v, stderr %q", err, serr)
	}
	if b, _ := os.ReadFile(old); string(b) != "old" {
		t.Errorf("the old file is now %d bytes", len(b))
	}
	if n := entries(t, target); len(n) != 1 {
		t.Errorf("left in the target: %v", n)
	}
}

// TestRcpXPeerVanishes: the daemon dies (SIGKILL) in the middle of an
// rcp -x, either way. rcp ends by itself with exit 1 and a message about
// the connection, and no file is lost: on the receiving side the file
// that was there is kept and no partial copy is left.
func TestRcpXPeerVanishes(t *testing.T) {
	needRoot(t)
	r := realm(t)
	rr := "--remote-rcp=" + filepath.Join(programs(t), "rcp")
	big := filepath.Join(t.TempDir(), "big")
	// Large enough that the copy is still running when the kill lands.
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	chunk := randomBytes(t, 1<<20)
	for range 256 {
		f.Write(chunk)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"upload", "download"} {
		t.Run(dir, func(t *testing.T) {
			d := startRlogind(t, r)
			target := t.TempDir()
			old := filepath.Join(target, "big")
			if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			from, to := big, "root@localhost:"+target
			if dir == "download" {
				from, to = "root@localhost:"+big, target
			}
			// Kill the daemon once the receiver has started writing: a
			// temporary file beside the target has data in it.
			killed := make(chan struct{})
			go func() {
				defer close(killed)
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					for _, n := range entries(t, target) {
						if fi, err := os.Stat(filepath.Join(target, n)); err == nil && n != "big" && fi.Size() > 1<<20 {
							d.cmd.Process.Kill()
							return
						}
					}
					time.Sleep(time.Millisecond)
				}
			}()
			_, serr, err := run(t, r, nil, "rcp", "-x", rr, "-P", d.shell, from, to)
			<-killed
			if exitCode(err) != 1 || !strings.Contains(string(serr), "rcp: ") || !strings.Contains(string(serr), "connection") {
				t.Errorf("rcp -x when the daemon dies: %v, stderr %q", err, serr)
			}
			t.Logf("rcp: %v, stderr %q", err, serr)
			// The remote rcp (upload) outlives the daemon: give it a
			// moment to see the end and remove its temporary file.
			deadline := time.Now().Add(10 * time.Second)
			for len(entries(t, target)) != 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if b, _ := os.ReadFile(old); string(b) != "old" {
				t.Errorf("the old file is now %d bytes", len(b))
			}
			if n := entries(t, target); len(n) != 1 {
				t.Errorf("left in the target: %v", n)
			}
		})
	}
}

// TestRloginXDaemonDies: the daemon dies (SIGKILL) while rlogin -x paints
// a flood: rlogin ends by itself with netkit's "connection closed." (exit
// 0 on the FIN the kernel sends for the dead daemon, 1 after a reset, as
// netkit's reader()), and the user's terminal is restored.
func TestRloginXDaemonDies(t *testing.T) {
	needRoot(t)
	r := realm(t)
	d := startRlogind(t, r)
	ptmx, tty := openPty(t)
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	c := startOnPty(t, r, ptmx, tty, []string{"rlogin", "-x", "-p", d.login, "localhost"})
	time.Sleep(200 * time.Millisecond)
	ptmx.Write([]byte("echo fl''ood; yes krx-flood-line\r"))
	at := c.scr.waitFor(t, 0, "flood\r\n")
	c.scr.waitFor(t, at, "krx-flood-line\r\nkrx-flood-line\r\n")
	d.cmd.Process.Kill()
	select {
	case <-c.exited:
	case <-time.After(screenWait):
		t.Fatalf("rlogin -x still running %v after the daemon died; screen ends %q", screenWait, c.tail())
	}
	time.Sleep(100 * time.Millisecond) // the last message on its way through the pty
	tail := c.tail()
	t.Logf("rlogin: %v; screen ends %q", c.err, tail[max(0, len(tail)-200):])
	if !strings.Contains(tail, "rlogin: connection closed.") {
		t.Errorf("no message from rlogin; screen ends %q", tail)
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal not restored: lflag %#x iflag %#x oflag %#x, want %#x %#x %#x",
			after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
	}
}
