package krxsess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
	"github.com/krx-suite/krx/oob"
)

// DefaultTimeout bounds the whole envelope (version exchange to status)
// when a config leaves Timeout zero.
const DefaultTimeout = 60 * time.Second

// ClientConfig is what a krx client (rlogin -x, rsh -x, rcp -x) tells Dial.
type ClientConfig struct {
	Service    krxproto.Service // Login or Shell
	ServerUser string           // account on the server (-l)
	ClientUser string           // the local user name
	Payload    string           // "term/speed" (login) or the command (shell)
	// Ticket is the service ticket for host/<server> (krbauth
	// Client.ServiceTicket).
	Ticket *krbauth.ServiceTicket
	// Stderr asks for a separate stderr channel (shell only): the client
	// listens on an ephemeral port of its connection's local address.
	Stderr bool
	// Forward, if set, forwards a TGT (rsh/rlogin -f/-F).
	Forward *krbauth.ForwardOptions
	// Host names the server in error messages.
	Host string
	// Timeout bounds the envelope (0: DefaultTimeout).
	Timeout time.Duration

	// tamperParams lets tests send other strings than the ones bound.
	tamperParams func(*krxproto.Params)
}

// ClientSession is an established krx session, client side: the main
// channel's client→server Encrypter and server→client Decrypter (there is
// no way to get the other two), and for a shell session with Stderr the
// listener for the stderr channel.
type ClientSession struct {
	conn    *net.TCPConn
	svc     krxproto.Service
	host    string
	Result  *krbauth.ClientResult // who we are, the server, the keys' enctype
	wmu     sync.Mutex
	w       *cfbstream.Writer
	wbuf    []byte
	dec     *cfbstream.Decrypter
	rmu     sync.Mutex
	out     atomic.Pointer[oob.Chain] // CopyOutput's chain while it runs
	stderrL *net.TCPListener
	key     krbauth.Key // subkey, kept only until the stderr channel is set up
}

