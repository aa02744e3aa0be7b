package krbtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func startOrSkip(t *testing.T, o Options) *Realm {
	t.Helper()
	r, err := Start("", o)
	if errors.Is(err, ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRealmKinitKvno proves the realm is real: MIT kinit gets a TGT, MIT
// kvno gets a service ticket for host/localhost, and klist shows both.
func TestRealmKinitKvno(t *testing.T) {
	r := startOrSkip(t, Options{})
	cc, err := r.Kinit("alice")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kvno", Service)
	cmd.Env = append(os.Environ(), r.Env(cc)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kvno: %v: %s", err, out)
	}
	cmd = exec.Command("klist")
	cmd.Env = append(os.Environ(), r.Env(cc)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist: %v: %s", err, out)
	}
	for _, want := range []string{"alice@KRX.TEST", "krbtgt/KRX.TEST@KRX.TEST", "host/localhost@KRX.TEST"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("klist lacks %q:\n%s", want, out)
		}
	}
}

// TestRealmWrongPassword shows kinit errors are reported, not swallowed.
func TestRealmWrongPassword(t *testing.T) {
	r := startOrSkip(t, Options{Users: []string{"carol"}})
	if _, err := r.Kinit("nosuchuser"); err == nil {
		t.Fatal("kinit of an unknown principal succeeded")
	}
}

// TestRealmCloseStopsKDC checks Close kills the KDC and removes its files.
func TestRealmCloseStopsKDC(t *testing.T) {
	r := startOrSkip(t, Options{})
	pid, dir := r.cmd.Process.Pid, r.Dir
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("krb5kdc pid %d still alive after Close", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("realm dir %s still there: %v", dir, err)
	}
}

// TestRealmDes3 checks the des3 option yields a des3 session key for the
// service when the client asks for it first.
func TestRealmDes3(t *testing.T) {
	r := startOrSkip(t, Options{Des3: true, Enctypes: []string{"des3-cbc-sha1-kd", "aes256-cts-hmac-sha1-96"}})
	cc, err := r.Kinit("alice")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kvno", Service)
	cmd.Env = append(os.Environ(), r.Env(cc)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kvno: %v: %s", err, out)
	}
	cmd = exec.Command("klist", "-e")
	cmd.Env = append(os.Environ(), r.Env(cc)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist: %v: %s", err, out)
	}
	// The line after the service ticket names its session key type first.
	_, after, ok := strings.Cut(string(out), Service+"@")
	line, _, _ := strings.Cut(strings.SplitN(after, "\n", 2)[1], "\n")
	if !ok || !strings.Contains(line, "(skey, tkt): DEPRECATED:des3-cbc-sha1,") {
		t.Errorf("service ticket has no des3 session key:\n%s", out)
	}
}

// TestKDCDiesWithItsParent: a process that starts a realm and dies without
// Close (a test timeout, ^C in make demo) leaves no krb5kdc behind.
func TestKDCDiesWithItsParent(t *testing.T) {
	if os.Getenv("KRBTEST_CHILD") == "1" {
		r, err := Start("", Options{})
		if err != nil {
			os.Exit(3)
		}
		fmt.Println(r.cmd.Process.Pid)
		os.Stdout.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL) // no Close, no defers
	}
	if _, err := exec.LookPath("/usr/sbin/krb5kdc"); err != nil {
		t.Skip(ErrNoMIT)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKDCDiesWithItsParent$")
	cmd.Env = append(os.Environ(), "KRBTEST_CHILD=1")
	out, _ := cmd.Output()
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("child printed %q", out)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		// A zombie is gone for our purposes (its parent, init, reaps it).
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(end) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("krb5kdc %d outlived the process that started it", pid)
		}
	}
}
