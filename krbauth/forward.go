package krbauth

// Credential forwarding, client side: get a forwarded TGT from the
// client's KDC (what MIT krb5_fwd_tgt_creds does for kcmd, PROTOCOL.md
// §2.5). gokrb5 has the TGS exchange but cannot ask for FORWARDED.

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Ticket flags as MIT stores them in a ccache (RFC 4120 §5.3 TicketFlags,
// bit 0 = most significant bit of the first byte; MIT krb5.h TKT_FLG_*).
const (
	TicketFlagForwardable = 0x40000000 // bit 1
	TicketFlagForwarded   = 0x20000000 // bit 2
	TicketFlagProxiable   = 0x10000000 // bit 3
	TicketFlagRenewable   = 0x00800000 // bit 8
	TicketFlagInitial     = 0x00400000 // bit 9
	TicketFlagPreAuth     = 0x00200000 // bit 10
)

// Client-side forwarding errors.
var (
	ErrFwdNoTGT          = errors.New("krbauth: no ticket-granting ticket in the credential cache (run kinit)")
	ErrFwdTGTExpired     = errors.New("krbauth: the ticket-granting ticket has expired (run kinit)")
	ErrFwdNotForwardable = errors.New("krbauth: the ticket-granting ticket is not forwardable (run kinit -f)")
	ErrFwdKDC            = errors.New("krbauth: the KDC did not issue a forwarded ticket")
)

// ForwardedCred is one credential — a ticket and what its holder must
// know to use it — as carried in KRB-CRED and stored in a ccache.
type ForwardedCred struct {
	ClientRealm    string
	Client         []string // client name components
	ClientNameType int32
	ServerRealm    string
	Server         []string // server name components, e.g. krbtgt, REALM
	ServerNameType int32
	Key            Key    // the ticket's session key
	Flags          uint32 // ticket flags, TicketFlag* bits
	AuthTime       time.Time
	StartTime      time.Time // zero if absent
	EndTime        time.Time
	RenewTill      time.Time // zero if not renewable
	Ticket         []byte    // the Ticket, DER ([APPLICATION 1])
}

// ClientPrincipal is the client's unparsed name, e.g. "alice@KRX.TEST".
func (c *ForwardedCred) ClientPrincipal() string {
	return UnparsePrincipalName(c.Client, c.ClientRealm)
}

// ServerPrincipal is the ticket's service, e.g. "krbtgt/KRX.TEST@KRX.TEST".
func (c *ForwardedCred) ServerPrincipal() string {
	return UnparsePrincipalName(c.Server, c.ServerRealm)
}

// ForwardOptions selects the client's Kerberos files and the kind of
// forwarded ticket.
type ForwardOptions struct {
	// Krb5Conf is the krb5.conf path ("": $KRB5_CONFIG, else /etc/krb5.conf).
	Krb5Conf string
	// CCache is the FILE ccache path ("": $KRB5CCNAME, else /tmp/krb5cc_<uid>).
	CCache string
	// Forwardable asks for a ticket that may be forwarded on again (-F);
	// otherwise it is forwarded only (-f).
	Forwardable bool
}

// FetchForwardedTGT asks the KDC of the client's realm for a forwarded,
// address-less TGT (krbtgt/REALM@REALM with the FORWARDED KDC option, and
// FORWARDABLE too with o.Forwardable), authenticated with the TGT in the
// client's ccache. The result goes into BuildKRBCred.
func FetchForwardedTGT(o ForwardOptions) (fc *ForwardedCred, err error) {
	defer fwdRecover(&err, "fetching a forwarded ticket")
	ccPath, err := CCachePath(o.CCache)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadKrb5Conf(o.Krb5Conf)
	if err != nil {
		return nil, err
	}
	cc, err := fwdLoadCCache(ccPath)
	if err != nil {
		return nil, err
	}
	realm := cc.DefaultPrincipal.Realm
	var tgtCred *credentials.Credential
	for _, c := range cc.GetEntries() {
		sn := c.Server.PrincipalName.NameString
		if c.Server.Realm == realm && len(sn) == 2 && sn[0] == "krbtgt" && sn[1] == realm {
			tgtCred = c
			break
		}
	}
	if tgtCred == nil {
		return nil, fmt.Errorf("%w: %s has none for realm %s", ErrFwdNoTGT, ccPath, realm)
	}
	if !time.Now().Before(tgtCred.EndTime) {
		return nil, fmt.Errorf("%w: it expired at %s", ErrFwdTGTExpired, tgtCred.EndTime.UTC().Format(time.RFC3339))
	}
	tgtFlags := fwdFlagsToUint32(tgtCred.TicketFlags.Bytes)
	if tgtFlags&TicketFlagForwardable == 0 {
		return nil, ErrFwdNotForwardable
	}
	var tgt messages.Ticket
	if err := tgt.Unmarshal(tgtCred.Ticket); err != nil {
		return nil, fmt.Errorf("krbauth: the TGT in %s cannot be parsed: %w", ccPath, err)
	}
	cl, err := client.NewFromCCache(cc, cfg, client.DisablePAFXFAST(true))
	if err != nil {
		return nil, fmt.Errorf("krbauth: using %s: %w", ccPath, err)
	}
	defer cl.Destroy()

	// The request: copy of the config so NewTGSReq leaves addresses,
	// proxiable, renewable and canonicalize out, then our KDC options.
	reqCfg := *cfg
	reqCfg.LibDefaults.Forwardable = o.Forwardable
	reqCfg.LibDefaults.NoAddresses = true
	reqCfg.LibDefaults.Proxiable = false
	reqCfg.LibDefaults.Canonicalize = false
	reqCfg.LibDefaults.RenewLifetime = 0
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}}
	req, err := messages.NewTGSReq(cc.DefaultPrincipal.PrincipalName, realm, &reqCfg, tgt, tgtCred.Key, sname, false)
	if err != nil {
		return nil, fmt.Errorf("krbauth: building the TGS request: %w", err)
	}
	types.SetFlag(&req.ReqBody.KDCOptions, flags.Forwarded)
	req.ReqBody.Till = tgtCred.EndTime.UTC()
	if tgtFlags&TicketFlagRenewable != 0 && tgtCred.RenewTill.After(time.Now()) {
		types.SetFlag(&req.ReqBody.KDCOptions, flags.Renewable)
		req.ReqBody.RTime = tgtCred.RenewTill.UTC()
	}
	if err := fwdSignTGSReq(&req, tgt, tgtCred.Key); err != nil {
		return nil, err
	}
	_, rep, err := cl.TGSExchange(req, realm, tgt, tgtCred.Key, 0)
	if err != nil {
		return nil, fmt.Errorf("%w (realm %s): %v", ErrFwdKDC, realm, err)
	}
	tb, err := rep.Ticket.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding the forwarded ticket: %w", err)
	}
	ep := rep.DecryptedEncPart
	fc = &ForwardedCred{
		ClientRealm: rep.CRealm, Client: rep.CName.NameString, ClientNameType: rep.CName.NameType,
		ServerRealm: rep.Ticket.Realm, Server: rep.Ticket.SName.NameString, ServerNameType: rep.Ticket.SName.NameType,
		Key:   Key{Type: ep.Key.KeyType, Value: ep.Key.KeyValue},
		Flags: fwdFlagsToUint32(ep.Flags.Bytes), AuthTime: ep.AuthTime, StartTime: ep.StartTime,
		EndTime: ep.EndTime, RenewTill: ep.RenewTill, Ticket: tb,
	}
	if fc.Flags&TicketFlagForwarded == 0 {
		return nil, fmt.Errorf("%w: the ticket the KDC returned is not marked forwarded", ErrFwdKDC)
	}
	return fc, nil
}

