package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
)

// buildDemo builds the four programs and the demo into a temp dir.
func buildDemo(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the demo needs root: rlogind starts sessions as the authenticated user")
	}
	r, err := krbtest.Start("", krbtest.Options{Users: []string{}})
	if errors.Is(err, krbtest.ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	bin := t.TempDir()
	args := []string{"build", "-o", bin + "/"}
	for _, p := range []string{"cmd/rlogin", "cmd/rsh", "cmd/rcp", "cmd/rlogind", "internal/demo"} {
		args = append(args, "github.com/krx-suite/krx/"+p)
	}
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// demoCmd is the demo with stdin not a terminal and its temp files in tmp.
func demoCmd(bin, tmp string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, "demo"), append([]string{"-bin", bin}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	return cmd
}

var (
	pidRE       = regexp.MustCompile(`(KDC|rlogind) pid (\d+)`)
	relayedRE   = regexp.MustCompile(`relayed (\d+) TCP connections: (\d+) bytes client→server, (\d+) bytes server→client`)
	noPlainRE   = regexp.MustCompile(`plaintext found on the wire: none \((\d+) strings searched in (\d+) bytes\)`)
	clearSeenRE = regexp.MustCompile(`"KRB5_SENDAUTH_V1.0" seen (\d+) times`)
	printableRE = regexp.MustCompile(`printable-text bytes: 100% of the file, ([0-9.]+)% of the upload on the wire`)
)

// checkGone fails if a process the demo reported is still alive, or the
// demo left files in tmp.
func checkGone(t *testing.T, out, tmp string) {
	t.Helper()
	pids := pidRE.FindAllStringSubmatch(out, -1)
	names := map[string]bool{}
	for _, m := range pids {
		names[m[1]] = true
		pid, _ := strconv.Atoi(m[2])
		stat, err := os.ReadFile("/proc/" + m[2] + "/stat")
		if err != nil || pid == 0 {
			continue
		}
		// pid (comm) state ...: still there unless reused by another program or a zombie.
		f := strings.Fields(string(stat))
		comm := strings.Trim(f[1], "()")
		if (comm == "rlogind" || comm == "krb5kdc") && f[2] != "Z" {
			t.Errorf("%s (pid %d) is still running after the demo", comm, pid)
		}
	}
	if !names["KDC"] || !names["rlogind"] {
		t.Errorf("the demo did not report the KDC's and rlogind's pids:\n%s", out)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("the demo left %s behind", filepath.Join(tmp, e.Name()))
	}
}

func TestDemoEndToEnd(t *testing.T) {
	bin := buildDemo(t)
	tmp := t.TempDir()
	const size = 1 << 20
	cmd := demoCmd(bin, tmp, "-size", strconv.Itoa(size))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String()
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	for _, want := range []string{
		"     > hello from krx\n",
		"     > krx-demo: this line travels on the encrypted stderr channel\n",
		"SHA-256 match",
		"stdin is not a terminal: skipping the interactive rlogin -x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	m := relayedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no relay totals in:\n%s", out)
	}
	conns, _ := strconv.Atoi(m[1])
	up, _ := strconv.Atoi(m[2])
	down, _ := strconv.Atoi(m[3])
	// rsh (main and stderr) and two rcp sessions; the file crossed each way.
	if conns < 4 || up < size || down < size {
		t.Errorf("relayed %d connections, %d bytes up, %d down; want ≥ 4 and ≥ %d each way", conns, up, down, size)
	}
	if m := clearSeenRE.FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Errorf("the capture did not see the clear sendauth header:\n%s", out)
	}
	if m := noPlainRE.FindStringSubmatch(out); m == nil || m[1] == "0" || m[2] != strconv.Itoa(up+down) {
		t.Errorf("no %q line matching the relay totals:\n%s", "plaintext found on the wire: none", out)
	}
	// Ciphertext is printable about 37.5 % of the time; the text file 100 %.
	if m := printableRE.FindStringSubmatch(out); m == nil {
		t.Errorf("no printable-bytes line:\n%s", out)
	} else if p, _ := strconv.ParseFloat(m[1], 64); p < 30 || p > 45 {
		t.Errorf("%.1f%% of the rcp upload on the wire is printable text; ciphertext gives about 37.5%%", p)
	}
	checkGone(t, out, tmp)
}

// TestDemoNotRoot runs the demo as nobody: it must refuse with the reason
// and start nothing.
func TestDemoNotRoot(t *testing.T) {
	bin := buildDemo(t)
	for d := bin; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	os.Chmod(tmp, 0o777)
	cmd := demoCmd(bin, tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 1 {
		t.Fatalf("demo as nobody: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "must run as root") || strings.Contains(string(out), "==") {
		t.Errorf("demo as nobody said %q; want only the reason it needs root", out)
	}
}

// TestDemoInterrupt stops the demo with ^C (SIGINT) once rlogind runs and
// checks it stops everything it started.
func TestDemoInterrupt(t *testing.T) {
	bin := buildDemo(t)
	tmp := t.TempDir()
	cmd := demoCmd(bin, tmp, "-size", strconv.Itoa(64<<20))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(pipe)
	sent := false
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !sent && strings.Contains(sc.Text(), "== rcp -x") {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the demo did not stop within 60s of SIGINT:\n%s", out.String())
	}
	if !sent {
		t.Fatalf("the demo never reached the rcp step:\n%s\n%s", out.String(), stderr.String())
	}
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 1 {
		t.Errorf("demo after SIGINT: %v, want exit status 1", err)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say the demo was interrupted: %q", stderr.String())
	}
	checkGone(t, out.String(), tmp)
}

func FuzzReadField(f *testing.F) {
	for _, s := range []string{"\x00", "1023\x00", "65535\x00", "123456\x00", "12a\x00", "", "99"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c1, c2 := netPipe(t)
		go func() { c2.Write(b); c2.Close() }()
		field, err := readField(c1)
		if err == nil {
			if len(field) == 0 || field[len(field)-1] != 0 || len(field) > maxStderrField {
				t.Fatalf("readField(%q) = %q without an error", b, field)
			}
			if _, err := strconv.Atoi(string(field[:len(field)-1])); len(field) > 1 && err != nil {
				t.Fatalf("readField(%q) accepted non-digits %q", b, field)
			}
		}
	})
}

// netPipe is a connected pair closed at the end of the test (readField
// needs only a byte stream with deadlines).
func netPipe(t *testing.T) (net.Conn, net.Conn) {
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	return c1, c2
}
