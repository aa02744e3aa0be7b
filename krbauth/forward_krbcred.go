package krbauth

// KRB-CRED (RFC 4120 §5.8) with encoding/asn1 and our own structures:
// gokrb5's KrbCredInfo tags srealm as IA5String, which MIT's rd_cred
// rejects, so realms here are written as GeneralString (tag 27) by hand.

import (
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// ASN.1 numbers (RFC 4120 §5.8, §5.10; X.680 for GeneralString).
const (
	fwdAppKRBCred      = 22 // KRB-CRED ::= [APPLICATION 22]
	fwdAppEncKrbCred   = 29 // EncKrbCredPart ::= [APPLICATION 29]
	fwdAppTicket       = 1  // Ticket ::= [APPLICATION 1]
	fwdMsgTypeKRBCred  = 22 // msg-type krb-cred
	fwdPVNO            = 5
	fwdTagGeneralStr   = 27
	fwdKeyUsageKRBCred = keyusage.KRB_CRED_ENCPART // 14
)

// MaxKRBCredLen caps the length field of a forwarded-credentials message
// (a TGT with a large PAC is well under 64 KiB).
const MaxKRBCredLen = 64 << 10

// Server-side forwarding errors; each refusal wraps one of them.
var (
	ErrKRBCredMalformed = errors.New("krbauth: malformed KRB-CRED")
	ErrKRBCredTooLong   = errors.New("krbauth: KRB-CRED message too long")
	ErrKRBCredKey       = errors.New("krbauth: KRB-CRED cannot be decrypted with the session keys")
	ErrKRBCredNotTGT    = errors.New("krbauth: forwarded credential is not a ticket-granting ticket of the client's realm")
	ErrKRBCredClient    = errors.New("krbauth: forwarded credentials are for another client principal")
	ErrKRBCredSkew      = errors.New("krbauth: KRB-CRED timestamp outside the clock-skew limit")
	ErrKRBCredExpired   = errors.New("krbauth: forwarded ticket has expired")
)

// KRBCredClientError is the refusal of credentials whose client is not
// the authenticated one. It wraps ErrKRBCredClient.
type KRBCredClientError struct {
	Got  string // client principal inside the KRB-CRED
	Want string // the authenticated client principal
}

// Error says whose credentials were offered on whose connection.
func (e *KRBCredClientError) Error() string {
	return fmt.Sprintf("%v: they are for %s, the connection authenticated %s", ErrKRBCredClient, e.Got, e.Want)
}

// Unwrap returns ErrKRBCredClient.
func (e *KRBCredClientError) Unwrap() error { return ErrKRBCredClient }

type fwdPrincipalName struct {
	NameType   int32           `asn1:"explicit,tag:0"`
	NameString []asn1.RawValue `asn1:"explicit,tag:1"`
}

type fwdEncryptionKey struct {
	KeyType  int32  `asn1:"explicit,tag:0"`
	KeyValue []byte `asn1:"explicit,tag:1"`
}

type fwdEncryptedData struct {
	EType  int32  `asn1:"explicit,tag:0"`
	KVNO   int64  `asn1:"optional,explicit,tag:1"`
	Cipher []byte `asn1:"explicit,tag:2"`
}

type fwdKRBCred struct {
	PVNO    int              `asn1:"explicit,tag:0"`
	MsgType int              `asn1:"explicit,tag:1"`
	Tickets []asn1.RawValue  `asn1:"explicit,tag:2"`
	EncPart fwdEncryptedData `asn1:"explicit,tag:3"`
}

type fwdKrbCredInfo struct {
	Key       fwdEncryptionKey `asn1:"explicit,tag:0"`
	PRealm    asn1.RawValue    `asn1:"optional,explicit,tag:1"`
	PName     fwdPrincipalName `asn1:"optional,explicit,tag:2"`
	Flags     asn1.BitString   `asn1:"optional,explicit,tag:3"`
	AuthTime  time.Time        `asn1:"generalized,optional,explicit,tag:4"`
	StartTime time.Time        `asn1:"generalized,optional,explicit,tag:5"`
	EndTime   time.Time        `asn1:"generalized,optional,explicit,tag:6"`
	RenewTill time.Time        `asn1:"generalized,optional,explicit,tag:7"`
	SRealm    asn1.RawValue    `asn1:"optional,explicit,tag:8"`
	SName     fwdPrincipalName `asn1:"optional,explicit,tag:9"`
	CAddr     asn1.RawValue    `asn1:"optional,explicit,tag:10"`
}

type fwdEncKrbCredPart struct {
	TicketInfo []fwdKrbCredInfo `asn1:"explicit,tag:0"`
	Nonce      int64            `asn1:"optional,explicit,tag:1"`
	Timestamp  time.Time        `asn1:"generalized,optional,explicit,tag:2"`
	Usec       int64            `asn1:"optional,explicit,tag:3"`
	SAddress   asn1.RawValue    `asn1:"optional,explicit,tag:4"`
	RAddress   asn1.RawValue    `asn1:"optional,explicit,tag:5"`
}

// fwdTicketHead is the clear part of a Ticket, to check it names a TGT.
type fwdTicketHead struct {
	TktVNO  int              `asn1:"explicit,tag:0"`
	Realm   asn1.RawValue    `asn1:"explicit,tag:1"`
	SName   fwdPrincipalName `asn1:"explicit,tag:2"`
	EncPart asn1.RawValue    `asn1:"explicit,tag:3"`
}

func fwdGeneralString(s string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: fwdTagGeneralStr, Bytes: []byte(s)}
}

