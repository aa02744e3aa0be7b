// Package rport binds TCP sockets to reserved ("privileged") source
// ports, as the BSD r-commands require.
//
// The plain rlogin/rsh/rcp protocols authenticate the client host by its
// source port: servers accept only ports 512–1023 (netkit rlogind
// network.c, rshd.c; PROTOCOL.md §1.1). The client picks its port like
// glibc's rresvport(): start at IPPORT_RESERVED-1 = 1023 and count down
// to IPPORT_RESERVED/2 = 512, moving on whenever the port is in use
// (EADDRINUSE). The rsh client also listens on such a port for the
// server's stderr connection, and the server connects back from one.
//
// Binding below 1024 needs root or CAP_NET_BIND_SERVICE (or a lowered
// net.ipv4.ip_unprivileged_port_start). rport does not guess from the
// uid: it tries, and turns the kernel's EACCES into ErrNeedPrivilege.
package rport
