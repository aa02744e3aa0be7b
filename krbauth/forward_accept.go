package krbauth

// Credential forwarding, server side: MIT krb5_rd_cred's job plus the
// checks krx wants before it stores anything for the user.

import (
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// fwdDefaultSkew is MIT's default clockskew (krb5.conf, 300 s).
const fwdDefaultSkew = 5 * time.Minute

// AcceptKRBCred decrypts a received KRB-CRED and checks it before its
// credential may be stored for the user. keys are tried in order, as MIT
// does: pass the receive subkey (the client's AP-REQ subkey) first, then
// the ticket session key. client is the principal the connection
// authenticated (unparsed, as UnparsePrincipalName writes it); skew is
// the clock-skew limit (<= 0: 5 minutes).
//
// Refused, each with an error wrapping one of the ErrKRBCred* sentinels:
// malformed or truncated DER, an unencrypted enc-part, no key that
// decrypts it, not exactly one ticket, a ticket that is not
// krbtgt/REALM@REALM of the client's realm, credentials of another client
// (*KRBCredClientError), a missing timestamp or one outside skew, and an
// expired ticket. It never panics.
func AcceptKRBCred(der []byte, keys []Key, client string, skew time.Duration) (fc *ForwardedCred, err error) {
	defer fwdRecover(&err, "reading KRB-CRED")
	return fwdAccept(der, keys, client, skew, time.Now())
}

func fwdAccept(der []byte, keys []Key, client string, skew time.Duration, now time.Time) (*ForwardedCred, error) {
	if skew <= 0 {
		skew = fwdDefaultSkew
	}
	switch {
	case len(der) == 0:
		return nil, fmt.Errorf("%w: empty message", ErrKRBCredMalformed)
	case len(der) > MaxKRBCredLen:
		return nil, fmt.Errorf("%w: %d bytes", ErrKRBCredTooLong, len(der))
	}
	var m fwdKRBCred
	if err := fwdUnwrapApp(der, fwdAppKRBCred, &m, "KRB-CRED"); err != nil {
		return nil, err
	}
	if m.PVNO != fwdPVNO || m.MsgType != fwdMsgTypeKRBCred {
		return nil, fmt.Errorf("%w: pvno %d msg-type %d, want 5 and 22", ErrKRBCredMalformed, m.PVNO, m.MsgType)
	}
	if len(m.Tickets) != 1 {
		return nil, fmt.Errorf("%w: %d tickets, want exactly one", ErrKRBCredMalformed, len(m.Tickets))
	}
	ticket := slices.Clone(m.Tickets[0].FullBytes)
	var head fwdTicketHead
	if err := fwdUnwrapApp(ticket, fwdAppTicket, &head, "Ticket"); err != nil {
		return nil, err
	}
	plain, err := fwdDecrypt(m.EncPart, keys)
	if err != nil {
		return nil, err
	}
	var part fwdEncKrbCredPart
	if err := fwdUnwrapApp(fwdTrimPadding(plain), fwdAppEncKrbCred, &part, "EncKrbCredPart"); err != nil {
		return nil, err
	}
	if len(part.TicketInfo) != 1 {
		return nil, fmt.Errorf("%w: %d ticket-info entries, want exactly one", ErrKRBCredMalformed, len(part.TicketInfo))
	}
	if part.Timestamp.IsZero() {
		return nil, fmt.Errorf("%w: no timestamp", ErrKRBCredSkew)
	}
	if part.Usec < 0 || part.Usec > 999999 {
		return nil, fmt.Errorf("%w: usec %d out of range", ErrKRBCredMalformed, part.Usec)
	}
	ts := part.Timestamp.Add(time.Duration(part.Usec) * time.Microsecond)
	if d := now.Sub(ts); d > skew || d < -skew {
		return nil, fmt.Errorf("%w: sent at %s, local time %s (limit %s)", ErrKRBCredSkew,
			ts.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
	}
	info := part.TicketInfo[0]
	fc, err := fwdCredFromInfo(info, ticket)
	if err != nil {
		return nil, err
	}
	if got := fc.ClientPrincipal(); got != client {
		return nil, &KRBCredClientError{Got: got, Want: client}
	}
	if len(fc.Server) != 2 || fc.Server[0] != "krbtgt" || fc.Server[1] != fc.ServerRealm || fc.ServerRealm != fc.ClientRealm {
		return nil, fmt.Errorf("%w: it is for %s", ErrKRBCredNotTGT, fc.ServerPrincipal())
	}
	hrealm, err := fwdString(head.Realm, "ticket realm")
	if err != nil {
		return nil, err
	}
	hname, err := fwdNameStrings(head.SName, "ticket sname")
	if err != nil {
		return nil, err
	}
	if hrealm != fc.ServerRealm || !slices.Equal(hname, fc.Server) {
		return nil, fmt.Errorf("%w: the ticket is for %s, its ticket-info says %s", ErrKRBCredNotTGT,
			UnparsePrincipalName(hname, hrealm), fc.ServerPrincipal())
	}
	if !now.Before(fc.EndTime) {
		return nil, fmt.Errorf("%w: it ended at %s", ErrKRBCredExpired, fc.EndTime.UTC().Format(time.RFC3339))
	}
	return fc, nil
}

// fwdDecrypt tries each key of the enc-part's enctype in turn.
func fwdDecrypt(ed fwdEncryptedData, keys []Key) ([]byte, error) {
	if ed.EType == 0 {
		return nil, fmt.Errorf("%w: the enc-part is not encrypted (enctype 0)", ErrKRBCredKey)
	}
	if _, err := crypto.GetEtype(ed.EType); err != nil {
		return nil, fmt.Errorf("%w: unsupported enctype %d", ErrKRBCredKey, ed.EType)
	}
	tried := 0
	for _, k := range keys {
		if k.Type != ed.EType || len(k.Value) == 0 {
			continue
		}
		tried++
		plain, err := fwdDecryptOne(ed.Cipher, k)
		if err == nil {
			return plain, nil
		}
	}
	return nil, fmt.Errorf("%w: enctype %d, %d of %d keys of that enctype tried", ErrKRBCredKey, ed.EType, tried, len(keys))
}

// fwdDecryptOne contains a panic of the decryption code (short or odd
// ciphertext) to one failed key.
func fwdDecryptOne(cipher []byte, k Key) (plain []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			plain, err = nil, fmt.Errorf("decryption failed: %v", r)
		}
	}()
	return crypto.DecryptMessage(cipher, types.EncryptionKey{KeyType: k.Type, KeyValue: k.Value}, fwdKeyUsageKRBCred)
}

