package rcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/rcmd"
)

// Client runs the rcp program's copies (netkit rcp.c main(), toremote(),
// tolocal()).
type Client struct {
	Recursive bool // -r
	Preserve  bool // -p
	// Port is the shell service port on remote hosts; 0 means 514. A
	// non-zero Port is also passed to a remote rcp that copies on to a
	// third host (remote→remote), which then must be krx's rcp.
	Port int
	// RemoteRcp is the program the remote shell runs; "" means "rcp".
	RemoteRcp string
	// LocalUser is the client-user of the rcmd handshake; "" = current.
	LocalUser string
	// Stdout and Stderr receive a remote→remote copy's output; Stderr
	// also the error messages. nil: os.Stdout, os.Stderr.
	Stdout, Stderr io.Writer
	// Progress, if set, shows file progress (see package progress).
	Progress Progress
	// Umask for files created without Preserve; the CLI passes
	// ProcessUmask().
	Umask uint32
	// Dial connects to a host's shell service; nil means rcmd.Dial.
	Dial func(ctx context.Context, addr string, o rcmd.Options) (*rcmd.Conn, error)
	// Transport, if set, replaces Dial for local↔remote copies: it runs
	// command as user on host and returns the command's input and output
	// (rcp -x: a krx shell session). Remote→remote copies are refused
	// with ErrRemoteToRemote.
	Transport func(ctx context.Context, host, user, command string) (io.ReadWriteCloser, error)
}

// ErrRemoteToRemote: a remote→remote copy asked of a Client with a
// Transport (rcp -x).
var ErrRemoteToRemote = errors.New("rcp: remote-to-remote copies are not supported with this transport (-x); copy through this host in two steps")

// Copy copies the sources to target, each "[[user@]host:]path". Per-file
// problems are printed to Stderr and summed up in the returned *Failures;
// every source is tried.
func (c *Client) Copy(ctx context.Context, sources []string, target string) error {
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Dial == nil {
		c.Dial = rcmd.Dial
	}
	if c.LocalUser == "" {
		u, err := rcmd.CurrentUser()
		if err != nil {
			return err
		}
		c.LocalUser = u
	}
	t, err := ParseSpec(target)
	if err != nil {
		return err
	}
	var f failures
	specs := make([]Spec, 0, len(sources))
	raw := make([]string, 0, len(sources))
	for _, s := range sources {
		sp, err := ParseSpec(s)
		if err != nil {
			f.add(c, err.Error())
			continue
		}
		specs = append(specs, sp)
		raw = append(raw, s)
	}
	toDir := len(sources) > 1 // netkit: targetshouldbedirectory
	if t.Remote {
		c.toRemote(ctx, specs, raw, t, toDir, &f)
	} else {
		c.toLocal(ctx, specs, raw, t.Path, toDir, &f)
	}
	if len(f.msgs) > 0 {
		return &Failures{Messages: f.msgs}
	}
	return nil
}

type failures struct{ msgs []string }

func (f *failures) add(c *Client, msg string) {
	f.msgs = append(f.msgs, msg)
	fmt.Fprintln(c.Stderr, msg)
}

// merge counts an engine result: its messages were printed already.
func (f *failures) merge(c *Client, err error) {
	var fl *Failures
	switch {
	case err == nil:
	case errors.As(err, &fl):
		f.msgs = append(f.msgs, fl.Messages...)
	default:
		f.add(c, err.Error())
	}
}

func (c *Client) opts(toDir bool) Options {
	return Options{Recursive: c.Recursive, Preserve: c.Preserve, TargetDir: toDir, Log: c.Stderr, Progress: c.Progress, Umask: c.Umask}
}

// command builds "rcp [-r] [-p] [-d] -t|-f path", the path raw as netkit
// sends it.
func (c *Client) command(dir compat.RcpDirection, toDir bool, path string) string {
	var b strings.Builder
	b.WriteString(c.remoteRcp())
	if c.Recursive {
		b.WriteString(" -r")
	}
	if c.Preserve {
		b.WriteString(" -p")
	}
	if toDir {
		b.WriteString(" -d")
	}
	b.WriteString(" -" + string(rune(dir)) + " " + path)
	return b.String()
}

func (c *Client) remoteRcp() string {
	if c.RemoteRcp == "" {
		return "rcp"
	}
	return c.RemoteRcp
}

func (c *Client) addr(host string) string {
	p := c.Port
	if p == 0 {
		p = rcmd.ShellPort
	}
	return net.JoinHostPort(host, strconv.Itoa(p))
}

// open runs cmd on s's host for a local↔remote copy, over Transport if
// set, else Dial without a stderr channel.
func (c *Client) open(ctx context.Context, s Spec, cmd string) (io.ReadWriteCloser, error) {
	if c.Transport == nil {
		return c.dial(ctx, s, cmd, false)
	}
	u := s.User
	if u == "" {
		u = c.LocalUser
	}
	rw, err := c.Transport(ctx, s.Host, u, cmd)
	if err != nil {
		return nil, fmt.Errorf("rcp: %s: %w", s.Host, err)
	}
	return rw, nil
}

