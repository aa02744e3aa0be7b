package bench

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
)

// benchUser is the account the fresh-user set-up figures log in as: a new
// home from /etc/skel, so that both remote shells start as they would for
// a new user, not with whatever the machine's root has in its .bashrc.
const benchUser = "krxbench"

// freshUser makes benchUser (useradd -m, bash, skeleton home, password
// "*": no password, but not locked, which sshd without PAM refuses) unless it
// exists, authorises alice@REALM for it through k's --k5login-dir, and
// lets ssh's key in (the sshd here reads one AuthorizedKeysFile for every
// user, so it must be readable by the user). b.Cleanup removes a user
// it made, with its home.
func freshUser(b *testing.B, k *krxServer, ssh *sshServer) {
	b.Helper()
	if _, err := user.Lookup(benchUser); err != nil {
		if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", "-p", "*", benchUser).CombinedOutput(); err != nil {
			b.Skipf("useradd %s: %v: %s", benchUser, err, out)
		}
		b.Cleanup(func() { exec.Command("userdel", "-r", benchUser).Run() })
	}
	if err := os.WriteFile(filepath.Join(k.K5LoginDir, benchUser), []byte("alice@"+k.Realm.Name+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Chmod(ssh.AuthorizedKeys, 0o644); err != nil {
		b.Fatal(err)
	}
	// Both files are read as the user: open the temporary directories
	// above them (b.TempDir makes them 0700) for traversal.
	for _, f := range []string{filepath.Join(k.K5LoginDir, benchUser), ssh.AuthorizedKeys} {
		for d := filepath.Dir(f); d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
	}
}