func fwdCredFromInfo(info fwdKrbCredInfo, ticket []byte) (*ForwardedCred, error) {
	if info.PRealm.FullBytes == nil || info.SRealm.FullBytes == nil {
		return nil, fmt.Errorf("%w: ticket-info lacks prealm or srealm", ErrKRBCredMalformed)
	}
	prealm, err := fwdString(info.PRealm, "prealm")
	if err != nil {
		return nil, err
	}
	srealm, err := fwdString(info.SRealm, "srealm")
	if err != nil {
		return nil, err
	}
	pname, err := fwdNameStrings(info.PName, "pname")
	if err != nil {
		return nil, err
	}
	sname, err := fwdNameStrings(info.SName, "sname")
	if err != nil {
		return nil, err
	}
	if len(info.Key.KeyValue) == 0 {
		return nil, fmt.Errorf("%w: ticket-info has no session key", ErrKRBCredMalformed)
	}
	if info.EndTime.IsZero() {
		return nil, fmt.Errorf("%w: ticket-info has no end time", ErrKRBCredMalformed)
	}
	if info.Flags.BitLength > 0 && info.Flags.BitLength < 32 {
		return nil, fmt.Errorf("%w: ticket flags of %d bits", ErrKRBCredMalformed, info.Flags.BitLength)
	}
	return &ForwardedCred{
		ClientRealm: prealm, Client: pname, ClientNameType: info.PName.NameType,
		ServerRealm: srealm, Server: sname, ServerNameType: info.SName.NameType,
		Key:   Key{Type: info.Key.KeyType, Value: slices.Clone(info.Key.KeyValue)},
		Flags: fwdFlagsToUint32(info.Flags.Bytes), AuthTime: info.AuthTime, StartTime: info.StartTime,
		EndTime: info.EndTime, RenewTill: info.RenewTill, Ticket: ticket,
	}, nil
}

// fwdTrimPadding drops the zero bytes that des3-cbc-sha1-kd (RFC 3961
// simplified profile) pads its plaintext with to a whole 8-byte block: the
// DER element ends before them. Only up to 7 zero bytes after a complete
// element are dropped; anything else is left for the parser to refuse.
func fwdTrimPadding(plain []byte) []byte {
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(plain, &rv)
	if err != nil || len(rest) == 0 || len(rest) > 7 {
		return plain
	}
	for _, b := range rest {
		if b != 0 {
			return plain
		}
	}
	return plain[:len(plain)-len(rest)]
}
