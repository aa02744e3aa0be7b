package logind

import (
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/krx-suite/krx/internal/ptyx"
	"github.com/krx-suite/krx/internal/server"
)

// Shell is a login shell on a packet-mode pty and the end of its life:
// the part of a session the login and the krx login (eklogin) services
// share. The service supplies the two relays and the connection.
type Shell struct {
	Pty *ptyx.Pty
	Cmd *exec.Cmd

	waited  chan struct{} // closed when Cmd.Wait has returned
	waitErr error

	dlMu    sync.Mutex // serialises read-deadline changes on the connection
	closing bool       // the end sequence owns the connection's read deadline
}

// Timeouts bound the end of a session.
type Timeouts struct {
	// Drain: after the shell has exited, how long its output is still
	// relayed while other processes keep the pty open.
	Drain time.Duration
	// Grace: after the hang-up, how long the session's processes have
	// before SIGKILL.
	Grace time.Duration
}

// StartShell opens a pty in packet mode, gives its slave to acct (group
// tty), and starts acct's login shell on it (argv[0] "-sh" style, session
// leader with the pty as controlling terminal, in acct's home) with
// acct.Env("TERM="+term, extraEnv...). End (or Relay) reaps it and closes
// the pty.
func StartShell(acct *server.Account, term string, extraEnv ...string) (*Shell, error) {
	p, err := ptyx.Open()
	if err != nil {
		return nil, err
	}
	if err := p.SetPacketMode(true); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.SetOwner(acct.UID, ttyGroup(acct.GID)); err != nil {
		p.Close()
		return nil, err
	}
	shell := acct.Shell
	cmd := &exec.Cmd{
		Path: shell,
		// A leading dash makes it a login shell (login(1)).
		Args: []string{"-" + filepath.Base(shell)},
		Env:  acct.Env(append([]string{"TERM=" + term}, extraEnv...)...),
		Dir:  acct.Dir(),
	}
	server.DefaultChildSignals()
	if err := p.Start(cmd, acct.Credential()); err != nil {
		p.Close()
		return nil, err
	}
	s := &Shell{Pty: p, Cmd: cmd, waited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.waited)
	}()
	return s, nil
}

// Status describes how the shell ended, for the debug log.
func (s *Shell) Status() string {
	select {
	case <-s.waited:
	default:
		return "running"
	}
	if s.Cmd.ProcessState != nil {
		return s.Cmd.ProcessState.String()
	}
	return s.waitErr.Error()
}

// Relay runs out (pty → client) and in (client → pty) until the session
// is over, then ends it: the output relay ended, the input relay ended,
// the shell exited (its output is relayed for t.Drain more), or ctx was
// cancelled (the daemon is going away).
func (s *Shell) Relay(ctx context.Context, c *net.TCPConn, out, in func() error, t Timeouts) {
	outDone := make(chan error, 1)
	inDone := make(chan error, 1)
	go func() { outDone <- out() }()
	go func() { inDone <- in() }()
	select {
	case <-outDone:
		outDone = nil
	case <-s.waited:
		// The shell is gone: send what it left in the pty, but do not
		// wait for background jobs that keep the pty open.
		s.Pty.Master().SetReadDeadline(time.Now().Add(t.Drain))
		<-outDone
		outDone = nil
	case <-inDone:
		inDone = nil
	case <-ctx.Done():
	}
	drain := server.CloseDrain
	if ctx.Err() != nil {
		drain = server.ShutdownDrain // do not wait for clients
	}
	s.End(c, outDone, inDone, drain, t.Grace)
}

// End hangs the session up, closes c gracefully and reaps the shell.
// outDone and inDone are the relays still running (nil: finished or never
// started); drain bounds the wait for the client's end of c, grace the
// processes' after the hang-up.
func (s *Shell) End(c *net.TCPConn, outDone, inDone chan error, drain, grace time.Duration) {
	server.HangUp(s.Cmd, s.waited, 0)
	s.Pty.Close() // unblocks the pty reader and any pty write
	if outDone != nil {
		<-outDone
	}
	// FIN after everything written; then read the client's rest until it
	// closes too, so the final close does not send a reset.
	c.CloseWrite()
	s.dlMu.Lock()
	s.closing = true
	c.SetReadDeadline(time.Now().Add(drain))
	s.dlMu.Unlock()
	if inDone != nil {
		<-inDone
	} else {
		io.CopyN(io.Discard, c, 1<<20)
	}
	c.Close()
	select {
	case <-s.waited:
		return
	case <-time.After(grace):
	}
	syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGKILL)
	<-s.waited
}

// SetReadDeadline changes c's read deadline unless the end sequence has
// taken it over.
func (s *Shell) SetReadDeadline(c *net.TCPConn, t time.Time) {
	s.dlMu.Lock()
	if !s.closing {
		c.SetReadDeadline(t)
	}
	s.dlMu.Unlock()
}

// Closing reports whether the end sequence has taken over the
// connection's read deadline (a deadline error then means: stop).
func (s *Shell) Closing() bool {
	s.dlMu.Lock()
	defer s.dlMu.Unlock()
	return s.closing
}
