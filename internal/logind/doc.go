// Package logind is rlogind's plain login service (TCP 513, RFC 1282;
// PROTOCOL.md §1.2), after netkit rlogind's order of events:
//
//  1. The client's source port must be reserved (512–1023), unless the
//     check is off: otherwise "\1rlogind: Permission denied.\r\n".
//  2. The handshake "\0 client-user\0 server-user\0 TERM/speed\0" is read
//     within the handshake timeout (netkit: alarm(60)); an over-long or
//     unterminated field is refused with a short message, a peer that goes
//     away is logged.
//  3. .rhosts/hosts.equiv authorise the login (server.Config.Authorize);
//     the peer only learns "Permission denied", the log learns why.
//  4. The user's login shell (argv[0] "-bash" style) starts as the user
//     (uid, gid, supplementary groups) on a fresh pty in packet mode,
//     as session leader with the pty as its controlling terminal; the slave
//     is owned by the user, group tty, mode 0620; environment TERM, HOME,
//     SHELL, USER, LOGNAME, PATH; working directory home.
//  5. The confirmation "\0" goes out, then the urgent byte 0x80 asking for
//     window sizes; asked again after 1 s and 3 s while no window message
//     has come (netkit rlogin can lose the first one: windowAsks).
//  6. Relay. pty → client: data as is; TIOCPKT control packets become one
//     urgent byte each through compat.ServerControl (only FLUSHWRITE,
//     NOSTOP, DOSTOP; 0x80 OR-ed in until the first window message). The
//     relay writes every packet completely before reading the next, so
//     when it sends FLUSHWRITE it holds no unsent output of its own — what
//     netkit drops by hand after a flush is never buffered here.
//     client → pty: through a compat.WindowScanner; each window message is
//     applied with TIOCSWINSZ (the session gets SIGWINCH), everything else
//     is written to the pty. Bytes that may start a window message are held
//     back only until the next read or for Handler.IdleFlush.
//  7. The end: the shell exits (its remaining output is still sent, up to
//     DrainTimeout when background jobs keep the pty open), or the client
//     closes (the session's process group gets SIGHUP and the pty is hung
//     up), or the daemon shuts down (the same). A session that does not
//     exit within the hang-up grace period is killed with SIGKILL. Every
//     goroutine and descriptor of the connection is gone when ServeConn
//     returns.
//
// Steps 4 and 7 — the shell on its pty, the relay's end, the hang-up —
// are Shell's (StartShell, Relay, End), which the krx login service
// (internal/klogind) shares; only the relays differ.
//
// No password fall-back: a connection rhosts does not authorise is refused
// (Debian's PAM stack would prompt inside the session instead).
package logind
