package klogind

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/logind"
	"github.com/krx-suite/krx/internal/ptyx"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/oob"
)

// session is one login shell on a pty, relayed through a krx session.
type session struct {
	*logind.Shell
	ks  *krxsess.ServerSession
	log *slog.Logger

	mu sync.Mutex // guards sc
	sc compat.ServerControl
}

// timeouts are h's bounds on the end of a session.
func (h *Handler) timeouts() logind.Timeouts {
	return logind.Timeouts{Drain: h.drainTimeout(), Grace: h.Config.Server.Grace()}
}

// run asks for window sizes, relays until the session is over and cleans up.
func (s *session) run(ctx context.Context, h *Handler) {
	// Keep the kernel's unsent output small, so that a flush command
	// reaches the client before a backlog it cannot take back.
	if err := oob.LimitUnsent(s.ks.Conn, oob.DefaultUnsent); err != nil {
		s.log.Warn("cannot limit unsent output; flushes may reach the client late", "service", string(server.Eklogin), "err", err)
	}
	// As logind: the first command asks the client for window sizes.
	if err := s.ks.SendControl(s.sc.Initial()); err != nil {
		s.End(s.ks.Conn, nil, nil, server.CloseDrain, h.timeouts().Grace)
		return
	}
	s.Relay(ctx, s.ks.Conn, s.ptyToClient, s.clientToPty, h.timeouts())
}

// ptyToClient relays the session's output through the escaping writer
// and turns packet-mode control packets into krx control commands. Each
// packet is written completely before the next is read, so when a
// FLUSHWRITE packet arrives no earlier output is held here: the kernel
// has already dropped what the pty had not delivered, and the flush
// command follows the last byte sent.
func (s *session) ptyToClient() error {
	pr := ptyx.NewPacketReader(s.Pty, relayBufSize)
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
			ptyErr = s.Pty.SetSize(ptyx.Winsize{Rows: ws.Rows, Cols: ws.Cols, XPixel: ws.XPixel, YPixel: ws.YPixel})
		}
		s.mu.Lock()
		s.sc.WindowReceived()
		s.mu.Unlock()
	})
	buf := make([]byte, 8192)
	for {
		n, err := in.Read(buf)
		if n > 0 && ptyErr == nil {
			_, ptyErr = s.Pty.Write(buf[:n])
		}
		if err != nil {
			return err // EOF, the end sequence's deadline, or a bad escape
		}
	}
}
