package rshc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rcmd"
)

// Sentinel errors, wrapped by *Error.
var (
	// ErrConnection: a connection broke during the data phase.
	ErrConnection = errors.New("rshc: connection lost")
	// ErrNoSignalChannel: Signal was called on a session without a
	// stderr channel.
	ErrNoSignalChannel = errors.New("rshc: no stderr channel to send signals on")
)

// Error reports a failed relay of the data phase.
type Error struct {
	Channel string // "main" or "stderr"
	Op      string // "read" or "write"
	Err     error
}

// Error names the channel and the cause.
func (e *Error) Error() string {
	return fmt.Sprintf("rshc: %s channel %s: %v", e.Channel, e.Op, e.Err)
}

// Unwrap returns the cause and ErrConnection.
func (e *Error) Unwrap() []error { return []error{ErrConnection, e.Err} }

// Config is one rsh invocation.
type Config struct {
	// Addr is the server's "host:port" (shell service, 514).
	Addr string
	// ClientUser is the local login name ("" = current user); ServerUser
	// the remote account ("" = ClientUser).
	ClientUser, ServerUser string
	// Command is the remote command line (rcmd.Command joins arguments
	// with single spaces as netkit does).
	Command string
	// Stdin is copied to the command; nil means no input (rsh -n): the
	// main connection is half-closed at once.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output channels; nil
	// discards.
	Stdout, Stderr io.Writer
	// ForwardSignals makes Run catch SIGINT, SIGQUIT and SIGTERM and send
	// them on the stderr channel instead of dying.
	ForwardSignals bool
	// SetupTimeout bounds the wait for the server's stderr connection
	// (0: rcmd.DefaultSetupTimeout).
	SetupTimeout time.Duration
	// Dialer is the template for the main connection.
	Dialer net.Dialer
}

// Session is an established rsh session.
type Session struct {
	conn *rcmd.Conn
	cfg  Config

	sigMu sync.Mutex
}

// Dial runs the rcmd handshake with a stderr channel.
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	c, err := rcmd.Dial(ctx, cfg.Addr, rcmd.Options{
		ClientUser:   cfg.ClientUser,
		ServerUser:   cfg.ServerUser,
		Command:      cfg.Command,
		Stderr:       true,
		SetupTimeout: cfg.SetupTimeout,
		Dialer:       cfg.Dialer,
	})
	if err != nil {
		return nil, err
	}
	return &Session{conn: c, cfg: cfg}, nil
}

// Conn returns the underlying rcmd connection pair.
func (s *Session) Conn() *rcmd.Conn { return s.conn }

// Signal sends one signal byte on the stderr channel (netkit rsh.c
// sendsig()). Errors after the server has closed the channel are
// returned but harmless.
func (s *Session) Signal(sig compat.Signal) error {
	if s.conn.Stderr == nil {
		return ErrNoSignalChannel
	}
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	_, err := s.conn.Stderr.Write([]byte{byte(sig)})
	return err
}

// Close closes both connections.
func (s *Session) Close() error { return s.conn.Close() }

// Relay runs the data phase until the server has closed the main
// connection and the stderr channel (see the package comment for the
// error rules). Cancelling ctx closes the connections and returns
// ctx.Err().
func (s *Session) Relay(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()

	// A reset on the main connection is the command's normal end if it
	// may have left some of our stdin unread: its kernel resets the
	// connection when it exits with unread input.
	sentBefore := bytesSent(s.conn.TCPConn)
	var remoteStopped atomic.Bool
	resetOK := func() bool {
		return remoteStopped.Load() || bytesSent(s.conn.TCPConn) > sentBefore
	}
	go func() {
		if s.cfg.Stdin != nil {
			_, err := io.Copy(s.conn.TCPConn, s.cfg.Stdin)
			if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
				remoteStopped.Store(true)
			}
		}
		s.conn.CloseWrite()
	}()

	stdout, stderr := orDiscard(s.cfg.Stdout), orDiscard(s.cfg.Stderr)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if s.conn.Stderr != nil {
			errs[1] = relay(stderr, s.conn.Stderr, "stderr", nil)
		}
	}()
	errs[0] = relay(stdout, s.conn.TCPConn, "main", resetOK)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// relay copies one server→client channel. A write error on the local side
