package krbauth

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krx-suite/krx/internal/krbtest"
)

// fixture is an in-process realm: a keytab and a ticket made with it, so
// fuzz targets run without a KDC.
type fixture struct {
	kt *Keytab
	st *ServiceTicket
}

func newFixture(t testing.TB, et int32) *fixture {
	t.Helper()
	gkt := keytab.New()
	now := time.Now()
	if err := gkt.AddEntry("host/localhost", "KRX.TEST", "fuzz-pw", now, 3, et); err != nil {
		t.Fatal(err)
	}
	cname := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: []string{"host", "localhost"}}
	tkt, skey, err := messages.NewTicket(cname, "KRX.TEST", sname, "KRX.TEST", types.NewKrbFlags(), gkt, et, 3,
		now, now, now.Add(10*time.Hour), now.Add(10*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cl := &Client{cname: cname, crealm: "KRX.TEST", now: time.Now, tickets: map[string]*ServiceTicket{}}
	return &fixture{
		kt: &Keytab{Path: "fuzz.keytab", kt: gkt},
		st: &ServiceTicket{Server: "host/localhost@KRX.TEST", SessionKey: keyFrom(skey), EndTime: now.Add(10 * time.Hour), tkt: tkt, client: cl},
	}
}

func (fx *fixture) acceptor(t testing.TB) *Acceptor {
	rc, err := OpenReplayCache(filepath.Join(t.TempDir(), "rcache"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return &Acceptor{Keytab: fx.kt, RCache: rc}
}

func (fx *fixture) apreq(t testing.TB) []byte {
	r, err := fx.st.NewAPReq(SendAuthOptions{ChecksumData: []byte("543:xterm/38400alice")})
	if err != nil {
		t.Fatal(err)
	}
	return r.Bytes
}

type rw struct {
	io.Reader
	io.Writer
}

func FuzzReadVersions(f *testing.F) {
	f.Add(append(versionMsg(SendauthVersion), versionMsg(AppVersionKCMD02)...))
	f.Add(append(versionMsg("KRB5_SENDAUTH_V1.1"), versionMsg(AppVersionKCMD01)...))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadVersions(bytes.NewReader(b))
		if err == nil && (strings.IndexByte(v, 0) >= 0 || len(v) >= maxVersionLen) {
			t.Fatalf("bad version accepted: %q", v)
		}
	})
}

func FuzzReadMsg(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readMsg(bytes.NewReader(b), 1024, "fuzz")
		if err == nil && (len(m) > 1024 || !bytes.Equal(m, b[4:4+len(m)])) {
			t.Fatal("readMsg returned wrong bytes")
		}
	})
}

func FuzzVerifyAPReq(f *testing.F) {
	fx := newFixture(f, etypeID.AES256_CTS_HMAC_SHA1_96)
	f.Add(fx.apreq(f))
	f.Add([]byte{0x6e, 0x03, 0x30, 0x01, 0x00})
	ac := fx.acceptor(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		acc, err := ac.Verify(b, []byte("543:xterm/38400alice"), time.Now())
		if err == nil && acc.Client != "alice@KRX.TEST" {
			t.Fatalf("accepted with client %q", acc.Client)
		}
	})
}

func FuzzRecvauth(f *testing.F) {
	fx := newFixture(f, etypeID.AES128_CTS_HMAC_SHA256_128)
	stream := append(append(versionMsg(SendauthVersion), versionMsg(AppVersionKCMD02)...), 0, 0, 0, 0)
	req := fx.apreq(f)
	stream[len(stream)-1] = byte(len(req))
	stream[len(stream)-2] = byte(len(req) >> 8)
	f.Add(append(stream, req...))
	f.Add(stream)
	ac := fx.acceptor(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		acc, err := ac.RecvAuth(rw{bytes.NewReader(b), &out}, func(v string) bool { return strings.HasPrefix(v, "KCMD") })
		if err == nil && (acc == nil || out.Len() < 5) {
			t.Fatal("success without an answer")
		}
	})
}

func FuzzAPREP(f *testing.F) {
	fx := newFixture(f, etypeID.AES256_CTS_HMAC_SHA1_96)
	ac := fx.acceptor(f)
	acc, err := ac.Verify(fx.apreq(f), nil, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(acc.APRep)
	withSub, _ := buildAPRep(fx.st.SessionKey, time.Now(), 12345, acc.Subkey)
	f.Add(withSub)
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseAPRep(b, fx.st.SessionKey)
		if err == nil && info.Cusec < 0 {
			t.Fatalf("negative cusec %d accepted", info.Cusec)
		}
	})
}

