// Package rcp is the rcp engine: the two ends of the BSD rcp protocol
// (PROTOCOL.md §1.4; netkit rcp.c source(), sink(), response()) over any
// io.Reader/io.Writer pair — stdin/stdout when a remote shell runs
// "rcp -t|-f", an rcmd connection in the client, or pipes for a local copy.
// The wire codecs are compat's; this package owns the files.
//
// # Sink (Sink, "rcp -t")
//
// Every incoming file is written to a temporary file (".rcp.<name>.<hex>",
// created O_EXCL|O_NOFOLLOW, mode 0600) in the destination's directory and
// renamed over the destination only after the whole body and the source's
// "\0" status have arrived. A source that dies mid-file, reports an error
// instead of "\0", or a write error (disk full) removes the temporary file:
// the old destination survives intact. Write errors are answered with
// "\1rcp: <file>: <error>\n" and the session goes on, as netkit's sink does.
//
// Names from the wire must be one path component (compat refuses "", ".",
// "..", "/"); beyond that check every entry is created relative to an
// open directory descriptor with the *at system calls and O_NOFOLLOW, so a
// name can never reach outside the target:
//   - a symbolic link planted where a file is to go is replaced by the
//     file (rename never follows it) — netkit would write through it;
//   - a symbolic link planted where a directory (D line) is to go is refused
//     ("is a symbolic link, not followed") and the source skips that
//     directory — netkit would follow it.
//
// The target named by the user (the "-t" argument) is trusted: symbolic
// links in it are followed, as the user asked for that path, and a device
// or FIFO there ("rcp host:f /dev/null") is written into, not replaced.
//
// Modes, as netkit: with Preserve the exact mode from the wire (netkit
// leaves u+w on new files; krx does not); without it a new file gets
// (mode|0200)&^umask and a new directory mode&^umask, and an existing file
// or directory keeps its mode (and, when root replaces it, its owner and
// group). Directory modes and times are applied after their contents
// (directories are created 0700 first so a read-only mode does not stop
// the copy), times of a directory after its "E". Replacing a file by
// rename breaks hard links to the old file, unlike netkit's in-place write;
// a destination the user may not write is refused with EACCES first, as
// netkit's open(O_WRONLY) would be.
//
// # Source (Source, "rcp -f")
//
// Source sends T (with Preserve), C, D and E lines and the file bodies with
// io.CopyN, so sendfile(2) is used when the writer is a *net.TCPConn (or
// embeds one) and the file an *os.File, and a writer's ReadFrom otherwise
// (krx's session pipelines reading, encrypting and sending there). Without
// Options.Progress a body is one copy; with it, pieces of 16 MiB, so the
// bar moves. A file that shrinks while it is
// sent is padded with zero bytes to its announced size and the error is
// sent in place of "\0" (netkit source()); the sink then discards it.
// Names containing a newline cannot be sent (the protocol is line based)
// and are reported. Symbolic links are followed (netkit opens every path);
// a directory that contains itself through a link is reported, not looped.
//
// # Errors
//
// Per-file problems are reported the netkit way — on the wire as "\1…"
// lines, and, unless Options.Remote, on Options.Log — and counted: the
// functions then return a *Failures (errors.Is ErrFailed). A broken
// protocol or connection ends the session with a *ProtocolError or the I/O
// error.
//
// # Transports
//
// Client dials the plain shell service (rcmd) by default. With
// Client.Transport set (rcp -x: a krx shell session from
// internal/krxclient) the remote "rcp -t"/"rcp -f" runs over that
// transport instead; remote-to-remote copies are then refused with
// ErrRemoteToRemote.
package rcp
