package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Service is one of the services rlogind serves.
type Service string

// The plain services (PROTOCOL.md §1; /etc/services "login", "shell").
const (
	Login Service = "login" // rlogin, TCP 513
	Shell Service = "shell" // rsh and rcp, TCP 514
)

// The krx services (docs/protocol.md §2; /etc/services "eklogin",
// "kshell").
const (
	Eklogin Service = "eklogin" // krx login (rlogin -x), TCP 2105
	Kshell  Service = "kshell"  // krx shell (rsh -x, rcp -x), TCP 544
	// Krx is both krx services on one configured port (no standard
	// port): the client's checksum binding tells which (docs/protocol.md
	// §2). Its connections are logged as eklogin or kshell once known.
	Krx Service = "krx"
)

// Standard ports of the services (/etc/services; RFC 1282).
const (
	LoginPort   = 513
	ShellPort   = 514
	EkloginPort = 2105
	KshellPort  = 544
)

// PortService maps a standard port to its service, "" for any other.
func PortService(port int) Service {
	switch port {
	case LoginPort:
		return Login
	case ShellPort:
		return Shell
	case EkloginPort:
		return Eklogin
	case KshellPort:
		return Kshell
	}
	return ""
}

// ParseService accepts "login"/"rlogin", "shell"/"rsh"/"cmd",
// "eklogin"/"krx-login", "kshell"/"krx-shell" and "krx" (both krx
// services).
func ParseService(s string) (Service, error) {
	switch s {
	case "login", "rlogin":
		return Login, nil
	case "shell", "rsh", "cmd":
		return Shell, nil
	case "eklogin", "krx-login":
		return Eklogin, nil
	case "kshell", "krx-shell":
		return Kshell, nil
	case "krx":
		return Krx, nil
	}
	return "", fmt.Errorf("%w: %q (want login, shell, eklogin, kshell or krx)", ErrUnknownService, s)
}

// Port returns the service's standard port.
func (s Service) Port() int {
	switch s {
	case Login:
		return LoginPort
	case Shell:
		return ShellPort
	}
	return 0
}

// ErrUnknownService is returned for a service name or socket that is not
// one of the plain services.
var ErrUnknownService = errors.New("server: unknown service")

// Handler serves one connection of a service. ServeConn owns c and must
// close it before returning; it returns once its session is over. When ctx
// ends the handler hangs its session up and returns promptly.
type Handler interface {
	ServeConn(ctx context.Context, c *net.TCPConn)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *net.TCPConn)

// ServeConn calls f.
func (f HandlerFunc) ServeConn(ctx context.Context, c *net.TCPConn) { f(ctx, c) }

// Listener is a listening socket and the service it serves.
type Listener struct {
	Service Service
	net.Listener
}

// Server dispatches connections to the handler of their service.
type Server struct {
	// Handlers maps each service to its handler.
	Handlers map[Service]Handler
	// Log receives accept errors and shutdown messages; nil: slog.Default().
	Log *slog.Logger

	wg sync.WaitGroup // connection handlers
}

func (s *Server) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Serve accepts connections on every listener until ctx ends, then closes
// the listeners and waits until every connection's handler has returned.
// It returns nil after such a shutdown, or the first error that stopped a
// listener for good (the others are closed too).
func (s *Server) Serve(ctx context.Context, ls ...Listener) error {
	for _, l := range ls {
		if s.Handlers[l.Service] == nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("%w: no handler for %q", ErrUnknownService, l.Service)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(ls))
	var accepting sync.WaitGroup
	for _, l := range ls {
		accepting.Add(1)
		go func() {
			defer accepting.Done()
			errc <- s.accept(ctx, l)
		}()
	}
	stop := context.AfterFunc(ctx, func() {
		for _, l := range ls {
			l.Close()
		}
	})
	defer stop()
	var first error
	for range ls {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel() // one listener broke: stop the others too
		}
	}
	accepting.Wait()
	s.logger().Info("shutting down: waiting for sessions")
	s.wg.Wait()
	return first
}

// accept runs one listener's accept loop.
func (s *Server) accept(ctx context.Context, l Listener) error {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// EMFILE, ECONNABORTED…: back off like net/http.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger().Warn("accept", "service", l.Service, "err", err, "retry-in", delay)
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("server: accept on %s (%s): %w", l.Addr(), l.Service, err)
		}
		delay = 0
		tc, ok := c.(*net.TCPConn)
		if !ok {
			s.logger().Error("not a TCP connection", "service", l.Service, "peer", c.RemoteAddr())
			c.Close()
			continue
		}
		s.Go(ctx, l.Service, tc)
	}
}

// Go serves c with the handler for svc in a new goroutine that Serve waits
// for. It closes c if there is no such handler.
func (s *Server) Go(ctx context.Context, svc Service, c *net.TCPConn) {
	h := s.Handlers[svc]
	if h == nil {
		s.logger().Error("no handler", "service", svc, "peer", c.RemoteAddr())
		c.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h.ServeConn(ctx, c)
	}()
}

// Wait waits for every connection started with Go (or by Serve).
func (s *Server) Wait() { s.wg.Wait() }

// CloseDrain bounds how long, after a session, the client's remaining
// input is read and dropped so that closing the socket sends no reset and
// loses none of the session's last output. ShutdownDrain replaces it when
// the daemon is going away.
const (
	CloseDrain    = 2 * time.Second
	ShutdownDrain = 100 * time.Millisecond
)

// HangUp sends SIGHUP to the process group led by cmd (a session leader:
// setsid) unless it has been reaped (waited is closed). With grace > 0 it
// then waits up to grace for the reaping and sends SIGKILL to the group.
func HangUp(cmd *exec.Cmd, waited <-chan struct{}, grace time.Duration) {
	select {
	case <-waited:
		return
	default:
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGHUP)
	if grace <= 0 {
		return
	}
	select {
	case <-waited:
	case <-time.After(grace):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
