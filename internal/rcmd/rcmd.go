package rcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rport"
)

// ShellPort is the TCP port of the "shell" service (rsh, rcp; /etc/services).
const ShellPort = 514

// DefaultSetupTimeout bounds the wait for the server's stderr connection
// when neither Options.SetupTimeout nor the context sets a shorter one.
// (glibc rcmd() waits for ever; netkit rshd gives up on its side after 60 s.)
const DefaultSetupTimeout = 30 * time.Second

// Sentinel errors, wrapped by *Error.
var (
	// ErrCircuit: the stderr connection was not set up as the protocol
	// requires — data arrived on the main connection first, or the server
	// connected back from a non-reserved port or a foreign address (glibc
	// rcmd(): "protocol failure in circuit setup").
	ErrCircuit = errors.New("rcmd: protocol failure in circuit setup")
	// ErrNoStatus: the server closed the connection before its status
	// byte (netkit rshd exits silently on some refusals).
	ErrNoStatus = errors.New("rcmd: server closed the connection before the status byte")
	// ErrRefused: the server answered the handshake with a non-zero status.
	ErrRefused = errors.New("rcmd: refused by server")
	// ErrSetupTimeout: the server did not connect back for the stderr
	// channel in time.
	ErrSetupTimeout = errors.New("rcmd: timed out waiting for the stderr connection")
)

// Error reports a failed step of Dial.
type Error struct {
	Op   string // "connect", "stderr listen", "stderr accept", "handshake", "status"
	Addr string // the server's address as given to Dial
	Err  error
}

