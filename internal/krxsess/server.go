package krxsess

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
)

// cksumTypeRSAMD5 is unkeyed RSA-MD5 (RFC 3961 §6.1.3), which krx refuses:
// the binding must be a keyed checksum (docs/protocol.md §3).
const cksumTypeRSAMD5 = 7

// EitherService, as ServerConfig.Service, serves both krx services on one
// port (docs/protocol.md §2). A stderr port means shell; otherwise the
// service that the client bound into its authenticator checksum tells
// (login is tried first, then shell). The client cannot choose another
// service than the one it bound, and the session's Service is the one
// that matched.
const EitherService krxproto.Service = "login|shell"

// ServerConfig is what the daemon tells Authenticate.
type ServerConfig struct {
	// Acceptor verifies the AP-REQ (keytab, replay cache, clock skew). Its
	// checksum policy does not matter for krx: Start always requires the
	// keyed checksum over the binding.
	Acceptor *krbauth.Acceptor
	// Service is the service of the port the connection came in on, or
	// EitherService for a port that serves both.
	Service krxproto.Service
	// AcceptVersion says which other application versions (legacy
	// "KCMDV0.1", "KCMDV0.2") the caller will handle itself after
	// Authenticate; nil accepts only krx's.
	AcceptVersion func(appVersion string) bool
	// Timeout bounds the envelope until Accept or Refuse (0: DefaultTimeout).
	Timeout time.Duration
	// Prog names the daemon in refusal texts, e.g. "rlogind".
	Prog string
	// Logf, if set, receives one line per refused connection, with the reason.
	Logf func(format string, args ...any)
}

// ServerAuth is a connection after the AP exchange: the stderr-port field
// and the verified AP-REQ. If AppVersion is krx's, Start continues;
// otherwise the caller handles the legacy framing it accepted.
type ServerAuth struct {
	Conn       *net.TCPConn
	StderrPort int               // 0: no stderr channel
	Accepted   *krbauth.Accepted // AppVersion tells which protocol follows
	cfg        ServerConfig
}

