package krbauth

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// DefaultClockSkew is MIT's default clockskew (krb5.conf libdefaults).
const DefaultClockSkew = 300 * time.Second

// Ticket flag and AP option bit numbers (RFC 4120 §5.3, §5.5.1).
const (
	apOptUseSessionKey  = 1
	apOptMutualRequired = 2
	tktFlagInvalid      = 7
)

// Acceptor verifies AP-REQs: the service keytab, the shared replay cache,
// the clock-skew limit and the checksum policy. Verify touches no socket,
// so a privileged monitor can run it on bytes handed to it.
type Acceptor struct {
	Keytab    *Keytab
	RCache    *ReplayCache   // required: replay protection across processes
	ClockSkew time.Duration  // 0 = DefaultClockSkew
	Checksum  ChecksumPolicy // what to do with the authenticator checksum
	// EchoSubkey puts the client's subkey into the AP-REP (what current
	// MIT does); false omits it. Never a different subkey: MIT clients
	// would switch to it (PROTOCOL.md §2.4).
	EchoSubkey bool
}

// Accepted is the result of a verified AP-REQ.
type Accepted struct {
	Client     string // client principal, name@REALM
	Server     string // ticket's server principal, host/name@REALM
	SessionKey Key    // ticket session key
	Subkey     Key    // client's authenticator subkey (zero if none)
	AppVersion string // application version (set by RecvAuth)
	KVNO       int    // key version of the service key used
	CTime      time.Time
	Cusec      int
	AuthTime   time.Time // ticket's authtime
	EndTime    time.Time // ticket's endtime
	Forwarded  bool      // ticket flag forwarded (TGT was forwarded to the client host)
	// MutualRequired is the AP option; APRep is the AP-REP to send then.
	MutualRequired bool
	APRep          []byte
	// ChecksumType is the authenticator checksum type (0: none).
	ChecksumType int32
	// ChecksumVerified is true once the checksum matched the connection data.
	ChecksumVerified bool

	checksum types.Checksum
	policy   ChecksumPolicy
}

// SessionUseKey is the key the session must use: the client's subkey if it
// sent one, else the ticket session key (the AP-REP never carries a
// different subkey).
func (a *Accepted) SessionUseKey() Key {
	if !a.Subkey.IsZero() {
		return a.Subkey
	}
	return a.SessionKey
}

// VerifyChecksum checks the authenticator checksum against the connection
// data ("<port>:<term-or-cmd><server-user>", see KcmdChecksumData) under
// the acceptor's policy. kcmd servers call it after reading the strings
// that follow the AP-REP.
func (a *Accepted) VerifyChecksum(data []byte) error {
	switch {
	case a.policy == ChecksumIgnore:
		return nil
	case a.ChecksumType == 0 && len(a.checksum.Checksum) == 0:
		if a.policy == ChecksumRequire {
			return fmt.Errorf("%w: client %s sent no authenticator checksum and the server requires one", ErrNoChecksum, a.Client)
		}
		return nil
	}
	if err := verifyChecksum(a.checksum, a.SessionKey, data); err != nil {
		return fmt.Errorf("client %s: %w", a.Client, err)
	}
	a.ChecksumVerified = true
	return nil
}

