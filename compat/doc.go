// Package compat holds the wire formats of other peers: plain RFC 1282
// rlogin, rsh and rcp as netkit/BSD speak them, and the legacy KCMDV0.1/0.2
// length-framed encryption. The codecs never import net: they work on
// io.Reader, io.Writer and []byte, so they are tested in memory and fuzzed,
// and used over real sockets by the clients and the daemon.
//
// # Plain r-commands (PROTOCOL.md §1)
//
//   - rcmd handshake: Handshake (port\0 client-user\0 server-user\0
//     payload\0) with WriteHandshake (one Write, as glibc's one writev) and
//     ReadHandshake/ParseHandshake bounded by Limits (LoginLimits,
//     ShellLimits); the server's answer Status with WriteStatus and
//     ReadStatus/ParseStatus. rlogin's payload is a TermSpeed.
//   - rlogin control: Control bytes (S→C urgent data), PacketControl and
//     ServerControl (the "OR 0x80 until the first window message" rule),
//     WindowSize (the 12-byte C→S message) and the streaming WindowScanner.
//   - rsh: Signal bytes on the stderr channel, ParseSignal.
//   - rcp: RcpCommand ("rcp [-r] [-p] [-d] -t|-f path"), the control lines
//     Times, FileHeader, DirHeader, EndDir, the acknowledgement Reply,
//     ReadControl/ParseControl/WriteControl, ReadReply/WriteReply, and the
//     file-body primitives BodyReader, ReceiveBody and SendBody.
//
// # Reading without over-reading
//
// In every protocol here the data phase (or a file body) follows a
// terminated string on the same stream. All Read* functions consume
// exactly the bytes of the message: given an io.ByteReader such as a
// *bufio.Reader they take bytes with ReadByte, so anything buffered beyond
// stays in the caller's reader, which the caller goes on using for the
// data phase; given any other io.Reader they issue 1-byte reads, which
// never take a byte the message does not own.
//
// # Errors
//
// Errors wrap package sentinels (ErrTooLong, ErrUnterminated, ErrBadMode,
// …) inside *FieldError, *LineError or *BodyError, which name the field and
// the offending value or line. A peer that closes mid-message gives an error
// that also matches io.ErrUnexpectedEOF.
package compat
