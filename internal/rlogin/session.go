package rlogin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rcmd"
	"github.com/krx-suite/krx/internal/tty"
	"github.com/krx-suite/krx/oob"
)

// Messages printed on the way out, as netkit rlogin prints them (msg():
// "rlogin: %s\r\n").
const (
	// MsgServerClosed: the server closed the connection (netkit reader()
	// returned 0).
	MsgServerClosed = "rlogin: connection closed."
	// MsgClientClosed: the user disconnected with ~. (netkit after
	// writer()).
	MsgClientClosed = "rlogin: closed connection."
)

// ErrConnection: the connection broke (a read or write error); the
// message names the cause. netkit prints "\007connection closed." and
// exits 1.
var ErrConnection = errors.New("rlogin: connection lost")

// SessionError wraps a data-phase failure.
type SessionError struct {
	Op  string // "read" or "write"
	Err error
}

// Error names the operation and cause.
func (e *SessionError) Error() string { return fmt.Sprintf("rlogin: connection %s: %v", e.Op, e.Err) }

// Unwrap returns ErrConnection and the cause.
func (e *SessionError) Unwrap() []error { return []error{ErrConnection, e.Err} }

// readBufSize is the size of one socket read.
const readBufSize = 16 << 10

// session is the running state of Run.
type session struct {
	cfg   Config
	conn  *rcmd.Conn
	term  *tty.Terminal // nil when In is not a terminal
	chain *oob.Chain
	watch *oob.Watcher // nil if urgent notification could not be set up
	msgs  io.Writer

	writeMu   sync.Mutex // one writer at a time on the socket
	winMu     sync.Mutex
	winOn     bool // the server asked for window sizes (0x80)
	lastWin   tty.Winsize
	winSent   bool
	outFd     int
	winChange <-chan tty.Winsize
	autoflush *Autoflush   // nil without a terminal
	urgent    atomic.Int64 // urgent control bytes read
	flushes   atomic.Int64 // of which FLUSHWRITE
}

// Run connects to the server, puts the terminal into raw mode, and relays
// until the server closes the connection (nil error, MsgServerClosed),
// the user types ~. (nil, MsgClientClosed) or the connection breaks
// (*SessionError). The terminal is restored on every way out: return,
// panic in any of its goroutines, and SIGTERM/SIGHUP/SIGINT/SIGQUIT (the
// process then dies of the signal, after restoring).
func Run(ctx context.Context, cfg Config) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if cfg.In == nil {
		cfg.In = os.Stdin
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	s := &session{cfg: cfg, msgs: cfg.Messages, outFd: int(cfg.Out.Fd())}
	if s.msgs == nil {
		s.msgs = os.Stderr
	}
	if cfg.Escape == 0 {
		s.cfg.Escape = DefaultEscape
	}
	t, err := tty.New(int(cfg.In.Fd()))
	if err == nil {
		s.term = t
	} else if !errors.Is(err, tty.ErrNotTerminal) {
		return err
	}
	term := cfg.Term
	if term == "" {
		term = TermSpeed(os.Getenv("TERM"), int(cfg.In.Fd()))
	}

	d := cfg.Dialer
	prev := d.Control
	d.Control = func(network, address string, c syscall.RawConn) error {
		if prev != nil {
			if err := prev(network, address, c); err != nil {
				return err
			}
		}
		return oob.Control(network, address, c)
	}
	conn, err := rcmd.Dial(ctx, cfg.Addr, rcmd.Options{
		ClientUser: cfg.ClientUser,
		ServerUser: cfg.ServerUser,
		Command:    term,
		Dialer:     d,
	})
	if err != nil {
		return err
	}
	s.conn = conn
	defer conn.Close()
	// SO_OOBINLINE was set by Control before the connection existed; set
	// it again in case a Dialer.Control of the caller's turned it off.
	if err := oob.SetInline(conn.TCPConn); err != nil {
		return err
	}
	return s.run(ctx)
}

