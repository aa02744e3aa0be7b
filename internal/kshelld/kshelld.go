package kshelld

import (
	"context"
	"net"
	"time"

	"github.com/krx-suite/krx/internal/klogind"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/server"
)

// Peer-visible messages of the krx shell service.
const (
	// MsgStderrConnect goes to the main channel when the stderr channel
	// cannot be connected after the accepting status (netkit rshd's words).
	MsgStderrConnect = "can't connect to the stderr port"
)

// stderrDialTimeout bounds connecting the stderr channel.
const stderrDialTimeout = 30 * time.Second

// Handler serves the krx shell service (kshell: rsh -x, rcp -x).
type Handler struct {
	Config *klogind.Config
}

// New returns a Handler with the given configuration.
func New(cfg *klogind.Config) *Handler { return &Handler{Config: cfg} }

// ServeConn serves one krx shell connection; it closes c.
func (h *Handler) ServeConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	log := h.Config.Server.Logger()
	cl := server.NewConnLog(server.Kshell, c)
	defer cl.Emit(log)
	kc, ok := h.Config.Establish(ctx, c, krxproto.Shell, cl)
	if !ok {
		return
	}
	h.Serve(ctx, c, kc)
}

// Serve runs the command of an established krx shell connection kc on c
// (Establish has authorised it; the status is not sent yet) until its
// output ends. It cleans kc up; the caller closes c and emits kc.Log.
func (h *Handler) Serve(ctx context.Context, c *net.TCPConn, kc *klogind.Conn) {
	log := h.Config.Server.Logger()
	cl := kc.Log
	defer kc.Cleanup()
	s := kc.Session
	if err := s.Accept(); err != nil {
		cl.Set(server.Failed, "sending the status: "+err.Error())
		return
	}
	j := &job{ks: s, acct: kc.Account, log: log, cl: cl, cleanup: kc.Cleanup}
	if s.StderrPort != 0 {
		dctx, cancel := context.WithTimeout(ctx, stderrDialTimeout)
		st, err := s.DialStderr(dctx)
		cancel()
		if err != nil {
			cl.Set(server.Failed, "connecting the stderr channel: "+err.Error())
			s.Write([]byte(klogind.Prog + ": " + MsgStderrConnect + "\n"))
			server.LingerClose(c)
			return
		}
		j.errc = st
	}
	if err := j.start(s.Params.Payload, kc.Env); err != nil {
		cl.Set(server.Failed, "starting "+kc.Account.Shell+" -c for "+kc.Account.Name+": "+err.Error())
		msg := klogind.Prog + ": " + kc.Account.Shell + ": " + err.Error() + "\n"
		if j.errc != nil {
			j.errc.Write([]byte(msg))
			j.errc.Close()
		} else {
			s.Write([]byte(msg))
		}
		server.LingerClose(c)
		return
	}
	cl.Emit(log)
	j.run(ctx, h.Config.Server.Grace())
}
