package krbauth

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const k5TestRealm = "KRX.TEST"

// k5Me is the current account with its home replaced by a fresh directory.
func k5Me(t *testing.T) LocalUser {
	t.Helper()
	cur, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(cur.Uid)
	gid, _ := strconv.Atoi(cur.Gid)
	return LocalUser{Name: "alice", UID: uid, GID: gid, Home: t.TempDir()}
}

func k5Write(t *testing.T, u LocalUser, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(u.Home, ".k5login")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

func k5Allowed(t *testing.T, princ string, u LocalUser, cfg AuthzConfig) string {
	t.Helper()
	why, err := Authorize(princ, u, cfg)
	if err != nil {
		t.Fatalf("Authorize(%q as %s) refused: %v", princ, u.Name, err)
	}
	if why == "" {
		t.Fatal("allowed without a reason for the log")
	}
	return why
}

func k5Denied(t *testing.T, princ string, u LocalUser, cfg AuthzConfig, reason string) *AuthzError {
	t.Helper()
	why, err := Authorize(princ, u, cfg)
	if err == nil {
		t.Fatalf("Authorize(%q as %s) allowed (%s), want refusal", princ, u.Name, why)
	}
	var ae *AuthzError
	if !errors.As(err, &ae) || !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("refusal %v (%T) is not an *AuthzError wrapping ErrNotAuthorized", err, err)
	}
	if ae.Public() != PublicDenial || PublicDenial != "Permission denied." {
		t.Fatalf("public message %q", ae.Public())
	}
	if !strings.Contains(ae.Error(), reason) {
		t.Fatalf("refusal %q does not say %q", ae.Error(), reason)
	}
	if ae.Principal != princ || ae.User != u.Name {
		t.Fatalf("refusal names %q/%q", ae.Principal, ae.User)
	}
	return ae
}

func TestK5loginAllowDeny(t *testing.T) {
	u := k5Me(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	k5Write(t, u, "bob@KRX.TEST\n\nalice@KRX.TEST\ncarol/admin@OTHER.REALM", 0o644)
	if why := k5Allowed(t, "alice@KRX.TEST", u, cfg); !strings.Contains(why, "line 3") {
		t.Errorf("reason %q does not name line 3", why)
	}
	k5Allowed(t, "bob@KRX.TEST", u, cfg)
	// A principal of another realm, listed: allowed; last line has no '\n'.
	k5Allowed(t, "carol/admin@OTHER.REALM", u, cfg)
	k5Denied(t, "dave@KRX.TEST", u, cfg, "does not list")
	// Listed file is authoritative: the name mapping does not rescue.
	u2 := u
	u2.Name = "dave"
	k5Denied(t, "dave@KRX.TEST", u2, cfg, "does not list")
	cfg.K5loginNotAuthoritative = true
	k5Allowed(t, "dave@KRX.TEST", u2, cfg)
	k5Denied(t, "eve@KRX.TEST", u2, cfg, "maps to local name")
}

func TestK5loginExactLines(t *testing.T) {
	u := k5Me(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	for _, content := range []string{
		" alice@KRX.TEST\n", "alice@KRX.TEST \n", "alice@KRX.TEST\r\n", "\talice@KRX.TEST\n",
		"alice@krx.test\n", "alice\n", "alice@KRX.TEST\x00\n", "# alice@KRX.TEST\n", "alice@KRX.TESTX\n",
		"", "\n\n\n",
	} {
		k5Write(t, u, content, 0o600)
		k5Denied(t, "alice@KRX.TEST", u, cfg, "does not list")
	}
	k5Write(t, u, "\n\n  \nalice@KRX.TEST\n\n", 0o600)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
}

func TestK5loginMissingFileMapsName(t *testing.T) {
	u := k5Me(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	if why := k5Allowed(t, "alice@KRX.TEST", u, cfg); !strings.Contains(why, "no .k5login") {
		t.Errorf("reason %q", why)
	}
	k5Denied(t, "alice/admin@KRX.TEST", u, cfg, "2-component")
	k5Denied(t, "alice@OTHER.REALM", u, cfg, "not the default realm")
	k5Denied(t, "bob@KRX.TEST", u, cfg, `maps to local name "bob"`)
	k5Denied(t, "alice", u, cfg, "cannot be parsed")
	k5Denied(t, "alice@KRX.TEST", u, AuthzConfig{}, "no default realm")
	noHome := u
	noHome.Home = ""
	k5Allowed(t, "alice@KRX.TEST", noHome, cfg)
	// A home that is a file: no .k5login below it (ENOTDIR), as MIT.
	f := filepath.Join(u.Home, "file")
	os.WriteFile(f, nil, 0o600)
	noHome.Home = f
	k5Allowed(t, "alice@KRX.TEST", noHome, cfg)
	k5Denied(t, "alice@KRX.TEST", LocalUser{}, cfg, "no local user name")
}

func TestK5loginDirectory(t *testing.T) {
	u := k5Me(t)
	dir := t.TempDir()
	cfg := AuthzConfig{DefaultRealm: k5TestRealm, K5loginDirectory: dir}
	// ~/.k5login is ignored when k5login_directory is set.
	k5Write(t, u, "bob@KRX.TEST\n", 0o644)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
	os.WriteFile(filepath.Join(dir, "alice"), []byte("bob@KRX.TEST\n"), 0o644)
	k5Allowed(t, "bob@KRX.TEST", u, cfg)
	k5Denied(t, "alice@KRX.TEST", u, cfg, filepath.Join(dir, "alice")+" does not list")
	for _, bad := range []string{"..", "a/b", "."} {
		ub := u
		ub.Name = bad
		k5Denied(t, "alice@KRX.TEST", ub, cfg, "cannot name a file")
	}
}

func TestK5loginUnsafeFiles(t *testing.T) {
	u := k5Me(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	p := filepath.Join(u.Home, ".k5login")
	// Symlink to a good file: refused, not followed.
	good := filepath.Join(u.Home, "real")
	os.WriteFile(good, []byte("alice@KRX.TEST\n"), 0o644)
	if err := os.Symlink(good, p); err != nil {
		t.Fatal(err)
	}
	ae := k5Denied(t, "alice@KRX.TEST", u, cfg, "symbolic link")
	if !errors.Is(ae, syscall.ELOOP) {
		t.Errorf("cause %v is not ELOOP", ae.Err)
	}
	// A dangling symlink is refused too (MIT would fall back to the name).
	os.Remove(p)
	os.Symlink(filepath.Join(u.Home, "nowhere"), p)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "symbolic link")
	os.Remove(p)
	// A FIFO must neither hang nor be read.
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	k5Denied(t, "alice@KRX.TEST", u, cfg, "not a regular file")
	os.Remove(p)
	os.Mkdir(p, 0o755)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "not a regular file")
	os.Remove(p)
	for _, mode := range []os.FileMode{0o664, 0o646, 0o666, 0o620} {
		k5Write(t, u, "alice@KRX.TEST\n", mode)
		k5Denied(t, "alice@KRX.TEST", u, cfg, "writable by group or others")
	}
	k5Write(t, u, "alice@KRX.TEST\n", 0o444)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
}

func TestK5loginGarbageAndLongLines(t *testing.T) {
	u := k5Me(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*131 + i/7)
	}
	k5Write(t, u, string(garbage), 0o600)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "does not list")
	k5Write(t, u, string(garbage)+"\nalice@KRX.TEST\n"+string(garbage), 0o600)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)

	long := strings.Repeat("x", 100000)
	k5Write(t, u, long+"\nalice@KRX.TEST\n", 0o600)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
	// The principal as a prefix of a long line (MIT's fgets would compare
	// the first 8191 bytes only) does not match.
	k5Write(t, u, "alice@KRX.TEST"+strings.Repeat(" ", 9000)+"\n", 0o600)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "does not list")
	long2 := strings.Repeat("y", 9000) + "@KRX.TEST"
	k5Write(t, u, long2+"\n", 0o600)
	k5Allowed(t, long2, u, cfg)

	k5Write(t, u, "alice@KRX.TEST\n"+long, 0o600)
	cfg.MaxK5loginSize = 1000
	k5Denied(t, "alice@KRX.TEST", u, cfg, "larger than 1000 bytes")
}

