// Package rlogin is the client session engine of plain rlogin (RFC 1282,
// PROTOCOL.md §1.2), as netkit rlogin behaves, built on oob for urgent
// data and tty for the terminal.
//
// Run dials with internal/rcmd (no stderr channel; payload "TERM/speed",
// TermSpeed: $TERM or "network", and the speed name of netkit's
// getspeedstr()), with SO_OOBINLINE set before the connection exists, puts
// the terminal into raw mode (tty; restored on every way out: return, a
// panic in any of its goroutines, SIGTERM/SIGHUP/SIGINT/SIGQUIT), and
// runs three goroutines:
//
//   - the reader reads the socket onto an oob.Chain that a drain goroutine
//     writes to the terminal. Every read is "peek one byte, SIOCATMARK,
//     read", so the urgent byte is always recognised as the first byte of
//     a read — also when the reader was idle and Linux hands the urgent
//     byte over at the start of the next read (a SIOCATMARK asked after
//     the read, or before it outside the read call, misses that case);
//   - the writer reads the keyboard through an Escaper (netkit writer():
//     ~. and ~<EOF> disconnect, ~<susp> suspends rlogin's process group,
//     ~^Y rlogin alone, ~~ sends ~, at the beginning of a line only) and
//     writes to the socket;
//   - the window loop sends the 12-byte window message on every SIGWINCH
//     that changed the size, once the server asked for them.
//
// # Control bytes
//
// At the mark the urgent byte is consumed and acted on like netkit's
// oob(): 0x02 FLUSHWRITE drops everything read before the mark that is
// not painted yet and flushes the terminal's output queue (TCOFLUSH);
// 0x10 NOSTOP / 0x20 DOSTOP turn IXON off/on (not with -8); 0x80 WINDOW
// starts window reports with one message at once; other bits are
// ignored. An urgent hint (oob.Watcher: the kernel's SIGURG, well before
// the byte) holds the chain: painting stops while the reader goes on
// reading to the mark; a flush then drops what was held unseen, any other
// control byte releases it, nothing lost (oob.HoldLimit bounds a hold).
//
// # The plain protocol's weakness
//
// TCP has one urgent pointer. When the server sends a second urgent byte
// before the first was read, the first loses its mark; with SO_OOBINLINE
// it stays in the stream, in order, but unmarked ("creep-in"), and the
// plain protocol has no way to tell it from data: it is painted (netkit,
// without OOBINLINE, would also get it in-band). Only the newest byte is
// acted on. krx's encrypted protocol carries control bytes in-band as
// well, so it has no such loss.
//
// Messages and results follow netkit: "rlogin: connection closed." when
// the server closes (nil error), "rlogin: closed connection." after ~.
// (nil), a *SessionError (ErrConnection) when the connection breaks, and
// the server's refusal as a *rcmd.RefusedError.
package rlogin