// Authenticate runs the server side of the clear envelope on conn, whose
// SO_OOBINLINE the listener set (oob.Control): the stderr-port field, then
// recvauth accepting KRXCFB01 and whatever cfg.AcceptVersion accepts
// (answer 02 otherwise). The envelope deadline stays set until Accept or
// Refuse.
func Authenticate(conn *net.TCPConn, cfg ServerConfig) (*ServerAuth, error) {
	if cfg.Acceptor == nil {
		return nil, errors.New("krxsess: ServerConfig without an Acceptor")
	}
	if _, err := cfg.Service.Limits(); err != nil && cfg.Service != EitherService {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	port, err := compat.ReadStderrPort(conn)
	if err != nil {
		return nil, err
	}
	if port != 0 && cfg.Service != krxproto.Shell && cfg.Service != EitherService {
		return nil, fmt.Errorf("%w: stderr port %d on the %s service", ErrWrongService, port, cfg.Service)
	}
	// krx requires the checksum whatever the daemon's policy for legacy
	// versions is: the Accepted takes the policy when the AP-REQ is
	// verified, which is after the version is known.
	ac := *cfg.Acceptor
	acc, err := ac.RecvAuth(conn, func(v string) bool {
		if v == krxproto.AppVersion {
			ac.Checksum = krbauth.ChecksumRequire
			return true
		}
		return cfg.AcceptVersion != nil && cfg.AcceptVersion(v)
	})
	if err != nil {
		return nil, err
	}
	return &ServerAuth{Conn: conn, StderrPort: port, Accepted: acc, cfg: cfg}, nil
}

// IsKRX reports whether the client asked for krx's protocol.
func (a *ServerAuth) IsKRX() bool { return a.Accepted.AppVersion == krxproto.AppVersion }

// ServerSession is an established krx session, server side, before or
// after the status: it holds the server→client Encrypter and the
// client→server Decrypter of the main channel (and derives the stderr
// channel's on demand).
type ServerSession struct {
	Conn       *net.TCPConn
	Params     krxproto.Params // server-user, payload, client-user as verified against the binding
	Principal  string          // the authenticated client, name@REALM
	StderrPort int
	Accepted   *krbauth.Accepted
	// Forwarded is the forwarded TGT, checked by krbauth.AcceptKRBCred and
	// ready for krbauth.WriteForwardedCCache; nil if none was sent or it
	// was refused (ForwardErr says why).
	Forwarded  *krbauth.ForwardedCred
	ForwardErr error

	svc    krxproto.Service
	prog   string
	wmu    sync.Mutex
	w      *cfbstream.Writer
	wbuf   []byte
	in     *bufio.Reader
	key    krbauth.Key
	status bool
}

// Start continues a krx connection inside the encrypted stream: it derives
// the pair from the client's subkey, reads the strings and the forwarded
// credentials, checks them against the authenticator checksum (keyed,
// required), and accepts the forwarded TGT. On a binding mismatch it logs
// why, sends an encrypted refusal and returns a *BindingError. It sends no
// status on success: authorise the user, then Accept or Refuse.
func (a *ServerAuth) Start() (*ServerSession, error) {
	acc := a.Accepted
	if !a.IsKRX() {
		return nil, fmt.Errorf("%w: application version %q", ErrNotKRX, acc.AppVersion)
	}
	if acc.Subkey.IsZero() {
		a.logf("refusing %s: AP-REQ without a subkey", acc.Client)
		return nil, ErrNoSubkey
	}
	enc, dec, err := pair(acc.Subkey, cfbstream.Server, cfbstream.Main)
	if err != nil {
		return nil, err
	}
	s := &ServerSession{
		Conn: a.Conn, Principal: acc.Client, StderrPort: a.StderrPort, Accepted: acc,
		svc: a.cfg.Service, prog: a.cfg.Prog, w: cfbstream.NewWriter(a.Conn, enc),
		in:  bufio.NewReaderSize(cfbstream.NewReader(a.Conn, dec), 32<<10),
		key: acc.Subkey,
	}
	if s.prog == "" {
		s.prog = "krx"
	}
	readAs, candidates := s.svc, []krxproto.Service{s.svc}
	if s.svc == EitherService {
		// Read within the larger (shell) limits; each candidate's
		// binding checks its own.
		readAs, candidates = krxproto.Shell, []krxproto.Service{krxproto.Login, krxproto.Shell}
		if a.StderrPort != 0 {
			candidates = candidates[1:]
		}
	}
	p, err := krxproto.ReadParams(s.in, readAs)
	if err != nil {
		return nil, s.refuseWith(a, "bad connection parameters", err)
	}
	der, err := krxproto.ReadCred(s.in)
	if err != nil {
		return nil, s.refuseWith(a, "bad forwarded-credentials message", err)
	}
	for _, svc := range candidates {
		var bind []byte
		bind, err = krxproto.Binding{
			Service: svc, ServerPort: a.Conn.LocalAddr().(*net.TCPAddr).Port, StderrPort: a.StderrPort,
			ServerUser: p.ServerUser, Payload: p.Payload, ClientUser: p.ClientUser, Forward: der != nil,
		}.Marshal()
		if err == nil {
			err = acc.VerifyChecksum(bind)
		}
		if err == nil {
			s.svc = svc
			break
		}
	}
	switch {
	case err != nil:
		return nil, s.refuseWith(a, "parameters do not match the authenticator checksum", err)
	case !acc.ChecksumVerified:
		return nil, s.refuseWith(a, "no authenticator checksum", nil)
	case acc.ChecksumType == cksumTypeRSAMD5:
		return nil, s.refuseWith(a, "unkeyed (rsa-md5) authenticator checksum", nil)
	}
	s.Params = p
	if der != nil {
		s.Forwarded, s.ForwardErr = krbauth.AcceptKRBCred(der, []krbauth.Key{acc.Subkey, acc.SessionKey}, acc.Client, a.cfg.Acceptor.ClockSkew)
		if s.ForwardErr != nil {
			a.logf("%s: forwarded credentials refused: %v", acc.Client, s.ForwardErr)
		}
	}
	return s, nil
}

func (a *ServerAuth) logf(format string, args ...any) {
	if a.cfg.Logf != nil {
		a.cfg.Logf(format, args...)
	}
}

// refuseWith logs the reason, sends an encrypted refusal that does not
// reveal details, and returns a *BindingError.
func (s *ServerSession) refuseWith(a *ServerAuth, reason string, err error) error {
	be := &BindingError{Client: a.Accepted.Client, Reason: reason, Err: err}
	a.logf("%v", be)
	_ = s.Refuse("connection parameters refused (" + reason + ")")
	return be
}

// Accept sends the encrypted accepting status and clears the envelope
// deadline; the data phase begins.
func (s *ServerSession) Accept() error {
	st, _ := krxproto.AppendStatus(nil, true, "")
	return s.sendStatus(st)
}

// Refuse sends the encrypted refusal "<prog>: msg" (a newline in msg is
// replaced); the caller then closes the connection.
func (s *ServerSession) Refuse(msg string) error {
	text := []byte(s.prog + ": " + msg)
	for i, c := range text {
		if c == '\n' {
			text[i] = ' '
		}
	}
	st, err := krxproto.AppendStatus(nil, false, string(text[:min(len(text), compat.MaxStatusLen)]))
	if err != nil {
		return err
	}
	return s.sendStatus(st)
}

func (s *ServerSession) sendStatus(st []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.status {
		return ErrStatusSent
	}
	s.status = true
	if _, err := s.w.Write(st); err != nil {
		return err
	}
	return s.Conn.SetDeadline(time.Time{})
}

// Service returns the session's service.
func (s *ServerSession) Service() krxproto.Service { return s.svc }

// Read reads the client's decrypted input of a shell session (the
// command's stdin).
func (s *ServerSession) Read(p []byte) (int, error) {
	if s.svc != krxproto.Shell {
		return 0, fmt.Errorf("%w: use Input for a login session", ErrWrongService)
	}
	return s.in.Read(p)
}

// Write encrypts and sends p as the command's output (shell session).
func (s *ServerSession) Write(p []byte) (int, error) {
	if s.svc != krxproto.Shell {
		return 0, fmt.Errorf("%w: use Output for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.w.Write(p)
}

// ReadFrom copies r (the command's output) to the client (shell session)
// until EOF, reading, encrypting and sending in an overlapping pipeline
// (cfbstream.CopyEncrypted); it does not half-close. It returns the bytes
// sent. After an error the server→client stream is out of step and the
// session must be closed; other writes wait until ReadFrom returns.
func (s *ServerSession) ReadFrom(r io.Reader) (int64, error) {
	if s.svc != krxproto.Shell {
		return 0, fmt.Errorf("%w: use Output for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return cfbstream.CopyEncrypted(s.Conn, r, s.w.Encrypter())
}

// CloseWrite half-closes the main connection (the command's stdout ended).
func (s *ServerSession) CloseWrite() error { return s.Conn.CloseWrite() }

// Close closes the main connection and forgets the key.
func (s *ServerSession) Close() error {
	clear(s.key.Value)
	return s.Conn.Close()
}

// subkeyEqual compares two keys in constant time.
func subkeyEqual(a, b krbauth.Key) bool {
	return a.Type == b.Type && subtle.ConstantTimeCompare(a.Value, b.Value) == 1
}

var _ io.ReadWriter = (*ServerSession)(nil)
