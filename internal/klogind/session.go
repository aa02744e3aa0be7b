package klogind

import (
	"context"
	"fmt"
	"github.com/krx-suite/krx/internal/server"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/ptyx"
	"github.com/krx-suite/krx/oob"
)

// session is one login shell on a pty, relayed through a krx session.
type session struct {
	pty *ptyx.Pty
	cmd *exec.Cmd
	ks  *krxsess.ServerSession
	log *slog.Logger

	waited  chan struct{}
	waitErr error

	mu sync.Mutex // guards sc
	sc compat.ServerControl
}

func newSession(p *ptyx.Pty, cmd *exec.Cmd, ks *krxsess.ServerSession, log *slog.Logger) *session {
	s := &session{pty: p, cmd: cmd, ks: ks, log: log, waited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.waited)
	}()
	return s
}

func (s *session) status() string {
	select {
	case <-s.waited:
	default:
		return "running"
	}
	if s.cmd.ProcessState != nil {
		return s.cmd.ProcessState.String()
	}
	return s.waitErr.Error()
}

// run asks for window sizes, relays until the session is over and cleans up.
func (s *session) run(ctx context.Context, h *Handler) {
	outDone := make(chan error, 1)
	inDone := make(chan error, 1)
	// Keep the kernel's unsent output small, so that a flush command
	// reaches the client before a backlog it cannot take back.
	if err := oob.LimitUnsent(s.ks.Conn, oob.DefaultUnsent); err != nil {
		s.log.Warn("cannot limit unsent output; flushes may reach the client late", "service", string(server.Eklogin), "err", err)
	}
	// As logind: the first command asks the client for window sizes.
	if err := s.ks.SendControl(s.sc.Initial()); err != nil {
		s.end(h, nil, nil, server.CloseDrain)
		return
	}
	go func() { outDone <- s.ptyToClient() }()
	go func() { inDone <- s.clientToPty() }()
	select {
	case <-outDone:
		outDone = nil
	case <-s.waited:
		// The shell is gone: send what it left, but do not wait for
		// background jobs that keep the pty open.
		s.pty.Master().SetReadDeadline(time.Now().Add(h.drainTimeout()))
		<-outDone
		outDone = nil
	case <-inDone:
		inDone = nil
	case <-ctx.Done():
	}
	drain := server.CloseDrain
	if ctx.Err() != nil {
		drain = server.ShutdownDrain
	}
	s.end(h, outDone, inDone, drain)
}

// end hangs the session up, closes the connection gracefully and reaps
// the shell; outDone and inDone are the relays still running.
func (s *session) end(h *Handler, outDone, inDone chan error, drain time.Duration) {
	server.HangUp(s.cmd, s.waited, 0)
	s.pty.Close()
	if outDone != nil {
		<-outDone
	}
	c := s.ks.Conn
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(drain))
	if inDone != nil {
		<-inDone
	} else {
		io.CopyN(io.Discard, c, 1<<20)
	}
	c.Close()
	select {
	case <-s.waited:
		return
	case <-time.After(h.Config.Server.Grace()):
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.waited
}

// ptyToClient relays the session's output through the escaping writer
// and turns packet-mode control packets into krx control commands. Each
// packet is written completely before the next is read, so when a
// FLUSHWRITE packet arrives no earlier output is held here: the kernel
// has already dropped what the pty had not delivered, and the flush
// command follows the last byte sent.
func (s *session) ptyToClient() error {
	pr := ptyx.NewPacketReader(s.pty, relayBufSize)
	out := s.ks.Output()
	for {
		pk, err := pr.Next()
		if err != nil {
			return err
		}
		if pk.IsControl() {
			s.mu.Lock()
			c, ok := s.sc.Packet(pk.Flags)
			s.mu.Unlock()
			if ok {
				if err := s.ks.SendControl(c); err != nil {
					return err
				}
				s.log.Debug("control command", "service", string(server.Eklogin), "packet", pk.String(), "sent", fmt.Sprintf("%#02x", byte(c)))
			}
			continue
		}
		if _, err := out.Write(pk.Data); err != nil {
			return err
		}
	}
}

// clientToPty relays keystrokes to the pty and applies window sizes.
// After a pty error it keeps reading (and dropping) until the client
// closes or the end sequence's deadline passes.
func (s *session) clientToPty() error {
	var ptyErr error
	in := s.ks.Input(func(ws compat.WindowSize) {
		if ptyErr == nil {
			ptyErr = s.pty.SetSize(ptyx.Winsize{Rows: ws.Rows, Cols: ws.Cols, XPixel: ws.XPixel, YPixel: ws.YPixel})
		}
		s.mu.Lock()
		s.sc.WindowReceived()
		s.mu.Unlock()
	})
	buf := make([]byte, 8192)
	for {
		n, err := in.Read(buf)
		if n > 0 && ptyErr == nil {
			_, ptyErr = s.pty.Write(buf[:n])
		}
		if err != nil {
			return err // EOF, the end sequence's deadline, or a bad escape
		}
	}
}
