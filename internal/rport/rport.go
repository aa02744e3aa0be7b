package rport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// The reserved port range of the r-commands.
const (
	// High is the first port tried: IPPORT_RESERVED-1 (glibc rresvport).
	High = 1023
	// Low is the lowest port accepted: IPPORT_RESERVED/2 (glibc
	// rresvport stops there; netkit rlogind/rshd refuse ports below it).
	Low = 512
)

// ErrNeedPrivilege is returned when the kernel refuses to bind a
// reserved port (EACCES): the process lacks root/CAP_NET_BIND_SERVICE.
var ErrNeedPrivilege = errors.New("rport: binding a reserved port needs root or CAP_NET_BIND_SERVICE")

// ErrExhausted is returned when every port from High down to Low is in use.
var ErrExhausted = errors.New("rport: every reserved port (512-1023) is in use")

// Reserved reports whether port is in the range servers accept for an
// r-command client: 512 through 1023 inclusive.
func Reserved(port int) bool { return port >= Low && port <= High }

// Dialer dials TCP connections from a reserved source port. Its
// DialContext has the signature of net.Dialer.DialContext.
type Dialer struct {
	// Base is the template for each attempt (timeouts, keep-alive,
	// Control...). If Base.LocalAddr is a *net.TCPAddr its IP is used
	// as the local address; its port is always replaced.
	Base net.Dialer
}

// Dial connects to address on the named network ("tcp", "tcp4", "tcp6")
// from a reserved source port, using a zero Dialer.
func Dial(network, address string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(context.Background(), network, address)
}

// Dial is DialContext with context.Background().
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects like net.Dialer.DialContext, with the local port
// taken from 1023 downwards: a port whose bind fails with EADDRINUSE, or
// whose connect fails with EADDRINUSE/EADDRNOTAVAIL (the address pair is
// still in use, e.g. in TIME_WAIT), is skipped, as glibc rcmd() does.
// EACCES on bind gives ErrNeedPrivilege; other errors end the search.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("rport: network %q is not TCP", network)
	}
	var ip net.IP
	var zone string
	if la, ok := d.Base.LocalAddr.(*net.TCPAddr); ok && la != nil {
		ip, zone = la.IP, la.Zone
	}
	for port := High; port >= Low; port-- {
		nd := d.Base
		nd.LocalAddr = &net.TCPAddr{IP: ip, Port: port, Zone: zone}
		c, err := nd.DialContext(ctx, network, address)
		if err == nil {
			return c, nil
		}
		switch classify(err) {
		case portBusy:
			continue
		case noPrivilege:
			return nil, ErrNeedPrivilege
		}
		return nil, err
	}
	return nil, ErrExhausted
}

// Listen listens on network ("tcp", "tcp4", "tcp6") at host (an IP
// literal, or "" for all addresses) on the highest free reserved port,
// like glibc rresvport() followed by listen(). The port is returned for
// the rsh secondary-port field.
func Listen(ctx context.Context, network, host string) (net.Listener, int, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, 0, fmt.Errorf("rport: network %q is not TCP", network)
	}
	var lc net.ListenConfig
	for port := High; port >= Low; port-- {
		ln, err := lc.Listen(ctx, network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return ln, port, nil
		}
		switch classify(err) {
		case portBusy:
			continue
		case noPrivilege:
			return nil, 0, ErrNeedPrivilege
		}
		return nil, 0, err
	}
	return nil, 0, ErrExhausted
}

type errClass int

const (
	otherError errClass = iota
	portBusy
	noPrivilege
)

// classify looks at which system call failed: the net package wraps
// bind and connect failures in *os.SyscallError named after the call.
func classify(err error) errClass {
	var se *os.SyscallError
	if !errors.As(err, &se) {
		return otherError
	}
	switch se.Syscall {
	case "bind":
		switch {
		case errors.Is(se.Err, syscall.EADDRINUSE):
			return portBusy
		case errors.Is(se.Err, syscall.EACCES):
			return noPrivilege
		}
	case "connect":
		if errors.Is(se.Err, syscall.EADDRINUSE) || errors.Is(se.Err, syscall.EADDRNOTAVAIL) {
			return portBusy
		}
	}
	return otherError
}
