package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Errors of the socket sources.
var (
	// ErrNotSocket: the inherited descriptor is not a TCP socket.
	ErrNotSocket = errors.New("server: not a TCP socket")
	// ErrSystemd: LISTEN_* variables that do not describe our sockets.
	ErrSystemd = errors.New("server: bad systemd socket activation")
)

// Listen listens on addr ("host:port", ":513") for svc. Go sets
// SO_REUSEADDR on listening sockets, so a restart does not wait for old
// connections in TIME_WAIT.
func Listen(ctx context.Context, svc Service, addr string) (Listener, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return Listener{}, fmt.Errorf("server: %s service: %w", svc, err)
	}
	return Listener{Service: svc, Listener: l}, nil
}

// Inetd returns the connection inetd left on descriptor 0. Descriptor 0
// stays open (the returned connection uses a duplicate); the caller should
// then point descriptors 0–2 elsewhere (see DetachStdio) so that nothing
// written to stdout or stderr reaches the peer.
func Inetd() (*net.TCPConn, error) { return fileConn(os.Stdin, "inetd descriptor 0") }

// fileConn makes a *net.TCPConn of a connected socket descriptor.
func fileConn(f *os.File, what string) (*net.TCPConn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotSocket, what, err)
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("%w: %s is a %T", ErrNotSocket, what, c)
	}
	return tc, nil
}

// DetachStdio points descriptors 0, 1 and 2 at /dev/null. In inetd mode
// all three are the peer's socket; after Inetd has taken its duplicate,
// nothing else may read or write it.
func DetachStdio() error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	rc, err := null.SyscallConn()
	if err != nil {
		return err
	}
	var derr error
	if err := rc.Control(func(fd uintptr) {
		for _, to := range []int{0, 1, 2} {
			if e := unix.Dup3(int(fd), to, 0); e != nil && derr == nil {
				derr = e
			}
		}
	}); err != nil {
		return err
	}
	return derr
}

// Conn is one already accepted connection and its service (inetd mode,
// or a systemd Accept=yes socket).
type Conn struct {
	Service Service
	*net.TCPConn
}

// listenFDsStart is SD_LISTEN_FDS_START (sd-daemon.h).
const listenFDsStart = 3

// Systemd returns the sockets systemd passed (sd_listen_fds(3)): listening
// sockets as Listeners, connected ones (Accept=yes) as Conns. It returns
// nothing and no error when the process was not socket-activated
// (LISTEN_PID unset or another process's). Services come from
// LISTEN_FDNAMES, else from the local port, else fallback if it is not ""
// and there is exactly one socket. The LISTEN_* variables are unset.
func Systemd(fallback Service) ([]Listener, []Conn, error) {
	fds, names, err := listenFDs(os.Getenv, os.Getpid())
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if err != nil || len(fds) == 0 {
		return nil, nil, err
	}
	var ls []Listener
	var cs []Conn
	fail := func(err error) ([]Listener, []Conn, error) {
		for _, l := range ls {
			l.Close()
		}
		for _, c := range cs {
			c.Close()
		}
		return nil, nil, err
	}
	for i, fd := range fds {
		unix.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), "systemd:"+names[i])
		acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		if err != nil {
			f.Close()
			return fail(fmt.Errorf("%w: descriptor %d: %v", ErrNotSocket, fd, err))
		}
		port := localPort(fd)
		svc, err := pickService(names[i], port, fallback, len(fds))
		if err != nil {
			f.Close()
			return fail(fmt.Errorf("%w: descriptor %d (name %q, port %d): %v", ErrSystemd, fd, names[i], port, err))
		}
		if acc == 0 {
			c, err := fileConn(f, fmt.Sprintf("systemd descriptor %d", fd))
			f.Close()
			if err != nil {
				return fail(err)
			}
			cs = append(cs, Conn{Service: svc, TCPConn: c})
			continue
		}
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("%w: descriptor %d: %v", ErrNotSocket, fd, err))
		}
		ls = append(ls, Listener{Service: svc, Listener: l})
	}
	return ls, cs, nil
}

// listenFDs parses the LISTEN_* variables for process pid.
func listenFDs(getenv func(string) string, pid int) (fds []int, names []string, err error) {
	ps := getenv("LISTEN_PID")
	if ps == "" {
		return nil, nil, nil
	}
	if p, err := strconv.Atoi(ps); err != nil || p != pid {
		return nil, nil, nil // meant for another process
	}
	n, err := strconv.Atoi(getenv("LISTEN_FDS"))
	if err != nil || n < 0 || n > 1024 {
		return nil, nil, fmt.Errorf("%w: LISTEN_FDS=%q", ErrSystemd, getenv("LISTEN_FDS"))
	}
	names = make([]string, n)
	if v := getenv("LISTEN_FDNAMES"); v != "" {
		parts := strings.Split(v, ":")
		if len(parts) != n {
			return nil, nil, fmt.Errorf("%w: LISTEN_FDNAMES has %d names for %d descriptors", ErrSystemd, len(parts), n)
		}
		copy(names, parts)
	}
	for i := range n {
		fds = append(fds, listenFDsStart+i)
	}
	return fds, names, nil
}

// pickService decides a socket's service from its name, port or fallback.
func pickService(name string, port int, fallback Service, count int) (Service, error) {
	// systemd names unnamed sockets after the unit ("rlogind.socket") or
	// "unknown"; only our service names count.
	if s, err := ParseService(name); err == nil {
		return s, nil
	}
	if s := PortService(port); s != "" {
		return s, nil
	}
	if fallback != "" && count == 1 {
		return fallback, nil
	}
	return "", errors.New("cannot tell the service: set FileDescriptorName=login, shell, eklogin or kshell, use a standard port, or pass --service")
}

// localPort returns the local TCP port of socket fd, 0 if unknown.
func localPort(fd int) int {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}

// isTemporary reports accept errors worth retrying: out of descriptors or
// memory, or a connection aborted before it was accepted.
func isTemporary(err error) bool {
	for _, e := range []syscall.Errno{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.ECONNABORTED, unix.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
