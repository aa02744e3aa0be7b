package rlogin

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	urgent    atomic.Int64 // urgent control bytes read
	flushes   atomic.Int64 // of which FLUSHWRITE

	hintSeq      atomic.Uint64 // largest urgent hint seen (oob.Event.Seq)
	released     uint64        // hints answered by a mark already reached (reader only)
	staged       []byte        // read between a hint and its mark (reader only)
	stageDropped int64         // staged bytes dropped past maxStage
	flushed      int64         // staged bytes dropped by flushes
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
		fmt.Fprintf(s.msgs, "rlogin: stats: urgent %d flushes %d dropped %d\r\n",
			s.urgent.Load(), s.flushes.Load(), s.chain.Stats().Dropped)
	}
	return err
}

// holdOnHints records each urgent hint: from then on the reader stages
// what it reads instead of painting it, until it reaches the mark (see
// reader). The Chain's own Hold is not used: a Push blocked on a full
// chain when the hold comes would drop bytes, and a non-flush control
// byte (flow control, window request) must lose nothing.
func (s *session) holdOnHints() {
	for ev := range s.watch.Events() {
		for {
			cur := s.hintSeq.Load()
			if ev.Seq <= cur || s.hintSeq.CompareAndSwap(cur, ev.Seq) {
				break
			}
		}
	}
}

// maxStage bounds what the reader stages between an urgent hint and its
// mark. What lies before a mark is at most the sender's send queue plus
// our receive buffer (a few MB); past the bound the oldest staged bytes
// are dropped, as netkit's reader drops into its waste buffer.
const maxStage = 32 << 20

// reader reads the socket into the chain and acts on the urgent control
// bytes. It returns nil at the server's EOF.
//
// Between an urgent hint and the mark it answers, what is read is staged
// rather than pushed: if the byte at the mark is a flush, the staged bytes
// are dropped unseen; otherwise they are pushed, nothing lost.
func (s *session) reader() (err error) {
	if s.term != nil {
		defer s.term.RestoreOnPanic()
	}
	mr, err := newMarkReader(s.conn.TCPConn)
	if err != nil {
		return err
	}
	buf := make([]byte, readBufSize)
	for {
		n, urgent, rerr := mr.Read(buf)
		if rerr != nil {
			if rerr == io.EOF || isClosed(rerr) {
				rerr = nil
			}
			if perr := s.push(s.staged); perr != nil && rerr == nil {
				rerr = perr
			}
			if rerr != nil {
				return &SessionError{Op: "read", Err: rerr}
			}
			return nil
		}
		data := buf[:n]
		if urgent {
			if perr := s.control(compat.Control(data[0])); perr != nil {
				return &SessionError{Op: "write to terminal", Err: perr}
			}
			data = data[1:]
		}
		if len(data) == 0 {
			continue
		}
		if s.hintSeq.Load() > s.released {
			s.stage(data)
			continue
		}
		if perr := s.push(data); perr != nil {
			return &SessionError{Op: "write to terminal", Err: perr}
		}
	}
}

func (s *session) push(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return s.chain.Push(b)
}

// stage keeps data read while a mark is expected.
func (s *session) stage(data []byte) {
	s.staged = append(s.staged, data...)
	if over := len(s.staged) - maxStage; over > 0 {
		s.stageDropped += int64(over)
		s.staged = s.staged[:copy(s.staged, s.staged[over:])]
	}
}

// control acts on one urgent control byte, at its mark (netkit rlogin.c
// oob()). Bits other than these four are ignored.
func (s *session) control(c compat.Control) error {
	if s.watch != nil {
		if seq, err := s.watch.Sync(); err == nil && seq > s.released {
			s.released = seq
		}
	}
	s.urgent.Add(1)
	if c.FlushWrite() {
		s.flushes.Add(1)
	}
	if c.FlushWrite() && !s.cfg.IgnoreFlush {
		// Everything read before the mark is unwanted: drop what is
		// staged, what is not painted yet, and what the terminal driver
		// still holds.
		s.flushed += int64(len(s.staged))
		s.staged = s.staged[:0]
		s.chain.FlushTo(s.chain.Pushed())
		_ = unix.IoctlSetInt(s.outFd, unix.TCFLSH, unix.TCOFLUSH)
	}
	if err := s.push(s.staged); err != nil {
		return err
	}
	s.staged = s.staged[:0]
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
	return nil
}

// send writes b to the server as one write.
func (s *session) send(b []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.conn.Write(b)
	return err
}
