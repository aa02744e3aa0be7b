package krbauth

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
)

// TestTamperedChecksum: the client's checksum covers other data than the
// server sees (here: another server-user); the server refuses, for both
// checksum kinds. Policies: require refuses a missing checksum, ignore
// accepts a wrong one.
func TestTamperedChecksum(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cl := aliceClient(t, r, nil)
	claimed := kcmdStrings{serverUser: "bob", payload: "xterm/38400", clientUser: "alice"}
	for _, kind := range []ChecksumKind{ChecksumRSAMD5, ChecksumKeyed} {
		ac := acceptor(t, r.HostKeytab)
		_, cerr, srv := loopback(t, ac, nil, sendauthClient(cl, AppVersionKCMD02, kind, claimed), alice)
		if srv.err != nil || !errors.Is(srv.checksumErr, ErrBadChecksum) || cerr == nil {
			t.Errorf("kind %d: server %v / checksum %v / client %v", kind, srv.err, srv.checksumErr, cerr)
		}
		if srv.acc != nil && srv.acc.ChecksumVerified {
			t.Error("ChecksumVerified set on a mismatch")
		}
	}
	st, err := cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	data := KcmdChecksumData(543, "xterm/38400", "alice")
	// Checksum given to Verify directly: refused before the replay cache.
	ac := acceptor(t, r.HostKeytab)
	req, _ := st.NewAPReq(SendAuthOptions{ChecksumData: data})
	if _, err := ac.Verify(req.Bytes, KcmdChecksumData(544, "xterm/38400", "alice"), time.Now()); !errors.Is(err, ErrBadChecksum) {
		t.Errorf("wrong port: %v", err)
	}
	if _, err := ac.Verify(req.Bytes, data, time.Now()); err != nil {
		t.Errorf("right data after a refused try: %v", err)
	}
	// No checksum at all.
	noCk, _ := st.NewAPReq(SendAuthOptions{})
	ac.Checksum = ChecksumRequire
	if _, err := ac.Verify(noCk.Bytes, data, time.Now()); !errors.Is(err, ErrNoChecksum) {
		t.Errorf("require without checksum: %v", err)
	}
	ac.Checksum = ChecksumVerifyIfPresent
	if acc, err := ac.Verify(noCk.Bytes, data, time.Now()); err != nil || acc.ChecksumVerified {
		t.Errorf("verify-if-present without checksum: %v", err)
	}
	ac.Checksum = ChecksumIgnore
	wrong, _ := st.NewAPReq(SendAuthOptions{ChecksumData: []byte("nonsense")})
	if _, err := ac.Verify(wrong.Bytes, data, time.Now()); err != nil {
		t.Errorf("ignore policy: %v", err)
	}
}

// TestReplayAcrossProcesses: an AP-REQ accepted here is refused by a new
// process (the test binary re-executed) sharing the replay cache file; the
// same helper accepts a fresh AP-REQ, so it can tell the two apart.
func TestReplayAcrossProcesses(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cl := aliceClient(t, r, nil)
	st, err := cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rcPath := filepath.Join(dir, "rcache")
	rc, err := OpenReplayCache(rcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	kt, err := LoadKeytab(r.HostKeytab)
	if err != nil {
		t.Fatal(err)
	}
	ac := &Acceptor{Keytab: kt, RCache: rc}
	used, _ := st.NewAPReq(SendAuthOptions{})
	if _, err := ac.Verify(used.Bytes, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Verify(used.Bytes, nil, time.Now()); !errors.Is(err, ErrReplay) {
		t.Fatalf("same process replay: %v", err)
	}
	fresh, _ := st.NewAPReq(SendAuthOptions{})
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{{"replayed", used.Bytes, "REPLAY"}, {"fresh", fresh.Bytes, "OK"}, {"fresh-again", fresh.Bytes, "REPLAY"}} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestReplayHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KRBAUTH_HELPER_APREQ="+p, "KRBAUTH_HELPER_RCACHE="+rcPath, "KRBAUTH_HELPER_KEYTAB="+r.HostKeytab)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "RESULT "+c.want) {
			t.Errorf("%s AP-REQ in a new process: want %s, got:\n%s", c.name, c.want, out)
		}
	}
	// And back in this process: the helper's acceptance is visible here.
	if _, err := ac.Verify(fresh.Bytes, nil, time.Now()); !errors.Is(err, ErrReplay) {
		t.Errorf("AP-REQ accepted by the helper is not a replay here: %v", err)
	}
}

