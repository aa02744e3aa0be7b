package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/klogind/krxdtest"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/server/servertest"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// rlogindHelperEnv makes the test binary run rlogind (see
// TestRlogindHelperProcess) with the arguments after "--".
const rlogindHelperEnv = "KRX_CLI_RLOGIND_HELPER"

// TestRlogindHelperProcess is not a test: it is rlogind, run by the tests
// below as a child process.
func TestRlogindHelperProcess(t *testing.T) {
	if os.Getenv(rlogindHelperEnv) != "1" {
		t.Skip("helper process for the rlogind tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	c := NewRlogind()
	c.SetArgs(args)
	if err := c.Execute(); err != nil {
		io.WriteString(os.Stderr, "rlogind: "+err.Error()+"\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// rlogindCmd prepares the helper process; shell wraps it so that
// "$$" (the pid it keeps through exec) can be used in env.
func rlogindCmd(t *testing.T, shellEnv string, args ...string) *exec.Cmd {
	t.Helper()
	script := `exec "$0" -test.run='^TestRlogindHelperProcess$' -- "$@"`
	if shellEnv != "" {
		script = shellEnv + " " + script
	}
	cmd := exec.Command("sh", append([]string{"-c", script, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), rlogindHelperEnv+"=1")
	return cmd
}

func waitExit(t *testing.T, cmd *exec.Cmd, stderr *syncbuf.Buffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("rlogind: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("rlogind did not exit\n%s", stderr.String())
	}
}

func waitLog(t *testing.T, b *syncbuf.Buffer, parts ...string) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		for _, l := range strings.Split(b.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q:\n%s", parts, b.String())
}

// refusedWith sends a plain handshake and reads the whole answer.
func refusedWith(t *testing.T, addr, handshake string) string {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, handshake)
	got, _ := io.ReadAll(c)
	return string(got)
}

func listenFile(t *testing.T) (*os.File, string) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, l.Addr().String()
}

// TestRlogindSystemd passes two named listening sockets as systemd does,
// checks that each serves its service (refusing without --rhosts, with the
// service in the log line), and that SIGTERM ends rlogind cleanly.
func TestRlogindSystemd(t *testing.T) {
	lf, laddr := listenFile(t)
	sf, saddr := listenFile(t)
	cmd := rlogindCmd(t, "LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=shell:login",
		"--no-reserved-port-check", "--login-addr", "off", "--shell-addr", "off")
	cmd.ExtraFiles = []*os.File{sf, lf} // fds 3 (shell), 4 (login)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lf.Close()
	sf.Close()
	waitLog(t, &stderr, "socket activation", "listeners=2")

	want := "\x01rlogind: .rhosts authentication disabled (start with --rhosts)"
	if got := refusedWith(t, laddr, "\x00alice\x00bob\x00xterm/9600\x00"); got != want+".\r\n" {
		t.Errorf("login socket: %q", got)
	}
	waitLog(t, &stderr, "service=login", "client-user=alice", "decision=refused")
	if got := refusedWith(t, saddr, "\x00carol\x00dave\x00id\x00"); got != want+"\n" {
		t.Errorf("shell socket: %q", got)
	}
	waitLog(t, &stderr, "service=shell", "client-user=carol", "decision=refused")

	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, &stderr)
	waitLog(t, &stderr, "shutting down")
}

// TestRlogindSystemdUnknownSocket: a socket that is neither named nor on a
// standard port, with two sockets, is a clear start-up error.
func TestRlogindSystemdUnknownSocket(t *testing.T) {
	a, _ := listenFile(t)
	b, _ := listenFile(t)
	cmd := rlogindCmd(t, "LISTEN_PID=$$ LISTEN_FDS=2")
	cmd.ExtraFiles = []*os.File{a, b}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot tell the service") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestRlogindInetd gives rlogind an accepted socket as descriptors 0–2,
// as inetd does: the client gets exactly the refusal — no log line leaks
// into the connection — and rlogind exits after the one connection.
func TestRlogindInetd(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.(*net.TCPConn).File()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := rlogindCmd(t, "", "-i", "--service", "shell", "--no-reserved-port-check", "-D")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "\x00alice\x00bob\x00id\x00")
	got, _ := io.ReadAll(c)
	if want := "\x01rlogind: .rhosts authentication disabled (start with --rhosts)\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	var none syncbuf.Buffer
	waitExit(t, cmd, &none)
}

func TestRlogindFlags(t *testing.T) {
	c := NewRlogind()
	for _, name := range []string{"login-addr", "shell-addr", "inetd", "service", "rhosts", "hosts-equiv", "no-reserved-port-check", "debug", "handshake-timeout",
		"eklogin-addr", "kshell-addr", "keytab", "rcache", "clock-skew", "k5login-dir"} {
		if c.Flags().Lookup(name) == nil {
			t.Errorf("no --%s", name)
		}
	}
	if c.Flags().Lookup("login-addr").DefValue != ":513" || c.Flags().Lookup("shell-addr").DefValue != ":514" {
		t.Error("default addresses are not :513/:514")
	}
	if c.Flags().Lookup("eklogin-addr").DefValue != ":2105" || c.Flags().Lookup("kshell-addr").DefValue != ":544" || c.Flags().ShorthandLookup("K") == nil {
		t.Error("krx defaults are not :2105/:544, or no -K")
	}
	c.SetArgs([]string{"--service", "telnet", "-i"})
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	if err := c.Execute(); err == nil || !strings.Contains(err.Error(), "telnet") {
		t.Fatalf("bad --service: %v", err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	krxdtest.Close()
	os.Exit(code)
}

// TestRlogindKRX runs rlogind with only the krx services on, a keytab
// from a real KDC and a k5login directory, and runs a krx shell command
// and a krx login through it.
func TestRlogindKRX(t *testing.T) {
	r := krxdtest.Get(t)
	k5dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(k5dir, "root"), []byte(krxdtest.Alice+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ek := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	ks := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	cmd := rlogindCmd(t, "", "--login-addr", "off", "--shell-addr", "off", "--eklogin-addr", ek, "--kshell-addr", ks,
		"-K", r.R.HostKeytab, "--rcache", filepath.Join(t.TempDir(), "rcache"), "--k5login-dir", k5dir)
	cmd.Env = append(cmd.Env, "KRB5_CONFIG="+r.R.Krb5Conf)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitLog(t, &stderr, "listening", "service=kshell")
	waitLog(t, &stderr, "listening", "service=eklogin")

	cs, err := krxsess.Dial(context.Background(), ks, krxsess.ClientConfig{Service: krxproto.Shell,
		ServerUser: "root", ClientUser: "al", Payload: "echo x$((6*7))", Ticket: r.Ticket(t), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	cs.CloseWrite()
	cs.Conn().SetDeadline(time.Now().Add(20 * time.Second))
	if got, err := io.ReadAll(cs); string(got) != "x42\n" {
		t.Errorf("shell: %q, %v", got, err)
	}
	cs.Close()
	waitLog(t, &stderr, "service=kshell", "principal="+krxdtest.Alice, "server-user=root", "decision=accepted")

	ls, err := krxsess.Dial(context.Background(), ek, krxsess.ClientConfig{Service: krxproto.Login,
		ServerUser: "root", ClientUser: "al", Payload: "dumb/9600", Ticket: r.Ticket(t), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	defer ls.Close()
	ls.Conn().SetDeadline(time.Now().Add(20 * time.Second))
	var tty syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := ls.CopyOutput(krxsess.OutputOptions{Terminal: &tty})
		done <- err
	}()
	ls.Input().Write([]byte("echo y$((6*7))z; exit\n"))
	if err := <-done; err != nil || !strings.Contains(tty.String(), "y42z") {
		t.Errorf("login: %v; terminal %q", err, tty.String())
	}
	waitLog(t, &stderr, "service=eklogin", "principal="+krxdtest.Alice, "decision=accepted")

	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, &stderr)
}

// TestRlogindInetdKshell runs one krx shell connection in inetd mode
// (--service kshell): the command's output arrives through the encrypted
// stream and rlogind exits after it.
func TestRlogindInetdKshell(t *testing.T) {
	r := krxdtest.Get(t)
	k5dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(k5dir, "root"), []byte(krxdtest.Alice+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.(*net.TCPConn).File()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := rlogindCmd(t, "", "-i", "--service", "kshell", "-K", r.R.HostKeytab,
		"--rcache", filepath.Join(t.TempDir(), "rcache"), "--k5login-dir", k5dir)
	cmd.Env = append(cmd.Env, "KRB5_CONFIG="+r.R.Krb5Conf)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cs, err := krxsess.Handshake(c.(*net.TCPConn), krxsess.ClientConfig{Service: krxproto.Shell,
		ServerUser: "root", ClientUser: "al", Payload: "echo inetd$((6*7))", Ticket: r.Ticket(t), Timeout: 20 * time.Second})
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	cs.CloseWrite()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if got, err := io.ReadAll(cs); string(got) != "inetd42\n" {
		t.Errorf("got %q, %v", got, err)
	}
	var none syncbuf.Buffer
	waitExit(t, cmd, &none)
}
