package krxclient

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
)

// run runs a built program with the realm's environment and returns its
// stdout, stderr and error.
func run(t *testing.T, r *krbtest.Realm, stdin []byte, prog string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(programs(t), prog), args...)
	cmd.Env = env(r)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v: still running after 60 s; stderr %q", prog, args, e.String())
	}
	return o.Bytes(), e.Bytes(), err
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestRshX: rsh -x with stdin, stdout and stderr separate and
// byte-identical, through an in-process krx server.
func TestRshX(t *testing.T) {
	needRoot(t)
	r := realm(t)
	srv := startServer(t, r, krxproto.Shell)
	in := randomBytes(t, 3<<20)
	errText := bytes.Repeat([]byte("to stderr\x00\xff\n"), 5000)
	ef := filepath.Join(t.TempDir(), "err")
	if err := os.WriteFile(ef, errText, 0o644); err != nil {
		t.Fatal(err)
	}
	out, serr, err := run(t, r, in, "rsh", "-x", "-p", srv.port(), "localhost", "cat; cat "+ef+" >&2")
	if err != nil {
		t.Fatalf("rsh -x: %v; stderr %q", err, serr[:min(len(serr), 200)])
	}
	if !bytes.Equal(out, in) {
		t.Errorf("stdout: %d bytes (sha %x), want the %d bytes of stdin (sha %x)", len(out), sha256.Sum256(out), len(in), sha256.Sum256(in))
	}
	if !bytes.Equal(serr, errText) {
		t.Errorf("stderr: %d bytes, want %d", len(serr), len(errText))
	}

	// Options after the host and -n, and a refusal printed as the server sent it.
	out, serr, err = run(t, r, nil, "rsh", "localhost", "-x", "-n", "-p", srv.port(), "echo", "hello")
	if err != nil || string(out) != "hello\n" {
		t.Errorf("rsh -x -n: %v, stdout %q stderr %q", err, out, serr)
	}
	_, serr, err = run(t, r, nil, "rsh", "-x", "-n", "-p", srv.port(), "-l", "nobody-here", "localhost", "true")
	if err == nil || !strings.Contains(string(serr), "testd: no such user") {
		t.Errorf("refused rsh -x: %v, stderr %q", err, serr)
	}
}

// TestRshXSignal: SIGINT is sent encrypted to the remote command, which
// dies of it; rsh ends normally.
func TestRshXSignal(t *testing.T) {
	needRoot(t)
	r := realm(t)
	srv := startServer(t, r, krxproto.Shell)
	cmd := exec.Command(filepath.Join(programs(t), "rsh"), "-x", "-n", "-p", srv.port(), "localhost",
		"trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.05; done")
	cmd.Env = env(r)
	var e bytes.Buffer
	cmd.Stderr = &e
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("first output %q: %v; stderr %q", buf, err, e.String())
	}
	cmd.Process.Signal(os.Interrupt)
	rest := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(stdout)
		rest <- b.Bytes()
	}()
	select {
	case got := <-rest:
		if string(got) != "got INT\n" {
			t.Errorf("after SIGINT: %q, want the remote trap's output", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("remote command still running 20 s after SIGINT")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("rsh after a forwarded SIGINT: %v; stderr %q", err, e.String())
	}
}

// TestRcpX: a few MiB both ways over krx, contents equal.
func TestRcpX(t *testing.T) {
	needRoot(t)
	r := realm(t)
	srv := startServer(t, r, krxproto.Shell)
	dir := t.TempDir()
	data := randomBytes(t, 5<<20+123)
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(dir, "remote")
	_, serr, err := run(t, r, nil, "rcp", "-x", "-P", srv.port(), src, "localhost:"+remote)
	if err != nil {
		t.Fatalf("rcp -x to remote: %v; %s", err, serr)
	}
	if got, _ := os.ReadFile(remote); !bytes.Equal(got, data) {
		t.Fatalf("remote copy: %d bytes, want %d equal bytes", len(got), len(data))
	}
	back := filepath.Join(dir, "back")
	_, serr, err = run(t, r, nil, "rcp", "-x", "-P", srv.port(), "localhost:"+remote, back)
	if err != nil {
		t.Fatalf("rcp -x from remote: %v; %s", err, serr)
	}
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatalf("copy back: %d bytes, want %d equal bytes", len(got), len(data))
	}
	_, serr, err = run(t, r, nil, "rcp", "-x", "-P", srv.port(), "localhost:"+remote, "localhost:"+back+"2")
	if err == nil || !strings.Contains(string(serr), "remote-to-remote") {
		t.Errorf("rcp -x remote to remote: %v; stderr %q", err, serr)
	}
}

// TestNoCCache: with -x and no credentials cache the programs say to run
// kinit and connect nowhere.
func TestNoCCache(t *testing.T) {
	needRoot(t)
	r := realm(t)
	missing := filepath.Join(t.TempDir(), "no-ccache")
	for _, args := range [][]string{
		{"rsh", "-x", "-n", "localhost", "true"},
		{"rsh", "-k", r.Name, "-n", "localhost", "true"},
		{"rcp", "-x", "/etc/hostname", "localhost:/tmp/x"},
		{"rlogin", "-x", "localhost"},
	} {
		cmd := exec.Command(filepath.Join(programs(t), args[0]), args[1:]...)
		cmd.Env = append(os.Environ(), "KRB5_CONFIG="+r.Krb5Conf, "KRB5CCNAME=FILE:"+missing)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "run kinit") {
			t.Errorf("%v without a ccache: %v, %q", args, err, out)
		}
	}
}

// TestLegacyServer: a Kerberos server that refuses krx's version (answer
// 02) is an error naming --legacy, never a plain session.
func TestLegacyServer(t *testing.T) {
	needRoot(t)
	r := realm(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1)
			for buf[0] = 1; buf[0] != 0; { // the stderr-port field
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			krbauth.ReadVersions(c)
			krbauth.WriteVersionAnswer(c, true, false)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, args := range [][]string{
		{"rsh", "-x", "-n", "-p", port, "localhost", "true"},
		{"rcp", "-x", "-P", port, "/etc/hostname", "localhost:/tmp/x"},
		{"rlogin", "-x", "-p", port, "localhost"},
	} {
		_, serr, err := run(t, r, nil, args[0], args[1:]...)
		if err == nil || !strings.Contains(string(serr), "legacy") || !strings.Contains(string(serr), "--legacy") {
			t.Errorf("%v against a legacy server: %v, stderr %q", args, err, serr)
		}
	}
}

// TestNoService: nothing on the krx port is an error suggesting -X.
func TestNoService(t *testing.T) {
	needRoot(t)
	r := realm(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	_, serr, err := run(t, r, nil, "rsh", "-x", "-n", "-p", port, "localhost", "true")
	if err == nil || !strings.Contains(string(serr), "no krx service") || !strings.Contains(string(serr), "-X") {
		t.Errorf("rsh -x to a closed port: %v, stderr %q", err, serr)
	}
}
