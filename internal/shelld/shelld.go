package shelld

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rport"
	"github.com/krx-suite/krx/internal/server"
)

// Peer-visible messages of the shell service (netkit rshd.c doit()).
const (
	MsgStderrNotReserved = "2nd port not reserved"
	MsgStderrConnect     = "can't connect to the stderr port"
)

// Handler serves the shell service. Set Config; the zero durations default.
type Handler struct {
	Config *server.Config
}

// New returns a Handler with the given shared configuration.
func New(cfg *server.Config) *Handler { return &Handler{Config: cfg} }

// ServeConn serves one shell connection; it closes c.
func (h *Handler) ServeConn(ctx context.Context, c *net.TCPConn) {
	defer c.Close()
	cfg := h.Config
	log := cfg.Logger()
	cl := server.NewConnLog(server.Shell, c)
	defer cl.Emit(log)
	refuse := func(r *server.Refusal, decision string) { cl.Refuse(c, r, decision) }

	if r := cfg.CheckPort(c.RemoteAddr()); r != nil {
		refuse(r, server.Refused)
		return
	}
	stop := server.DeadlineOnDone(ctx, c)
	deadline := time.Now().Add(cfg.Timeout())
	c.SetReadDeadline(deadline)
	failed := func(err error) {
		r := server.HandshakeRefusal(err, cfg.Timeout())
		if ctx.Err() != nil {
			r = server.Refuse("", "daemon shutting down during the handshake")
		}
		refuse(r, server.Failed)
	}
	// c is not an io.ByteReader: the codec reads one byte at a time and
	// never takes a byte of the command's input.
	port, err := compat.ReadStderrPort(c)
	if err != nil {
		failed(err)
		return
	}
	var errc *net.TCPConn
	if port != 0 {
		if !cfg.NoReservedPortCheck && !compat.IsReservedPort(port) {
			refuse(server.Refuse(MsgStderrNotReserved, "stderr port %d is not reserved (512-1023)", port), server.Refused)
			return
		}
		dctx, cancel := context.WithDeadline(ctx, deadline)
		errc, err = connectBack(dctx, c, port, cfg.NoReservedPortCheck)
		cancel()
		if err != nil {
			refuse(server.Refuse(MsgStderrConnect, "connecting back to stderr port %d: %v", port, err), server.Failed)
			return
		}
		defer errc.Close()
	}
	hs := compat.Handshake{StderrPort: port}
	err = compat.ReadHandshakeStrings(c, compat.ShellLimits, &hs)
	cl.ClientUser, cl.ServerUser, cl.Payload = hs.ClientUser, hs.ServerUser, hs.Payload
	if err != nil {
		failed(err)
		return
	}
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

	j, err := start(acct, hs.Payload, c, errc)
	if err != nil {
		refuse(server.Refuse("cannot run the command", "starting %s -c for %s: %v", acct.Shell, acct.Name, err), server.Failed)
		return
	}
	cl.Set(server.Accepted, reason)
	cl.Emit(log)
	// The command holds the socket now; the daemon's copy must not keep
	// the connection open after the command has exited.
	c.Close()
	j.run(ctx, cfg.Grace(), log, cl)
}

// connectBack dials the client's stderr port from a reserved port on the
// address the client connected to. Without the reserved-port policy a
// daemon that cannot bind one (not root) dials from any port.
func connectBack(ctx context.Context, c *net.TCPConn, port int, anyPort bool) (*net.TCPConn, error) {
	la := c.LocalAddr().(*net.TCPAddr)
	ra := c.RemoteAddr().(*net.TCPAddr)
	addr := net.JoinHostPort(ra.IP.String(), strconv.Itoa(port))
	d := rport.Dialer{Base: net.Dialer{LocalAddr: &net.TCPAddr{IP: la.IP, Zone: la.Zone}}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil && anyPort && errors.Is(err, rport.ErrNeedPrivilege) {
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: la.IP, Zone: la.Zone}}
		conn, err = nd.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("shelld: stderr connection is a %T", conn)
	}
	return tc, nil
}