// Dial connects to address with SO_OOBINLINE set before the connection
// exists and runs the krx envelope (Handshake). On error the connection is
// closed.
func Dial(ctx context.Context, address string, cfg ClientConfig) (*ClientSession, error) {
	d := net.Dialer{Control: oob.Control}
	c, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	s, err := Handshake(c.(*net.TCPConn), cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// Handshake runs the client side of the envelope on conn (docs/protocol.md
// §3–6): SO_OOBINLINE, the stderr-port field, sendauth with KRXCFB01 and a
// keyed checksum over the binding, the verified AP-REP, the derived CFB-64
// pair, the encrypted strings and credentials, and the encrypted status. A
// server that refuses gives *krxproto.StatusError; a legacy server a
// *LegacyServerError. The caller keeps ownership of conn on error.
func Handshake(conn *net.TCPConn, cfg ClientConfig) (_ *ClientSession, err error) {
	if cfg.Ticket == nil {
		return nil, errors.New("krxsess: no service ticket")
	}
	if cfg.Stderr && cfg.Service != krxproto.Shell {
		return nil, fmt.Errorf("%w: a stderr channel is for the shell service", ErrWrongService)
	}
	params := krxproto.Params{ServerUser: cfg.ServerUser, Payload: cfg.Payload, ClientUser: cfg.ClientUser}
	if _, err := params.AppendTo(nil, cfg.Service); err != nil {
		return nil, err
	}
	if err := oob.SetInline(conn); err != nil {
		return nil, err
	}
	var fc *krbauth.ForwardedCred
	if cfg.Forward != nil {
		if fc, err = krbauth.FetchForwardedTGT(*cfg.Forward); err != nil {
			return nil, err
		}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	s := &ClientSession{conn: conn, svc: cfg.Service, host: cfg.Host}
	defer func() {
		if err != nil && s.stderrL != nil {
			s.stderrL.Close()
		}
	}()
	stderrPort := 0
	if cfg.Stderr {
		laddr := conn.LocalAddr().(*net.TCPAddr)
		lc := net.ListenConfig{Control: oob.Control}
		ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(laddr.IP.String(), "0"))
		if err != nil {
			return nil, fmt.Errorf("krxsess: stderr listener: %w", err)
		}
		s.stderrL = ln.(*net.TCPListener)
		stderrPort = s.stderrL.Addr().(*net.TCPAddr).Port
	}
	// Stderr-port field (docs/protocol.md §3), in clear as kcmd sends it.
	field := []byte{0}
	if stderrPort != 0 {
		field = append(strconv.AppendInt(nil, int64(stderrPort), 10), 0)
	}
	if _, err := conn.Write(field); err != nil {
		return nil, err
	}
	bind, err := krxproto.Binding{
		Service: cfg.Service, ServerPort: conn.RemoteAddr().(*net.TCPAddr).Port, StderrPort: stderrPort,
		ServerUser: cfg.ServerUser, Payload: cfg.Payload, ClientUser: cfg.ClientUser, Forward: fc != nil,
	}.Marshal()
	if err != nil {
		return nil, err
	}
	cr := &countReader{r: conn}
	res, err := krbauth.SendAuth(struct {
		io.Reader
		io.Writer
	}{cr, conn}, cfg.Ticket, krbauth.SendAuthOptions{
		AppVersion: krxproto.AppVersion, ChecksumData: bind, Checksum: krbauth.ChecksumKeyed,
	})
	if err != nil {
		return nil, s.sendAuthError(err, cr.n)
	}
	s.Result = res
	if res.Subkey.IsZero() {
		return nil, errors.New("krxsess: sendauth sent no subkey")
	}
	if !res.ServerSubkey.IsZero() && !subkeyEqual(res.ServerSubkey, res.Subkey) {
		return nil, ErrSubkeyMismatch
	}
	enc, dec, err := pair(res.Subkey, cfbstream.Client, cfbstream.Main)
	if err != nil {
		return nil, err
	}
	s.w, s.dec = cfbstream.NewWriter(conn, enc), dec
	if cfg.Stderr {
		s.key = krbauth.Key{Type: res.Subkey.Type, Value: append([]byte(nil), res.Subkey.Value...)}
	}
	if cfg.tamperParams != nil {
		cfg.tamperParams(&params)
	}
	msg, err := params.AppendTo(make([]byte, 0, 512), cfg.Service)
	if err != nil {
		return nil, err
	}
	var der []byte
	if fc != nil {
		if der, err = krbauth.BuildKRBCred(fc, res.Subkey); err != nil {
			return nil, err
		}
	}
	if msg, err = krxproto.AppendCred(msg, der); err != nil {
		return nil, err
	}
	if _, err := s.w.Write(msg); err != nil {
		return nil, err
	}
	if err := s.readStatus(); err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return s, nil
}

// sendAuthError turns SendAuth's failures that mean "legacy server" into a
// *LegacyServerError: answer 02, or a close before any answer byte.
func (s *ClientSession) sendAuthError(err error, answered int) error {
	if errors.Is(err, krbauth.ErrAppVersionRejected) {
		return &LegacyServerError{Host: s.host, Reason: "it refused application version " + krxproto.AppVersion + " (answer 02)", Err: err}
	}
	if answered == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)) {
		return &LegacyServerError{Host: s.host, Reason: "it closed the connection at the application version", Err: err}
	}
	return err
}

// maxLegacyText bounds the clear text read from a legacy server's refusal.
const maxLegacyText = 1024

// readStatus reads the encrypted status. The raw bytes are kept: if they
// do not decrypt to the tag, the server is a legacy one answering in clear
// (00 or 01 + text) or garbage; its clear text is reported.
func (s *ClientSession) readStatus() error {
	var raw, head [krxproto.StatusLen]byte
	n, err := io.ReadFull(s.conn, raw[:])
	if err != nil {
		return s.legacyStatus(raw[:n], err)
	}
	s.dec.XORKeyStream(head[:], raw[:])
	err = krxproto.CheckStatus(head, readerFunc(s.readDecrypted))
	if errors.Is(err, krxproto.ErrBadTag) {
		return s.legacyStatus(raw[:], nil)
	}
	return err
}