// fwdExplicitString is a realm field: encoding/asn1 neither writes nor
// strips the explicit tag of a RawValue field (it passes FullBytes
// through and matches the tag on decoding), so the [tag] wrapper is built
// here and fwdString removes it.
func fwdExplicitString(tag int, s string) asn1.RawValue {
	inner, err := asn1.Marshal(fwdGeneralString(s))
	if err != nil {
		panic(err) // a RawValue with plain bytes always marshals
	}
	full, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner})
	if err != nil {
		panic(err)
	}
	return asn1.RawValue{FullBytes: full}
}

func fwdName(nt int32, comps []string) fwdPrincipalName {
	n := fwdPrincipalName{NameType: nt}
	for _, c := range comps {
		n.NameString = append(n.NameString, fwdGeneralString(c))
	}
	return n
}

// fwdString reads a KerberosString. GeneralString is what RFC 4120 says;
// the other universal string types are taken too (old encoders). A
// RawValue field with an explicit tag holds the [n] wrapper (encoding/asn1
// does not strip it for RawValue), which is removed here.
func fwdString(v asn1.RawValue, what string) (string, error) {
	if v.Class == asn1.ClassContextSpecific && v.IsCompound {
		var inner asn1.RawValue
		rest, err := asn1.Unmarshal(v.Bytes, &inner)
		if err != nil || len(rest) != 0 {
			return "", fmt.Errorf("%w: %s is not one string", ErrKRBCredMalformed, what)
		}
		v = inner
	}
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", fmt.Errorf("%w: %s is not a string", ErrKRBCredMalformed, what)
	}
	switch v.Tag {
	case fwdTagGeneralStr, asn1.TagIA5String, asn1.TagUTF8String, asn1.TagPrintableString:
		return string(v.Bytes), nil
	}
	return "", fmt.Errorf("%w: %s has ASN.1 tag %d, not GeneralString", ErrKRBCredMalformed, what, v.Tag)
}

func fwdNameStrings(n fwdPrincipalName, what string) ([]string, error) {
	if len(n.NameString) == 0 {
		return nil, fmt.Errorf("%w: %s is missing or empty", ErrKRBCredMalformed, what)
	}
	out := make([]string, len(n.NameString))
	for i, v := range n.NameString {
		s, err := fwdString(v, what)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// fwdWrapApp wraps a DER SEQUENCE in [APPLICATION tag].
func fwdWrapApp(tag int, seq []byte) ([]byte, error) {
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: tag, IsCompound: true, Bytes: seq})
}

// fwdUnwrapApp parses exactly one [APPLICATION tag] element into v.
func fwdUnwrapApp(der []byte, tag int, v any, what string) error {
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(der, &rv)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrKRBCredMalformed, what, err)
	}
	if len(rest) != 0 || rv.Class != asn1.ClassApplication || rv.Tag != tag || !rv.IsCompound {
		return fmt.Errorf("%w: %s: not one [APPLICATION %d] element", ErrKRBCredMalformed, what, tag)
	}
	rest, err = asn1.Unmarshal(rv.Bytes, v)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrKRBCredMalformed, what, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %s: trailing bytes", ErrKRBCredMalformed, what)
	}
	return nil
}

func fwdKerberosTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// BuildKRBCred wraps c in a KRB-CRED whose enc-part is encrypted with key
// (krx passes the AP-REQ subkey; MIT uses the send subkey if there is one,
// else the session key), key usage 14. The EncKrbCredPart carries the
// time and microseconds of now and no sender/recipient address (the most
// portable choice, PROTOCOL.md §2.5).
func BuildKRBCred(c *ForwardedCred, key Key) (der []byte, err error) {
	defer fwdRecover(&err, "building KRB-CRED")
	return fwdBuild(c, key, time.Now())
}

func fwdBuild(c *ForwardedCred, key Key, now time.Time) ([]byte, error) {
	if c == nil || len(c.Ticket) == 0 || len(c.Client) == 0 || len(c.Server) == 0 {
		return nil, fmt.Errorf("krbauth: BuildKRBCred: incomplete credential")
	}
	var tk asn1.RawValue
	if rest, err := asn1.Unmarshal(c.Ticket, &tk); err != nil || len(rest) != 0 ||
		tk.Class != asn1.ClassApplication || tk.Tag != fwdAppTicket {
		return nil, fmt.Errorf("krbauth: BuildKRBCred: the ticket is not one DER Ticket")
	}
	flags := make([]byte, 4)
	binary.BigEndian.PutUint32(flags, c.Flags)
	info := fwdKrbCredInfo{
		Key:       fwdEncryptionKey{KeyType: c.Key.Type, KeyValue: c.Key.Value},
		PRealm:    fwdExplicitString(1, c.ClientRealm),
		PName:     fwdName(c.ClientNameType, c.Client),
		Flags:     asn1.BitString{Bytes: flags, BitLength: 32},
		AuthTime:  fwdKerberosTime(c.AuthTime),
		StartTime: fwdKerberosTime(c.StartTime),
		EndTime:   fwdKerberosTime(c.EndTime),
		RenewTill: fwdKerberosTime(c.RenewTill),
		SRealm:    fwdExplicitString(8, c.ServerRealm),
		SName:     fwdName(c.ServerNameType, c.Server),
	}
	now = now.UTC()
	part := fwdEncKrbCredPart{
		TicketInfo: []fwdKrbCredInfo{info},
		Timestamp:  now.Truncate(time.Second),
		Usec:       int64(now.Nanosecond() / 1000),
	}
	seq, err := asn1.Marshal(part)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding EncKrbCredPart: %w", err)
	}
	plain, err := fwdWrapApp(fwdAppEncKrbCred, seq)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding EncKrbCredPart: %w", err)
	}
	ed, err := crypto.GetEncryptedData(plain, types.EncryptionKey{KeyType: key.Type, KeyValue: key.Value}, fwdKeyUsageKRBCred, 0)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encrypting KRB-CRED with enctype %d: %w", key.Type, err)
	}
	msg := fwdKRBCred{
		PVNO: fwdPVNO, MsgType: fwdMsgTypeKRBCred,
		Tickets: []asn1.RawValue{{FullBytes: c.Ticket}},
		EncPart: fwdEncryptedData{EType: ed.EType, Cipher: ed.Cipher},
	}
	seq, err = asn1.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding KRB-CRED: %w", err)
	}
	return fwdWrapApp(fwdAppKRBCred, seq)
}

// WriteKRBCredMsg sends a KRB-CRED the way kcmd does: a 4-byte big-endian
// length and the DER bytes; an empty krbcred sends 00 00 00 00 ("none").
func WriteKRBCredMsg(w io.Writer, krbcred []byte) error {
	if len(krbcred) > MaxKRBCredLen {
		return fmt.Errorf("%w: %d bytes", ErrKRBCredTooLong, len(krbcred))
	}
	buf := make([]byte, 4+len(krbcred))
	binary.BigEndian.PutUint32(buf, uint32(len(krbcred)))
	copy(buf[4:], krbcred)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("krbauth: sending forwarded credentials: %w", err)
	}
	return nil
}

// ReadKRBCredMsg reads what WriteKRBCredMsg sends. It returns nil, nil
// for "no credentials" and refuses a length over MaxKRBCredLen before
// reading the body.
func ReadKRBCredMsg(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("krbauth: reading the forwarded-credentials length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return nil, nil
	}
	if n > MaxKRBCredLen {
		return nil, fmt.Errorf("%w: length field %d > %d", ErrKRBCredTooLong, n, MaxKRBCredLen)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("krbauth: reading %d bytes of forwarded credentials: %w", n, err)
	}
	return buf, nil
}