// Verify checks an AP-REQ: decrypts the ticket with the keytab, the
// authenticator with the session key, checks names, ticket times and the
// clock skew at now, the checksum against checksumData (nil: defer to
// Accepted.VerifyChecksum), records it in the replay cache, and builds the
// AP-REP if the client asked for mutual authentication. It never panics.
func (ac *Acceptor) Verify(apreq, checksumData []byte, now time.Time) (acc *Accepted, err error) {
	defer recoverErr(&err, "AP-REQ")
	if ac.Keytab == nil || ac.RCache == nil {
		return nil, errors.New("krbauth: Acceptor needs a keytab and a replay cache")
	}
	skew := ac.ClockSkew
	if skew <= 0 {
		skew = DefaultClockSkew
	}
	var req messages.APReq
	if err := req.Unmarshal(apreq); err != nil {
		return nil, malformed("AP-REQ", err)
	}
	// gofork's asn1 decoder ignores wrong tags and lengths; insist on the
	// one DER encoding of what was parsed (every Kerberos implementation
	// sends DER), so a mangled request is refused as malformed.
	if re, err := req.Marshal(); err != nil || !bytes.Equal(re, apreq) {
		return nil, malformed("AP-REQ is not canonical DER", err)
	}
	if req.PVNO != iana.PVNO {
		return nil, malformed(fmt.Sprintf("AP-REQ protocol version %d", req.PVNO), nil)
	}
	if flagSet(req.APOptions.Bytes, apOptUseSessionKey) {
		return nil, malformed("AP-REQ asks for user-to-user authentication (not supported)", nil)
	}
	tkt := &req.Ticket
	if tkt.TktVNO != iana.PVNO {
		return nil, malformed(fmt.Sprintf("ticket version %d", tkt.TktVNO), nil)
	}
	if len(tkt.SName.NameString) == 0 {
		return nil, malformed("ticket without server name", nil)
	}
	server := principalString(tkt.SName, tkt.Realm)
	skey, err := ac.Keytab.serviceKey(tkt.SName, tkt.Realm, tkt.EncPart.KVNO, tkt.EncPart.EType)
	if err != nil {
		return nil, err
	}
	plain, err := crypto.DecryptEncPart(tkt.EncPart, skey.gokrb5(), usageTicket)
	if err != nil {
		return nil, &KeytabError{Path: ac.Keytab.Path, Principal: server, KVNO: tkt.EncPart.KVNO, EType: tkt.EncPart.EType, Err: ErrBadIntegrity}
	}
	var etp messages.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		return nil, malformed("ticket encrypted part", err)
	}
	session := keyFrom(etp.Key)
	client := principalString(etp.CName, etp.CRealm)
	if _, err := session.EType(); err != nil {
		return nil, malformed("ticket session key", err)
	}
	if req.EncryptedAuthenticator.EType != session.Type {
		return nil, fmt.Errorf("%w: authenticator enctype %d is not the session key's %s", ErrBadIntegrity, req.EncryptedAuthenticator.EType, EnctypeName(session.Type))
	}
	aplain, err := crypto.DecryptEncPart(req.EncryptedAuthenticator, etp.Key, usageAPReqAuth)
	if err != nil {
		return nil, fmt.Errorf("%w: authenticator of %s does not decrypt with the ticket session key", ErrBadIntegrity, client)
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(aplain); err != nil {
		return nil, malformed("authenticator", err)
	}
	if !auth.CName.Equal(etp.CName) || auth.CRealm != etp.CRealm {
		return nil, fmt.Errorf("%w: authenticator names %s but the ticket is for %s", ErrBadIntegrity, principalString(auth.CName, auth.CRealm), client)
	}
	if auth.Cusec < 0 || auth.Cusec > 999999 {
		return nil, malformed(fmt.Sprintf("authenticator cusec %d", auth.Cusec), nil)
	}
	ctime := auth.CTime.Truncate(time.Second).Add(time.Duration(auth.Cusec) * time.Microsecond)
	if d := now.Sub(ctime); d > skew || d < -skew {
		return nil, &ClockSkewError{ServerTime: now, ClientTime: ctime, Limit: skew}
	}
	start := etp.StartTime
	if start.IsZero() {
		start = etp.AuthTime
	}
	if start.Sub(now) > skew || flagSet(etp.Flags.Bytes, tktFlagInvalid) {
		return nil, &TicketTimeError{Client: client, Start: start, End: etp.EndTime, Now: now, NotYetValid: true}
	}
	if now.Sub(etp.EndTime) > skew {
		return nil, &TicketTimeError{Client: client, Start: start, End: etp.EndTime, Now: now}
	}
	subkey := keyFrom(auth.SubKey)
	if !subkey.IsZero() {
		et, err := subkey.EType()
		if err != nil {
			return nil, malformed("authenticator subkey", err)
		}
		if len(subkey.Value) != keyLength(et) {
			return nil, malformed(fmt.Sprintf("authenticator subkey of %d bytes for %s", len(subkey.Value), EnctypeName(subkey.Type)), nil)
		}
	}
	acc = &Accepted{
		Client: client, Server: server, SessionKey: session, Subkey: subkey,
		KVNO: tkt.EncPart.KVNO, CTime: ctime, Cusec: auth.Cusec,
		AuthTime: etp.AuthTime, EndTime: etp.EndTime,
		Forwarded:      flagSet(etp.Flags.Bytes, 2), // RFC 4120 TicketFlags forwarded
		MutualRequired: flagSet(req.APOptions.Bytes, apOptMutualRequired),
		ChecksumType:   auth.Cksum.CksumType,
		checksum:       auth.Cksum,
		policy:         ac.Checksum,
	}
	if checksumData != nil {
		if err := acc.VerifyChecksum(checksumData); err != nil {
			return nil, err
		}
	}
	expiry := ctime.Add(skew).Unix() + 1
	a, b := replayTags(req.EncryptedAuthenticator.Cipher, client, server, auth.CTime, auth.Cusec)
	replay, err := ac.RCache.checkAndStore(a, b, expiry, now)
	if err != nil {
		return nil, err
	}
	if replay {
		return nil, &ReplayError{Client: client, CTime: ctime}
	}
	if acc.MutualRequired {
		var echo Key
		if ac.EchoSubkey {
			echo = subkey
		}
		if acc.APRep, err = buildAPRep(session, auth.CTime, auth.Cusec, echo); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// flagSet tests bit i (RFC 4120 numbering, bit 0 = MSB of byte 0) of a
// KerberosFlags bit string; short strings read as zero bits.
func flagSet(b []byte, i int) bool {
	if i/8 >= len(b) {
		return false
	}
	return b[i/8]&(0x80>>uint(i%8)) != 0
}
