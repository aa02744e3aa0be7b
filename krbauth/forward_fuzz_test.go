package krbauth

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// fwdSampleTicket is a syntactically valid Ticket for krbtgt/realm@realm
// with an opaque enc-part (no KDC needed).
func fwdSampleTicket(t testing.TB, realm string) []byte {
	t.Helper()
	type ticket struct {
		TktVNO  int              `asn1:"explicit,tag:0"`
		Realm   asn1.RawValue    `asn1:"explicit,tag:1"`
		SName   fwdPrincipalName `asn1:"explicit,tag:2"`
		EncPart fwdEncryptedData `asn1:"explicit,tag:3"`
	}
	seq, err := asn1.Marshal(ticket{
		TktVNO: 5, Realm: fwdExplicitString(1, realm), SName: fwdName(2, []string{"krbtgt", realm}),
		EncPart: fwdEncryptedData{EType: 18, KVNO: 1, Cipher: bytes.Repeat([]byte{0xa5}, 80)},
	})
	if err != nil {
		t.Fatal(err)
	}
	der, err := fwdWrapApp(fwdAppTicket, seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func fwdSampleCred(t testing.TB, now time.Time) *ForwardedCred {
	return &ForwardedCred{
		ClientRealm: "KRX.TEST", Client: []string{"alice"}, ClientNameType: 1,
		ServerRealm: "KRX.TEST", Server: []string{"krbtgt", "KRX.TEST"}, ServerNameType: 2,
		Key:   Key{Type: 17, Value: bytes.Repeat([]byte{3}, 16)},
		Flags: TicketFlagForwarded | TicketFlagForwardable, AuthTime: now.Add(-time.Hour),
		StartTime: now.Add(-time.Hour), EndTime: now.Add(9 * time.Hour), RenewTill: now.Add(24 * time.Hour),
		Ticket: fwdSampleTicket(t, "KRX.TEST"),
	}
}

// fwdWrapPlain builds a KRB-CRED around an arbitrary enc-part plaintext.
func fwdWrapPlain(t testing.TB, plain []byte, key Key, ticket []byte) []byte {
	t.Helper()
	ed, err := crypto.GetEncryptedData(plain, types.EncryptionKey{KeyType: key.Type, KeyValue: key.Value}, fwdKeyUsageKRBCred, 0)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := asn1.Marshal(fwdKRBCred{PVNO: 5, MsgType: 22, Tickets: []asn1.RawValue{{FullBytes: ticket}},
		EncPart: fwdEncryptedData{EType: ed.EType, Cipher: ed.Cipher}})
	if err != nil {
		t.Fatal(err)
	}
	der, err := fwdWrapApp(fwdAppKRBCred, seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// FuzzKRBCred feeds the server side arbitrary KRB-CRED messages (inner
// false) and arbitrary decrypted enc-parts inside a valid envelope (inner
// true). It calls the unrecovered core, so a panic fails the fuzzer.
func FuzzKRBCred(f *testing.F) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	key := Key{Type: 18, Value: bytes.Repeat([]byte{7}, 32)}
	fc := fwdSampleCred(f, now)
	good, err := fwdBuild(fc, key, now)
	if err != nil {
		f.Fatal(err)
	}
	var m fwdKRBCred
	if err := fwdUnwrapApp(good, fwdAppKRBCred, &m, "seed"); err != nil {
		f.Fatal(err)
	}
	plain, err := fwdDecrypt(m.EncPart, []Key{key})
	if err != nil {
		f.Fatal(err)
	}
	if got, err := fwdAccept(good, []Key{key}, "alice@KRX.TEST", time.Minute, now); err != nil || got == nil {
		f.Fatalf("seed refused: %v", err)
	}
	f.Add(good, false)
	f.Add(good[:len(good)/2], false)
	f.Add([]byte{0x76, 0x80, 0x30, 0x80}, false)
	f.Add([]byte{0x76, 0x84, 0x7f, 0xff, 0xff, 0xff}, false)
	f.Add(plain, true)
	f.Add(plain[:len(plain)-3], true)
	f.Add([]byte{0x7d, 0x03, 0x30, 0x01, 0x00}, true)
	ticket := fc.Ticket
	f.Fuzz(func(t *testing.T, data []byte, inner bool) {
		msg := data
		if inner {
			msg = fwdWrapPlain(t, data, key, ticket)
		}
		got, err := fwdAccept(msg, []Key{key}, "alice@KRX.TEST", time.Minute, now)
		if (got == nil) == (err == nil) {
			t.Fatalf("result %v with error %v", got, err)
		}
		if err != nil {
			if !errors.Is(err, ErrKRBCredMalformed) && !errors.Is(err, ErrKRBCredKey) && !errors.Is(err, ErrKRBCredTooLong) &&
				!errors.Is(err, ErrKRBCredClient) && !errors.Is(err, ErrKRBCredNotTGT) && !errors.Is(err, ErrKRBCredSkew) &&
				!errors.Is(err, ErrKRBCredExpired) {
				t.Fatalf("error outside the documented set: %v", err)
			}
			return
		}
		if got.ClientPrincipal() != "alice@KRX.TEST" || got.ServerPrincipal() != "krbtgt/KRX.TEST@KRX.TEST" || !now.Before(got.EndTime) {
			t.Fatalf("accepted %s for %s until %v", got.ServerPrincipal(), got.ClientPrincipal(), got.EndTime)
		}
		if _, err := MarshalCCache(got); err != nil {
			t.Fatalf("accepted credential cannot be stored: %v", err)
		}
	})
}

// FuzzValidateCCache: whatever ValidateCCache accepts, gokrb5's ccache
// parser reads without a panic (it is called unprotected here).
func FuzzValidateCCache(f *testing.F) {
	good, err := MarshalCCache(fwdSampleCred(f, time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(append([]byte{5, 4, 0, 12, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2}, good[4:]...))
	f.Add([]byte{5, 3, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Add(good[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		if ValidateCCache(b) != nil {
			return
		}
		var cc credentials.CCache
		_ = cc.Unmarshal(b)
	})
}