func FuzzKRBError(f *testing.F) {
	f.Add(MarshalKRBError(&ClockSkewError{ServerTime: time.Now(), ClientTime: time.Now(), Limit: time.Minute}, "host/localhost@KRX.TEST", time.Now()))
	f.Add(MarshalKRBError(ErrReplay, "", time.Now()))
	f.Fuzz(func(t *testing.T, b []byte) {
		if se, err := ParseKRBError(b); err == nil && se == nil {
			t.Fatal("nil error without failure")
		}
	})
}

// FuzzSendAuthReply feeds arbitrary server answers to the client side.
func FuzzSendAuthReply(f *testing.F) {
	fx := newFixture(f, etypeID.AES256_CTS_HMAC_SHA1_96)
	krbErr := MarshalKRBError(ErrReplay, "host/localhost@KRX.TEST", time.Now())
	f.Add(append([]byte{0, 0, 0, byte(len(krbErr) >> 8), byte(len(krbErr))}, krbErr...))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := SendAuth(rw{bytes.NewReader(b), io.Discard}, fx.st, SendAuthOptions{AppVersion: AppVersionKCMD02})
		if err == nil {
			t.Fatalf("forged server answer accepted: %+v", res)
		}
	})
}

func FuzzReplayCacheFile(f *testing.F) {
	good := make([]byte, rcHeaderLen+2*rcRecordLen)
	copy(good, rcMagic)
	good[rcHeaderLen] = 0x7f
	f.Add(good)
	f.Add([]byte(rcMagic))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "rc")
		os.WriteFile(p, b, 0o600)
		rc, err := OpenReplayCache(p)
		if err != nil {
			return
		}
		defer rc.Close()
		a, c := replayTags(b, "alice@R", "host/x@R", time.Unix(1, 0), 1)
		if replay, err := rc.checkAndStore(a, c, time.Now().Unix()+10, time.Now()); err == nil && !replay {
			if replay, err := rc.checkAndStore(a, c, time.Now().Unix()+10, time.Now()); err != nil || !replay {
				t.Fatalf("stored entry not found again: %v %v", replay, err)
			}
		}
	})
}

func FuzzParseCCache(f *testing.F) {
	f.Add([]byte{5, 4, 0, 0})
	f.Add([]byte{5, 3, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &Client{ccPath: "fuzz", now: time.Now}
		if err := c.parseCCache(b); err == nil && c.tgtEnd.IsZero() {
			t.Fatal("cache accepted without a TGT")
		}
	})
}

func FuzzParseKeytab(f *testing.F) {
	f.Add([]byte{5, 2})
	f.Add([]byte{5, 2, 0, 0, 0, 10, 0, 1, 0, 1, 'R', 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseKeytab(b, "fuzz")
	})
}

// TestWriteFuzzCorpus captures real AP-REQ bytes from a KDC run into
// testdata/fuzz (run with KRBAUTH_WRITE_CORPUS=1).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("KRBAUTH_WRITE_CORPUS") == "" {
		t.Skip("set KRBAUTH_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	r := startRealm(t, krbtest.Options{Enctypes: []string{"des3-cbc-sha1-kd"}, Des3: true})
	cl := aliceClient(t, r, nil)
	st, err := cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	req, err := st.NewAPReq(SendAuthOptions{ChecksumData: KcmdChecksumData(543, "xterm/38400", "alice")})
	if err != nil {
		t.Fatal(err)
	}
	ac := acceptor(t, r.HostKeytab)
	acc, err := ac.Verify(req.Bytes, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ac.Verify(req.Bytes, nil, time.Now())
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzVerifyAPReq", "kdc-des3-apreq", req.Bytes)
	write("FuzzAPREP", "kdc-des3-aprep", acc.APRep)
	write("FuzzKRBError", "kdc-replay-krberror", MarshalKRBError(err, acc.Server, time.Now()))
	stream := append(append(versionMsg(SendauthVersion), versionMsg(AppVersionKCMD02)...), byte(len(req.Bytes)>>24), byte(len(req.Bytes)>>16), byte(len(req.Bytes)>>8), byte(len(req.Bytes)))
	write("FuzzRecvauth", "kdc-des3-stream", append(stream, req.Bytes...))
	cc, _ := os.ReadFile(cl.CCachePath())
	write("FuzzParseCCache", "mit-kinit-ccache", cc)
	kt, _ := os.ReadFile(r.HostKeytab)
	write("FuzzParseKeytab", "mit-ktadd-keytab", kt)
}
