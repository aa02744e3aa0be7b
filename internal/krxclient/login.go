package krxclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/rlogin"
	"github.com/krx-suite/krx/internal/tty"
)

// LoginConfig is one rlogin -x session.
type LoginConfig struct {
	Options
	// EightBit is -8: 8-bit clean, ^S/^Q never handled locally.
	EightBit bool
	// Escape is the escape character (rlogin.DefaultEscape if 0);
	// NoEscape (-E) turns escapes off.
	Escape   byte
	NoEscape bool
	// In and Out are the terminal (nil: stdin, stdout). In need not be a
	// terminal: then there is no raw mode and no window size.
	In, Out *os.File
	// Messages receives rlogin's own messages (nil: stderr).
	Messages io.Writer
	// IgnoreFlush (--debug-ignore-flush, a diagnostic): the server's flush
	// commands drop nothing, and typed interrupts hold nothing.
	IgnoreFlush bool
	// Stats (--debug-stats): print the control commands and flushes
	// received at exit, as plain rlogin does.
	Stats bool
}

// login is the running state of RunLogin.
type login struct {
	cfg  LoginConfig
	s    *krxsess.ClientSession
	term *tty.Terminal // nil when In is not a terminal

	stats krxsess.OutputStats // CopyOutput's, once it has returned

	// autoflush: which typed characters make us expect the server's
	// flush (nil without a terminal).
	autoflush *rlogin.Autoflush

	winMu   sync.Mutex
	winOn   bool // the server asked for window sizes (0x80)
	lastWin tty.Winsize
	winSent bool
}

// RunLogin opens a krx login session and connects the terminal to it
// until the server closes it (nil, "rlogin: connection closed."), the
// user types ~. (nil, "rlogin: closed connection.") or it breaks. The
// terminal is in raw mode only after the session is up, and is restored
// on every way out, as plain rlogin does (internal/tty).
func RunLogin(ctx context.Context, cfg LoginConfig) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if cfg.In == nil {
		cfg.In = os.Stdin
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Messages == nil {
		cfg.Messages = os.Stderr
	}
	if cfg.Escape == 0 {
		cfg.Escape = rlogin.DefaultEscape
	}
	l := &login{cfg: cfg}
	t, err := tty.New(int(cfg.In.Fd()))
	if err == nil {
		l.term = t
	} else if !errors.Is(err, tty.ErrNotTerminal) {
		return err
	}
	payload := rlogin.TermSpeed(os.Getenv("TERM"), int(cfg.In.Fd()))
	s, err := Dial(ctx, cfg.Options, krxproto.Login, payload, false)
	if err != nil {
		return err
	}
	l.s = s
	defer s.Close()
	return l.run(ctx)
}