func (s *ClientSession) legacyStatus(raw []byte, rerr error) error {
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		return fmt.Errorf("krxsess: no status from the server: %w", rerr)
	}
	e := &LegacyServerError{Host: s.host, Reason: "no encrypted krx status after the AP exchange", Err: rerr}
	if len(raw) == 0 {
		e.Reason = "it closed the connection after the AP exchange"
		return e
	}
	if raw[0] == 1 || raw[0] == 0 { // kcmd's clear status: 00, or 01 + text + \n
		e.Reason = fmt.Sprintf("it answered with a clear status byte %02x", raw[0])
		if raw[0] == 0 {
			return e
		}
		text := append([]byte(nil), raw[1:]...)
		if rerr == nil {
			var b [1]byte
			for len(text) < maxLegacyText && (len(text) == 0 || text[len(text)-1] != '\n') {
				if _, err := s.conn.Read(b[:]); err != nil {
					break
				}
				text = append(text, b[0])
			}
		}
		e.Text = trimText(text)
	}
	return e
}

func trimText(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return string(b)
}

// readDecrypted reads and decrypts from the main channel.
func (s *ClientSession) readDecrypted(p []byte) (int, error) {
	n, err := s.conn.Read(p)
	s.dec.XORKeyStream(p[:n], p[:n])
	return n, err
}

// Conn returns the main connection.
func (s *ClientSession) Conn() *net.TCPConn { return s.conn }

// Service returns the session's service.
func (s *ClientSession) Service() krxproto.Service { return s.svc }

// Read reads and decrypts the server's output of a shell session (the
// command's stdout, or stdout and stderr merged without a stderr channel).
func (s *ClientSession) Read(p []byte) (int, error) {
	if s.svc != krxproto.Shell {
		return 0, fmt.Errorf("%w: use CopyOutput for a login session", ErrWrongService)
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.readDecrypted(p)
}

// Write encrypts and sends p as the command's stdin (shell session).
func (s *ClientSession) Write(p []byte) (int, error) {
	if s.svc != krxproto.Shell {
		return 0, fmt.Errorf("%w: use Input for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.w.Write(p)
}

// ReadFrom copies r to the command's stdin (shell session) until EOF,
// reading, encrypting and sending in an overlapping pipeline
// (cfbstream.CopyEncrypted); it does not half-close. It returns the bytes
// sent. After an error the client→server stream is out of step (ciphertext
// may have been dropped inside the pipeline) and the session must be
// closed; other writes wait until ReadFrom returns.
func (s *ClientSession) ReadFrom(r io.Reader) (int64, error) {
	if s.svc != krxproto.Shell {
		return 0, fmt.Errorf("%w: use Input for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return cfbstream.CopyEncrypted(s.conn, r, s.w.Encrypter())
}

// CloseWrite half-closes the main connection: the command sees EOF on stdin.
func (s *ClientSession) CloseWrite() error { return s.conn.CloseWrite() }

// Close closes the main connection and any stderr listener.
func (s *ClientSession) Close() error {
	if s.stderrL != nil {
		s.stderrL.Close()
	}
	clear(s.key.Value)
	return s.conn.Close()
}

// pair derives role's encrypter and decrypter for channel ch from the
// subkey.
func pair(k krbauth.Key, role cfbstream.Role, ch cfbstream.Channel) (*cfbstream.Encrypter, *cfbstream.Decrypter, error) {
	et, err := k.EType()
	if err != nil {
		return nil, nil, err
	}
	return cfbstream.NewPair(et, k.Value, role, ch)
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
