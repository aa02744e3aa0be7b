package krbauth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of the authentication core. Every struct error below
// wraps one of them, so callers can test with errors.Is and get details
// with errors.As.
var (
	// ErrNoCCache: the credentials cache does not exist or holds no TGT.
	ErrNoCCache = errors.New("krbauth: no usable credentials cache")
	// ErrTicketExpired: the TGT (or a cached service ticket) has expired.
	ErrTicketExpired = errors.New("krbauth: ticket expired")
	// ErrUnknownServer: the KDC does not know the service principal.
	ErrUnknownServer = errors.New("krbauth: server principal unknown to the KDC")
	// ErrKDCUnreachable: no KDC of the realm answered.
	ErrKDCUnreachable = errors.New("krbauth: KDC unreachable")
	// ErrWrongRealm: the realm is not configured, or the KDC says it is the wrong one.
	ErrWrongRealm = errors.New("krbauth: wrong realm")
	// ErrConfig: krb5.conf could not be read or is unusable.
	ErrConfig = errors.New("krbauth: bad Kerberos configuration")
	// ErrKDC: the KDC refused a request for another reason (see KDCError).
	ErrKDC = errors.New("krbauth: KDC refused the request")

	// ErrNoKeytab: the keytab file does not exist or cannot be parsed.
	ErrNoKeytab = errors.New("krbauth: keytab unusable")
	// ErrNoKey: the keytab has no key for the ticket's principal and enctype.
	ErrNoKey = errors.New("krbauth: keytab has no matching key")
	// ErrWrongKVNO: the keytab has the principal's key, but not the ticket's
	// key version (the service key changed after the ticket was issued).
	ErrWrongKVNO = errors.New("krbauth: keytab key version does not match the ticket")
	// ErrBadIntegrity: a ticket, authenticator or AP-REP failed to decrypt
	// (wrong key or tampered message).
	ErrBadIntegrity = errors.New("krbauth: message integrity check failed")
	// ErrClockSkew: client and server clocks differ by more than the limit.
	ErrClockSkew = errors.New("krbauth: clock skew too great")
	// ErrReplay: the authenticator was seen before.
	ErrReplay = errors.New("krbauth: request is a replay")
	// ErrReplayCache: the replay cache could not be used (the request is refused).
	ErrReplayCache = errors.New("krbauth: replay cache failure")
	// ErrTicketNotValid: the service ticket is expired or not yet valid.
	ErrTicketNotValid = errors.New("krbauth: service ticket not valid now")
	// ErrBadChecksum: the authenticator checksum does not match the connection data.
	ErrBadChecksum = errors.New("krbauth: authenticator checksum mismatch")
	// ErrNoChecksum: the policy requires an authenticator checksum and there is none.
	ErrNoChecksum = errors.New("krbauth: authenticator checksum missing")
	// ErrMalformed: a message could not be parsed.
	ErrMalformed = errors.New("krbauth: malformed message")
	// ErrTooLong: a length-prefixed message or string exceeds its limit.
	ErrTooLong = errors.New("krbauth: message too long")

	// ErrSendauthVersionRejected: the peer refused "KRB5_SENDAUTH_V1.0" (answer 1).
	ErrSendauthVersionRejected = errors.New("krbauth: peer rejected the sendauth version")
	// ErrAppVersionRejected: the peer refused the application version (answer 2),
	// e.g. a legacy server that does not speak krx's protocol.
	ErrAppVersionRejected = errors.New("krbauth: peer rejected the application version")
	// ErrServerRejected: the server answered the AP-REQ with a KRB-ERROR.
	ErrServerRejected = errors.New("krbauth: server rejected the authentication")
	// ErrMutualAuth: the AP-REP did not prove the server's identity.
	ErrMutualAuth = errors.New("krbauth: mutual authentication failed")
)

// NoCCacheError reports a missing or unusable credentials cache.
type NoCCacheError struct {
	Path   string // the cache file that was tried
	Reason string // e.g. "no such file", "no TGT for realm R"
}

func (e *NoCCacheError) Error() string {
	return fmt.Sprintf("krbauth: no credentials cache at %s (%s): run kinit", e.Path, e.Reason)
}

// Unwrap returns ErrNoCCache.
func (e *NoCCacheError) Unwrap() error { return ErrNoCCache }

// TicketExpiredError reports an expired ticket in the credentials cache.
type TicketExpiredError struct {
	Principal string    // the ticket's server, e.g. krbtgt/R@R
	Client    string    // the cache's client principal
	EndTime   time.Time // when it expired
	CCache    string    // cache path
}

func (e *TicketExpiredError) Error() string {
	return fmt.Sprintf("krbauth: ticket %s of %s in %s expired at %s: run kinit",
		e.Principal, e.Client, e.CCache, e.EndTime.Local().Format(time.RFC3339))
}

// Unwrap returns ErrTicketExpired.
func (e *TicketExpiredError) Unwrap() error { return ErrTicketExpired }

// KDCError is a KRB-ERROR returned by the KDC for a ticket request.
type KDCError struct {
	Server string // the principal that was asked for
	Code   int32  // RFC 4120 error code
	Text   string // e-text, if any
}