// TestReplayHelper is the re-executed process of TestReplayAcrossProcesses.
func TestReplayHelper(t *testing.T) {
	p := os.Getenv("KRBAUTH_HELPER_APREQ")
	if p == "" {
		t.Skip("helper process only")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := LoadKeytab(os.Getenv("KRBAUTH_HELPER_KEYTAB"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := OpenReplayCache(os.Getenv("KRBAUTH_HELPER_RCACHE"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = (&Acceptor{Keytab: kt, RCache: rc}).Verify(b, nil, time.Now())
	switch {
	case err == nil:
		fmt.Println("RESULT OK")
	case errors.Is(err, ErrReplay):
		fmt.Println("RESULT REPLAY:", err)
	default:
		fmt.Println("RESULT ERROR:", err)
	}
}

// TestClockSkew: the client's clock is 10 minutes behind; the server
// refuses with both times, the client gets KRB_AP_ERR_SKEW.
func TestClockSkew(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	skewed := func() time.Time { return time.Now().Add(-10 * time.Minute) }
	cl := aliceClient(t, r, skewed)
	ac := acceptor(t, r.HostKeytab)
	_, cerr, srv := loopback(t, ac, nil, sendauthClient(cl, AppVersionKCMD02, ChecksumRSAMD5, alice), alice)
	var ce *ClockSkewError
	if !errors.As(srv.err, &ce) {
		t.Fatalf("server: %v", srv.err)
	}
	if d := ce.ServerTime.Sub(ce.ClientTime); d < 9*time.Minute || d > 11*time.Minute || ce.Limit != DefaultClockSkew {
		t.Errorf("skew error %+v", ce)
	}
	msg := srv.err.Error()
	if !strings.Contains(msg, ce.ServerTime.UTC().Format("2006-01-02T15:04")) || !strings.Contains(msg, ce.ClientTime.UTC().Format("2006-01-02T15:04")) {
		t.Errorf("message lacks both times: %s", msg)
	}
	var se *ServerError
	if !errors.As(cerr, &se) || !errors.Is(cerr, ErrClockSkew) || !strings.Contains(cerr.Error(), "client time") {
		t.Fatalf("client: %v", cerr)
	}
	t.Logf("server: %v\nclient: %v", srv.err, cerr)

	// A configured limit: 5 s refuses a client 10 s ahead, 30 s accepts it.
	ahead := aliceClient(t, r, func() time.Time { return time.Now().Add(10 * time.Second) })
	st, err := ahead.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := st.NewAPReq(SendAuthOptions{})
	ac.ClockSkew = 5 * time.Second
	if _, err := ac.Verify(req.Bytes, nil, time.Now()); !errors.Is(err, ErrClockSkew) {
		t.Errorf("5s limit: %v", err)
	}
	ac.ClockSkew = 30 * time.Second
	if _, err := ac.Verify(req.Bytes, nil, time.Now()); err != nil {
		t.Errorf("30s limit: %v", err)
	}
}

// TestAppVersionRejected: the server refuses the application version; the
// client gets ErrAppVersionRejected naming the version.
func TestAppVersionRejected(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cl := aliceClient(t, r, nil)
	ac := acceptor(t, r.HostKeytab)
	legacy := func(v string) bool { return v == AppVersionKCMD01 || v == AppVersionKCMD02 }
	_, cerr, srv := loopback(t, ac, legacy, sendauthClient(cl, "KRXV0001", ChecksumRSAMD5, alice), alice)
	var ave *AppVersionError
	if !errors.As(cerr, &ave) || ave.Version != "KRXV0001" || !errors.Is(cerr, ErrAppVersionRejected) {
		t.Errorf("client: %v", cerr)
	}
	if !errors.Is(srv.err, ErrAppVersionRejected) {
		t.Errorf("server: %v", srv.err)
	}
	res, cerr, srv := loopback(t, ac, legacy, sendauthClient(cl, AppVersionKCMD01, ChecksumRSAMD5, alice), alice)
	if cerr != nil || srv.err != nil || srv.acc.AppVersion != AppVersionKCMD01 || res.AppVersion != AppVersionKCMD01 {
		t.Errorf("KCMDV0.1: %v %v", cerr, srv.err)
	}
}

// TestClientErrors: the errors a user can act on.
func TestClientErrors(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	missing := filepath.Join(t.TempDir(), "no-such-cache")
	_, err := NewClient(ClientOptions{Krb5Conf: r.Krb5Conf, CCache: "FILE:" + missing})
	var nce *NoCCacheError
	if !errors.As(err, &nce) || nce.Path != missing || !strings.Contains(err.Error(), "run kinit") {
		t.Errorf("no ccache: %v", err)
	}
	t.Setenv("KRB5CCNAME", "KEYRING:persistent:0")
	if _, err := NewClient(ClientOptions{Krb5Conf: r.Krb5Conf}); err == nil || !strings.Contains(err.Error(), "FILE:") {
		t.Errorf("keyring cache: %v", err)
	}
	// Expired: the client's clock is two days ahead of the TGT's end.
	cc, err := r.Kinit("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5CCNAME", "FILE:"+cc)
	_, err = NewClient(ClientOptions{Krb5Conf: r.Krb5Conf, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	var te *TicketExpiredError
	if !errors.As(err, &te) || !errors.Is(err, ErrTicketExpired) || !strings.Contains(err.Error(), "expired at") {
		t.Errorf("expired: %v", err)
	}
	cl, err := NewClient(ClientOptions{Krb5Conf: r.Krb5Conf})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.ServiceTicket("nosuchhost", "")
	var kde *KDCError
	if !errors.As(err, &kde) || !errors.Is(err, ErrUnknownServer) || !strings.Contains(err.Error(), "host/nosuchhost@"+r.Name) {
		t.Errorf("unknown server: %v", err)
	}
	_, err = cl.ServiceTicket("localhost", "OTHER.REALM")
	if !errors.Is(err, ErrWrongRealm) || !strings.Contains(err.Error(), "OTHER.REALM") {
		t.Errorf("wrong realm: %v", err)
	}
	t.Logf("no ccache: %v\nexpired: %v\nunknown: %v\n", nce, te, kde)

	// KDC unreachable: a krb5.conf whose KDC port is closed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	conf, _ := os.ReadFile(r.Krb5Conf)
	deadConf := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(deadConf, []byte(strings.ReplaceAll(string(conf), r.KDCAddr(), dead)), 0o644)
	cl2, err := NewClient(ClientOptions{Krb5Conf: deadConf, CCache: cc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl2.ServiceTicket("localhost", "")
	var ue *KDCUnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), dead) {
		t.Errorf("unreachable: %v", err)
	}
	t.Logf("unreachable: %v", err)
	// No keytab.
	if _, err := LoadKeytab(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrNoKeytab) {
		t.Errorf("missing keytab: %v", err)
	}
}

// TestMITObtainedTicket: MIT kvno puts the service ticket into the cache;
// the client uses it without a TGS exchange and the server accepts it.
func TestMITObtainedTicket(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cc, err := r.Kinit("alice")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kvno", krbtest.Service)
	cmd.Env = append(os.Environ(), r.Env(cc)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("MIT kvno: %v: %s", err, out)
	}
	// Point krb5.conf at a dead KDC: only a cached ticket can work now.
	conf, _ := os.ReadFile(r.Krb5Conf)
	deadConf := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(deadConf, []byte(strings.ReplaceAll(string(conf), r.KDCAddr(), "127.0.0.1:1")), 0o644)
	cl, err := NewClient(ClientOptions{Krb5Conf: deadConf, CCache: cc})
	if err != nil {
		t.Fatal(err)
	}
	ac := acceptor(t, r.HostKeytab)
	res, cerr, srv := loopback(t, ac, nil, sendauthClient(cl, AppVersionKCMD02, ChecksumRSAMD5, alice), alice)
	if cerr != nil || srv.err != nil || srv.checksumErr != nil || res.Client != "alice@"+r.Name {
		t.Fatalf("client %v server %v checksum %v", cerr, srv.err, srv.checksumErr)
	}
}
