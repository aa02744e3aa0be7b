package krxsess

import (
	"fmt"
	"io"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/oob"
)

// Output returns the writer for a login session's pty output: each Write
// escapes FF as FF FF and sends the result through the server→client
// stream, serialised with SendControl. It returns len(p) once everything is
// sent; after an error the session is unusable (part of p may be on the
// wire).
//
// Flushing is the daemon's job: when the pty reports FLUSHWRITE it drops
// the pty output it has read but not yet written here, then calls
// SendControl(compat.CtlFlushWrite).
func (s *ServerSession) Output() io.Writer { return outputWriter{s} }

type outputWriter struct{ s *ServerSession }

func (o outputWriter) Write(p []byte) (int, error) {
	s := o.s
	if s.svc != krxproto.Login {
		return 0, fmt.Errorf("%w: Output is for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf = krxproto.AppendData(s.wbuf[:0], p)
	if _, err := s.w.Write(s.wbuf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// SendControl sends the control command FF 'C' c (docs/protocol.md §7)
// after all output written so far. When c asks for a flush (FLUSHWRITE),
// its last byte — encrypted in the same stream — goes with MSG_OOB, so the
// client hears of it early and stops painting; other commands (window
// request, no-stop, do-stop) are only in-band: they need no haste, and an
// urgent notification would make the client hold its output for nothing.
func (s *ServerSession) SendControl(c compat.Control) error {
	if s.svc != krxproto.Login {
		return fmt.Errorf("%w: SendControl is for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !c.FlushWrite() {
		_, err := s.w.Write(krxproto.AppendControl(s.wbuf[:0], c))
		return err
	}
	if _, err := s.w.Write([]byte{krxproto.Escape, krxproto.CmdControl}); err != nil {
		return err
	}
	b := []byte{byte(c)}
	s.w.Encrypter().XORKeyStream(b, b)
	return oob.SendUrgent(s.Conn, b[0])
}

// Input returns the reader of a login session's keystrokes: decrypted,
// with FF FF turned back into FF and window-size commands removed and
// passed to onWindow (called from Read, in stream order; may be nil). A bad
// escape or a connection closed inside a sequence is an error.
func (s *ServerSession) Input(onWindow func(compat.WindowSize)) io.Reader {
	return &inputReader{s: s, onWindow: onWindow, buf: make([]byte, 16<<10)}
}

type inputReader struct {
	s        *ServerSession
	dec      krxproto.InputDecoder
	onWindow func(compat.WindowSize)
	buf, raw []byte
	err      error
}

func (r *inputReader) Read(p []byte) (int, error) {
	if r.s.svc != krxproto.Login {
		return 0, fmt.Errorf("%w: Input is for a login session", ErrWrongService)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(r.raw) == 0 {
			if r.err != nil {
				return 0, r.err
			}
			n, err := r.s.in.Read(r.buf)
			r.raw = r.buf[:n]
			if err != nil {
				if err == io.EOF && r.dec.Pending() > 0 {
					err = fmt.Errorf("krxsess: client input ended inside an escape sequence: %w", io.ErrUnexpectedEOF)
				}
				r.err = err
			}
			continue
		}
		src := r.raw[:min(len(r.raw), len(p))]
		out, n, cmd, found, err := r.dec.Decode(p[:0], src)
		r.raw = r.raw[n:]
		if err != nil {
			r.raw, r.err = nil, err
		}
		if found && r.onWindow != nil {
			r.onWindow(cmd.Window)
		}
		if len(out) > 0 {
			return len(out), nil
		}
	}
}
