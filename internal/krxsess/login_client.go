package krxsess

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/oob"
)

// Input returns the writer for a login session's keystrokes: FF is sent as
// FF FF, serialised with SendWindow.
func (s *ClientSession) Input() io.Writer { return inputWriter{s} }

type inputWriter struct{ s *ClientSession }

func (in inputWriter) Write(p []byte) (int, error) {
	s := in.s
	if s.svc != krxproto.Login {
		return 0, fmt.Errorf("%w: Input is for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf = krxproto.AppendData(s.wbuf[:0], p)
	if _, err := s.w.Write(s.wbuf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// SendWindow sends the window size as FF 'W' rows cols xpixel ypixel.
func (s *ClientSession) SendWindow(ws compat.WindowSize) error {
	if s.svc != krxproto.Login {
		return fmt.Errorf("%w: SendWindow is for a login session", ErrWrongService)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.w.Write(krxproto.AppendWindow(s.wbuf[:0], ws))
	return err
}

// ExpectFlush tells a running CopyOutput that the user has just typed a
// character the remote terminal answers with a flush (its interrupt, quit
// or suspend character in a cooked mode): painting stops at once instead
// of a round trip later, when the server's flush command (or its urgent
// hint) arrives — telnet's "autoflush" for krx. Call it before sending
// the character. The flush command ends the hold and drops what came
// meanwhile; if none comes (the remote tty has ISIG off, or NOFLSH)
// painting resumes after the hold and nothing is lost. It returns the hold
// it started (0 if no CopyOutput is running).
func (s *ClientSession) ExpectFlush() time.Duration {
	ch := s.out.Load()
	if ch == nil {
		return 0
	}
	d := oob.FlushWait(s.conn)
	ch.Expect(d)
	return d
}

// OutputOptions configure CopyOutput.
type OutputOptions struct {
	// Terminal receives the server's output (the user's terminal).
	Terminal io.Writer
	// ChainLimit bounds the bytes queued for the terminal (0: oob.DefaultLimit).
	ChainLimit int
	// OnCommand is called, in stream order, for every control command
	// after a flush has been applied: the caller answers 0x80 (send window
	// sizes) with SendWindow and 0x10/0x20 by switching ^S/^Q handling. An
	// error ends CopyOutput with it.
	OnCommand func(cmd krxproto.Command) error
	// IgnoreFlush is a diagnostic: flush commands are counted and passed
	// to OnCommand but drop nothing (rlogin --debug-ignore-flush).
	IgnoreFlush bool
	// NoWatcher turns urgent notification off: commands still act when the
	// reader reaches them in-band, only the early hold is lost.
	NoWatcher bool
}

// OutputStats count what CopyOutput saw.
type OutputStats struct {
	Commands int64          // control commands decoded
	Flushes  int64          // of which with FLUSHWRITE
	Marks    int64          // reads that stopped at an urgent mark
	Watch    oob.WatchStats // the urgent watcher's counters (zero with NoWatcher)
	Chain    oob.ChainStats // bytes pushed, written to the terminal, dropped
}

// CopyOutput runs a login session's output path until the server closes
// the connection: it reads the socket with an oob.Reader (a read never
// crosses the urgent mark), decrypts in order, decodes the in-band
// escapes, and pushes data onto an oob.Chain that paints the terminal.
//
//   - An urgent hint (oob.Watcher) holds the chain: painting stops at once
//     while reading goes on.
//   - When the reader reaches the mark and the decoder has just seen
//     FF 'C', the command completes with the next byte; the chain is
//     released after it has been acted on. A mark with no command there
//     releases at once.
//   - A control command with FLUSHWRITE drops everything before its
//     position (Chain.FlushTo(cmd.DataOffset)), whether or not its urgent
//     mark was seen: a command whose mark was overtaken by a newer one
//     ("creep-in") is still found in-band, and no command byte ever
//     reaches the terminal.
//
// It returns nil at the server's end of stream, once the terminal has
// been painted with what is left; a bad escape is an *krxproto.EscapeError.
func (s *ClientSession) CopyOutput(o OutputOptions) (st OutputStats, err error) {
	if s.svc != krxproto.Login {
		return st, fmt.Errorf("%w: CopyOutput is for a login session", ErrWrongService)
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	ch := oob.NewChain(o.Terminal, o.ChainLimit)
	s.out.Store(ch)
	defer s.out.Store(nil)
	var w *oob.Watcher
	holds := make(chan struct{})
	if !o.NoWatcher {
		if w, err = oob.Watch(s.conn); err != nil {
			ch.Close()
			return st, err
		}
		go func() {
			defer close(holds)
			for ev := range w.Events() {
				ch.Hold(ev.Seq)
			}
		}()
	} else {
		close(holds)
	}
	defer func() {
		if w != nil {
			st.Watch = w.Stats()
			w.Close()
		}
		<-holds
		if cerr := ch.Close(); err == nil && cerr != nil {
			err = cerr
		}
		st.Chain = ch.Stats()
	}()

	r := oob.NewReader(s.conn, w)
	dec := krxproto.NewOutputDecoder(int64(s.dec.Offset()))
	buf := make([]byte, 32<<10)
	out := make([]byte, 0, 32<<10)
	var relSeq uint64
	releaseAfter := false
	for {
		n, rerr := r.Read(buf)
		s.dec.XORKeyStream(buf[:n], buf[:n])
		src := buf[:n]
		for len(src) > 0 {
			var k int
			var cmd krxproto.Command
			var found bool
			var derr error
			out, k, cmd, found, derr = dec.Decode(out[:0], src)
			src = src[k:]
			if len(out) > 0 {
				if err := ch.Push(out); err != nil {
					return st, err
				}
			}
			if derr != nil {
				return st, derr
			}
			if !found {
				continue
			}
			st.Commands++
			if cmd.Control.FlushWrite() {
				st.Flushes++
				if !o.IgnoreFlush {
					ch.FlushTo(cmd.DataOffset)
				}
				ch.ExpectDone() // the flush ExpectFlush waited for
			}
			if releaseAfter {
				ch.Release(relSeq)
				releaseAfter = false
			}
			if o.OnCommand != nil {
				if err := o.OnCommand(cmd); err != nil {
					return st, err
				}
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				if dec.Pending() > 0 {
					return st, fmt.Errorf("krxsess: server output ended inside an escape sequence: %w", io.ErrUnexpectedEOF)
				}
				return st, nil
			}
			return st, rerr
		}
		if !r.AtMark() {
			continue
		}
		st.Marks++
		if w == nil {
			continue
		}
		seq, err := w.Sync()
		if err != nil {
			return st, err
		}
		if dec.AwaitingControl() {
			relSeq, releaseAfter = seq, true // the urgent byte completes it
		} else {
			ch.Release(seq)
		}
	}
}
