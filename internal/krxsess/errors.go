package krxsess

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors from this package wrap one of these (often
// inside a struct error for errors.As), or an error of krbauth, krxproto,
// cfbstream, oob or the network.
var (
	// ErrLegacyServer: the server does not speak krx (see LegacyServerError).
	ErrLegacyServer = errors.New("krxsess: server speaks only legacy kcmd framing")
	// ErrBinding: the parameters received inside the encrypted stream do
	// not match the authenticator checksum, or the checksum is missing or
	// unkeyed (server side).
	ErrBinding = errors.New("krxsess: connection parameters do not match the authenticator checksum")
	// ErrNoSubkey: the AP-REQ carried no subkey (server side).
	ErrNoSubkey = errors.New("krxsess: AP-REQ without a subkey")
	// ErrSubkeyMismatch: the AP-REP carried a subkey other than ours.
	ErrSubkeyMismatch = errors.New("krxsess: AP-REP subkey differs from the client's")
	// ErrNotKRX: Start was called on a connection that negotiated another
	// application version.
	ErrNotKRX = errors.New("krxsess: not a krx connection")
	// ErrWrongService: a method of the other service (login vs shell).
	ErrWrongService = errors.New("krxsess: method not available for this service")
	// ErrNoStderr: no stderr channel was requested.
	ErrNoStderr = errors.New("krxsess: the session has no stderr channel")
	// ErrStderrTimeout: the server did not connect a valid stderr channel in time.
	ErrStderrTimeout = errors.New("krxsess: no valid stderr connection from the server")
	// ErrStatusSent: Accept or Refuse was already called.
	ErrStatusSent = errors.New("krxsess: status already sent")
)

// LegacyFlag is the client option that will allow legacy KCMDV0.2 framing.
const LegacyFlag = "--legacy"

// LegacyServerError reports a server that refused krx's application version
// (answer 02), answered in clear, or closed the connection before an
// encrypted status: a legacy klogind/kshd. krx never downgrades silently.
type LegacyServerError struct {
	Host   string // as the caller named it, may be ""
	Reason string // what the server did, e.g. "refused application version KRXCFB01 (answer 02)"
	Text   string // a clear-text message the server sent, if any
	Err    error  // underlying error, or nil
}

func (e *LegacyServerError) Error() string {
	host := e.Host
	if host == "" {
		host = "server"
	}
	s := fmt.Sprintf("%s speaks only legacy kcmd framing (%s", host, e.Reason)
	if e.Text != "" {
		s += fmt.Sprintf("; it said %q", e.Text)
	}
	return s + "); " + LegacyFlag + " would allow KCMDV0.2, but legacy framing is not implemented yet"
}

// Unwrap returns ErrLegacyServer and the underlying error.
func (e *LegacyServerError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrLegacyServer, e.Err}
	}
	return []error{ErrLegacyServer}
}

// BindingError reports why the server refused the connection parameters.
type BindingError struct {
	Client string // the authenticated principal
	Reason string
	Err    error // krbauth's checksum error, or nil
}

func (e *BindingError) Error() string {
	s := fmt.Sprintf("krxsess: refusing %s: %s", e.Client, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrBinding and the underlying error.
func (e *BindingError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrBinding, e.Err}
	}
	return []error{ErrBinding}
}
