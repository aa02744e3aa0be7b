package krbauth

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// k5Nobody is a non-root account whose home is a fresh directory it owns,
// below a directory everyone may traverse. Root only.
func k5Nobody(t *testing.T) LocalUser {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: files owned by another uid, reading as another user")
	}
	u, err := LookupLocalUser("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	base, err := os.MkdirTemp("", "k5login-root-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	u.Home = filepath.Join(base, "home")
	if err := os.Mkdir(u.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(u.Home, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	return u
}

func k5Own(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func TestK5loginRootOwnership(t *testing.T) {
	u := k5Nobody(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	p := k5Write(t, u, "alice@KRX.TEST\n", 0o644)
	k5Own(t, p, u.UID, u.GID)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
	k5Own(t, p, 0, 0)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
	// Owned by somebody else: refused although readable and listing.
	k5Own(t, p, 1, 1)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "owned by uid 1")
	// Owned by the user but only readable by root: the user cannot read it,
	// so neither does the daemon on the user's behalf.
	k5Own(t, p, u.UID, u.GID)
	os.Chmod(p, 0o000)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "cannot be read by the user")
	// Root's own 0600 file hard-linked (or copied) into the home: root owns
	// it, but the user cannot read it.
	os.Remove(p)
	k5Write(t, u, "alice@KRX.TEST\n", 0o600)
	k5Own(t, p, 0, 0)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "cannot be read by the user")
	// Readable through the user's group only.
	os.Chmod(p, 0o640)
	k5Own(t, p, 0, u.GID)
	k5Allowed(t, "alice@KRX.TEST", u, cfg)
	// A home the user cannot enter: the file cannot be read, so refused
	// (not treated as missing).
	os.Chmod(u.Home, 0o700)
	k5Own(t, u.Home, 0, 0)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "cannot be read by the user")
}

func TestK5loginRootSymlinkToRootFile(t *testing.T) {
	u := k5Nobody(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	secret := filepath.Join(filepath.Dir(u.Home), "root-k5login")
	os.WriteFile(secret, []byte("alice@KRX.TEST\n"), 0o644)
	p := filepath.Join(u.Home, ".k5login")
	if err := os.Symlink(secret, p); err != nil {
		t.Fatal(err)
	}
	k5Own(t, p, u.UID, u.GID)
	k5Denied(t, "alice@KRX.TEST", u, cfg, "symbolic link")
}

// The identity change stays on its own thread: the process (and other
// goroutines) keep root's access while many checks run concurrently.
func TestK5loginRootIdentityDoesNotLeak(t *testing.T) {
	u := k5Nobody(t)
	cfg := AuthzConfig{DefaultRealm: k5TestRealm}
	p := k5Write(t, u, "alice@KRX.TEST\n", 0o644)
	k5Own(t, p, u.UID, u.GID)
	rootOnly := filepath.Join(t.TempDir(), "root-only")
	os.WriteFile(rootOnly, []byte("x"), 0o600)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				if _, err := Authorize("alice@KRX.TEST", u, cfg); err != nil {
					errs <- err
				}
				if _, err := os.ReadFile(rootOnly); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if os.Geteuid() != 0 || os.Getegid() != 0 {
		t.Fatalf("process identity changed: euid %d egid %d", os.Geteuid(), os.Getegid())
	}
}
