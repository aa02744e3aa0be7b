package krbauth

import (
	"bytes"
	"errors"
	"math/bits"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto/rfc3961"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/krx-suite/krx/internal/krbtest"
)

var alice = kcmdStrings{serverUser: "alice", payload: "xterm/38400", clientUser: "alice"}

// TestLoginEnctypes is a whole kcmd authentication over loopback TCP for
// each session enctype the KDC can issue, with both checksum kinds.
func TestLoginEnctypes(t *testing.T) {
	cases := []struct {
		name string
		id   int32
		des3 bool
	}{
		{"aes256-cts-hmac-sha1-96", etypeID.AES256_CTS_HMAC_SHA1_96, false},
		{"aes128-cts-hmac-sha1-96", etypeID.AES128_CTS_HMAC_SHA1_96, false},
		{"aes128-cts-hmac-sha256-128", etypeID.AES128_CTS_HMAC_SHA256_128, false},
		{"des3-cbc-sha1-kd", etypeID.DES3_CBC_SHA1_KD, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRealm(t, krbtest.Options{Enctypes: []string{tc.name}, Des3: tc.des3})
			cl := aliceClient(t, r, nil)
			for _, kind := range []ChecksumKind{ChecksumRSAMD5, ChecksumKeyed} {
				ac := acceptor(t, r.HostKeytab)
				ac.Checksum = ChecksumRequire
				res, err, srv := loopback(t, ac, nil, sendauthClient(cl, AppVersionKCMD02, kind, alice), alice)
				if err != nil || srv.err != nil || srv.checksumErr != nil {
					t.Fatalf("checksum kind %d: client %v, server %v, checksum %v", kind, err, srv.err, srv.checksumErr)
				}
				acc := srv.acc
				if res.SessionKey.Type != tc.id || acc.SessionKey.Type != tc.id {
					t.Errorf("session enctype client %d server %d, want %d", res.SessionKey.Type, acc.SessionKey.Type, tc.id)
				}
				if !bytes.Equal(res.SessionKey.Value, acc.SessionKey.Value) {
					t.Error("client and server disagree on the session key")
				}
				if res.Subkey.Type != tc.id || !bytes.Equal(res.Subkey.Value, acc.Subkey.Value) || acc.Subkey.Type != res.Subkey.Type {
					t.Errorf("subkey: client %v server %v", res.Subkey, acc.Subkey)
				}
				if bytes.Equal(acc.Subkey.Value, acc.SessionKey.Value) {
					t.Error("subkey equals session key")
				}
				if !res.ServerSubkey.IsZero() {
					t.Errorf("AP-REP carried a subkey %v; default must omit it", res.ServerSubkey)
				}
				if !bytes.Equal(res.SessionUseKey().Value, acc.SessionUseKey().Value) {
					t.Error("the two sides would use different session keys")
				}
				if !acc.ChecksumVerified || acc.ChecksumType == 0 {
					t.Errorf("checksum not verified (type %d)", acc.ChecksumType)
				}
				if kind == ChecksumRSAMD5 && acc.ChecksumType != cksumTypeRSAMD5 {
					t.Errorf("checksum type %d, want 7", acc.ChecksumType)
				}
				if acc.Client != "alice@"+r.Name || res.Server != "host/localhost@"+r.Name || acc.Server != res.Server {
					t.Errorf("names: client %q server %q/%q", acc.Client, acc.Server, res.Server)
				}
				if !acc.MutualRequired {
					t.Error("mutual-required not set in the AP-REQ")
				}
				if tc.des3 {
					for i, b := range acc.Subkey.Value {
						if bits.OnesCount8(b)%2 != 1 {
							t.Fatalf("des3 subkey byte %d = %#02x has even parity", i, b)
						}
					}
				}
				et, err := acc.SessionUseKey().EType()
				if err != nil || et.GetETypeID() != tc.id {
					t.Errorf("EType(): %v %v", et, err)
				}
			}
		})
	}
}

// TestEchoSubkey: with EchoSubkey the AP-REP carries the client's subkey
// and the client accepts it (MIT's current behaviour).
func TestEchoSubkey(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cl := aliceClient(t, r, nil)
	ac := acceptor(t, r.HostKeytab)
	ac.EchoSubkey = true
	res, err, srv := loopback(t, ac, nil, sendauthClient(cl, AppVersionKCMD02, ChecksumRSAMD5, alice), alice)
	if err != nil || srv.err != nil {
		t.Fatal(err, srv.err)
	}
	if !bytes.Equal(res.ServerSubkey.Value, res.Subkey.Value) || !bytes.Equal(res.SessionUseKey().Value, srv.acc.SessionUseKey().Value) {
		t.Error("echoed subkey differs")
	}
}

func TestDes3RandomToKey(t *testing.T) {
	seed := make([]byte, 21)
	for i := range seed {
		seed[i] = byte(i*37 + 11)
	}
	got := des3RandomToKey(seed)
	if want := rfc3961.DES3RandomToKey(seed); !bytes.Equal(got, want) {
		t.Errorf("des3 random-to-key %x, gokrb5's %x", got, want)
	}
	// RFC 3961 §6.3.1: the low bit of input byte j lands in bit j+1 of byte 7.
	one := make([]byte, 21)
	one[3] = 0x01
	k := des3RandomToKey(one)
	if k[7]&0xfe != 0x10 || k[3]&0xfe != 0 {
		t.Errorf("bit placement: %x", k[:8])
	}
	for range 100 {
		key, err := NewRandomKey(etypeID.DES3_CBC_SHA1_KD)
		if err != nil || len(key.Value) != 24 {
			t.Fatal(key, err)
		}
		for _, b := range key.Value {
			if bits.OnesCount8(b)%2 != 1 {
				t.Fatalf("even parity in %x", key.Value)
			}
		}
	}
	if k, _ := NewRandomKey(etypeID.AES256_CTS_HMAC_SHA384_192); len(k.Value) != 32 {
		t.Errorf("aes256-sha384 key of %d bytes", len(k.Value))
	}
}

