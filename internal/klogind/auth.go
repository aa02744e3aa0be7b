package klogind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/krbauth"
	"github.com/krx-suite/krx/oob"
)

// Prog names the daemon in refusal texts ("rlogind: Permission denied.").
const Prog = "rlogind"

// MsgLegacy is what a legacy KCMDV0.x client is told, in clear, after
// its AP exchange: its length-framed encryption is another issue.
const MsgLegacy = "legacy %s framing is not supported by this server; use krx's rlogin -x / rsh -x"

// Config is what both krx services share.
type Config struct {
	// Server holds the lookup, timeouts, hang-up grace and logger shared
	// with the plain services (its rhosts and reserved-port settings do not
	// apply to krx). Required.
	Server *server.Config
	// Acceptor verifies AP-REQs (keytab, replay cache, clock skew). Required.
	Acceptor *krbauth.Acceptor
	// Authz holds the .k5login rules (k5login_directory, default realm).
	Authz krbauth.AuthzConfig
	// CCacheDir is where forwarded credentials are stored ("": /tmp).
	CCacheDir string
}

// Conn is an authorised krx connection, ready for Accept: the session,
// the account it runs as and the environment entries to add
// (KRB5CCNAME when credentials were forwarded).
type Conn struct {
	Session *krxsess.ServerSession
	Account *server.Account
	Env     []string
	Log     *server.ConnLog
	cleanup func() error
}

// Cleanup removes the forwarded credential cache, if any; later calls do
// nothing.
func (c *Conn) Cleanup() {
	if c.cleanup != nil {
		c.cleanup()
		c.cleanup = nil
	}
}

// policyErrors are envelope errors that are a decision about the client
// (its ticket, authenticator or version), not a broken or vanished peer.
var policyErrors = []error{
	krbauth.ErrReplay, krbauth.ErrClockSkew, krbauth.ErrBadIntegrity, krbauth.ErrNoKey,
	krbauth.ErrWrongKVNO, krbauth.ErrTicketExpired, krbauth.ErrTicketNotValid,
	krbauth.ErrBadChecksum, krbauth.ErrNoChecksum, krbauth.ErrAppVersionRejected,
	krbauth.ErrSendauthVersionRejected, krxsess.ErrNoSubkey,
}

// envelopeDecision is the log decision for an error of the envelope:
// Refused for a policy decision about the client, Failed otherwise.
func envelopeDecision(err error) string {
	for _, e := range policyErrors {
		if errors.Is(err, e) {
			return server.Refused
		}
	}
	return server.Failed
}

// isLegacy accepts the legacy kcmd versions in recvauth so that their
// client hears a clear refusal instead of "bad application version".
func isLegacy(v string) bool {
	return v == krbauth.AppVersionKCMD01 || v == krbauth.AppVersionKCMD02
}

// Establish runs the krx envelope on c for svc (krxsess.EitherService on a
// port that serves both) and authorises the principal for the server
// user. On success the caller calls
// Session.Accept and runs the session; otherwise the peer has been told
// (when anyone is left to tell), the decision and reason are in cl, and
// the caller closes c.
func (cfg *Config) Establish(ctx context.Context, c *net.TCPConn, svc krxproto.Service, cl *server.ConnLog) (*Conn, bool) {
	sc := cfg.Server
	if err := oob.SetInline(c); err != nil {
		cl.Set(server.Failed, "SO_OOBINLINE: "+err.Error())
		return nil, false
	}
	stop := server.DeadlineOnDone(ctx, c)
	defer stop()
	var why []string
	a, err := krxsess.Authenticate(c, krxsess.ServerConfig{
		Acceptor: cfg.Acceptor, Service: svc, AcceptVersion: isLegacy,
		Timeout: sc.Timeout(), Prog: Prog,
		Logf: func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		reason := "envelope: " + err.Error()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			reason = fmt.Sprintf("no complete envelope within %v: %v", sc.Timeout(), err)
		}
		if ctx.Err() != nil {
			reason = "daemon shutting down during the envelope"
		}
		cl.Set(envelopeDecision(err), reason)
		return nil, false
	}
	cl.Principal = a.Accepted.Client
	if !a.IsKRX() {
		msg := fmt.Sprintf(MsgLegacy, a.Accepted.AppVersion)
		cl.Set(server.Refused, "client asked for "+a.Accepted.AppVersion+": legacy framing is not implemented")
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		compat.WriteStatus(c, compat.Status{Code: compat.StatusRefused, Message: Prog + ": " + msg})
		server.LingerClose(c)
		return nil, false
	}
	s, err := a.Start()
	if err != nil {
		var be *krxsess.BindingError
		if errors.As(err, &be) {
			cl.Set(server.Refused, be.Error())
			server.LingerClose(c) // the encrypted refusal is on its way
		} else {
			cl.Set(server.Failed, "starting the session: "+err.Error())
		}
		return nil, false
	}
	cl.ClientUser, cl.ServerUser, cl.Payload = s.Params.ClientUser, s.Params.ServerUser, s.Params.Payload
	refuse := func(reason string) (*Conn, bool) {
		cl.Set(server.Refused, reason)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		s.Refuse(krbauth.PublicDenial)
		server.LingerClose(c)
		return nil, false
	}
	lookup := sc.Lookup
	if lookup == nil {
		lookup = server.LookupAccount
	}
	acct, err := lookup(s.Params.ServerUser)
	if err != nil {
		return refuse(fmt.Sprintf("unknown server user %q: %v", s.Params.ServerUser, err))
	}
	lu := krbauth.LocalUser{Name: acct.Name, UID: acct.UID, GID: acct.GID, Groups: acct.Groups, Home: acct.Home}
	reason, err := krbauth.Authorize(s.Principal, lu, cfg.Authz)
	if err != nil {
		return refuse(err.Error())
	}
	if len(why) > 0 {
		reason += "; " + strings.Join(why, "; ")
	}
	if !stop() || ctx.Err() != nil {
		cl.Set(server.Failed, "daemon shutting down")
		return nil, false
	}
	kc := &Conn{Session: s, Account: acct, Log: cl}
	if s.Forwarded != nil {
		path, cleanup, err := krbauth.WriteForwardedCCache(s.Forwarded, krbauth.CCacheOptions{Dir: cfg.CCacheDir, UID: acct.UID, GID: acct.GID})
		if err != nil {
			reason += "; forwarded credentials not stored: " + err.Error()
		} else {
			kc.Env = append(kc.Env, "KRB5CCNAME=FILE:"+path)
			kc.cleanup = cleanup
			reason += "; forwarded credentials stored"
		}
	}
	cl.Set(server.Accepted, reason)
	return kc, true
}
