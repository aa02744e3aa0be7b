package bench

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sshPrivsepDir is the privilege separation directory OpenSSH's sshd
// refuses to start without (Debian's openssh-server creates it at boot
// through tmpfiles.d; a container may not have it).
const sshPrivsepDir = "/run/sshd"

// sshServer is a throwaway OpenSSH sshd on 127.0.0.1 with its own host key
// and a user key authorised for root, everything in a temporary directory
// (TESTBED.md, baselines).
type sshServer struct {
	Port string // TCP port on 127.0.0.1
	Key  string // the client's private key
	// AuthorizedKeys is the one AuthorizedKeysFile (for every user).
	AuthorizedKeys string
	Pid            int // sshd's
	log            bytes.Buffer
}

// startSSHD starts sshd on 127.0.0.1 in the test binary's network
// namespace; it skips b when OpenSSH is not installed. b.Cleanup stops
// sshd by its pid.
func startSSHD(b *testing.B) *sshServer {
	b.Helper()
	return startSSHDOn(b, "127.0.0.1", dialLocal)
}

// startSSHDOn starts sshd listening on ip, run under wrap (e.g. "ip netns
// exec NAME"); dial checks that it listens.
func startSSHDOn(b *testing.B, ip string, dial func(addr string) error, wrap ...string) *sshServer {
	b.Helper()
	for _, p := range []string{"sshd", "ssh", "scp", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			b.Skipf("%s not installed (Debian openssh-server, openssh-client): %v", p, err)
		}
	}
	sshd, _ := exec.LookPath("sshd")
	usePrivsepDir(b)
	dir := b.TempDir()
	hostKey, userKey := filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "user_ed25519")
	for _, k := range []string{hostKey, userKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "krx-bench", "-f", k).CombinedOutput(); err != nil {
			b.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(userKey + ".pub")
	if err != nil {
		b.Fatal(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		b.Fatal(err)
	}
	s := &sshServer{Port: freeTCPPort(b), Key: userKey, AuthorizedKeys: auth}
	cfg := filepath.Join(dir, "sshd_config")
	conf := fmt.Sprintf(`ListenAddress %s:%s
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PrintMotd no
PrintLastLog no
UseDNS no
Subsystem sftp %s
`, ip, s.Port, hostKey, filepath.Join(dir, "sshd.pid"), auth, sftpServer())
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	args := append(wrap, sshd, "-D", "-e", "-f", cfg)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stopByPid(b, cmd, "sshd", &s.log)
	s.Pid = cmd.Process.Pid
	waitDial(b, net.JoinHostPort(ip, s.Port), dial)
	return s
}

var (
	privsepMu      sync.Mutex
	privsepUsers   int  // running sshds of this process
	privsepCreated bool // this process made sshPrivsepDir
)

// usePrivsepDir makes sure sshPrivsepDir exists while b runs; one this
// process created is removed when its last sshd has stopped (counted, as
// a benchmark's cleanups may run after its next run has started).
func usePrivsepDir(b *testing.B) {
	b.Helper()
	privsepMu.Lock()
	defer privsepMu.Unlock()
	if _, err := os.Stat(sshPrivsepDir); os.IsNotExist(err) {
		if err := os.Mkdir(sshPrivsepDir, 0o755); err != nil {
			b.Fatal(err)
		}
		privsepCreated = true
	}
	privsepUsers++
	b.Cleanup(func() {
		privsepMu.Lock()
		defer privsepMu.Unlock()
		if privsepUsers--; privsepUsers == 0 && privsepCreated {
			os.Remove(sshPrivsepDir)
			privsepCreated = false
		}
	})
}

// sftpServer is Debian's sftp-server (what its sshd_config names), or
// sshd's in-process one if that is missing.
func sftpServer() string {
	const debian = "/usr/lib/openssh/sftp-server"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	return "internal-sftp"
}

// Args are ssh's (and scp's) options for this server, then extra.
func (s *sshServer) Args(port string, extra ...string) []string {
	a := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", s.Key, port, s.Port}
	return append(a, extra...)
}

// stopByPid makes b.Cleanup stop cmd (and its process group) by pid:
// SIGTERM, then SIGKILL after 10 s; the log is shown if b failed.
func stopByPid(b *testing.B, cmd *exec.Cmd, name string, log *bytes.Buffer) {
	b.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if b.Failed() {
			b.Logf("%s log:\n%s", name, log.String())
		}
	})
}

func freeTCPPort(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func waitListen(b *testing.B, addr string) {
	b.Helper()
	waitDial(b, addr, dialLocal)
}

// dialLocal connects to addr in this network namespace and hangs up.
func dialLocal(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
	}
	return err
}

// waitDial waits up to 20 s until dial(addr) succeeds.
func waitDial(b *testing.B, addr string, dial func(string) error) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := dial(addr)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sshCmd is "ssh 127.0.0.1 remote" to s with the default cipher.
func sshCmd(s *sshServer, remote string) *exec.Cmd {
	return exec.Command("ssh", s.Args("-p", sshHost, remote)...)
}

// scpCmd is scp to s with args (sources, then the target).
func scpCmd(s *sshServer, args ...string) *exec.Cmd {
	return exec.Command("scp", s.Args("-P", args...)...)
}

// bashrcCmd is root's shell sourcing root's .bashrc: the start-up both
// rlogind's and sshd's remote shells pay (TESTBED.md: 80–118 ms here).
func bashrcCmd() *exec.Cmd {
	return exec.Command("bash", "-c", `. "$HOME/.bashrc" >/dev/null 2>&1; true`)
}
