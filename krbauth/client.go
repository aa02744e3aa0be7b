package krbauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// DefaultKrb5Conf is the configuration file used when KRB5_CONFIG is unset.
const DefaultKrb5Conf = "/etc/krb5.conf"

// ClientOptions say where the client's Kerberos files are.
type ClientOptions struct {
	// Krb5Conf is the krb5.conf path ("" = $KRB5_CONFIG, else /etc/krb5.conf).
	Krb5Conf string
	// CCache is the credentials cache, a path or "FILE:path"
	// ("" = $KRB5CCNAME, else /tmp/krb5cc_<uid>).
	CCache string
	// Now is the clock for authenticators and expiry checks (nil = time.Now).
	Now func() time.Time
}

// Client holds a user's TGT (from a FILE ccache) and the service tickets
// obtained with it. Safe for concurrent use.
type Client struct {
	conf    *config.Config
	ccPath  string
	cname   types.PrincipalName
	crealm  string
	tgt     messages.Ticket
	tgtKey  types.EncryptionKey
	tgtEnd  time.Time
	cached  []*credentials.Credential // service tickets already in the ccache
	now     func() time.Time
	mu      sync.Mutex
	tickets map[string]*ServiceTicket
}

// ServiceTicket is a ticket for host/<name>@REALM and its session key.
type ServiceTicket struct {
	Server     string // host/name@REALM
	SessionKey Key    // its enctype is the session enctype the KDC chose
	EndTime    time.Time
	tkt        messages.Ticket
	client     *Client
}

// CCachePath resolves the credentials cache name: flag if set, else
// $KRB5CCNAME, else /tmp/krb5cc_<uid>; a "FILE:" prefix is removed.
func CCachePath(flag string) (string, error) {
	name := flag
	if name == "" {
		name = os.Getenv("KRB5CCNAME")
	}
	if name == "" {
		name = "/tmp/krb5cc_" + strconv.Itoa(os.Getuid())
	}
	return fileName(name, "credentials cache", "FILE")
}

// LoadKrb5Conf reads krb5.conf from path ("" = $KRB5_CONFIG, else
// /etc/krb5.conf). Directives gokrb5 does not support are ignored.
func LoadKrb5Conf(path string) (*config.Config, error) {
	if path == "" {
		path = os.Getenv("KRB5_CONFIG")
		if i := strings.IndexByte(path, ':'); i >= 0 { // MIT allows a list
			path = path[:i]
		}
	}
	if path == "" {
		path = DefaultKrb5Conf
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %s: %v (set KRB5_CONFIG)", ErrConfig, path, err)
	}
	c, err := config.Load(path)
	if err != nil {
		var ud config.UnsupportedDirective
		if c == nil || !errors.As(err, &ud) {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
		}
	}
	return c, nil
}

// NewClient loads krb5.conf and the FILE ccache and finds the TGT.
func NewClient(o ClientOptions) (cl *Client, err error) {
	conf, err := LoadKrb5Conf(o.Krb5Conf)
	if err != nil {
		return nil, err
	}
	ccPath, err := CCachePath(o.CCache)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	cl = &Client{conf: conf, ccPath: ccPath, now: now, tickets: map[string]*ServiceTicket{}}
	if err := cl.loadCCache(); err != nil {
		return nil, err
	}
	return cl, nil
}

func (c *Client) loadCCache() (err error) {
	defer recoverErr(&err, "credentials cache "+c.ccPath)
	b, err := os.ReadFile(c.ccPath)
	if err != nil {
		reason := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			reason = "no such file"
		}
		return &NoCCacheError{Path: c.ccPath, Reason: reason}
	}
	return c.parseCCache(b)
}

// parseCCache loads the TGT and cached tickets from FILE ccache bytes.
func (c *Client) parseCCache(b []byte) (err error) {
	defer recoverErr(&err, "credentials cache "+c.ccPath)
	if err := checkCCacheBytes(b); err != nil {
		return &NoCCacheError{Path: c.ccPath, Reason: err.Error()}
	}
	cc := new(credentials.CCache)
	if err := cc.Unmarshal(b); err != nil {
		return &NoCCacheError{Path: c.ccPath, Reason: "unreadable: " + err.Error()}
	}
	c.cname, c.crealm = cc.DefaultPrincipal.PrincipalName, cc.DefaultPrincipal.Realm
	if len(c.cname.NameString) == 0 || c.crealm == "" {
		return &NoCCacheError{Path: c.ccPath, Reason: "no default principal"}
	}
	tgtName := "krbtgt/" + c.crealm + "@" + c.crealm
	var tgt *credentials.Credential
	for _, cr := range cc.GetEntries() {
		sn := cr.Server.PrincipalName.NameString
		if len(sn) == 2 && sn[0] == "krbtgt" && sn[1] == c.crealm && cr.Server.Realm == c.crealm {
			if tgt == nil || cr.EndTime.After(tgt.EndTime) {
				tgt = cr
			}
			continue
		}
		c.cached = append(c.cached, cr)
	}
	if tgt == nil {
		return &NoCCacheError{Path: c.ccPath, Reason: "no ticket-granting ticket " + tgtName}
	}
	if !c.now().Before(tgt.EndTime) {
		return &TicketExpiredError{Principal: tgtName, Client: c.Principal(), EndTime: tgt.EndTime, CCache: c.ccPath}
	}
	if err := c.tgt.Unmarshal(tgt.Ticket); err != nil {
		return &NoCCacheError{Path: c.ccPath, Reason: "TGT unreadable: " + err.Error()}
	}
	c.tgtKey, c.tgtEnd = tgt.Key, tgt.EndTime
	return nil
}

