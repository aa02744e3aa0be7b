package krbauth

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// SendAuthOptions choose what the client puts into its AP-REQ.
type SendAuthOptions struct {
	// AppVersion is the application version string without its NUL, e.g.
	// "KCMDV0.2" (legacy servers require exactly 8 characters).
	AppVersion string
	// ChecksumData is what the authenticator checksum covers, normally
	// KcmdChecksumData(port, payload, serverUser); nil sends no checksum.
	ChecksumData []byte
	// Checksum selects unkeyed RSA-MD5 (default) or the keyed type.
	Checksum ChecksumKind
	// NoSubkey omits the authenticator subkey (legacy KCMDV0.1 clients).
	NoSubkey bool
}

// ClientResult is what a successful sendauth establishes.
type ClientResult struct {
	Client       string // our principal
	Server       string // host/name@REALM
	AppVersion   string
	SessionKey   Key // ticket session key
	Subkey       Key // the subkey we sent (zero with NoSubkey)
	ServerSubkey Key // subkey in the AP-REP (zero if none)
}

// SessionUseKey is the key the session must use, as MIT's rd_rep decides:
// the AP-REP's subkey if present, else our subkey, else the session key.
func (r *ClientResult) SessionUseKey() Key {
	switch {
	case !r.ServerSubkey.IsZero():
		return r.ServerSubkey
	case !r.Subkey.IsZero():
		return r.Subkey
	}
	return r.SessionKey
}

// APReq is an AP-REQ built by a client, kept to verify the AP-REP.
type APReq struct {
	Bytes  []byte    // DER KRB_AP_REQ
	CTime  time.Time // authenticator time (whole seconds) …
	Cusec  int       // … and microseconds
	Subkey Key       // authenticator subkey (zero if none)
	st     *ServiceTicket
}

// NewAPReq builds an AP-REQ with mutual-required, a fresh RandomToKey-valid
// subkey of the session key's enctype (unless o.NoSubkey) and the
// authenticator checksum over o.ChecksumData, dated by the client's clock.
func (st *ServiceTicket) NewAPReq(o SendAuthOptions) (r *APReq, err error) {
	defer recoverErr(&err, "building AP-REQ")
	now := st.client.now()
	r = &APReq{CTime: now.UTC().Truncate(time.Second), Cusec: now.Nanosecond() / 1000, st: st}
	auth := types.Authenticator{
		AVNO: iana.PVNO, CRealm: st.client.crealm, CName: st.client.cname,
		CTime: r.CTime, Cusec: r.Cusec,
	}
	if o.ChecksumData != nil {
		if auth.Cksum, err = makeChecksum(o.Checksum, st.SessionKey, o.ChecksumData); err != nil {
			return nil, err
		}
	}
	if !o.NoSubkey {
		if r.Subkey, err = NewRandomKey(st.SessionKey.Type); err != nil {
			return nil, err
		}
		auth.SubKey = r.Subkey.gokrb5()
	}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding authenticator: %w", err)
	}
	ed, err := crypto.GetEncryptedData(ab, st.SessionKey.gokrb5(), usageAPReqAuth, 0)
	if err != nil {
		return nil, fmt.Errorf("krbauth: encrypting authenticator: %w", err)
	}
	opts := types.NewKrbFlags()
	types.SetFlag(&opts, apOptMutualRequired)
	req := messages.APReq{PVNO: iana.PVNO, MsgType: msgtype.KRB_AP_REQ, APOptions: opts, Ticket: st.tkt, EncryptedAuthenticator: ed}
	if r.Bytes, err = req.Marshal(); err != nil {
		return nil, fmt.Errorf("krbauth: encoding AP-REQ: %w", err)
	}
	return r, nil
}

// VerifyAPRep checks the server's AP-REP against this request.
func (r *APReq) VerifyAPRep(b []byte) (APRepInfo, error) {
	return verifyAPRep(b, r.st.SessionKey, r.CTime, r.Cusec)
}

// SendAuth runs the client side of sendauth on rw (after any kcmd
// secondary-port field): version strings, the server's answer, the
// AP-REQ, the server's reply (KRB-ERROR → *ServerError) and the AP-REP.
func SendAuth(rw io.ReadWriter, st *ServiceTicket, o SendAuthOptions) (res *ClientResult, err error) {
	defer recoverErr(&err, "sendauth")
	if o.AppVersion == "" || strings.IndexByte(o.AppVersion, 0) >= 0 || len(o.AppVersion) >= maxVersionLen {
		return nil, fmt.Errorf("krbauth: bad application version %q", o.AppVersion)
	}
	req, err := st.NewAPReq(o)
	if err != nil {
		return nil, err
	}
	if _, err := rw.Write(append(versionMsg(SendauthVersion), versionMsg(o.AppVersion)...)); err != nil {
		return nil, fmt.Errorf("krbauth: sending version strings: %w", err)
	}
	var ans [1]byte
	if _, err := io.ReadFull(rw, ans[:]); err != nil {
		return nil, fmt.Errorf("krbauth: reading the server's version answer (is it a Kerberos r-command server?): %w", eofErr(err))
	}
	switch ans[0] {
	case versionOK:
	case versionBadSendauth:
		return nil, fmt.Errorf("%w (answer 1)", ErrSendauthVersionRejected)
	case versionBadApplication:
		return nil, &AppVersionError{Version: o.AppVersion}
	default:
		return nil, malformed(fmt.Sprintf("version answer byte 0x%02x (not a sendauth server?)", ans[0]), nil)
	}
	if err := writeMsg(rw, req.Bytes); err != nil {
		return nil, fmt.Errorf("krbauth: sending AP-REQ: %w", err)
	}
	reply, err := readMsg(rw, maxKRBError, "server's AP-REQ reply")
	if err != nil {
		return nil, err
	}
	if len(reply) > 0 {
		se, perr := ParseKRBError(reply)
		if perr != nil {
			return nil, fmt.Errorf("%w: undecodable error reply: %v", ErrServerRejected, perr)
		}
		se.ClientTime = req.CTime.Add(time.Duration(req.Cusec) * time.Microsecond)
		return nil, se
	}
	rep, err := readMsg(rw, maxAPRepLen, "AP-REP")
	if err != nil {
		return nil, err
	}
	info, err := req.VerifyAPRep(rep)
	if err != nil {
		return nil, err
	}
	if !info.Subkey.IsZero() && !req.Subkey.IsZero() && info.Subkey.Type != req.Subkey.Type {
		return nil, fmt.Errorf("%w: AP-REP subkey enctype %s differs from ours", ErrMutualAuth, EnctypeName(info.Subkey.Type))
	}
	return &ClientResult{
		Client: st.client.Principal(), Server: st.Server, AppVersion: o.AppVersion,
		SessionKey: st.SessionKey, Subkey: req.Subkey, ServerSubkey: info.Subkey,
	}, nil
}
