// Package rshc is the client side of a plain rsh session (PROTOCOL.md
// §1.3): the rcmd handshake with a stderr channel (internal/rcmd), then
// three relays that run until the server has closed both connections, as
// netkit rsh's talk() does:
//
//   - stdin → main connection, then a half-close (shutdown SHUT_WR) at
//     stdin's end, which is the remote command's stdin EOF; a nil Stdin
//     (rsh -n) half-closes at once;
//   - main connection → Stdout (the command's stdout);
//   - stderr channel → Stderr (the command's stderr).
//
// Signals go the other way on the stderr channel: Session.Signal writes
// one signal byte (compat.SigInt, SigQuit, SigTerm), which in.rshd hands
// to killpg on the command. Run, with Config.ForwardSignals, catches
// SIGINT, SIGQUIT and SIGTERM (unless they were ignored when it started,
// as netkit's signal(…) != SIG_IGN test does) and forwards them instead of
// dying: rsh keeps running until the remote side closes.
//
// Throughput: the relays are io.Copy between the *os.File and the
// *net.TCPConn, so a regular-file stdin goes out with sendfile(2) and
// socket → file copies use splice(2) where the kernel allows.
//
// # Exit status (what the rsh command makes of Run's error)
//
// The protocol carries no exit status (PROTOCOL.md §1.3). Run returns nil
// when the server closed both connections in order, like netkit rsh's
// exit(0). It returns an error — rsh exits 1 — when the handshake fails
// (a *rcmd.RefusedError carries the server's message verbatim), when the
// stderr channel could not be set up, and when a connection breaks (a
// read error such as a reset). One reset is not an error: when the remote
// command exits without reading all of its stdin, its kernel resets the
// connection, so a reset on the main connection after rsh has sent stdin
// bytes on it (TCP_INFO bytes sent grew during the session) ends the
// stdout relay as an EOF would. A remote command that ends early
// therefore never makes rsh fail, as with netkit (which treats every read
// error as the end).
//
// A Stdin that blocks (a terminal) keeps its relay goroutine blocked in
// Read after Run has returned; the rsh command exits then, as netkit
// kills its stdin child.
package rshc
