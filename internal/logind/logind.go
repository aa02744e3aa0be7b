package logind

import (
	"bufio"
	"context"
	"net"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/server"
)

// Defaults of Handler.
const (
	// DefaultIdleFlush: how long bytes that could begin a window message
	// (a trailing FF, FF FF, FF FF s) wait for the rest before they are
	// passed to the pty as typed data.
	DefaultIdleFlush = 200 * time.Millisecond
	// DefaultDrainTimeout: after the shell has exited, how long output is
	// still relayed while other processes keep the pty open.
	DefaultDrainTimeout = 500 * time.Millisecond
	// readBufSize is the client→pty read size (netkit rlogind: 1024).
	readBufSize = 8192
)

// Handler serves the login service. The zero value is not usable: set
// Config (at least Log and the policy); the durations default.
type Handler struct {
	Config       *server.Config
	IdleFlush    time.Duration // 0: DefaultIdleFlush
	DrainTimeout time.Duration // 0: DefaultDrainTimeout
}

// New returns a Handler with the given shared configuration.
func New(cfg *server.Config) *Handler { return &Handler{Config: cfg} }

func (h *Handler) idleFlush() time.Duration {
	if h.IdleFlush > 0 {
		return h.IdleFlush
	}
	return DefaultIdleFlush
}

func (h *Handler) drainTimeout() time.Duration {
	if h.DrainTimeout > 0 {
		return h.DrainTimeout
	}
	return DefaultDrainTimeout
}

// ServeConn serves one login connection; it closes c.
func (h *Handler) ServeConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	cfg := h.Config
	log := cfg.Logger()
	cl := server.NewConnLog(server.Login, c)
	defer cl.Emit(log)
	refuse := func(r *server.Refusal, decision string) { cl.Refuse(c, r, decision) }

	if r := cfg.CheckPort(c.RemoteAddr()); r != nil {
		refuse(r, server.Refused)
		return
	}
	stop := server.DeadlineOnDone(ctx, c)
	c.SetReadDeadline(time.Now().Add(cfg.Timeout()))
	br := bufio.NewReaderSize(c, readBufSize)
	hs, err := compat.ReadHandshake(br, compat.LoginLimits)
	cl.ClientUser, cl.ServerUser, cl.Payload = hs.ClientUser, hs.ServerUser, hs.Payload
	if err != nil {
		r := server.HandshakeRefusal(err, cfg.Timeout())
		if ctx.Err() != nil {
			r = server.Refuse("", "daemon shutting down during the handshake")
		}
		refuse(r, server.Failed)
		return
	}
	if hs.StderrPort != 0 {
		// netkit rlogind reads one byte and requires it to be NUL.
		refuse(server.Refuse("protocol error", "login handshake starts with a port field %d, not NUL", hs.StderrPort), server.Failed)
		return
	}
	term := TermOf(hs.Payload)
	acct, reason, r := cfg.Authorize(ctx, server.PeerAddr(c.RemoteAddr()), hs.ClientUser, hs.ServerUser)
	if r != nil {
		refuse(r, server.Refused)
		return
	}
	if !stop() || ctx.Err() != nil {
		refuse(server.Refuse("", "daemon shutting down"), server.Failed)
		return
	}
	c.SetDeadline(time.Time{})

	s, err := startSession(acct, term, log)
	if err != nil {
		refuse(server.Refuse("cannot start a session", "starting %s for %s: %v", acct.Shell, acct.Name, err), server.Failed)
		return
	}
	cl.Set(server.Accepted, reason)
	cl.Emit(log)
	s.run(ctx, h, c, br)
	log.Debug("session ended", "service", "login", "peer", c.RemoteAddr().String(), "user", acct.Name, "status", s.Status())
}

// TermOf returns the TERM part of the "TERM/speed" payload (the krx login
// service uses it too). The speed is
// advisory (PROTOCOL.md §1.2): a bad one is ignored, as netkit's atoi()
// does. An empty TERM becomes compat.DefaultTerm.
func TermOf(payload string) string {
	ts, err := compat.ParseTermSpeed(payload)
	term := ts.Term
	if err != nil {
		term, _, _ = strings.Cut(payload, "/")
	}
	if term == "" {
		term = compat.DefaultTerm
	}
	return term
}

var (
	ttyOnce sync.Once
	ttyGID  = -1
)

// ttyGroup returns the gid of group "tty", which owns pty slaves
// (login(1), glibc grantpt), or fallback when there is none.
func ttyGroup(fallback int) int {
	ttyOnce.Do(func() {
		if g, err := user.LookupGroup("tty"); err == nil {
			if id, err := strconv.Atoi(g.Gid); err == nil {
				ttyGID = id
			}
		}
	})
	if ttyGID < 0 {
		return fallback
	}
	return ttyGID
}