func TestK5loginMatchLines(t *testing.T) {
	for _, c := range []struct {
		data, princ string
		want        int
	}{
		{"a@R", "a@R", 1}, {"a@R\n", "a@R", 1}, {"\na@R", "a@R", 2}, {"x\ny\na@R\n", "a@R", 3},
		{"a@R\r\n", "a@R", 0}, {"", "a@R", 0}, {"\n", "", 0}, {"a@R\na@R", "a@R", 1},
	} {
		if got := K5loginMatch([]byte(c.data), c.princ); got != c.want {
			t.Errorf("K5loginMatch(%q, %q) = %d, want %d", c.data, c.princ, got, c.want)
		}
	}
}

func TestPrincipalNames(t *testing.T) {
	for _, c := range []struct {
		comps []string
		realm string
		text  string
	}{
		{[]string{"alice"}, "KRX.TEST", "alice@KRX.TEST"},
		{[]string{"host", "a.example"}, "R", "host/a.example@R"},
		{[]string{"a/b", "c@d"}, "R@S", `a\/b/c\@d@R\@S`},
		{[]string{"t\tn\nb\bz\x00", `\`}, "R", `t\tn\nb\bz\0/\\@R`},
	} {
		if got := UnparsePrincipalName(c.comps, c.realm); got != c.text {
			t.Errorf("UnparsePrincipalName(%q, %q) = %q, want %q", c.comps, c.realm, got, c.text)
		}
		comps, realm, err := k5ParsePrincipal(c.text)
		if err != nil || realm != c.realm || strings.Join(comps, "\xff") != strings.Join(c.comps, "\xff") {
			t.Errorf("k5ParsePrincipal(%q) = %q, %q, %v", c.text, comps, realm, err)
		}
	}
	for _, bad := range []string{"", "alice", "alice@", "@R", "a//b@R", "a@R@S", "a@R/x", `a@R\`, "/a@R"} {
		if _, _, err := k5ParsePrincipal(bad); !errors.Is(err, ErrK5loginPrincipal) {
			t.Errorf("k5ParsePrincipal(%q) err = %v, want ErrK5loginPrincipal", bad, err)
		}
	}
}
