package logind

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/ptyx"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/oob"
)

// session is one login shell on a pty, relayed on a plain connection.
type session struct {
	*Shell
	log *slog.Logger

	mu sync.Mutex // guards sc: both relay directions use it
	sc compat.ServerControl
}

// startSession opens a packet-mode pty and starts acct's login shell on it.
func startSession(acct *server.Account, term string, log *slog.Logger) (*session, error) {
	sh, err := StartShell(acct, term)
	if err != nil {
		return nil, err
	}
	return &session{Shell: sh, log: log}, nil
}

// run confirms the login, relays until the session is over and cleans up.
func (s *session) run(ctx context.Context, h *Handler, c *net.TCPConn, br *bufio.Reader) {
	t := Timeouts{Drain: h.drainTimeout(), Grace: h.Config.Grace()}
	// Keep the kernel's unsent output small, so that a flush reaches the
	// client before a backlog it cannot take back.
	if err := oob.LimitUnsent(c, oob.DefaultUnsent); err != nil {
		s.log.Warn("cannot limit unsent output; flushes may reach the client late", "service", string(server.Login), "err", err)
	}
	// netkit network_confirm(), then protocol(): "\0", then urgent 0x80.
	_, err := c.Write([]byte{compat.StatusOK})
	if err == nil {
		err = oob.SendUrgent(c, byte(s.sc.Initial()))
	}
	if err != nil {
		s.End(c, nil, nil, server.CloseDrain, t.Grace)
		return
	}
	stopAsking := s.askWindowAgain(c)
	defer stopAsking()
	s.Relay(ctx, c, func() error { return s.ptyToConn(c) }, func() error { return s.connToPty(c, br, h.idleFlush()) }, t)
}

// windowAsks are the times after the first window request at which the
// login service asks again while no window message has come. netkit
// rlogin loses an urgent byte that reaches it before its reader process
// has taken the socket's SIGURG (F_SETOWN, its oob() handler), and then
// never sends a window size: the session would keep 0x0 until the user
// resizes. Its oob() answers only the first request it sees, and the
// protocol ORs 0x80 into every control byte until a window message
// arrives anyway (netkit rlogind), so asking again never doubles one.
var windowAsks = []time.Duration{time.Second, 3 * time.Second}

// askWindowAgain sends the window request again at windowAsks while no
// window message has arrived; stop ends it.
func (s *session) askWindowAgain(c *net.TCPConn) (stop func()) {
	done := make(chan struct{})
	go func() {
		start := time.Now()
		for _, at := range windowAsks {
			select {
			case <-done:
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			s.mu.Lock()
			seen, b := s.sc.WindowSeen(), byte(s.sc.Initial())
			s.mu.Unlock()
			if seen {
				return
			}
			if err := oob.SendUrgent(c, b); err != nil {
				return
			}
			s.log.Debug("urgent control byte", "service", "login", "sent", fmt.Sprintf("%#02x", b), "why", "no window size yet")
		}
	}()
	return func() { close(done) }
}

// ptyToConn relays the session's output and turns packet-mode control
// packets into urgent bytes. Each packet is written completely before the
// next is read, so after a FLUSHWRITE nothing of the session's earlier
// output is held here.
func (s *session) ptyToConn(c *net.TCPConn) error {
	pr := ptyx.NewPacketReader(s.Pty, 0)
	for {
		pk, err := pr.Next()
		if err != nil {
			return err
		}
		if pk.IsControl() {
			s.mu.Lock()
			b, ok := s.sc.Packet(pk.Flags)
			s.mu.Unlock()
			if ok {
				if err := oob.SendUrgent(c, byte(b)); err != nil {
					return err
				}
				s.log.Debug("urgent control byte", "service", "login", "packet", pk.String(), "sent", fmt.Sprintf("%#02x", byte(b)))
			}
			continue
		}
		if _, err := c.Write(pk.Data); err != nil {
			return err
		}
	}
}

// connToPty relays the client's input to the pty, applying window-size
// messages. After a pty error it keeps reading (and dropping) until the
// client closes or the end sequence's deadline passes.
func (s *session) connToPty(c *net.TCPConn, br *bufio.Reader, idle time.Duration) error {
	buf := make([]byte, readBufSize)
	out := make([]byte, 0, readBufSize)
	var scan compat.WindowScanner
	var ptyErr error
	write := func(b []byte) {
		if len(b) > 0 && ptyErr == nil {
			_, ptyErr = s.Pty.Write(b)
		}
	}
	idleSet := false
	for {
		switch {
		case scan.Pending() > 0 && ptyErr == nil:
			s.SetReadDeadline(c, time.Now().Add(idle))
			idleSet = true
		case idleSet:
			s.SetReadDeadline(c, time.Time{})
			idleSet = false
		}
		n, err := br.Read(buf)
		for src := buf[:n]; len(src) > 0 && ptyErr == nil; {
			var k int
			var ws compat.WindowSize
			var found bool
			out, k, ws, found = scan.Scan(out[:0], src)
			src = src[k:]
			write(out)
			if found && ptyErr == nil {
				ptyErr = s.Pty.SetSize(ptyx.Winsize{Rows: ws.Rows, Cols: ws.Cols, XPixel: ws.XPixel, YPixel: ws.YPixel})
				s.mu.Lock()
				s.sc.WindowReceived()
				s.mu.Unlock()
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !s.Closing() {
			// Idle with a possible message start held back: it was typed data.
			write(scan.Flush(out[:0]))
			continue
		}
		if errors.Is(err, io.EOF) {
			write(scan.Flush(out[:0]))
		}
		return err
	}
}