func (c *Client) dial(ctx context.Context, s Spec, cmd string, stderr bool) (*rcmd.Conn, error) {
	u := s.User
	if u == "" {
		u = c.LocalUser
	}
	conn, err := c.Dial(ctx, c.addr(s.Host), rcmd.Options{ClientUser: c.LocalUser, ServerUser: u, Command: cmd, Stderr: stderr})
	if err != nil {
		var re *rcmd.RefusedError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("rcp: %s: %s", s.Host, re.Error())
		}
		return nil, fmt.Errorf("rcp: %w", err)
	}
	return conn, nil
}

func (c *Client) toRemote(ctx context.Context, specs []Spec, raw []string, t Spec, toDir bool, f *failures) {
	var local []string
	flush := func() {
		if len(local) == 0 {
			return
		}
		conn, err := c.open(ctx, t, c.command(compat.RcpTo, toDir, t.RemotePath()))
		if err != nil {
			f.add(c, err.Error())
		} else {
			f.merge(c, Source(conn, conn, local, c.opts(toDir)))
			conn.Close()
		}
		local = nil
	}
	for i, s := range specs {
		switch {
		case s.Remote:
			flush()
			c.remoteToRemote(ctx, s, t, f)
		default:
			local = append(local, raw[i])
		}
	}
	flush()
}

// remoteToRemote runs "rcp [-r] [-p] src 'user@host2:path'" on the source
// host through its shell service (netkit runs "rsh host1 -n rcp …").
func (c *Client) remoteToRemote(ctx context.Context, s, t Spec, f *failures) {
	if c.Transport != nil {
		f.add(c, fmt.Sprintf("%v: %s to %s", ErrRemoteToRemote, s, t))
		return
	}
	var b strings.Builder
	b.WriteString(c.remoteRcp())
	if c.Recursive {
		b.WriteString(" -r")
	}
	if c.Preserve {
		b.WriteString(" -p")
	}
	if c.Port != 0 {
		b.WriteString(" -P " + strconv.Itoa(c.Port))
	}
	b.WriteString(" " + s.RemotePath() + " " + compat.ShellQuote(t.String()))
	conn, err := c.dial(ctx, s, b.String(), true)
	if err != nil {
		f.add(c, err.Error())
		return
	}
	defer conn.Close()
	conn.CloseWrite() // -n: no input
	var wg sync.WaitGroup
	var errOut countWriter
	errOut.w = c.Stderr
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&errOut, conn.Stderr) }()
	io.Copy(c.Stdout, conn)
	wg.Wait()
	if errOut.n > 0 {
		// No exit status in the protocol: the remote rcp's messages are
		// the only sign of failure.
		f.msgs = append(f.msgs, fmt.Sprintf("rcp: %s: remote copy reported errors", s))
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (cw *countWriter) Write(p []byte) (int, error) {
	cw.n += int64(len(p))
	return cw.w.Write(p)
}

func (c *Client) toLocal(ctx context.Context, specs []Spec, raw []string, target string, toDir bool, f *failures) {
	for i, s := range specs {
		switch {
		case s.Remote:
			conn, err := c.open(ctx, s, c.command(compat.RcpFrom, toDir, s.RemotePath()))
			if err != nil {
				f.add(c, err.Error())
				continue
			}
			f.merge(c, Sink(conn, conn, target, c.opts(toDir)))
			conn.Close()
		default:
			f.merge(c, c.localCopy(raw[i], target, toDir))
		}
	}
}

// localCopy copies within this host by running the engine's two ends on a
// socket pair, so a local copy follows exactly the rules of a remote one.
func (c *Client) localCopy(src, target string, toDir bool) error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("rcp: %w", err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "rcp-source"), os.NewFile(uintptr(fds[1]), "rcp-sink")
	ca, err1 := net.FileConn(a)
	cb, err2 := net.FileConn(b)
	a.Close()
	b.Close()
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("rcp: %w", err)
	}
	defer ca.Close()
	defer cb.Close()
	o := c.opts(toDir)
	so := o
	so.Progress = nil // one bar: the sink's
	so.Remote = true  // one message per problem: the sink prints them all
	res := make(chan error, 1)
	go func() {
		err := Source(ca, ca, []string{src}, so)
		ca.(*net.UnixConn).CloseWrite()
		res <- err
	}()
	err = Sink(cb, cb, target, o)
	cb.Close() // unblocks a source still waiting for a reply
	serr := <-res
	// Each problem was reported by both ends; count the sink's view, or
	// the source's if the sink saw none.
	if err == nil {
		return serr
	}
	return err
}
