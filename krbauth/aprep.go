package krbauth

import (
	"bytes"
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// encAPRepPart mirrors RFC 4120 EncAPRepPart ([APPLICATION 27]); gokrb5's
// struct of the same shape is used for parsing, this one for building so
// that an absent subkey is really absent.
type encAPRepPart struct {
	CTime  time.Time           `asn1:"generalized,explicit,tag:0"`
	Cusec  int                 `asn1:"explicit,tag:1"`
	Subkey types.EncryptionKey `asn1:"optional,explicit,tag:2"`
}

// buildAPRep makes a KRB_AP_REP ([APPLICATION 15]) whose EncAPRepPart
// carries the authenticator's ctime/cusec and optionally a subkey,
// encrypted with the ticket session key, key usage 12 (MIT mk_rep.c).
func buildAPRep(session Key, ctime time.Time, cusec int, subkey Key) ([]byte, error) {
	part := encAPRepPart{CTime: ctime.UTC().Truncate(time.Second), Cusec: cusec, Subkey: subkey.gokrb5()}
	b, err := asn1.Marshal(part)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding AP-REP part: %w", err)
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncAPRepPart)
	ed, err := crypto.GetEncryptedData(b, session.gokrb5(), usageAPRepPart, 0)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encrypting AP-REP: %w", err)
	}
	rep := messages.APRep{PVNO: iana.PVNO, MsgType: msgtype.KRB_AP_REP, EncPart: ed}
	out, err := asn1.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding AP-REP: %w", err)
	}
	return asn1tools.AddASNAppTag(out, asnAppTag.APREP), nil
}

// APRepInfo is what a verified AP-REP says.
type APRepInfo struct {
	CTime  time.Time // whole seconds
	Cusec  int
	Subkey Key // zero if the server sent none
}

// ParseAPRep decrypts an AP-REP with the session key (usage 12) and
// returns its contents, checking nothing else. It never panics.
func ParseAPRep(b []byte, session Key) (info APRepInfo, err error) {
	defer recoverErr(&err, "AP-REP")
	var rep messages.APRep
	if err := rep.Unmarshal(b); err != nil {
		return info, malformed("AP-REP", err)
	}
	if re, err := asn1.Marshal(rep); err != nil || !bytes.Equal(asn1tools.AddASNAppTag(re, asnAppTag.APREP), b) {
		return info, malformed("AP-REP is not canonical DER", err)
	}
	if rep.PVNO != iana.PVNO {
		return info, malformed(fmt.Sprintf("AP-REP protocol version %d", rep.PVNO), nil)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, session.gokrb5(), usageAPRepPart)
	if err != nil {
		return info, fmt.Errorf("%w: AP-REP does not decrypt with the session key: the server does not hold the service key", ErrMutualAuth)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return info, malformed("AP-REP encrypted part", err)
	}
	info = APRepInfo{CTime: part.CTime, Cusec: part.Cusec, Subkey: keyFrom(part.Subkey)}
	if !info.Subkey.IsZero() {
		et, err := info.Subkey.EType()
		if err != nil {
			return info, malformed("AP-REP subkey", err)
		}
		if len(info.Subkey.Value) != keyLength(et) {
			return info, malformed("AP-REP subkey length", nil)
		}
	}
	return info, nil
}

// verifyAPRep checks that an AP-REP answers our authenticator: same
// ctime (seconds) and cusec (MIT rd_rep.c).
func verifyAPRep(b []byte, session Key, ctime time.Time, cusec int) (APRepInfo, error) {
	info, err := ParseAPRep(b, session)
	if err != nil {
		return info, err
	}
	if info.CTime.Unix() != ctime.Unix() || info.Cusec != cusec {
		return info, fmt.Errorf("%w: AP-REP time %s.%06d does not match our authenticator's %s.%06d",
			ErrMutualAuth, info.CTime.UTC().Format(time.RFC3339), info.Cusec, ctime.UTC().Format(time.RFC3339), cusec)
	}
	return info, nil
}
