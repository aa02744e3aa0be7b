// Package rcmd is the client side of the plain BSD rcmd handshake
// (PROTOCOL.md §1.1, §1.3) over TCP, done the way glibc's rcmd() does it:
//
//  1. connect from a reserved source port (1023 downwards; rport);
//  2. with a stderr channel: listen on a reserved port, send its number as
//     the secondary-port field, and accept the server's connection back —
//     which must come from a reserved port and from the server's address,
//     and must come before any byte on the main connection ("protocol
//     failure in circuit setup"); without one, send the empty field "\0";
//  3. send client-user, server-user and the command in one write (glibc
//     sends them only after the stderr connection is accepted);
//  4. read the status byte: "\0" starts the data phase; anything else is a
//     refusal whose message (up to '\n') is returned verbatim in a
//     *RefusedError.
//
// Dial returns a *Conn that embeds the main *net.TCPConn, so io.Copy from
// an *os.File uses sendfile and CloseWrite half-closes as rsh needs.
// Errors are *Error values naming the step and the address, wrapping the
// package sentinels (ErrCircuit, ErrNoStatus, ErrRefused) or
// rport.ErrNeedPrivilege when the process may not bind a reserved port.
//
// Command builds the command string from arguments the way netkit rsh's
// copyargs() does: joined with single spaces, no quoting.
package rcmd
