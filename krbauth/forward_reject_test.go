package krbauth

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krx-suite/krx/internal/krbtest"
)

func TestKRBCredRejections(t *testing.T) {
	r := fwdStartRealm(t)
	fc := fwdForwarded(t, r, "alice", false)
	key := fwdNewKey(t)
	alice := "alice@" + r.Name
	der, err := BuildKRBCred(fc, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcceptKRBCred(der, []Key{key}, alice, 0); err != nil {
		t.Fatalf("good KRB-CRED refused: %v", err)
	}
	// Session key first, subkey second: still found.
	if _, err := AcceptKRBCred(der, []Key{fwdNewKey(t), key}, alice, 0); err != nil {
		t.Fatalf("second key not tried: %v", err)
	}
	reject := func(name string, der []byte, keys []Key, client string, want error) {
		t.Helper()
		got, err := AcceptKRBCred(der, keys, client, 0)
		if got != nil || !errors.Is(err, want) || errors.Is(err, errFwdPanic) {
			t.Errorf("%s: got %v, %v; want %v", name, got, err, want)
		}
	}
	reject("wrong key", der, []Key{fwdNewKey(t)}, alice, ErrKRBCredKey)
	reject("no keys", der, nil, alice, ErrKRBCredKey)
	reject("key of another enctype", der, []Key{{Type: 17, Value: key.Value[:16]}}, alice, ErrKRBCredKey)
	reject("other client", der, []Key{key}, "bob@"+r.Name, ErrKRBCredClient)
	var ce *KRBCredClientError
	if _, err := AcceptKRBCred(der, []Key{key}, "bob@"+r.Name, 0); !errors.As(err, &ce) || ce.Got != alice || ce.Want != "bob@"+r.Name {
		t.Errorf("client mismatch error %v", err)
	}
	// Bob's real forwarded TGT offered on alice's connection.
	bobDER, err := BuildKRBCred(fwdForwarded(t, r, "bob", false), key)
	if err != nil {
		t.Fatal(err)
	}
	reject("bob's TGT for alice", bobDER, []Key{key}, alice, ErrKRBCredClient)

	old, _ := fwdBuild(fc, key, time.Now().Add(-10*time.Minute))
	reject("old timestamp", old, []Key{key}, alice, ErrKRBCredSkew)
	future, _ := fwdBuild(fc, key, time.Now().Add(10*time.Minute))
	reject("future timestamp", future, []Key{key}, alice, ErrKRBCredSkew)
	if _, err := AcceptKRBCred(old, []Key{key}, alice, 15*time.Minute); err != nil {
		t.Errorf("skew limit not honoured: %v", err)
	}

	notTGT := *fc
	notTGT.Server = []string{"host", "localhost"}
	d, _ := BuildKRBCred(&notTGT, key)
	reject("service ticket", d, []Key{key}, alice, ErrKRBCredNotTGT)
	cross := *fc
	cross.Server = []string{"krbtgt", "OTHER.REALM"}
	d, _ = BuildKRBCred(&cross, key)
	reject("cross-realm TGT", d, []Key{key}, alice, ErrKRBCredNotTGT)
	expired := *fc
	expired.EndTime = time.Now().Add(-time.Minute)
	d, _ = BuildKRBCred(&expired, key)
	reject("expired", d, []Key{key}, alice, ErrKRBCredExpired)

	// Two tickets.
	var m fwdKRBCred
	if err := fwdUnwrapApp(der, fwdAppKRBCred, &m, "t"); err != nil {
		t.Fatal(err)
	}
	m.Tickets = append(m.Tickets, m.Tickets[0])
	seq, _ := asn1.Marshal(m)
	two, _ := fwdWrapApp(fwdAppKRBCred, seq)
	reject("two tickets", two, []Key{key}, alice, ErrKRBCredMalformed)
	// Unencrypted (enctype 0) enc-part.
	m.Tickets = m.Tickets[:1]
	m.EncPart.EType = 0
	seq, _ = asn1.Marshal(m)
	clear, _ := fwdWrapApp(fwdAppKRBCred, seq)
	reject("unencrypted", clear, []Key{key}, alice, ErrKRBCredKey)

	// Every truncation and some garbage: clear errors, no panic.
	for n := 0; n < len(der); n++ {
		if got, err := AcceptKRBCred(der[:n], []Key{key}, alice, 0); got != nil || err == nil || errors.Is(err, errFwdPanic) {
			t.Fatalf("truncated to %d: %v %v", n, got, err)
		}
	}
	// Any flipped byte: never a panic. Bytes of the encrypted part are
	// integrity-protected, so a flip there is always refused (the ticket
	// itself is opaque to the server, like MIT's rd_cred).
	cipherAt := bytes.Index(der, m.EncPart.Cipher)
	if cipherAt < 0 {
		t.Fatal("cipher not found in the message")
	}
	for i := 0; i < len(der); i++ {
		bad := bytes.Clone(der)
		bad[i] ^= 0x55
		got, err := AcceptKRBCred(bad, []Key{key}, alice, 0)
		if errors.Is(err, errFwdPanic) || (got == nil) == (err == nil) {
			t.Fatalf("byte %d flipped: %v %v", i, got, err)
		}
		if i >= cipherAt && i < cipherAt+len(m.EncPart.Cipher) && !errors.Is(err, ErrKRBCredKey) {
			t.Fatalf("cipher byte %d flipped: %v", i, err)
		}
	}
	reject("garbage", []byte("\x76\x84\xff\xff\xff\xffhello"), []Key{key}, alice, ErrKRBCredMalformed)
	reject("too long", make([]byte, MaxKRBCredLen+1), []Key{key}, alice, ErrKRBCredTooLong)
}

func TestKRBCredFraming(t *testing.T) {
	var b bytes.Buffer
	if err := WriteKRBCredMsg(&b, nil); err != nil || !bytes.Equal(b.Bytes(), []byte{0, 0, 0, 0}) {
		t.Fatalf("no credentials sent as %x (%v)", b.Bytes(), err)
	}
	if got, err := ReadKRBCredMsg(&b); got != nil || err != nil {
		t.Fatalf("none read as %x, %v", got, err)
	}
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	if _, err := ReadKRBCredMsg(bytes.NewReader(huge)); !errors.Is(err, ErrKRBCredTooLong) {
		t.Fatalf("huge length: %v", err)
	}
	short := binary.BigEndian.AppendUint32(nil, 100)
	if _, err := ReadKRBCredMsg(bytes.NewReader(append(short, 1, 2, 3))); err == nil {
		t.Fatal("short body accepted")
	}
	if _, err := ReadKRBCredMsg(bytes.NewReader([]byte{0, 0})); err == nil {
		t.Fatal("short length accepted")
	}
	if err := WriteKRBCredMsg(&b, make([]byte, MaxKRBCredLen+1)); !errors.Is(err, ErrKRBCredTooLong) {
		t.Fatalf("oversized write: %v", err)
	}
}

// The encoding: realms are GeneralString (the gokrb5 bug), no addresses,
// a timestamp; and gokrb5's independent decoder agrees on the content.
func TestKRBCredEncoding(t *testing.T) {
	r := fwdStartRealm(t)
	fc := fwdForwarded(t, r, "alice", true)
	key := fwdNewKey(t)
	der, err := BuildKRBCred(fc, key)
	if err != nil {
		t.Fatal(err)
	}
	if der[0] != 0x76 { // [APPLICATION 22] constructed
		t.Fatalf("first byte %#x", der[0])
	}
	var m fwdKRBCred
	if err := fwdUnwrapApp(der, fwdAppKRBCred, &m, "t"); err != nil {
		t.Fatal(err)
	}
	plain, err := fwdDecrypt(m.EncPart, []Key{key})
	if err != nil {
		t.Fatal(err)
	}
	if plain[0] != 0x7d { // [APPLICATION 29] constructed
		t.Fatalf("enc-part first byte %#x", plain[0])
	}
	var part fwdEncKrbCredPart
	if err := fwdUnwrapApp(plain, fwdAppEncKrbCred, &part, "t"); err != nil {
		t.Fatal(err)
	}
	info := part.TicketInfo[0]
	// [1] and [8] explicit wrappers, each around a GeneralString (0x1b).
	for _, rv := range []asn1.RawValue{info.PRealm, info.SRealm} {
		if !bytes.HasSuffix(rv.FullBytes, []byte(r.Name)) || rv.Bytes[0] != 0x1b || int(rv.Bytes[1]) != len(r.Name) {
			t.Fatalf("realm encoded as %x, want GeneralString", rv.FullBytes)
		}
	}
	if info.PRealm.Tag != 1 || info.SRealm.Tag != 8 || info.PName.NameString[0].Tag != 27 {
		t.Fatalf("tags %d %d %d", info.PRealm.Tag, info.SRealm.Tag, info.PName.NameString[0].Tag)
	}
	if part.SAddress.FullBytes != nil || part.RAddress.FullBytes != nil || info.CAddr.FullBytes != nil {
		t.Fatal("addresses present")
	}
	if time.Since(part.Timestamp) > time.Minute || part.Timestamp.IsZero() {
		t.Fatalf("timestamp %v", part.Timestamp)
	}
	var gk messages.KRBCred
	if err := gk.Unmarshal(der); err != nil {
		t.Fatalf("gokrb5 cannot parse our KRB-CRED: %v", err)
	}
	if err := gk.DecryptEncPart(types.EncryptionKey{KeyType: key.Type, KeyValue: key.Value}); err != nil {
		t.Fatalf("gokrb5 cannot decrypt our KRB-CRED: %v", err)
	}
	gi := gk.DecryptedEncPart.TicketInfo[0]
	if gi.PRealm != r.Name || gi.SRealm != r.Name || gi.PName.PrincipalNameString() != "alice" ||
		!bytes.Equal(gi.Key.KeyValue, fc.Key.Value) || !gi.EndTime.Equal(fc.EndTime.Truncate(time.Second)) ||
		fwdFlagsToUint32(gi.Flags.Bytes) != fc.Flags {
		t.Fatalf("gokrb5 reads %+v", gi)
	}
}

// MIT's own krb5_rd_cred accepts our KRB-CRED, and our server accepts
// what MIT's krb5_mk_1cred builds.
func TestKRBCredWithMITLibrary(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3 to drive libkrb5")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libkrb5.so.3"); err != nil {
		if out, _ := exec.Command("/sbin/ldconfig", "-p").Output(); !bytes.Contains(out, []byte("libkrb5.so.3")) {
			t.Skip("no libkrb5.so.3")
		}
	}
	script, _ := filepath.Abs("testdata/forward_mit/mitcred.py")
	r := fwdStartRealm(t)
	key := fwdNewKey(t)
	keyArgs := []string{strconv.Itoa(int(key.Type)), hex.EncodeToString(key.Value)}

	fc := fwdForwarded(t, r, "alice", true)
	der, err := BuildKRBCred(fc, key)
	if err != nil {
		t.Fatal(err)
	}
	mitCC := filepath.Join(t.TempDir(), "mit.cc")
	out, err := fwdMIT(t, r, mitCC, der, py, append(append([]string{script, "rd"}, keyArgs...), mitCC)...)
	if err != nil || strings.TrimSpace(out) != "alice@"+r.Name {
		t.Fatalf("MIT krb5_rd_cred on our KRB-CRED: %v: %s", err, out)
	}
	if out, err := fwdMIT(t, r, mitCC, nil, "kvno", krbtest.Service); err != nil {
		t.Fatalf("kvno with MIT-stored forwarded TGT: %v %s", err, out)
	}
	// MIT refuses it with another key — the check above can fail.
	other := fwdNewKey(t)
	if _, err := fwdMIT(t, r, mitCC, der, py, script, "rd", "18", hex.EncodeToString(other.Value), mitCC+"2"); err == nil {
		t.Fatal("MIT accepted the KRB-CRED with a wrong key")
	}

	cc, err := r.Kinit("alice", "-f")
	if err != nil {
		t.Fatal(err)
	}
	out, err = fwdMIT(t, r, cc, nil, py, append(append([]string{script, "mk"}, keyArgs...), cc)...)
	if err != nil {
		t.Fatalf("MIT krb5_mk_1cred: %v", err)
	}
	got, err := AcceptKRBCred([]byte(out), []Key{fwdNewKey(t), key}, "alice@"+r.Name, 0)
	if err != nil {
		t.Fatalf("our server on MIT's KRB-CRED: %v", err)
	}
	path, cleanup, err := WriteForwardedCCache(got, CCacheOptions{Dir: t.TempDir(), UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if out, err := fwdMIT(t, r, path, nil, "kvno", krbtest.Service); err != nil {
		t.Fatalf("kvno with MIT's forwarded TGT stored by us: %v %s", err, out)
	}
}
