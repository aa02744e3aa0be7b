package privdrop

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// helperEnv selects a helper role when the test binary is re-executed.
const helperEnv = "KRX_PRIVDROP_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role))
	}
	os.Exit(m.Run())
}

// runHelper runs inside the re-executed child. It drops to the user named
// by KRX_PRIVDROP_USER and reports what it observes as key=value lines;
// the parent test makes the assertions.
func runHelper(role string) int {
	if role != "drop" {
		fmt.Println("unknown role", role)
		return 3
	}
	report := func(k string, v any) { fmt.Printf("%s=%v\n", k, v) }
	t, err := Lookup(os.Getenv("KRX_PRIVDROP_USER"))
	if err != nil {
		report("lookup", err)
		return 1
	}
	if err := Drop(t); err != nil {
		report("drop", err)
		return 1
	}
	report("drop", "ok")
	r, e, s := unix.Getresuid()
	report("uids", fmt.Sprintf("%d/%d/%d", r, e, s))
	r, e, s = unix.Getresgid()
	report("gids", fmt.Sprintf("%d/%d/%d", r, e, s))
	report("setuid0", errText(syscall.Setuid(0)))
	report("setresuid0", errText(unix.Setresuid(0, 0, 0)))
	report("seteuid0", errText(syscall.Seteuid(0)))
	report("setgid0", errText(syscall.Setgid(0)))
	_, err = os.ReadFile(os.Getenv("KRX_PRIVDROP_SECRET"))
	report("secret", errText(err))
	_, err = os.ReadFile(os.Getenv("KRX_PRIVDROP_PUBLIC"))
	report("public", errText(err))
	_, err = os.ReadFile("/etc/shadow")
	report("shadow", errText(err))
	// A second drop, to root's neighbour "daemon" (uid 1), must fail closed.
	other := &Target{Name: "daemon", UID: 1, GID: 1, Groups: []int{1}}
	report("second", errStep(Drop(other)))
	return 0
}

func errText(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syscall.EPERM):
		return "EPERM"
	case errors.Is(err, syscall.EACCES):
		return "EACCES"
	}
	return err.Error()
}

func errStep(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Step + ":" + errText(pe.Err)
	}
	return errText(err)
}

func TestDropToNobodyInChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test drops a child process from root to nobody")
	}
	nobody, err := Lookup("nobody")
	if err != nil {
		t.Skipf("no nobody user on this system: %v", err)
	}
	dir, err := os.MkdirTemp("", "privdrop")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	public := filepath.Join(dir, "public")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, []byte("anyone\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=drop", "KRX_PRIVDROP_USER=nobody",
		"KRX_PRIVDROP_SECRET="+secret, "KRX_PRIVDROP_PUBLIC="+public)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			got[k] = v
		}
	}
	ids := fmt.Sprintf("%d/%d/%d", nobody.UID, nobody.UID, nobody.UID)
	gids := fmt.Sprintf("%d/%d/%d", nobody.GID, nobody.GID, nobody.GID)
	want := map[string]string{
		"drop":       "ok",
		"uids":       ids,
		"gids":       gids,
		"setuid0":    "EPERM",
		"setresuid0": "EPERM",
		"seteuid0":   "EPERM",
		"setgid0":    "EPERM",
		"secret":     "EACCES",
		"public":     "ok",
		"shadow":     "EACCES",
		"second":     "setgroups:EPERM",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out)
	}
}

func TestDropRefusesBadTargets(t *testing.T) {
	// These fail in the argument check, before any system call, so they
	// are safe to run in the test process itself.
	if err := Drop(nil); !errors.Is(err, ErrBadTarget) {
		t.Errorf("Drop(nil) = %v, want ErrBadTarget", err)
	}
	if err := Drop(&Target{UID: -1, GID: 5}); !errors.Is(err, ErrBadTarget) {
		t.Errorf("Drop(uid -1) = %v, want ErrBadTarget", err)
	}
	if err := Drop(&Target{UID: 5, GID: 5, Groups: []int{-3}}); !errors.Is(err, ErrBadTarget) {
		t.Errorf("Drop(group -3) = %v, want ErrBadTarget", err)
	}
	if err := Drop(&Target{Name: "root", UID: 0, GID: 0}); !errors.Is(err, ErrRootTarget) {
		t.Errorf("Drop(root) = %v, want ErrRootTarget", err)
	}
}

func TestVerifyFailsWhenNotDropped(t *testing.T) {
	// The test process has not dropped anything: Verify must say so.
	me := &Target{Name: "x", UID: os.Getuid() + 1, GID: os.Getgid() + 1}
	err := Verify(me)
	var pe *Error
	if !errors.As(err, &pe) || pe.Step != "verify" {
		t.Fatalf("Verify = %v, want a verify *Error", err)
	}
}

func TestLookup(t *testing.T) {
	tg, err := Lookup("root")
	if err != nil {
		t.Fatal(err)
	}
	if tg.UID != 0 || tg.GID != 0 || tg.Name != "root" {
		t.Errorf("root = %+v", tg)
	}
	if len(tg.Groups) == 0 || tg.Groups[0] != 0 {
		t.Errorf("root groups = %v, want the primary group 0 included", tg.Groups)
	}
	c := tg.Credential()
	if c.Uid != 0 || c.Gid != 0 || len(c.Groups) != len(tg.Groups) {
		t.Errorf("Credential = %+v", c)
	}
	if _, err := Lookup("no-such-user-krx-test"); err == nil {
		t.Error("Lookup of a missing user succeeded")
	} else {
		var pe *Error
		if !errors.As(err, &pe) || pe.Step != "lookup" {
			t.Errorf("missing user error = %v, want a lookup *Error", err)
		}
	}
	if got := normGroups([]int{5, 1, 5, 3, 1}); fmt.Sprint(got) != "[1 3 5]" {
		t.Errorf("normGroups = %v", got)
	}
}
