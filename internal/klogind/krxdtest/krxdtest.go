// Package krxdtest holds test helpers for rlogind's krx services: one MIT
// realm per test binary, a daemon Config whose server user is root with a
// temporary home holding a .k5login, and service tickets for alice. It is
// imported by tests only.
package krxdtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/krx-suite/krx/internal/klogind"
	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
	"github.com/krx-suite/krx/krbauth"
)

// Alice is the principal the tests authenticate as.
const Alice = "alice@KRX.TEST"

var (
	mu    sync.Mutex
	realm *Realm
)

// Realm is the shared realm and alice's client.
type Realm struct {
	R  *krbtest.Realm
	Cl *krbauth.Client
	Kt *krbauth.Keytab
}

// Get returns the realm, starting it on first use; it skips t without
// root or without MIT Kerberos.
func Get(t testing.TB) *Realm {
	t.Helper()
	servertest.NeedRoot(t)
	mu.Lock()
	defer mu.Unlock()
	if realm != nil {
		return realm
	}
	r, err := krbtest.Start("", krbtest.Options{})
	if errors.Is(err, krbtest.ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cc, err := r.Kinit("alice", "-f")
	if err == nil {
		var cl *krbauth.Client
		cl, err = krbauth.NewClient(krbauth.ClientOptions{Krb5Conf: r.Krb5Conf, CCache: cc})
		if err == nil {
			var kt *krbauth.Keytab
			if kt, err = krbauth.LoadKeytab(r.HostKeytab); err == nil {
				realm = &Realm{R: r, Cl: cl, Kt: kt}
				return realm
			}
		}
	}
	r.Close()
	t.Fatal(err)
	return nil
}

// Close stops the realm (call from TestMain after m.Run).
func Close() {
	mu.Lock()
	defer mu.Unlock()
	if realm != nil {
		realm.R.Close()
		realm = nil
	}
}

// Ticket returns a service ticket for host/localhost.
func (r *Realm) Ticket(t testing.TB) *krbauth.ServiceTicket {
	t.Helper()
	st, err := r.Cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Config returns a daemon configuration logging to logs whose server
// users resolve to themselves with a temporary home holding a .k5login
// with k5login's lines (root-owned, mode 0600) and /bin/sh as the shell.
func (r *Realm) Config(t testing.TB, logs *servertest.Logs, k5login ...string) *klogind.Config {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".k5login"), []byte(strings.Join(k5login, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := krbauth.OpenReplayCache(filepath.Join(t.TempDir(), "rcache"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return &klogind.Config{
		Server:    &server.Config{Lookup: servertest.RootWithHome(home, "/bin/sh"), Log: logs.Logger()},
		Acceptor:  &krbauth.Acceptor{Keytab: r.Kt, RCache: rc, Checksum: krbauth.ChecksumVerifyIfPresent, EchoSubkey: true},
		Authz:     krbauth.AuthzConfig{DefaultRealm: "KRX.TEST"},
		CCacheDir: t.TempDir(),
	}
}
