package krbtest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
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
