package klogind

import (
	"context"
	"net"
	"time"

	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/logind"
	"github.com/krx-suite/krx/internal/server"
)

// Defaults of Handler.
const (
	// DefaultDrainTimeout: after the shell has exited, how long output is
	// still relayed while other processes keep the pty open (as logind).
	DefaultDrainTimeout = logind.DefaultDrainTimeout
	// relayBufSize is the pty→client packet size (one TIOCPKT read). Each
	// packet is written whole before the next read can see a flush, so it
	// bounds how much output a flush waits behind (4 KiB: 3 ms of a
	// 10 Mbit/s link); with oob.LimitUnsent the rest stays in the pty,
	// where the flush drops it.
	relayBufSize = 4 << 10
)

// Handler serves the krx login service (eklogin).
type Handler struct {
	Config       *Config
	DrainTimeout time.Duration // 0: DefaultDrainTimeout
}

// New returns a Handler with the given configuration.
func New(cfg *Config) *Handler { return &Handler{Config: cfg} }

func (h *Handler) drainTimeout() time.Duration {
	if h.DrainTimeout > 0 {
		return h.DrainTimeout
	}
	return DefaultDrainTimeout
}

// ServeConn serves one krx login connection; it closes c.
func (h *Handler) ServeConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	log := h.Config.Server.Logger()
	cl := server.NewConnLog(server.Eklogin, c)
	defer cl.Emit(log)
	kc, ok := h.Config.Establish(ctx, c, krxproto.Login, cl)
	if !ok {
		return
	}
	h.Serve(ctx, c, kc)
}

// Serve runs the login session of an established krx connection kc on c
// (Establish has authorised it; the status is not sent yet): the login
// shell on a pty, relayed until it ends. It cleans kc up; the caller
// closes c and emits kc.Log.
func (h *Handler) Serve(ctx context.Context, c *net.TCPConn, kc *Conn) {
	log := h.Config.Server.Logger()
	cl := kc.Log
	defer kc.Cleanup()
	acct := kc.Account
	sh, err := logind.StartShell(acct, logind.TermOf(kc.Session.Params.Payload), kc.Env...)
	if err != nil {
		cl.Set(server.Failed, "starting "+acct.Shell+" for "+acct.Name+": "+err.Error())
		kc.Session.Refuse("cannot start a session")
		server.LingerClose(c)
		return
	}
	s := &session{Shell: sh, ks: kc.Session, log: log}
	if err := kc.Session.Accept(); err != nil {
		cl.Set(server.Failed, "sending the status: "+err.Error())
		s.End(kc.Session.Conn, nil, nil, server.ShutdownDrain, h.timeouts().Grace)
		return
	}
	cl.Emit(log)
	s.run(ctx, h)
	kc.Cleanup() // before the line that says the session is over
	log.Debug("session ended", "service", string(server.Eklogin), "peer", c.RemoteAddr().String(), "user", acct.Name, "status", s.Status())
}