// ends the copy but the socket is still drained, so the server is never
// stuck on a full socket and the other channel keeps flowing.
func relay(dst io.Writer, src *net.TCPConn, channel string, resetOK func() bool) error {
	_, err := io.Copy(dst, src)
	if err == nil {
		return nil
	}
	var rerr error
	var werr error
	// io.Copy does not say which side failed; ask the socket.
	if isSocketErr(err) {
		rerr = err
	} else {
		werr = err
		_, rerr = io.Copy(io.Discard, src)
	}
	if rerr != nil && resetOK != nil && resetOK() && errors.Is(rerr, syscall.ECONNRESET) {
		rerr = nil
	}
	if rerr != nil {
		if errors.Is(rerr, net.ErrClosed) {
			return nil // closed by Relay's cancellation
		}
		return &Error{Channel: channel, Op: "read", Err: rerr}
	}
	if werr != nil {
		return &Error{Channel: channel, Op: "write", Err: werr}
	}
	return nil
}

// bytesSent returns the number of bytes the kernel has sent on c
// (TCP_INFO tcpi_bytes_sent), or 0 if it cannot tell.
func bytesSent(c *net.TCPConn) uint64 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	rc.Control(func(fd uintptr) {
		if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = ti.Bytes_sent
		}
	})
	return n
}

// isSocketErr reports whether err came from the socket side of a copy
// (net wraps socket errors in *net.OpError).
func isSocketErr(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// forwardedSignals are the signals netkit rsh catches and forwards
// (rsh.c sendsig()).
var forwardedSignals = map[os.Signal]compat.Signal{
	syscall.SIGINT:  compat.SigInt,
	syscall.SIGQUIT: compat.SigQuit,
	syscall.SIGTERM: compat.SigTerm,
}

// CatchSignals starts catching the signals rsh forwards to the remote
// command (SIGINT, SIGQUIT, SIGTERM; not those ignored when rsh started,
// as netkit leaves them ignored). stop ends the catching. Plain and
// encrypted rsh both use it.
func CatchSignals() (sigs <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 4)
	var catch []os.Signal
	for sig := range forwardedSignals {
		if !signal.Ignored(sig) {
			catch = append(catch, sig)
		}
	}
	signal.Notify(ch, catch...)
	return ch, func() { signal.Stop(ch) }
}

// SignalByte is the signal byte rsh sends for a caught signal.
func SignalByte(sig os.Signal) compat.Signal { return forwardedSignals[sig] }

// Run dials, forwards signals if asked, and relays until the server is
// done.
func Run(ctx context.Context, cfg Config) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Catch the signals before connecting, as netkit blocks them around
	// its set-up, so a ^C during the handshake is not lost... but during
	// the handshake there is nothing to forward it to: it cancels.
	var sigs <-chan os.Signal
	if cfg.ForwardSignals {
		var stop func()
		sigs, stop = CatchSignals()
		defer stop()
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type dialed struct {
		s   *Session
		err error
	}
	dc := make(chan dialed, 1)
	go func() {
		s, err := Dial(dctx, cfg)
		dc <- dialed{s, err}
	}()
	var s *Session
	for s == nil {
		select {
		case d := <-dc:
			if d.err != nil {
				return d.err
			}
			s = d.s
		case sig := <-sigs:
			cancel()
			d := <-dc
			if d.s != nil {
				d.s.Close()
			}
			return fmt.Errorf("rshc: interrupted by %v while connecting", sig)
		}
	}
	defer s.Close()
	done := make(chan struct{})
	defer close(done)
	if sigs != nil {
		go func() {
			for {
				select {
				case sig := <-sigs:
					_ = s.Signal(SignalByte(sig))
				case <-done:
					return
				}
			}
		}()
	}
	return s.Relay(ctx)
}
