package krxclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/rcmd"
	"github.com/krx-suite/krx/krbauth"
)

// Default ports of the krx services (docs/protocol.md §2, /etc/services
// eklogin and kshell).
const (
	LoginPort = krxproto.PortEklogin // 2105, rlogin -x
	ShellPort = krxproto.PortKshell  // 544, rsh -x and rcp -x
)

// ErrNoService: nothing accepts connections on the krx port.
var ErrNoService = errors.New("krxclient: no krx service")

// NoServiceError reports a refused connection to a krx port: the host
// runs no krx daemon there (or a firewall refuses). krx does not retry in
// the clear.
type NoServiceError struct {
	Addr string // host:port dialled
	Err  error
}

// Error names the address and says how to get a plain session.
func (e *NoServiceError) Error() string {
	return fmt.Sprintf("no krx service at %s (%v); refusing to fall back to the plain protocol: use -X for an unencrypted session", e.Addr, e.Err)
}

// Unwrap returns ErrNoService and the cause.
func (e *NoServiceError) Unwrap() []error { return []error{ErrNoService, e.Err} }

// Options are what the command line says about one krx connection.
type Options struct {
	// Host is the server's name as the user gave it; the service ticket
	// is for host/<Host>.
	Host string
	// Port is the server port (0: the service's default, LoginPort or
	// ShellPort).
	Port int
	// Realm is -k: the realm of the service ticket ("" = krb5.conf's
	// domain_realm mapping, else the default realm).
	Realm string
	// Forward (-f) forwards a TGT; Forwardable (-F) forwards one that
	// may be forwarded again (and implies Forward).
	Forward, Forwardable bool
	// ServerUser is the remote account (-l; "" = ClientUser).
	ServerUser string
	// ClientUser is the local user name ("" = the current user).
	ClientUser string
	// Krb5Conf and CCache name the Kerberos files ("" = $KRB5_CONFIG,
	// $KRB5CCNAME and their defaults).
	Krb5Conf, CCache string
	// Timeout bounds the envelope (0: krxsess.DefaultTimeout).
	Timeout time.Duration
}

// HaveCCache reports whether a credentials cache file exists where
// krbauth would look for it (ccache flag, else $KRB5CCNAME, else
// /tmp/krb5cc_<uid>): the test for encrypting by default.
func HaveCCache(ccache string) bool {
	p, err := krbauth.CCachePath(ccache)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Addr returns host:port for o and the service's default port.
func (o Options) Addr(svc krxproto.Service) (string, error) {
	if o.Host == "" {
		return "", errors.New("empty host name")
	}
	p := o.Port
	if p == 0 {
		p = ShellPort
		if svc == krxproto.Login {
			p = LoginPort
		}
	}
	if p < 1 || p > 65535 {
		return "", fmt.Errorf("port %d out of range 1-65535", p)
	}
	return net.JoinHostPort(o.Host, strconv.Itoa(p)), nil
}

// Dial gets a service ticket for host/<o.Host> and opens a krx session of
// svc with payload (the command, or "term/speed"), with a stderr channel
// if stderr. Every failure is an error for the user: no ccache ("run
// kinit"), KDC problems, a refused port (*NoServiceError), a legacy server
// (*krxsess.LegacyServerError), or the server's refusal
// (*krxproto.StatusError).
func Dial(ctx context.Context, o Options, svc krxproto.Service, payload string, stderr bool) (*krxsess.ClientSession, error) {
	addr, err := o.Addr(svc)
	if err != nil {
		return nil, err
	}
	cu := o.ClientUser
	if cu == "" {
		if cu, err = rcmd.CurrentUser(); err != nil {
			return nil, err
		}
	}
	su := o.ServerUser
	if su == "" {
		su = cu
	}
	cl, err := krbauth.NewClient(krbauth.ClientOptions{Krb5Conf: o.Krb5Conf, CCache: o.CCache})
	if err != nil {
		return nil, err
	}
	st, err := cl.ServiceTicket(o.Host, o.Realm)
	if err != nil {
		return nil, err
	}
	cfg := krxsess.ClientConfig{
		Service: svc, ServerUser: su, ClientUser: cu, Payload: payload,
		Ticket: st, Stderr: stderr, Host: o.Host, Timeout: o.Timeout,
	}
	if o.Forward || o.Forwardable {
		cfg.Forward = &krbauth.ForwardOptions{Krb5Conf: o.Krb5Conf, CCache: o.CCache, Forwardable: o.Forwardable}
	}
	s, err := krxsess.Dial(ctx, addr, cfg)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &NoServiceError{Addr: addr, Err: syscall.ECONNREFUSED}
		}
		return nil, err
	}
	return s, nil
}
