package cfbstream

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/bits"
	"strings"
	"testing"

	krbcrypto "github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
)

// The real enctypes satisfy KDF.
var _ KDF = etype.EType(nil)

var supportedEnctypes = []int32{16, 17, 18, 19, 20}

func gokrb5Etype(t *testing.T, id int32) etype.EType {
	t.Helper()
	e, err := krbcrypto.GetEtype(id)
	if err != nil {
		t.Fatalf("gokrb5 enctype %d: %v", id, err)
	}
	return e
}

func randomKey(t *testing.T, n int) []byte {
	t.Helper()
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDeriveDistinct: for every supported enctype, the four (direction,
// channel) pairs get distinct keys and IVs of the right sizes; 3DES keys
// have DES parity.
func TestDeriveDistinct(t *testing.T) {
	for _, id := range supportedEnctypes {
		e := gokrb5Etype(t, id)
		info := enctypeInfo[id]
		pk := randomKey(t, info.keyLen)
		seen := map[string]string{}
		for _, d := range []direction{clientToServer, serverToClient} {
			for _, ch := range []Channel{Main, Stderr} {
				got, err := derive(e, pk, d, ch)
				if err != nil {
					t.Fatalf("%s %v %v: %v", info.name, d, ch, err)
				}
				if got.alg != info.alg || len(got.key) != info.alg.KeySize() || len(got.iv) != info.alg.BlockSize() {
					t.Fatalf("%s: alg %v key %d iv %d", info.name, got.alg, len(got.key), len(got.iv))
				}
				for what, b := range map[string][]byte{"key": got.key, "iv": got.iv} {
					if prev, dup := seen[string(b)]; dup {
						t.Fatalf("%s: %s of %v/%v equals %s", info.name, what, d, ch, prev)
					}
					seen[string(b)] = what + " " + d.String() + "/" + ch.String()
				}
				if bytes.Equal(got.key[:info.alg.BlockSize()], got.iv) || bytes.Contains(pk, got.key[:8]) {
					t.Fatalf("%s: key material leaks into IV or equals the protocol key", info.name)
				}
				if info.alg == TripleDES {
					for i, b := range got.key {
						if bits.OnesCount8(b)%2 != 1 {
							t.Fatalf("3DES key byte %d (%#x) lacks odd parity", i, b)
						}
					}
				}
				// Deterministic: both ends compute the same.
				again, _ := derive(e, pk, d, ch)
				if !bytes.Equal(again.key, got.key) || !bytes.Equal(again.iv, got.iv) {
					t.Fatalf("%s: derivation not deterministic", info.name)
				}
			}
		}
		if len(seen) != 8 {
			t.Fatalf("%s: %d distinct values, want 8", info.name, len(seen))
		}
	}
}

// TestDerivedKeyIsKe: the stream key for usage u is exactly the RFC 3961
// encryption key Ke = DK(K, u || 0xAA) that any Kerberos implementation
// (MIT krb5_c_encrypt, gokrb5 EncryptMessage) uses for that usage: a
// message gokrb5 encrypts with usage u decrypts under our derived key.
func TestDerivedKeyIsKe(t *testing.T) {
	msg := []byte("krx usage-number interop check")
	for _, id := range supportedEnctypes {
		e := gokrb5Etype(t, id)
		info := enctypeInfo[id]
		pk := randomKey(t, info.keyLen)
		got, err := derive(e, pk, serverToClient, Stderr)
		if err != nil {
			t.Fatal(err)
		}
		_, ct, err := e.EncryptMessage(pk, msg, UsageKeyS2CStderr)
		if err != nil {
			t.Fatalf("%s: EncryptMessage: %v", info.name, err)
		}
		ct = ct[:len(ct)-e.GetHMACBitLength()/8]
		pt, err := e.DecryptData(got.key, ct)
		if err != nil {
			t.Fatalf("%s: DecryptData: %v", info.name, err)
		}
		if !bytes.Contains(pt, msg) {
			t.Fatalf("%s: derived key is not Ke for usage %d", info.name, UsageKeyS2CStderr)
		}
	}
}

// TestPairDirections: a client's Encrypter and the server's Decrypter for
// the same direction and channel agree; every crossed combination fails.
func TestPairDirections(t *testing.T) {
	msg := []byte("ls -l /etc; echo done\r\n........ and a little more than two blocks")
	for _, id := range supportedEnctypes {
		e := gokrb5Etype(t, id)
		pk := randomKey(t, enctypeInfo[id].keyLen)
		type ends struct {
			enc *Encrypter
			dec *Decrypter
		}
		get := func(r Role, ch Channel) ends {
			enc, dec, err := NewPair(e, pk, r, ch)
			if err != nil {
				t.Fatalf("enctype %d %v %v: %v", id, r, ch, err)
			}
			return ends{enc, dec}
		}
		roundTrip := func(enc *Encrypter, dec *Decrypter) bool {
			ct := make([]byte, len(msg))
			enc.XORKeyStream(ct, msg)
			pt := make([]byte, len(ct))
			dec.XORKeyStream(pt, ct)
			return bytes.Equal(pt, msg)
		}
		for _, ch := range []Channel{Main, Stderr} {
			other := Main + Stderr - ch
			if !roundTrip(get(Client, ch).enc, get(Server, ch).dec) {
				t.Errorf("enctype %d %v: client→server does not round-trip", id, ch)
			}
			if !roundTrip(get(Server, ch).enc, get(Client, ch).dec) {
				t.Errorf("enctype %d %v: server→client does not round-trip", id, ch)
			}
			crossed := map[string]bool{
				"client enc → client dec (reflection)":  roundTrip(get(Client, ch).enc, get(Client, ch).dec),
				"server enc → server dec (reflection)":  roundTrip(get(Server, ch).enc, get(Server, ch).dec),
				"client enc → server dec other channel": roundTrip(get(Client, ch).enc, get(Server, other).dec),
				"server enc → client dec other channel": roundTrip(get(Server, ch).enc, get(Client, other).dec),
			}
			for what, ok := range crossed {
				if ok {
					t.Errorf("enctype %d %v: %s decrypted correctly", id, ch, what)
				}
			}
		}
	}
}

type fakeKDF int32

func (f fakeKDF) GetETypeID() int32 { return int32(f) }
func (f fakeKDF) DeriveKey(k, c []byte) ([]byte, error) {
	if f == 17 {
		return []byte{1, 2, 3}, nil // wrong size
	}
	if f == 18 {
		panic("boom")
	}
	return nil, errors.New("fake KDF failure")
}

func TestDeriveErrors(t *testing.T) {
	// Unsupported enctypes, real (gokrb5 has rc4-hmac) and not.
	for _, id := range []int32{23, 1, 3, 25, 26, 0, -1, 999} {
		var kdf KDF = fakeKDF(id)
		if id == 23 {
			kdf = gokrb5Etype(t, 23)
		}
		_, _, err := NewPair(kdf, make([]byte, 16), Client, Main)
		var ee *EnctypeError
		if !errors.As(err, &ee) || ee.Enctype != id || !errors.Is(err, ErrUnsupportedEnctype) ||
			!strings.HasPrefix(err.Error(), "cfbstream: unsupported enctype") {
			t.Errorf("enctype %d: got %v", id, err)
		}
	}
	// Wrong protocol key lengths, including gokrb5 v8.4.4's wrong
	// GetKeyByteSize (24) for aes256-cts-hmac-sha384-192.
	for id, n := range map[int32]int{16: 21, 17: 32, 18: 16, 19: 32, 20: 24} {
		_, _, err := NewPair(gokrb5Etype(t, id), make([]byte, n), Server, Main)
		var ke *KeySizeError
		if !errors.As(err, &ke) || ke.Got != n || ke.Want != enctypeInfo[id].keyLen || !errors.Is(err, ErrKeySize) {
			t.Errorf("enctype %d key %d bytes: got %v", id, n, err)
		}
	}
	// Bad roles, channels, KDF results.
	if _, _, err := NewPair(gokrb5Etype(t, 18), make([]byte, 32), Role(0), Main); !errors.Is(err, ErrArgument) {
		t.Errorf("role 0: %v", err)
	}
	if _, _, err := NewPair(gokrb5Etype(t, 18), make([]byte, 32), Client, Channel(9)); !errors.Is(err, ErrArgument) {
		t.Errorf("channel 9: %v", err)
	}
	if _, _, err := NewPair(nil, make([]byte, 32), Client, Main); !errors.Is(err, ErrArgument) {
		t.Errorf("nil KDF: %v", err)
	}
	for _, f := range []fakeKDF{17, 18, 19} {
		_, _, err := NewPair(f, make([]byte, enctypeInfo[int32(f)].keyLen), Client, Main)
		var ke *KDFError
		if !errors.As(err, &ke) || !errors.Is(err, ErrKDF) {
			t.Errorf("fake KDF %d: %v", f, err)
		}
	}
}

func TestUsageNumbers(t *testing.T) {
	all := map[uint32]bool{}
	for _, d := range []direction{clientToServer, serverToClient} {
		for _, ch := range []Channel{Main, Stderr} {
			k, iv, err := usages(d, ch)
			if err != nil {
				t.Fatal(err)
			}
			all[k], all[iv] = true, true
		}
	}
	if len(all) != 8 {
		t.Fatalf("usage numbers not distinct: %v", all)
	}
	for u := range all {
		if u >= 1026 && u <= 1034 || u < 1024 || u > 2047 {
			t.Errorf("usage %d collides with MIT kcmd or lies outside RFC 4120's application range", u)
		}
	}
}