// TestWrongKeytab: the service key is re-randomised after the ticket was
// issued; the server names the missing kvno, the client gets BADKEYVER.
func TestWrongKeytab(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cl := aliceClient(t, r, nil)
	st, err := cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	newKT, err := r.Keytab(krbtest.Service, false) // ktadd without -norandkey: new key, kvno+1
	if err != nil {
		t.Fatal(err)
	}
	ac := acceptor(t, newKT)
	res, cerr, srv := loopback(t, ac, nil, func(conn net.Conn, port int) (*ClientResult, error) {
		return SendAuth(conn, st, SendAuthOptions{AppVersion: AppVersionKCMD02})
	}, alice)
	var ke *KeytabError
	if !errors.As(srv.err, &ke) || !errors.Is(srv.err, ErrWrongKVNO) {
		t.Fatalf("server error %v, want KeytabError/ErrWrongKVNO", srv.err)
	}
	if ke.KVNO != st.tkt.EncPart.KVNO || len(ke.Have) == 0 || ke.Have[0] == ke.KVNO {
		t.Errorf("KeytabError %+v, ticket kvno %d", ke, st.tkt.EncPart.KVNO)
	}
	msg := srv.err.Error()
	if !strings.Contains(msg, "key version") || !strings.Contains(msg, newKT) || !strings.Contains(msg, "host/localhost@") {
		t.Errorf("message does not name kvno, keytab and principal: %s", msg)
	}
	var se *ServerError
	if res != nil || !errors.As(cerr, &se) || se.Code != errCodeBadKeyVer || !errors.Is(cerr, ErrWrongKVNO) || !errors.Is(cerr, ErrServerRejected) {
		t.Fatalf("client error %v", cerr)
	}
	t.Logf("server: %v\nclient: %v", srv.err, cerr)

	// A keytab without any host/localhost key: ErrNoKey.
	bobKT, err := r.Keytab("bob", true)
	if err != nil {
		t.Fatal(err)
	}
	req, err := st.NewAPReq(SendAuthOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acceptor(t, bobKT).Verify(req.Bytes, nil, time.Now()); !errors.Is(err, ErrNoKey) {
		t.Errorf("bob's keytab: %v, want ErrNoKey", err)
	}
}

// TestTamperedAPReq flips every byte of a real AP-REQ in turn: each flip
// is rejected with a specific error (never a panic), except flips inside
// the AP options, which RFC 4120 does not integrity-protect.
func TestTamperedAPReq(t *testing.T) {
	r := startRealm(t, krbtest.Options{})
	cl := aliceClient(t, r, nil)
	st, err := cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	req, err := st.NewAPReq(SendAuthOptions{ChecksumData: []byte("543:xterm/38400alice")})
	if err != nil {
		t.Fatal(err)
	}
	ac := acceptor(t, r.HostKeytab)
	opt := bytes.Index(req.Bytes, []byte{0xa2, 0x07, 0x03, 0x05, 0x00})
	if opt < 0 {
		t.Fatal("AP options not found")
	}
	nt := bytes.Index(req.Bytes, []byte{0x30, 0x1a, 0xa0, 0x03, 0x02, 0x01, 0x03}) + 6 // sname name-type
	known := []error{ErrMalformed, ErrBadIntegrity, ErrNoKey, ErrWrongKVNO, ErrWrongRealm, ErrBadChecksum, ErrClockSkew, ErrTicketNotValid}
	now := time.Now()
	for i := range req.Bytes {
		b := bytes.Clone(req.Bytes)
		b[i] ^= 0x5a
		acc, err := ac.Verify(b, []byte("543:xterm/38400alice"), now)
		if err == nil {
			// RFC 4120 §6.2: the name type is not significant.
			if (i < opt+5 || i >= opt+9) && i != nt {
				t.Errorf("flip at %d accepted (client %s)", i, acc.Client)
			}
			// Accepted once: the rcache must now refuse the original.
			if _, err := ac.Verify(req.Bytes, nil, now); !errors.Is(err, ErrReplay) {
				t.Errorf("original after accepted option flip: %v, want replay", err)
			}
			ac = acceptor(t, r.HostKeytab)
			continue
		}
		ok := false
		for _, k := range known {
			ok = ok || errors.Is(err, k)
		}
		if !ok {
			t.Errorf("flip at %d: unspecific error %v", i, err)
		}
	}
	// The last bytes are the authenticator ciphertext: integrity failure.
	b := bytes.Clone(req.Bytes)
	b[len(b)-1] ^= 1
	if _, err := ac.Verify(b, nil, now); !errors.Is(err, ErrBadIntegrity) {
		t.Errorf("tampered authenticator: %v", err)
	}
	if _, err := ac.Verify(req.Bytes, []byte("543:xterm/38400alice"), now); err != nil {
		t.Errorf("untouched AP-REQ refused: %v", err)
	}
	// Truncations never panic either.
	for n := range req.Bytes {
		if _, err := ac.Verify(req.Bytes[:n], nil, now); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
}