func (e *KDCError) Error() string {
	switch e.Code {
	case errCodeSPrincipalUnknown:
		return fmt.Sprintf("krbauth: server principal %s is unknown to the KDC (check the host name or -k realm)", e.Server)
	case errCodeWrongRealm:
		return fmt.Sprintf("krbauth: KDC says %s is in another realm (try -k realm)", e.Server)
	}
	s := fmt.Sprintf("krbauth: KDC refused a ticket for %s: %s", e.Server, errorCodeName(e.Code))
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

// Unwrap returns the sentinel matching the code.
func (e *KDCError) Unwrap() error {
	switch e.Code {
	case errCodeSPrincipalUnknown:
		return ErrUnknownServer
	case errCodeWrongRealm:
		return ErrWrongRealm
	}
	return ErrKDC
}

// KDCUnreachableError lists the KDC addresses that were tried.
type KDCUnreachableError struct {
	Realm string
	Tried []string // "tcp 127.0.0.1:88: connection refused", ...
}

func (e *KDCUnreachableError) Error() string {
	return fmt.Sprintf("krbauth: no KDC for realm %s answered (tried %s)", e.Realm, strings.Join(e.Tried, "; "))
}

// Unwrap returns ErrKDCUnreachable.
func (e *KDCUnreachableError) Unwrap() error { return ErrKDCUnreachable }

// WrongRealmError reports a realm that krb5.conf or the keytab does not know.
type WrongRealmError struct {
	Realm  string
	Reason string
}

func (e *WrongRealmError) Error() string {
	return fmt.Sprintf("krbauth: realm %s: %s", e.Realm, e.Reason)
}

// Unwrap returns ErrWrongRealm.
func (e *WrongRealmError) Unwrap() error { return ErrWrongRealm }

// KeytabError reports that the keytab cannot decrypt a ticket.
type KeytabError struct {
	Path      string // keytab path
	Principal string // ticket's server principal with realm
	KVNO      int    // ticket's key version
	EType     int32  // ticket's enctype
	Have      []int  // key versions the keytab has for the principal (any enctype)
	Err       error  // ErrNoKey, ErrWrongKVNO, ErrBadIntegrity or ErrNoKeytab
}

func (e *KeytabError) Error() string {
	switch e.Err {
	case ErrWrongKVNO:
		return fmt.Sprintf("krbauth: keytab %s has no key version %d for %s (it has %v): the service key changed after the ticket was issued; re-export the keytab or have the client get a new ticket (kdestroy; kinit)",
			e.Path, e.KVNO, e.Principal, e.Have)
	case ErrBadIntegrity:
		return fmt.Sprintf("krbauth: key version %d (%s) of %s in keytab %s does not decrypt the ticket: keytab out of date or ticket tampered",
			e.KVNO, EnctypeName(e.EType), e.Principal, e.Path)
	}
	return fmt.Sprintf("krbauth: keytab %s has no key for %s kvno %d enctype %s", e.Path, e.Principal, e.KVNO, EnctypeName(e.EType))
}

// Unwrap returns the sentinel in Err.
func (e *KeytabError) Unwrap() error { return e.Err }

// ClockSkewError shows both clocks when they differ too much.
type ClockSkewError struct {
	ServerTime time.Time     // the verifier's clock
	ClientTime time.Time     // the authenticator's ctime+cusec
	Limit      time.Duration // allowed skew
}

func (e *ClockSkewError) Error() string {
	return fmt.Sprintf("krbauth: clock skew too great: server time %s, client time %s (difference %s, limit %s): synchronise the clocks",
		e.ServerTime.UTC().Format(time.RFC3339Nano), e.ClientTime.UTC().Format(time.RFC3339Nano),
		absDuration(e.ServerTime.Sub(e.ClientTime)).Round(time.Millisecond), e.Limit)
}

// Unwrap returns ErrClockSkew.
func (e *ClockSkewError) Unwrap() error { return ErrClockSkew }

// ReplayError reports a replayed authenticator.
type ReplayError struct {
	Client string
	CTime  time.Time // authenticator time
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("krbauth: replayed authenticator from %s (ctime %s)", e.Client, e.CTime.UTC().Format(time.RFC3339Nano))
}

// Unwrap returns ErrReplay.
func (e *ReplayError) Unwrap() error { return ErrReplay }

// AppVersionError reports the application version the peer refused (client
// side) or the caller's callback refused (server side).
type AppVersionError struct {
	Version string
}

func (e *AppVersionError) Error() string {
	return fmt.Sprintf("krbauth: application version %q rejected by the peer: it is probably a legacy server (use the legacy protocol option)", e.Version)
}

// Unwrap returns ErrAppVersionRejected.
func (e *AppVersionError) Unwrap() error { return ErrAppVersionRejected }

// ServerError is a KRB-ERROR the server sent in answer to our AP-REQ.
type ServerError struct {
	Code       int32
	Text       string
	ServerTime time.Time // stime of the KRB-ERROR
	ClientTime time.Time // our authenticator's time, for skew errors
}

func (e *ServerError) Error() string {
	s := fmt.Sprintf("krbauth: server rejected authentication: %s", errorCodeName(e.Code))
	if e.Text != "" {
		s += ": " + e.Text
	}
	if e.Code == errCodeSkew && !strings.Contains(e.Text, "client time") {
		s += fmt.Sprintf(" (server time %s, client time %s)", e.ServerTime.UTC().Format(time.RFC3339), e.ClientTime.UTC().Format(time.RFC3339))
	}
	return s
}

// Unwrap returns ErrServerRejected plus the sentinel matching the code.
func (e *ServerError) Unwrap() []error {
	out := []error{ErrServerRejected}
	if s := sentinelForCode(e.Code); s != nil {
		out = append(out, s)
	}
	return out
}

// malformed wraps a parse failure as ErrMalformed with context.
func malformed(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}

// recoverErr turns a panic from gokrb5 on garbage input into an error; use
// as `defer recoverErr(&err, "what")` at every API boundary.
func recoverErr(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: parser failure: %v", ErrMalformed, what, r)
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