func (l *login) run(ctx context.Context) (err error) {
	ch := rlogin.DefaultChars
	var winChange <-chan tty.Winsize
	if l.term != nil {
		defer l.term.Restore()
		defer l.term.RestoreOnPanic()
		stop := l.term.HandleSignals()
		defer stop()
		o := l.term.Original()
		ch = rlogin.Chars{Kill: o.Cc[unix.VKILL], EOF: o.Cc[unix.VEOF], Intr: o.Cc[unix.VINTR],
			Susp: o.Cc[unix.VSUSP], DSusp: rlogin.DefaultChars.DSusp} // Linux has no VDSUSP
		if !l.cfg.IgnoreFlush {
			l.autoflush = rlogin.NewAutoflush(o.Cc[unix.VINTR], o.Cc[unix.VQUIT], o.Cc[unix.VSUSP])
		}
		if err := l.term.MakeRaw(tty.Options{EightBit: l.cfg.EightBit}); err != nil {
			return err
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		winChange = l.term.WatchSize(wctx)
		go l.windowLoop(wctx, winChange)
	}
	readDone := make(chan error, 1)
	go func() {
		if l.term != nil {
			defer l.term.RestoreOnPanic()
		}
		st, err := l.s.CopyOutput(krxsess.OutputOptions{Terminal: l.cfg.Out, OnCommand: l.command,
			IgnoreFlush: l.cfg.IgnoreFlush})
		l.stats = st
		readDone <- err
	}()
	writeDone := make(chan error, 1)
	go func() { writeDone <- l.writer(ch) }()

	var msg string
	readEnded := false
	select {
	case err = <-readDone:
		readEnded = true
		if err == nil {
			msg = rlogin.MsgServerClosed
		} else if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	case err = <-writeDone:
		if err == nil {
			msg = rlogin.MsgClientClosed
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.s.Close()
	if !readEnded && (msg == rlogin.MsgClientClosed || ctx.Err() != nil || l.cfg.Stats) {
		<-readDone // the closed socket ends it; nothing more is painted
		readEnded = true
	}
	if l.term != nil {
		l.term.Restore()
	}
	if msg != "" {
		fmt.Fprintf(l.cfg.Messages, "%s\r\n", msg)
	}
	if l.cfg.Stats {
		fmt.Fprintf(l.cfg.Messages, "rlogin: stats: urgent %d flushes %d dropped %d holds-timed-out %d\r\n",
			l.stats.Commands, l.stats.Flushes, l.stats.Chain.Dropped, l.stats.Chain.HoldsTimedOut)
	}
	if err != nil {
		return &rlogin.SessionError{Op: "krx session", Err: err}
	}
	return nil
}

// command acts on one control command from the server, after CopyOutput
// has applied its flush (netkit rlogin.c oob()).
func (l *login) command(c krxproto.Command) error {
	ctl := c.Control
	if ctl.FlushWrite() {
		// What the terminal driver still holds is unwanted too.
		// (and wake our own write to it, which a full pty may hold).
		_ = tty.FlushOutput(int(l.cfg.Out.Fd()))
	}
	if l.autoflush != nil {
		l.autoflush.Control(ctl)
	}
	if l.term != nil {
		if ctl.NoStop() {
			_ = l.term.SetFlowControl(false)
		}
		if ctl.DoStop() {
			_ = l.term.SetFlowControl(true)
		}
	}
	if ctl.Window() {
		go l.windowRequested() // never block the output path on a full socket
	}
	return nil
}

// writer copies the keyboard through the escape processor into the
// session (netkit rlogin.c writer()).
func (l *login) writer(ch rlogin.Chars) error {
	if l.term != nil {
		defer l.term.RestoreOnPanic()
	}
	esc := rlogin.NewEscaper(l.cfg.Escape, l.cfg.NoEscape, ch)
	input := l.s.Input()
	in := make([]byte, 4096)
	out := make([]byte, 0, 4096)
	for {
		n, err := l.cfg.In.Read(in)
		if n == 0 && err != nil {
			return nil
		}
		rest := in[:n]
		for len(rest) > 0 {
			var used int
			var act rlogin.Action
			var echo []byte
			out, used, act, echo = esc.Process(out[:0], rest)
			rest = rest[used:]
			if len(out) > 0 {
				if l.autoflush.Typed(out) {
					l.s.ExpectFlush() // stop painting now, not a round trip later
				}
				if _, werr := input.Write(out); werr != nil {
					return werr
				}
			}
			if echo != nil {
				l.cfg.Out.Write(echo)
			}
			switch act {
			case rlogin.Disconnect:
				return nil
			case rlogin.SuspendAll, rlogin.SuspendSelf:
				if l.term != nil {
					_ = l.term.Suspend(act == rlogin.SuspendAll)
					l.checkWindow()
				}
			}
		}
		if err != nil && err != io.EOF {
			return nil
		}
	}
}

// windowRequested starts window reports with the current size (only the
// first request sends, as netkit's writeroob()).
func (l *login) windowRequested() {
	l.winMu.Lock()
	on := l.winOn
	l.winOn = true
	l.winMu.Unlock()
	if !on {
		l.checkWindow()
	}
}

func (l *login) checkWindow() {
	if l.term == nil {
		return
	}
	if ws, err := l.term.Size(); err == nil {
		l.sendWindow(ws)
	}
}

func (l *login) sendWindow(ws tty.Winsize) {
	l.winMu.Lock()
	defer l.winMu.Unlock()
	if !l.winOn || (l.winSent && ws == l.lastWin) {
		return
	}
	if l.s.SendWindow(compat.WindowSize{Rows: ws.Rows, Cols: ws.Cols, XPixel: ws.XPixel, YPixel: ws.YPixel}) == nil {
		l.lastWin, l.winSent = ws, true
	}
}

func (l *login) windowLoop(ctx context.Context, ch <-chan tty.Winsize) {
	for {
		select {
		case <-ctx.Done():
			return
		case ws, ok := <-ch:
			if !ok {
				return
			}
			l.sendWindow(ws)
		}
	}
}