func (s *session) run(ctx context.Context) (err error) {
	ch := DefaultChars
	if s.term != nil {
		defer s.term.Restore()
		defer s.term.RestoreOnPanic()
		stop := s.term.HandleSignals()
		defer stop()
		o := s.term.Original()
		ch = Chars{Kill: o.Cc[unix.VKILL], EOF: o.Cc[unix.VEOF], Intr: o.Cc[unix.VINTR],
			Susp: o.Cc[unix.VSUSP], DSusp: DefaultChars.DSusp} // Linux has no VDSUSP
		s.autoflush = NewAutoflush(o.Cc[unix.VINTR], o.Cc[unix.VQUIT], o.Cc[unix.VSUSP])
		if err := s.term.MakeRaw(tty.Options{EightBit: s.cfg.EightBit}); err != nil {
			return err
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s.winChange = s.term.WatchSize(wctx)
	}

	s.chain = oob.NewChain(s.cfg.Out, 0)
	if w, werr := oob.Watch(s.conn.TCPConn); werr == nil {
		s.watch = w
		defer w.Close()
		go s.holdOnHints()
	}

	readDone := make(chan error, 1)
	go func() { readDone <- s.reader() }()
	writeDone := make(chan writerResult, 1)
	go func() { writeDone <- s.writer(ch) }()
	if s.winChange != nil {
		go s.windowLoop(ctx)
	}

	var msg string
	select {
	case err = <-readDone:
		if err == nil {
			msg = MsgServerClosed
		}
	case wr := <-writeDone:
		err = wr.err
		if err == nil {
			msg = MsgClientClosed
		}
		// Whatever the server still sends is not wanted any more.
		s.chain.FlushTo(s.chain.Pushed())
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.conn.Close()
	s.chain.Close()
	if s.term != nil {
		s.term.Restore()
	}
	if msg != "" {
		fmt.Fprintf(s.msgs, "%s\r\n", msg)
	}
	if s.cfg.Stats {
		st := s.chain.Stats()
		fmt.Fprintf(s.msgs, "rlogin: stats: urgent %d flushes %d dropped %d holds-timed-out %d\r\n",
			s.urgent.Load(), s.flushes.Load(), st.Dropped, st.HoldsTimedOut)
	}
	return err
}

// holdOnHints stops painting on each urgent hint (the kernel's SIGURG,
// well before the byte): the reader goes on reading onto the chain until
// it reaches the mark, where the control byte decides (see reader).
func (s *session) holdOnHints() {
	for ev := range s.watch.Events() {
		s.chain.Hold(ev.Seq)
	}
}

// reader reads the socket onto the chain and acts on the urgent control
// bytes at their marks (the oob package's flush procedure). It returns nil
// at the server's EOF.
func (s *session) reader() error {
	if s.term != nil {
		defer s.term.RestoreOnPanic()
	}
	r := oob.NewReader(s.conn.TCPConn, s.watch)
	buf := make([]byte, readBufSize)
	for {
		n, err := r.Read(buf)
		if perr := s.chain.Push(buf[:n]); perr != nil {
			return &SessionError{Op: "write to terminal", Err: perr}
		}
		if err != nil {
			return readEnd(err)
		}
		if !r.AtMark() {
			continue
		}
		// Every hint raised so far belongs to this mark or an earlier one.
		var seq uint64
		if s.watch != nil {
			seq, _ = s.watch.Sync()
		}
		mark := s.chain.Pushed()
		if _, err := r.Read(buf[:1]); err != nil { // the urgent byte itself
			return readEnd(err)
		}
		s.control(compat.Control(buf[0]), mark)
		s.chain.Release(seq)
	}
}

// readEnd turns the reader's final error into Run's: nil at EOF or after
// this side closed the connection.
func readEnd(err error) error {
	if err == io.EOF || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return &SessionError{Op: "read", Err: err}
}

// control acts on one urgent control byte read at stream offset mark
// (netkit rlogin.c oob()). Bits other than these four are ignored.
func (s *session) control(c compat.Control, mark int64) {
	s.urgent.Add(1)
	if c.FlushWrite() {
		s.flushes.Add(1)
	}
	if c.FlushWrite() && !s.cfg.IgnoreFlush {
		// Everything read before the mark is unwanted: drop what is not
		// painted yet, and what the terminal driver still holds.
		s.chain.FlushTo(mark)
		_ = tty.FlushOutput(s.outFd) // also wakes a write a full pty holds
	}
	if c.FlushWrite() {
		s.chain.ExpectDone() // the flush a typed interrupt made us wait for
	}
	s.autoflush.Control(c)
	if s.term != nil {
		if c.NoStop() {
			_ = s.term.SetFlowControl(false)
		}
		if c.DoStop() {
			_ = s.term.SetFlowControl(true)
		}
	}
	if c.Window() {
		go s.windowRequested() // never block the reader on a full socket
	}
}

// send writes b to the server as one write.
func (s *session) send(b []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.conn.Write(b)
	return err
}
