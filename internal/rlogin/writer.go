package rlogin

import (
	"context"
	"io"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/tty"
	"github.com/krx-suite/krx/oob"
)

type writerResult struct{ err error }

// writer copies the keyboard to the server through the escape processor
// (netkit rlogin.c writer()). It returns at ~. (nil), at the end of the
// input (nil, as netkit's writer loop ends on read() <= 0), or on a
// failed write to the server.
func (s *session) writer(ch Chars) writerResult {
	if s.term != nil {
		defer s.term.RestoreOnPanic()
	}
	esc := NewEscaper(s.cfg.Escape, s.cfg.NoEscape, ch)
	in := make([]byte, 4096)
	out := make([]byte, 0, 4096)
	for {
		n, err := s.cfg.In.Read(in)
		if n == 0 && err != nil {
			return writerResult{}
		}
		rest := in[:n]
		for len(rest) > 0 {
			var used int
			var act Action
			var echo []byte
			out, used, act, echo = esc.Process(out[:0], rest)
			rest = rest[used:]
			if len(out) > 0 {
				if s.autoflush.Typed(out) {
					s.chain.Expect(oob.FlushWait(s.conn.TCPConn)) // stop painting now
				}
				if werr := s.send(out); werr != nil {
					return writerResult{&SessionError{Op: "write", Err: werr}}
				}
			}
			if echo != nil {
				s.cfg.Out.Write(echo)
			}
			switch act {
			case Disconnect:
				return writerResult{}
			case SuspendAll, SuspendSelf:
				if s.term != nil {
					_ = s.term.Suspend(act == SuspendAll)
					s.checkWindow() // netkit stop() calls sigwinch()
				}
			}
		}
		if err != nil && err != io.EOF {
			return writerResult{}
		}
	}
}

// windowRequested handles the server's 0x80: start sending window sizes,
// beginning with the current one (netkit writeroob(): only the first
// request sends; later ones find the protocol already on).
func (s *session) windowRequested() {
	s.winMu.Lock()
	on := s.winOn
	s.winOn = true
	s.winMu.Unlock()
	if !on {
		s.checkWindow()
	}
}

// checkWindow sends the terminal's size if window reports are on and it
// differs from the last one sent (netkit sigwinch()).
func (s *session) checkWindow() {
	if s.term == nil {
		return
	}
	ws, err := s.term.Size()
	if err != nil {
		return
	}
	s.sendWindow(ws, false)
}

func (s *session) sendWindow(ws tty.Winsize, force bool) {
	s.winMu.Lock()
	defer s.winMu.Unlock()
	if !s.winOn || (s.winSent && ws == s.lastWin && !force) {
		return
	}
	m := compat.WindowSize{Rows: ws.Rows, Cols: ws.Cols, XPixel: ws.XPixel, YPixel: ws.YPixel}.Marshal()
	if s.send(m[:]) == nil {
		s.lastWin, s.winSent = ws, true
	}
}

// windowLoop sends a window message after every SIGWINCH that changed the
// size, once the server has asked for them.
func (s *session) windowLoop(ctx context.Context) {
	if s.term != nil {
		defer s.term.RestoreOnPanic()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ws, ok := <-s.winChange:
			if !ok {
				return
			}
			s.sendWindow(ws, false)
		}
	}
}
