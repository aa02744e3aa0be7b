package krbauth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/krx-suite/krx/internal/krbtest"
)

func fwdStartRealm(t *testing.T) *krbtest.Realm {
	t.Helper()
	r, err := krbtest.Start("", krbtest.Options{})
	if errors.Is(err, krbtest.ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// fwdMIT runs an MIT tool against the realm with ccache as KRB5CCNAME.
func fwdMIT(t *testing.T, r *krbtest.Realm, ccache string, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), r.Env(ccache)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), errors.New(err.Error() + ": " + strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func fwdNewKey(t *testing.T) Key {
	t.Helper()
	k := Key{Type: 18, Value: make([]byte, 32)} // aes256-cts-hmac-sha1-96
	if _, err := rand.Read(k.Value); err != nil {
		t.Fatal(err)
	}
	return k
}

// fwdForwarded does the client half: kinit -f user, then a forwarded TGT.
func fwdForwarded(t *testing.T, r *krbtest.Realm, user string, forwardable bool) *ForwardedCred {
	t.Helper()
	cc, err := r.Kinit(user, "-f")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := FetchForwardedTGT(ForwardOptions{Krb5Conf: r.Krb5Conf, CCache: cc, Forwardable: forwardable})
	if err != nil {
		t.Fatalf("FetchForwardedTGT: %v", err)
	}
	if fc.ClientPrincipal() != user+"@"+r.Name || fc.ServerPrincipal() != "krbtgt/"+r.Name+"@"+r.Name {
		t.Fatalf("forwarded %s for %s", fc.ServerPrincipal(), fc.ClientPrincipal())
	}
	if fc.Flags&TicketFlagForwarded == 0 || (fc.Flags&TicketFlagForwardable != 0) != forwardable {
		t.Fatalf("flags %#x (forwardable requested: %v)", fc.Flags, forwardable)
	}
	return fc
}

// The whole path against the real KDC and MIT's tools: forwarded TGT →
// KRB-CRED → kcmd framing → decrypt and check → ccache → klist, kvno.
func TestForwardedCredsUsableByMIT(t *testing.T) {
	r := fwdStartRealm(t)
	for _, forwardable := range []bool{false, true} {
		name := map[bool]string{false: "forward(-f)", true: "forwardable(-F)"}[forwardable]
		t.Run(name, func(t *testing.T) {
			fc := fwdForwarded(t, r, "alice", forwardable)
			subkey, session := fwdNewKey(t), fwdNewKey(t)
			der, err := BuildKRBCred(fc, subkey)
			if err != nil {
				t.Fatal(err)
			}
			var wire bytes.Buffer
			if err := WriteKRBCredMsg(&wire, der); err != nil {
				t.Fatal(err)
			}
			got, err := ReadKRBCredMsg(&wire)
			if err != nil || !bytes.Equal(got, der) {
				t.Fatalf("framing round trip: %v", err)
			}
			// MIT's order: receive subkey, then session key.
			rc, err := AcceptKRBCred(got, []Key{subkey, session}, "alice@"+r.Name, 0)
			if err != nil {
				t.Fatal(err)
			}
			uid, gid, wantUID := -1, -1, os.Getuid()
			if os.Geteuid() == 0 {
				uid, gid, wantUID = 65534, 65534, 65534
			}
			dir := t.TempDir()
			path, cleanup, err := WriteForwardedCCache(rc, CCacheOptions{Dir: dir, UID: uid, GID: gid})
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			st, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != 0o600 || int(st.Sys().(*syscall.Stat_t).Uid) != wantUID {
				t.Fatalf("ccache mode %v uid %d, want 0600 uid %d", st.Mode(), st.Sys().(*syscall.Stat_t).Uid, wantUID)
			}
			if base := filepath.Base(path); !strings.HasPrefix(base, "krb5cc_") || filepath.Dir(path) != dir {
				t.Fatalf("ccache path %s", path)
			}

			out, err := fwdMIT(t, r, path, nil, "klist", "-f", "-c", "FILE:"+path)
			if err != nil {
				t.Fatalf("klist: %v\n%s", err, out)
			}
			if !strings.Contains(out, "Default principal: alice@"+r.Name) || !strings.Contains(out, "krbtgt/"+r.Name+"@"+r.Name) {
				t.Fatalf("klist output:\n%s", out)
			}
			flags := fwdKlistFlags(t, out)
			if !strings.Contains(flags, "f") || strings.Contains(flags, "F") != forwardable {
				t.Fatalf("klist flags %q (forwardable %v)\n%s", flags, forwardable, out)
			}
			out, err = fwdMIT(t, r, path, nil, "kvno", krbtest.Service)
			if err != nil || !strings.Contains(out, krbtest.Service+"@"+r.Name+": kvno = ") {
				t.Fatalf("kvno with the forwarded TGT: %v\n%s", err, out)
			}
			out, _ = fwdMIT(t, r, path, nil, "klist", "-c", "FILE:"+path)
			if !strings.Contains(out, krbtest.Service+"@"+r.Name) {
				t.Fatalf("service ticket not stored by kvno:\n%s", out)
			}

			if err := cleanup(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("ccache still there after cleanup: %v", err)
			}
			if err := cleanup(); err != nil {
				t.Fatalf("second cleanup: %v", err)
			}
		})
	}
}

func fwdKlistFlags(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if _, f, ok := strings.Cut(l, "Flags: "); ok {
			return strings.TrimSpace(f)
		}
	}
	t.Fatalf("no Flags line in klist output:\n%s", out)
	return ""
}

// gokrb5's ccache reader (what krx's own client uses) reads the file back.
func TestForwardedCCacheReadByGokrb5(t *testing.T) {
	r := fwdStartRealm(t)
	fc := fwdForwarded(t, r, "alice", true)
	path, cleanup, err := WriteForwardedCCache(fc, CCacheOptions{Dir: t.TempDir(), UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Version != 4 || cc.DefaultPrincipal.Realm != r.Name ||
		strings.Join(cc.DefaultPrincipal.PrincipalName.NameString, "/") != "alice" {
		t.Fatalf("read back: version %d default %v@%s", cc.Version, cc.DefaultPrincipal.PrincipalName, cc.DefaultPrincipal.Realm)
	}
	e := cc.GetEntries()
	if len(e) != 1 {
		t.Fatalf("%d entries", len(e))
	}
	c := e[0]
	if c.Server.Realm != r.Name || strings.Join(c.Server.PrincipalName.NameString, "/") != "krbtgt/"+r.Name ||
		c.Key.KeyType != fc.Key.Type || !bytes.Equal(c.Key.KeyValue, fc.Key.Value) || !bytes.Equal(c.Ticket, fc.Ticket) ||
		!c.EndTime.Equal(fc.EndTime.Truncate(time.Second)) || fwdFlagsToUint32(c.TicketFlags.Bytes) != fc.Flags {
		t.Fatalf("entry differs: %+v", c)
	}
	// And krx's own client path can use it: a forwarded TGT from the
	// forwarded TGT (it is forwardable).
	fc2, err := FetchForwardedTGT(ForwardOptions{Krb5Conf: r.Krb5Conf, CCache: path})
	if err != nil {
		t.Fatalf("forwarding again from the written ccache: %v", err)
	}
	if fc2.ClientPrincipal() != "alice@"+r.Name {
		t.Fatal(fc2.ClientPrincipal())
	}
}

func TestForwardClientErrors(t *testing.T) {
	r := fwdStartRealm(t)
	// Not forwardable: kinit without -f (krb5.conf says forwardable = true).
	cc, err := r.Kinit("bob", "-F")
	if err != nil {
		t.Fatal(err)
	}
	_, err = FetchForwardedTGT(ForwardOptions{Krb5Conf: r.Krb5Conf, CCache: cc})
	if !errors.Is(err, ErrFwdNotForwardable) {
		t.Fatalf("non-forwardable TGT: %v", err)
	}
	_, err = FetchForwardedTGT(ForwardOptions{Krb5Conf: r.Krb5Conf, CCache: filepath.Join(t.TempDir(), "none")})
	if !errors.Is(err, ErrFwdNoTGT) {
		t.Fatalf("missing ccache: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte{5, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, 0o600)
	if _, err = FetchForwardedTGT(ForwardOptions{Krb5Conf: r.Krb5Conf, CCache: bad}); err == nil || errors.Is(err, errFwdPanic) {
		t.Fatalf("damaged ccache: %v", err)
	}
	if _, err = FetchForwardedTGT(ForwardOptions{Krb5Conf: r.Krb5Conf, CCache: "KEYRING:persistent:0"}); err == nil {
		t.Fatal("KEYRING ccache accepted")
	}
	// The KDC is gone: a clear error naming the realm.
	cc, err = r.Kinit("alice", "-f")
	if err != nil {
		t.Fatal(err)
	}
	conf := r.Krb5Conf
	data, _ := os.ReadFile(conf)
	os.WriteFile(conf, bytes.ReplaceAll(data, []byte(r.KDCAddr()), []byte("127.0.0.1:1")), 0o644)
	_, err = FetchForwardedTGT(ForwardOptions{Krb5Conf: conf, CCache: cc})
	if !errors.Is(err, ErrFwdKDC) || !strings.Contains(err.Error(), r.Name) {
		t.Fatalf("KDC unreachable: %v", err)
	}
}