// fwdLoadCCache reads a FILE ccache, checked by ValidateCCache first
// because gokrb5's parser trusts every length in it.
func fwdLoadCCache(path string) (*credentials.CCache, error) {
	b, err := ccReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", ErrFwdNoTGT, err)
	}
	if err != nil {
		return nil, fmt.Errorf("krbauth: reading credential cache: %w", err)
	}
	cc := &credentials.CCache{Path: path}
	if err := cc.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("krbauth: reading credential cache %s: %w", path, err)
	}
	return cc, nil
}

// fwdSignTGSReq (re)computes the PA-TGS-REQ of req after its body was
// changed: an AP-REQ with the TGT whose authenticator carries the keyed
// checksum of the body (RFC 4120 §5.4.1, key usage 6; gokrb5 does the
// same in an unexported method, before our KDC options are set).
func fwdSignTGSReq(req *messages.TGSReq, tgt messages.Ticket, key types.EncryptionKey) error {
	body, err := req.ReqBody.Marshal()
	if err != nil {
		return fmt.Errorf("krbauth: encoding the TGS request body: %w", err)
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return fmt.Errorf("krbauth: TGT session key: %w", err)
	}
	sum, err := et.GetChecksumHash(key.KeyValue, body, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		return fmt.Errorf("krbauth: TGS request checksum: %w", err)
	}
	auth, err := types.NewAuthenticator(tgt.Realm, req.ReqBody.CName)
	if err != nil {
		return fmt.Errorf("krbauth: TGS request authenticator: %w", err)
	}
	auth.Cksum = types.Checksum{CksumType: et.GetHashID(), Checksum: sum}
	ap, err := messages.NewAPReq(tgt, key, auth)
	if err != nil {
		return fmt.Errorf("krbauth: TGS request AP-REQ: %w", err)
	}
	apb, err := ap.Marshal()
	if err != nil {
		return fmt.Errorf("krbauth: encoding the TGS request AP-REQ: %w", err)
	}
	req.PAData = types.PADataSequence{{PADataType: patype.PA_TGS_REQ, PADataValue: apb}} // RFC 4120 §7.5.2
	return nil
}

// fwdFlagsToUint32 reads KerberosFlags bits 0..31 as MIT's uint32.
func fwdFlagsToUint32(b []byte) uint32 {
	var v uint32
	for i := 0; i < 4; i++ {
		v <<= 8
		if i < len(b) {
			v |= uint32(b[i])
		}
	}
	return v
}

// fwdRecover turns a panic below an exported function into an error.
func fwdRecover(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", errFwdPanic, what, r)
	}
}

// errFwdPanic marks an error made from a recovered panic (a bug: the
// fuzz tests fail on it).
var errFwdPanic = errors.New("krbauth: internal error")
