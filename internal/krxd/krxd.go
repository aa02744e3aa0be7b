package krxd

import (
	"context"
	"net"

	"github.com/krx-suite/krx/internal/klogind"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/kshelld"
	"github.com/krx-suite/krx/internal/server"
)

// Handler serves krx login and krx shell connections on one port.
type Handler struct {
	Login *klogind.Handler
	Shell *kshelld.Handler
}

// New returns a Handler whose login and shell services share cfg.
func New(cfg *klogind.Config) *Handler {
	return &Handler{Login: klogind.New(cfg), Shell: kshelld.New(cfg)}
}

// ServeConn serves one connection of either krx service; it closes c.
func (h *Handler) ServeConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	cfg := h.Login.Config
	cl := server.NewConnLog(server.Krx, c)
	defer cl.Emit(cfg.Server.Logger())
	kc, ok := cfg.Establish(ctx, c, krxsess.EitherService, cl)
	if !ok {
		return
	}
	switch kc.Session.Service() {
	case krxproto.Login:
		cl.Service = server.Eklogin
		h.Login.Serve(ctx, c, kc)
	default:
		cl.Service = server.Kshell
		h.Shell.Serve(ctx, c, kc)
	}
}