// Principal is the client principal of the cache, name@REALM.
func (c *Client) Principal() string { return principalString(c.cname, c.crealm) }

// CCachePath is the cache file the client was loaded from.
func (c *Client) CCachePath() string { return c.ccPath }

// ServiceRealm is the realm of host/<host>: realmOverride (-k) if set,
// else krb5.conf's domain_realm mapping, else the default realm, else the
// client's realm.
func (c *Client) ServiceRealm(host, realmOverride string) string {
	switch {
	case realmOverride != "":
		return realmOverride
	case c.conf.ResolveRealm(host) != "":
		return c.conf.ResolveRealm(host)
	case c.conf.LibDefaults.DefaultRealm != "":
		return c.conf.LibDefaults.DefaultRealm
	}
	return c.crealm
}

// ServiceTicket returns a ticket for host/<host> in realm (see
// ServiceRealm): from the ccache or this Client's memory if one is valid,
// else from the KDC (TGS exchange).
func (c *Client) ServiceTicket(host, realmOverride string) (st *ServiceTicket, err error) {
	defer recoverErr(&err, "service ticket")
	if host == "" || strings.ContainsAny(host, "/@") {
		return nil, fmt.Errorf("krbauth: bad host name %q", host)
	}
	realm := c.ServiceRealm(host, realmOverride)
	sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_HST, NameString: []string{"host", host}}
	server := principalString(sname, realm)
	now := c.now()
	c.mu.Lock()
	st = c.tickets[server]
	c.mu.Unlock()
	if st != nil && now.Before(st.EndTime) {
		return st, nil
	}
	for _, cr := range c.cached {
		if cr.Server.Realm == realm && cr.Server.PrincipalName.Equal(sname) &&
			now.Before(cr.EndTime) && !cr.StartTime.After(now.Add(time.Minute)) && !cr.IsSKey {
			var t messages.Ticket
			if t.Unmarshal(cr.Ticket) == nil {
				st = &ServiceTicket{Server: server, SessionKey: keyFrom(cr.Key), EndTime: cr.EndTime, tkt: t, client: c}
				c.remember(st)
				return st, nil
			}
		}
	}
	if !now.Before(c.tgtEnd) {
		return nil, &TicketExpiredError{Principal: "krbtgt/" + c.crealm + "@" + c.crealm, Client: c.Principal(), EndTime: c.tgtEnd, CCache: c.ccPath}
	}
	st, err = c.tgsExchange(sname, realm)
	if err != nil {
		return nil, err
	}
	c.remember(st)
	return st, nil
}

func (c *Client) remember(st *ServiceTicket) {
	c.mu.Lock()
	c.tickets[st.Server] = st
	c.mu.Unlock()
}

// tgsExchange asks the KDC of realm for a ticket to sname with the TGT.
func (c *Client) tgsExchange(sname types.PrincipalName, realm string) (*ServiceTicket, error) {
	server := principalString(sname, realm)
	req, err := messages.NewTGSReq(c.cname, realm, c.conf, c.tgt, c.tgtKey, sname, false)
	if err != nil {
		return nil, fmt.Errorf("krbauth: building TGS-REQ for %s: %v", server, err)
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("krbauth: encoding TGS-REQ for %s: %v", server, err)
	}
	rb, err := c.sendKDC(realm, b)
	if err != nil {
		return nil, err
	}
	if len(rb) > 0 && rb[0] == 0x7e { // [APPLICATION 30] KRB-ERROR
		var ke messages.KRBError
		if err := ke.Unmarshal(rb); err != nil {
			return nil, malformed("KDC's KRB-ERROR", err)
		}
		return nil, &KDCError{Server: server, Code: ke.ErrorCode, Text: ke.EText}
	}
	var rep messages.TGSRep
	if err := rep.Unmarshal(rb); err != nil {
		return nil, malformed("TGS-REP", err)
	}
	if err := rep.DecryptEncPart(c.tgtKey); err != nil {
		return nil, fmt.Errorf("%w: TGS-REP does not decrypt with the TGT session key: %v", ErrBadIntegrity, err)
	}
	if ok, err := rep.Verify(c.conf, req); !ok {
		return nil, fmt.Errorf("krbauth: TGS-REP for %s failed verification: %v", server, err)
	}
	return &ServiceTicket{
		Server: server, SessionKey: keyFrom(rep.DecryptedEncPart.Key),
		EndTime: rep.DecryptedEncPart.EndTime, tkt: rep.Ticket, client: c,
	}, nil
}
