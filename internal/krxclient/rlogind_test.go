package krxclient

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// rlogind is krx's own daemon, built and started with only its krx
// services on loopback, authorising alice for root by a .k5login.
type rlogind struct {
	login, shell string // ports
	log          syncbuf.Buffer
	cmd          *exec.Cmd
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startRlogind starts rlogind serving eklogin and kshell on two ports.
func startRlogind(t testing.TB, r *krbtest.Realm) *rlogind {
	t.Helper()
	d := &rlogind{login: freePort(t), shell: freePort(t)}
	runRlogind(t, r, d, "--eklogin-addr", "127.0.0.1:"+d.login, "--kshell-addr", "127.0.0.1:"+d.shell)
	return d
}

// startRlogindOnePort starts rlogind serving both krx services on one
// port (--krx-addr) and nothing else.
func startRlogindOnePort(t testing.TB, r *krbtest.Realm) *rlogind {
	t.Helper()
	p := freePort(t)
	d := &rlogind{login: p, shell: p}
	runRlogind(t, r, d, "--eklogin-addr", "off", "--kshell-addr", "off", "--krx-addr", "127.0.0.1:"+p)
	return d
}

// runRlogind builds and starts rlogind with the plain services off, alice
// authorised for root, and args saying where the krx services listen; it
// returns once d's ports accept connections.
func runRlogind(t testing.TB, r *krbtest.Realm, d *rlogind, args ...string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rlogind")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin,
		"github.com/krx-suite/krx/cmd/rlogind").CombinedOutput()
	if err != nil {
		t.Fatalf("go build rlogind: %v\n%s", err, out)
	}
	k5 := filepath.Join(dir, "k5login")
	if err := os.MkdirAll(k5, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(k5, "root"), []byte("alice@"+r.Name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--login-addr", "off", "--shell-addr", "off", "-D",
		"-K", r.HostKeytab, "--rcache", filepath.Join(dir, "rcache"), "--k5login-dir", k5}, args...)...)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+r.Krb5Conf)
	cmd.Stdout, cmd.Stderr = &d.log, &d.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd = cmd
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("rlogind log:\n%s", d.log.String())
		}
	})
	for _, p := range []string{d.login, d.shell} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := net.Dial("tcp", "127.0.0.1:"+p)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rlogind does not listen on %s: %v", p, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestAgainstRlogind: rsh -x, rcp -x and rlogin -x against krx's rlogind
// (kshell and eklogin), authorised by .k5login.
func TestAgainstRlogind(t *testing.T) {
	needRoot(t)
	r := realm(t)
	d := startRlogind(t, r)
	bins := programs(t)

	in := randomBytes(t, 2<<20)
	out, serr, err := run(t, r, in, "rsh", "-x", "-p", d.shell, "-l", "root", "localhost", "cat; echo to-stderr >&2")
	if err != nil || !bytes.Equal(out, in) || string(serr) != "to-stderr\n" {
		t.Errorf("rsh -x via rlogind: %v; stdout %d bytes equal %v; stderr %q", err, len(out), bytes.Equal(out, in), serr)
	}

	dir := t.TempDir()
	data := randomBytes(t, 4<<20+7)
	src, remote, back := filepath.Join(dir, "src"), filepath.Join(dir, "remote"), filepath.Join(dir, "back")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rr := "--remote-rcp=" + filepath.Join(bins, "rcp")
	if _, serr, err := run(t, r, nil, "rcp", "-x", rr, "-P", d.shell, src, "root@localhost:"+remote); err != nil {
		t.Errorf("rcp -x to rlogind: %v; %s", err, serr)
	} else if got, _ := os.ReadFile(remote); !bytes.Equal(got, data) {
		t.Errorf("rcp -x to rlogind: %d bytes, want %d equal", len(got), len(data))
	}
	if _, serr, err := run(t, r, nil, "rcp", "-x", rr, "-P", d.shell, "localhost:"+remote, back); err != nil {
		t.Errorf("rcp -x from rlogind: %v; %s", err, serr)
	} else if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Errorf("rcp -x from rlogind: %d bytes, want %d equal", len(got), len(data))
	}

	// The remote side's own rcp: on Debian that is netkit's, which writes
	// its replies to descriptor 0 (the socket under rshd; the daemon's
	// socketpair under krx).
	if _, err := os.Stat("/usr/bin/rcp"); err == nil {
		back2 := filepath.Join(dir, "back2")
		if _, serr, err := run(t, r, nil, "rcp", "-x", "-P", d.shell, src, "localhost:"+remote+"2"); err != nil {
			t.Errorf("rcp -x to rlogind's /usr/bin/rcp: %v; %s", err, serr)
		} else if _, serr, err := run(t, r, nil, "rcp", "-x", "-P", d.shell, "localhost:"+remote+"2", back2); err != nil {
			t.Errorf("rcp -x from rlogind's /usr/bin/rcp: %v; %s", err, serr)
		} else if got, _ := os.ReadFile(back2); !bytes.Equal(got, data) {
			t.Errorf("rcp -x through /usr/bin/rcp: %d bytes back, want %d equal", len(got), len(data))
		}
	}

	// rlogin -x on a pty: a command's output, then ~.
	ptmx, tty := openPty(t)
	c := startOnPty(t, r, ptmx, tty, []string{"rlogin", "-x", "-p", d.login, "localhost"})
	scr := c.scr
	time.Sleep(200 * time.Millisecond)
	ptmx.Write([]byte("echo hel''lo rlo''gind\r"))
	at := scr.waitFor(t, 0, "hello rlogind")
	ptmx.Write([]byte("\r~."))
	c.waitExit(t, "~.")
	if !strings.Contains(scr.String()[at:], "rlogin: closed connection.") {
		time.Sleep(200 * time.Millisecond)
		if !strings.Contains(scr.String()[at:], "rlogin: closed connection.") {
			t.Errorf("no closing message; screen %q", scr.String()[at:])
		}
	}
}

// TestForwardToRlogind: -f and -F forward alice's TGT; the remote command
// finds it in its ccache, forwardable only with -F.
func TestForwardToRlogind(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("klist"); err != nil {
		t.Skip("no klist")
	}
	r := realm(t)
	d := startRlogind(t, r)
	for _, tc := range []struct {
		flag        string
		forwardable bool
	}{{"-f", false}, {"-F", true}} {
		out, serr, err := run(t, r, nil, "rsh", "-x", tc.flag, "-n", "-p", d.shell, "localhost", "klist -f")
		if err != nil || !strings.Contains(string(out), "alice@"+r.Name) || !strings.Contains(string(out), "krbtgt/"+r.Name) {
			t.Errorf("rsh -x %s klist: %v; stdout %q stderr %q", tc.flag, err, out, serr)
			continue
		}
		// klist -f prints the flags line "Flags: FfA..." (F forwardable, f forwarded).
		var flags string
		for _, l := range strings.Split(string(out), "\n") {
			if i := strings.Index(l, "Flags: "); i >= 0 {
				flags = l[i+len("Flags: "):]
				break
			}
		}
		if !strings.Contains(flags, "f") || strings.Contains(flags, "F") != tc.forwardable {
			t.Errorf("rsh -x %s: ticket flags %q (want forwarded, forwardable %v)", tc.flag, flags, tc.forwardable)
		}
	}
	out, _, err := run(t, r, nil, "rsh", "-x", "-n", "-p", d.shell, "localhost", "klist; echo status $?")
	if err != nil || strings.Contains(string(out), "krbtgt/") {
		t.Errorf("rsh -x without -f: %v; the remote has a ticket: %q", err, out)
	}
}
