package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
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

	"github.com/spf13/cobra"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rcmd/rshdtest"
)

// handshakeServer answers one rsh handshake with "\0" and reports it.
func handshakeServer(t *testing.T) (port string, got <-chan compat.Handshake) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: rsh connects from reserved ports (512-1023)")
	}
	// Plain by default: no credentials cache, whatever the machine has.
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "no-ccache"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan compat.Handshake, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		p, err := compat.ReadStderrPort(r)
		if err != nil {
			return
		}
		var e net.Conn
		for lp := 1023; lp >= 512; lp-- {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lp}}
			if e, err = d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
				break
			}
		}
		if e == nil {
			return
		}
		defer e.Close()
		h := compat.Handshake{StderrPort: p}
		if compat.ReadHandshakeStrings(r, compat.ShellLimits, &h) == nil {
			c.Write([]byte{0})
			ch <- h
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, ch
}

// TestRshOptionsAroundHost: options before the host, after it, and "--".
func TestRshOptionsAroundHost(t *testing.T) {
	for _, tc := range []struct {
		args      func(port string) []string
		user, cmd string
	}{
		{func(p string) []string { return []string{"-n", "-p", p, "-l", "bob", "127.0.0.1", "ls", "-l"} }, "bob", "ls -l"},
		{func(p string) []string { return []string{"127.0.0.1", "-n", "-p", p, "-l", "bob", "ls", "-l"} }, "bob", "ls -l"},
		{func(p string) []string { return []string{"-p", p, "-n", "127.0.0.1", "--", "-l", "x"} }, "root", "-l x"},
	} {
		port, got := handshakeServer(t)
		c := NewRsh()
		c.SetArgs(tc.args(port))
		if err := c.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args(port), err)
		}
		h := <-got
		if h.ServerUser != tc.user || h.Payload != tc.cmd {
			t.Fatalf("%v: server user %q command %q, want %q %q", tc.args(port), h.ServerUser, h.Payload, tc.user, tc.cmd)
		}
	}
}

// TestEncryptionChoice: -X is plain, -x/-k/-f/-F are krx, -X with one of
// them is an error, and without either krx is the default exactly when a
// credentials cache exists (silently plain otherwise when stderr is not a
// terminal).
func TestEncryptionChoice(t *testing.T) {
	dir := t.TempDir()
	cc := filepath.Join(dir, "ccache")
	if err := os.WriteFile(cc, []byte{5, 4}, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o       commonFlags
		ccache  string
		krx     bool
		wantErr bool
	}{
		{commonFlags{noEncrypt: true}, cc, false, false},
		{commonFlags{encrypt: true}, "FILE:" + filepath.Join(dir, "none"), true, false},
		{commonFlags{realm: "R"}, "", true, false},
		{commonFlags{forward: true}, "", true, false},
		{commonFlags{forwardable: true}, "", true, false},
		{commonFlags{noEncrypt: true, encrypt: true}, cc, false, true},
		{commonFlags{noEncrypt: true, forward: true}, cc, false, true},
		{commonFlags{}, "FILE:" + cc, true, false},
		{commonFlags{}, filepath.Join(dir, "none"), false, false},
	} {
		t.Setenv("KRB5CCNAME", tc.ccache)
		var msg bytes.Buffer
		krx, err := tc.o.useKrx("rsh", &msg)
		if krx != tc.krx || (err != nil) != tc.wantErr {
			t.Errorf("%+v with ccache %q: krx %v err %v", tc.o, tc.ccache, krx, err)
		}
		if err != nil && !errors.Is(err, ErrPlainAndKerberos) {
			t.Errorf("%+v: %v, want ErrPlainAndKerberos", tc.o, err)
		}
		if msg.Len() != 0 {
			t.Errorf("%+v: notice %q on a non-terminal", tc.o, msg.String())
		}
	}
	// The command line: -X with -x is refused before anything is dialled.
	cmd := NewRsh()
	cmd.SetArgs([]string{"-X", "-x", "host", "true"})
	if err := cmd.Execute(); !errors.Is(err, ErrPlainAndKerberos) {
		t.Fatalf("rsh -X -x: %v", err)
	}
	r := NewRcp()
	r.SetArgs([]string{"-X", "-k", "R", "a", "host:b"})
	if err := r.Execute(); !errors.Is(err, ErrPlainAndKerberos) {
		t.Fatalf("rcp -X -k: %v", err)
	}
	// --legacy is refused by all three until legacy framing exists.
	for _, c := range []*cobra.Command{NewRsh(), NewRlogin(), NewRcp()} {
		args := []string{"--legacy", "host"}
		if c.Name() == "rcp" {
			args = append(args, "host:b")
		}
		c.SetArgs(args)
		if err := c.Execute(); !errors.Is(err, ErrNoLegacy) {
			t.Errorf("%s --legacy: %v", c.Name(), err)
		}
	}
}

func buildRsh(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rsh")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin,
		"github.com/krx-suite/krx/cmd/rsh").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestRshBinary: the built rsh against netkit in.rshd — SIGINT is
// forwarded (the remote command dies, rsh exits 0 and promptly), and a
// refusal is printed verbatim with exit status 1.
func TestRshBinary(t *testing.T) {
	rshdtest.NeedRoot(t)
	addr := rshdtest.Start(t, 0)
	rshdtest.AuthorizeRoot(t)
	_, port, _ := net.SplitHostPort(addr)
	bin := buildRsh(t)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "no-ccache")) // plain by default

	mark := fmt.Sprintf("sleep %d.%03d", 200+os.Getpid()%100, time.Now().UnixNano()%1000)
	cmd := exec.Command(bin, "-p", port, "127.0.0.1", mark+"; echo survived")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	waitFor(t, func() bool { return procExists(mark) })
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("rsh after SIGINT: %v; stderr %q", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("rsh still running 20 s after SIGINT")
	}
	if out.Len() != 0 {
		t.Fatalf("the remote shell went on: %q", out.String())
	}
	waitFor(t, func() bool { return !procExists(mark) })

	cmd = exec.Command(bin, "-n", "-p", port, "-l", "krxnouser", "127.0.0.1", "true")
	out.Reset()
	errb.Reset()
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("refused rsh: %v", err)
	}
	if errb.String() != "Permission denied.\n" || out.Len() != 0 {
		t.Fatalf("refusal: stderr %q stdout %q, want in.rshd's message verbatim", errb.String(), out.String())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met in 20 s")
}

func procExists(cmdline string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ") == cmdline {
			return true
		}
	}
	return false
}
