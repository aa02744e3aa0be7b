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
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/ptyx"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/oob"
)

// session is one login shell on a pty.
type session struct {
	pty *ptyx.Pty
	cmd *exec.Cmd
	log *slog.Logger

	waited  chan struct{} // closed when cmd.Wait has returned
	waitErr error

	mu sync.Mutex // guards sc: both relay directions use it
	sc compat.ServerControl

	dlMu    sync.Mutex // serialises read-deadline changes on the socket
	closing bool       // the end sequence owns the socket's read deadline
}

// startSession opens a packet-mode pty and starts acct's login shell on it.
func startSession(acct *server.Account, term string, log *slog.Logger) (*session, error) {
	p, cmd, err := StartLoginShell(acct, term)
	if err != nil {
		return nil, err
	}
	s := &session{pty: p, cmd: cmd, log: log, waited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.waited)
	}()
	return s, nil
}

// StartLoginShell opens a pty in packet mode, gives its slave to acct
// (group tty), and starts acct's login shell on it (argv[0] "-sh" style,
// session leader with the pty as controlling terminal, in acct's home)
// with acct.Env("TERM="+term, extraEnv...). The caller reads the packets,
// waits for cmd and closes the pty. The krx login service shares it.
func StartLoginShell(acct *server.Account, term string, extraEnv ...string) (*ptyx.Pty, *exec.Cmd, error) {
	p, err := ptyx.Open()
	if err != nil {
		return nil, nil, err
	}
	if err := p.SetPacketMode(true); err != nil {
		p.Close()
		return nil, nil, err
	}
	if err := p.SetOwner(acct.UID, ttyGroup(acct.GID)); err != nil {
		p.Close()
		return nil, nil, err
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
		return nil, nil, err
	}
	return p, cmd, nil
}

// status describes how the shell ended, for the debug log.
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

// run confirms the login, relays until the session is over and cleans up.
func (s *session) run(ctx context.Context, h *Handler, c *net.TCPConn, br *bufio.Reader) {
	outDone := make(chan error, 1)
	inDone := make(chan error, 1)
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
		s.end(h, c, nil, nil, server.CloseDrain)
		return
	}
	go func() { outDone <- s.ptyToConn(c) }()
	go func() { inDone <- s.connToPty(c, br, h.idleFlush()) }()
	select {
	case <-outDone:
		outDone = nil
	case <-s.waited:
		// The shell is gone: send what it left in the pty, but do not
		// wait for background jobs that keep the pty open.
		s.pty.Master().SetReadDeadline(time.Now().Add(h.drainTimeout()))
		<-outDone
		outDone = nil
	case <-inDone:
		inDone = nil
	case <-ctx.Done():
	}
	drain := server.CloseDrain
	if ctx.Err() != nil {
		drain = server.ShutdownDrain // the daemon is going away: do not wait for clients
	}
	s.end(h, c, outDone, inDone, drain)
}

// end hangs the session up, closes the socket gracefully and reaps the
// shell. outDone and inDone are the relays still running (nil: finished);
// drain bounds the wait for the client's end of the connection.
func (s *session) end(h *Handler, c *net.TCPConn, outDone, inDone chan error, drain time.Duration) {
	s.hangup()
	s.pty.Close() // unblocks the pty reader and any pty write
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
	}
	c.Close()
	select {
	case <-s.waited:
		return
	case <-time.After(h.Config.Grace()):
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.waited
}

// hangup sends SIGHUP to the session's process group (the shell is its
// leader: setsid) unless the shell has already been reaped.
func (s *session) hangup() { server.HangUp(s.cmd, s.waited, 0) }

// ptyToConn relays the session's output and turns packet-mode control
// packets into urgent bytes. Each packet is written completely before the
// next is read, so after a FLUSHWRITE nothing of the session's earlier
// output is held here.
func (s *session) ptyToConn(c *net.TCPConn) error {
	pr := ptyx.NewPacketReader(s.pty, 0)
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

// setReadDeadline changes the socket's read deadline unless the end
// sequence has taken it over.
func (s *session) setReadDeadline(c *net.TCPConn, t time.Time) {
	s.dlMu.Lock()
	if !s.closing {
		c.SetReadDeadline(t)
	}
	s.dlMu.Unlock()
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
			_, ptyErr = s.pty.Write(b)
		}
	}
	idleSet := false
	for {
		switch {
		case scan.Pending() > 0 && ptyErr == nil:
			s.setReadDeadline(c, time.Now().Add(idle))
			idleSet = true
		case idleSet:
			s.setReadDeadline(c, time.Time{})
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
				ptyErr = s.pty.SetSize(ptyx.Winsize{Rows: ws.Rows, Cols: ws.Cols, XPixel: ws.XPixel, YPixel: ws.YPixel})
				s.mu.Lock()
				s.sc.WindowReceived()
				s.mu.Unlock()
			}
		}
		if err == nil {
			continue
		}
		s.dlMu.Lock()
		closing := s.closing
		s.dlMu.Unlock()
		if errors.Is(err, os.ErrDeadlineExceeded) && !closing {
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
