// Package ptyx is rlogind's pseudo-terminal: a pty pair from
// github.com/creack/pty with the master in packet mode (TIOCPKT), the
// window size, and the session's command started on the slave as session
// leader with the slave as its controlling terminal.
//
// Packet mode is how the daemon learns what rlogin's control bytes need
// (PROTOCOL.md §1.2, netkit rlogind protocol()): every read of the master
// returns one packet whose first byte is a header. Header 0 (PktData)
// means the rest is output of the session; any other header is a single
// byte of TIOCPKT_* flags and no data: the slave flushed its output
// (PktFlushWrite, e.g. after ^C) or input (PktFlushRead), output was
// stopped/started with ^S/^Q (PktStop/PktStart), or the slave switched
// between "^S/^Q are flow control" and "they are data" (PktDoStop /
// PktNoStop). PacketReader splits reads into Packets.
//
// The master is made non-blocking and registered with Go's poller
// (creack/pty v1.1.24 leaves it blocking), so Close unblocks a goroutine
// blocked in Read and read deadlines work. The end of a session is still
// the slave side going away: once every process holding the slave has
// exited, reads fail with EIO, which Pty.Read and PacketReader report as
// io.EOF. The daemon's copy of the slave is closed by Start for that
// reason. Never call Fd on the master: it would switch it back to
// blocking mode; use Master().SyscallConn() for extra ioctls.
//
// On Linux, terminal ioctls (TCGETS, TIOCSWINSZ) on the master act on
// the slave, so Termios and SetSize work after Start too.
package ptyx
