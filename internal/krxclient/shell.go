package krxclient

import (
	"context"
	"errors"
	"fmt"
	"github.com/krx-suite/krx/internal/rshc"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
)

// StderrTimeout bounds the wait for the server's stderr connection.
const StderrTimeout = 30 * time.Second

// ShellConfig is one rsh -x invocation.
type ShellConfig struct {
	Options
	// Command is the remote command line.
	Command string
	// Stdin is copied to the command, then the session is half-closed;
	// nil (rsh -n) half-closes at once.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output channels (nil
	// discards).
	Stdout, Stderr io.Writer
	// ForwardSignals catches SIGINT, SIGQUIT and SIGTERM and sends them
	// to the remote command instead of dying.
	ForwardSignals bool
}

// RunShell dials a krx shell session with a stderr channel and relays
// until the server has closed both channels. Like plain rsh it carries no
// exit status: nil means both channels ended normally.
func RunShell(ctx context.Context, cfg ShellConfig) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var sigs <-chan os.Signal
	if cfg.ForwardSignals {
		var stop func()
		sigs, stop = rshc.CatchSignals() // as plain rsh
		defer stop()
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type dialed struct {
		s   *krxsess.ClientSession
		e   *krxsess.ClientStderr
		err error
	}
	dc := make(chan dialed, 1)
	go func() {
		s, err := Dial(dctx, cfg.Options, krxproto.Shell, cfg.Command, true)
		if err != nil {
			dc <- dialed{err: err}
			return
		}
		e, err := s.AcceptStderr(StderrTimeout)
		if err != nil {
			s.Close()
			dc <- dialed{err: fmt.Errorf("stderr channel: %w", err)}
			return
		}
		dc <- dialed{s: s, e: e}
	}()
	var d dialed
	select {
	case d = <-dc:
	case sig := <-sigs:
		cancel()
		if d = <-dc; d.s != nil {
			d.e.Close()
			d.s.Close()
		}
		return fmt.Errorf("interrupted by %v while connecting", sig)
	}
	if d.err != nil {
		return d.err
	}
	s, e := d.s, d.e
	defer s.Close()
	defer e.Close()
	done := make(chan struct{})
	defer close(done)
	if sigs != nil {
		go func() {
			for {
				select {
				case sig := <-sigs:
					_ = e.SendSignal(rshc.SignalByte(sig))
				case <-done:
					return
				}
			}
		}()
	}
	stop := context.AfterFunc(ctx, func() { s.Close(); e.Close() })
	defer stop()
	return relayShell(ctx, s, e, cfg)
}

// relayShell copies stdin to the session (then half-closes) and both
// output channels to Stdout and Stderr.
func relayShell(ctx context.Context, s *krxsess.ClientSession, e *krxsess.ClientStderr, cfg ShellConfig) error {
	// The command may exit without reading all of our input; its kernel
	// then resets the connection, which is its normal end, not ours.
	var remoteStopped atomic.Bool
	go func() {
		if cfg.Stdin != nil {
			// Pipelined: reading stdin, encrypting and sending overlap.
			if _, err := s.ReadFrom(cfg.Stdin); err != nil &&
				(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
				remoteStopped.Store(true)
			}
		}
		s.CloseWrite()
	}()
	var wg sync.WaitGroup
	var errs [2]error
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[1] = drain(orDiscard(cfg.Stderr), e, "stderr", nil)
	}()
	errs[0] = drain(orDiscard(cfg.Stdout), s, "main", remoteStopped.Load)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs[0], errs[1])
}

// RelayError reports a channel that broke during the data phase.
type RelayError struct {
	Channel string // "main" or "stderr"
	Op      string // "read" or "write"
	Err     error
}

// Error names the channel and the cause.
func (e *RelayError) Error() string {
	return fmt.Sprintf("%s channel %s: %v", e.Channel, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *RelayError) Unwrap() error { return e.Err }

// drain copies src to dst; after a local write error it goes on reading
// (and discarding) so the server is never stuck on a full socket.
func drain(dst io.Writer, src io.Reader, channel string, resetOK func() bool) error {
	buf := make([]byte, copyBufSize)
	var werr error
	for {
		n, err := src.Read(buf)
		if n > 0 && werr == nil {
			if _, werr = dst.Write(buf[:n]); werr != nil {
				werr = &RelayError{Channel: channel, Op: "write", Err: werr}
			}
		}
		if err == nil {
			continue
		}
		if err == io.EOF || errors.Is(err, net.ErrClosed) ||
			(resetOK != nil && resetOK() && errors.Is(err, syscall.ECONNRESET)) {
			return werr
		}
		return errors.Join(werr, &RelayError{Channel: channel, Op: "read", Err: err})
	}
}

// copyBufSize is the size of one read of stdin or of a channel: large
// enough that the per-call cost is small beside the encryption.
const copyBufSize = 128 << 10

// readerOnly and writerOnly hide WriteTo/ReadFrom so that io.CopyBuffer
// uses its buffer (os.File's WriteTo would fall back to 32 KiB).
type readerOnly struct{ io.Reader }
type writerOnly struct{ io.Writer }

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
