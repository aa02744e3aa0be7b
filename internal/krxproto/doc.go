// Package krxproto holds the byte formats of krx's own encrypted protocol
// (docs/protocol.md): the application version, the checksum binding data,
// the handshake parameters, the forwarded-credentials message and the status
// that travel inside the encrypted stream, and the in-band escape codec of
// the login data phase. It never imports net and does no encryption: the
// caller (internal/krxsess) passes plaintext to and from cfbstream.
//
// # Handshake pieces
//
//   - AppVersion "KRXCFB01": the 9-byte sendauth application version
//     (with its NUL) that selects krx's CFB-64 stream (docs/protocol.md §3).
//   - Binding: what the AP-REQ authenticator checksum covers (§4).
//   - Params: server-user\0 payload\0 client-user\0, sent encrypted (§6);
//     ReadParams bounds them with compat's limits.
//   - AppendCred / ReadCred: u32 length + KRB-CRED, or four zero bytes.
//   - AppendStatus / ReadStatus: "krx1" then 00, or 01 text \n (§6); the
//     four-byte tag lets a client tell a krx server from a legacy server
//     that answers in clear.
//
// # In-band escapes (§7)
//
// Server→client (OutputDecoder): FF FF is one data byte FF; FF 'C' x is the
// control command x (rlogin's control bits, compat.Control). Client→server
// (InputDecoder): FF FF is data FF; FF 'W' and eight bytes (rows, cols,
// xpixel, ypixel, big-endian u16) is a window size. FF followed by anything
// else is a protocol error (*EscapeError, ErrBadEscape).
//
// The decoders are streaming: a sequence split at any point across calls
// is recognised; each Decode call returns the data before the next command
// and then the command, with its exact stream offset (Command.Offset, of the
// escape byte FF) and the number of data bytes decoded before it
// (Command.DataOffset, the offset an oob.Chain flushes to). No byte is
// lost, duplicated or reordered. The encoders (AppendData, AppendControl,
// AppendWindow) are stateless.
//
// Reading functions never consume a byte beyond their message: given an
// io.ByteReader (a *bufio.Reader over the decrypting reader) they take
// bytes with ReadByte, otherwise they issue reads of exactly the bytes
// still missing.
package krxproto