// Error names the step, the address and the cause.
func (e *Error) Error() string { return fmt.Sprintf("rcmd: %s %s: %v", e.Op, e.Addr, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// RefusedError is the server's refusal: the status byte (netkit servers
// send 1) and its message exactly as received, without the final '\n'.
type RefusedError struct {
	Code    byte
	Message string
}

// Error returns the server's message verbatim (a trailing '\r' removed),
// as glibc rcmd() prints it.
func (e *RefusedError) Error() string { return strings.TrimSuffix(e.Message, "\r") }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Options are the handshake strings and channel choice of one Dial.
type Options struct {
	// ClientUser is the login name on this host; "" means the current
	// user's (os/user.Current).
	ClientUser string
	// ServerUser is the account on the server; "" means ClientUser.
	ServerUser string
	// Command is the command line to run (see Command); rcp sends
	// "rcp … -t|-f path".
	Command string
	// Stderr asks for the separate stderr channel (rsh); rcp does not.
	Stderr bool
	// SetupTimeout bounds the wait for the stderr connection; 0 means
	// DefaultSetupTimeout. The context's deadline applies too.
	SetupTimeout time.Duration
	// Dialer is the template for the main connection (timeouts, local
	// address); its local port is always a reserved one.
	Dialer net.Dialer
}

// Conn is an established rcmd session. The embedded *net.TCPConn is the
// main connection: the command's stdin (write) and stdout (read); its
// ReadFrom uses sendfile/splice. Stderr is the stderr channel (nil unless
// requested): read the command's stderr from it, write compat.Signal bytes
// to it.
type Conn struct {
	*net.TCPConn
	Stderr *net.TCPConn
}

// Close closes both connections.
func (c *Conn) Close() error {
	err := c.TCPConn.Close()
	if c.Stderr != nil {
		if e := c.Stderr.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Command joins args with single spaces, as netkit rsh's copyargs() does:
// the server hands the string to the user's shell, so quoting is the
// caller's business.
func Command(args []string) string { return strings.Join(args, " ") }

// CurrentUser returns the login name of the process's user.
func CurrentUser() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("rcmd: who am I: %w", err)
	}
	return u.Username, nil
}

// Dial runs the rcmd handshake with the server at addr ("host:port") and
// returns the session once the server has accepted it. The context bounds
// the whole set-up; it does not affect the returned Conn.
func Dial(ctx context.Context, addr string, o Options) (*Conn, error) {
	if o.ClientUser == "" {
		u, err := CurrentUser()
		if err != nil {
			return nil, err
		}
		o.ClientUser = u
	}
	if o.ServerUser == "" {
		o.ServerUser = o.ClientUser
	}
	h := compat.Handshake{ClientUser: o.ClientUser, ServerUser: o.ServerUser, Payload: o.Command}
	if _, err := h.Marshal(); err != nil { // refuse bad strings before connecting
		return nil, &Error{Op: "handshake", Addr: addr, Err: err}
	}
	d := rport.Dialer{Base: o.Dialer}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &Error{Op: "connect", Addr: addr, Err: err}
	}
	c := &Conn{TCPConn: nc.(*net.TCPConn)}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	// The set-up as a whole obeys ctx: closing the sockets ends any wait.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if o.Stderr {
		if c.Stderr, h.StderrPort, err = acceptStderr(ctx, c.TCPConn, o.SetupTimeout); err != nil {
			return nil, &Error{Op: "stderr channel", Addr: addr, Err: ctxErr(ctx, err)}
		}
	} else if _, err := c.Write([]byte{0}); err != nil {
		return nil, &Error{Op: "handshake", Addr: addr, Err: ctxErr(ctx, err)}
	}
	// The secondary-port field has been sent; now the three strings, in
	// one write.
	b, _ := h.Marshal()
	if _, err := c.Write(b[strings.IndexByte(string(b), 0)+1:]); err != nil {
		return nil, &Error{Op: "handshake", Addr: addr, Err: ctxErr(ctx, err)}
	}
	st, err := compat.ReadStatus(c.TCPConn)
	if err != nil && st.Code == compat.StatusOK {
		if errors.Is(err, compat.ErrNoStatus) && ctx.Err() == nil {
			err = ErrNoStatus
		}
		return nil, &Error{Op: "status", Addr: addr, Err: ctxErr(ctx, err)}
	}
	if !st.OK() {
		return nil, &RefusedError{Code: st.Code, Message: st.Message}
	}
	if !stop() {
		return nil, &Error{Op: "status", Addr: addr, Err: ctx.Err()}
	}
	c.SetDeadline(time.Time{})
	ok = true
	return c, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// acceptStderr listens on a reserved port on the main connection's local
// address, sends the port field and waits for the server to connect back.
// Whatever arrives first decides: the connection (checked: reserved source
// port, the server's address) or a byte on main (ErrCircuit, with the
// server's message when it is a refusal).
func acceptStderr(ctx context.Context, main *net.TCPConn, timeout time.Duration) (*net.TCPConn, int, error) {
	local := main.LocalAddr().(*net.TCPAddr)
	remote := main.RemoteAddr().(*net.TCPAddr)
	ln, port, err := rport.Listen(ctx, "tcp", local.IP.String())
	if err != nil {
		return nil, 0, err
	}
	defer ln.Close()
	if timeout <= 0 {
		timeout = DefaultSetupTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	tl := ln.(*net.TCPListener)
	tl.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { tl.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := fmt.Fprintf(main, "%d\x00", port); err != nil {
		return nil, 0, err
	}
	// Watch the main connection for data while accepting.
	type peek struct {
		b   byte
		n   int
		err error
	}
	peeked := make(chan peek, 1)
	go func() {
		var b [1]byte
		n, err := main.Read(b[:])
		peeked <- peek{b[0], n, err}
	}()
	type acc struct {
		c   *net.TCPConn
		err error
	}
	accepted := make(chan acc, 1)
	go func() {
		c, err := tl.AcceptTCP()
		accepted <- acc{c, err}
	}()
	select {
	case a := <-accepted:
		main.SetReadDeadline(time.Unix(1, 0)) // end the watcher
		p := <-peeked
		main.SetReadDeadline(time.Time{})
		if a.err != nil {
			if p.n == 1 {
				return nil, 0, circuitFailure(main, p.b)
			}
			if errors.Is(a.err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return nil, 0, ErrSetupTimeout
			}
			return nil, 0, a.err
		}
		if p.n == 1 {
			a.c.Close()
			return nil, 0, circuitFailure(main, p.b)
		}
		from := a.c.RemoteAddr().(*net.TCPAddr)
		if !rport.Reserved(from.Port) || !from.IP.Equal(remote.IP) {
			a.c.Close()
			return nil, 0, fmt.Errorf("%w: server connected back from %v", ErrCircuit, from)
		}
		return a.c, port, nil
	case p := <-peeked:
		tl.SetDeadline(time.Unix(1, 0)) // end the accept
		if a := <-accepted; a.err == nil {
			a.c.Close()
		}
		if p.n == 1 {
			return nil, 0, circuitFailure(main, p.b)
		}
		if p.err == io.EOF {
			return nil, 0, fmt.Errorf("%w: server closed the connection", ErrCircuit)
		}
		return nil, 0, p.err
	}
}

// circuitFailure reports data on the main connection before the stderr
// connection; if it is a refusal, its message is included.
func circuitFailure(main *net.TCPConn, first byte) error {
	if first == compat.StatusOK {
		return fmt.Errorf("%w: status byte before the stderr connection", ErrCircuit)
	}
	main.SetReadDeadline(time.Now().Add(time.Second))
	defer main.SetReadDeadline(time.Time{})
	st, _ := compat.ReadStatus(io.MultiReader(strings.NewReader(string([]byte{first})), main))
	return fmt.Errorf("%w: server said %q", ErrCircuit, strings.TrimSuffix(st.Message, "\r"))
}
