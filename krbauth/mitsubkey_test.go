package krbauth

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krx-suite/krx/internal/krbtest"
)

// tgsWithSubkey asks the MIT KDC for host/localhost with a TGS-REQ whose
// PA-TGS-REQ authenticator carries subkey; the KDC must then encrypt its
// reply in that subkey (RFC 4120 key usage 9), so a decryptable reply
// proves MIT's krb5_rd_req and crypto accepted the key.
func tgsWithSubkey(t *testing.T, cl *Client, subkey Key) error {
	t.Helper()
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: []string{"host", "localhost"}}
	req, err := messages.NewTGSReq(cl.cname, cl.crealm, cl.conf, cl.tgt, cl.tgtKey, sname, false)
	if err != nil {
		t.Fatal(err)
	}
	body, err := req.ReqBody.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	et, err := crypto.GetEtype(cl.tgtKey.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := et.GetChecksumHash(cl.tgtKey.KeyValue, body, 6) // PA-TGS-REQ checksum usage
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	auth := types.Authenticator{
		AVNO: iana.PVNO, CRealm: cl.tgt.Realm, CName: cl.cname,
		Cksum: types.Checksum{CksumType: et.GetHashID(), Checksum: ck},
		CTime: now.Truncate(time.Second), Cusec: now.Nanosecond() / 1000, SubKey: subkey.gokrb5(),
	}
	ab, err := auth.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := crypto.GetEncryptedData(ab, cl.tgtKey, 7, 0) // PA-TGS-REQ authenticator usage
	if err != nil {
		t.Fatal(err)
	}
	ap := messages.APReq{PVNO: iana.PVNO, MsgType: msgtype.KRB_AP_REQ, APOptions: types.NewKrbFlags(), Ticket: cl.tgt, EncryptedAuthenticator: ed}
	apb, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req.PAData = types.PADataSequence{{PADataType: patype.PA_TGS_REQ, PADataValue: apb}}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rb, err := cl.sendKDC(cl.crealm, b)
	if err != nil {
		return err
	}
	if rb[0] == 0x7e {
		var ke messages.KRBError
		ke.Unmarshal(rb)
		return &KDCError{Server: "host/localhost", Code: ke.ErrorCode, Text: ke.EText}
	}
	var rep messages.TGSRep
	if err := rep.Unmarshal(rb); err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.DecryptEncPart(rep.EncPart, subkey.gokrb5(), 9); err != nil {
		t.Fatalf("TGS-REP not encrypted in our subkey: %v", err)
	}
	return nil
}

// TestMITAcceptsDes3Subkey: the MIT KDC accepts our des3 subkeys (odd
// parity from random-to-key); the same key with one parity bit flipped is
// the negative control.
func TestMITAcceptsDes3Subkey(t *testing.T) {
	r := startRealm(t, krbtest.Options{Enctypes: []string{"des3-cbc-sha1-kd"}, Des3: true})
	cl := aliceClient(t, r, nil)
	if cl.tgtKey.KeyType != etypeID.DES3_CBC_SHA1_KD {
		t.Fatalf("TGT session key enctype %d, want des3", cl.tgtKey.KeyType)
	}
	for i := range 5 {
		k, err := NewRandomKey(etypeID.DES3_CBC_SHA1_KD)
		if err != nil {
			t.Fatal(err)
		}
		if err := tgsWithSubkey(t, cl, k); err != nil {
			t.Fatalf("MIT refused our des3 subkey #%d: %v", i, err)
		}
	}
	// Negative control, last: MIT krb5kdc 1.20.1 does not answer a
	// bad-parity des3 subkey with an error — the KDC process dies (seen
	// here: EOF, then connection refused).
	k, _ := NewRandomKey(etypeID.DES3_CBC_SHA1_KD)
	k.Value[5] ^= 1
	err := tgsWithSubkey(t, cl, k)
	t.Logf("MIT with a bad-parity des3 subkey: %v", err)
	if err == nil {
		t.Error("MIT accepted a des3 subkey with bad parity: this test cannot tell good keys from bad")
	}
}
