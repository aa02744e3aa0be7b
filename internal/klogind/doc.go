// Package klogind is rlogind's krx login service (eklogin, TCP 2105;
// docs/protocol.md §3–7), and holds what it shares with the krx shell
// service (internal/kshelld): Config and Establish.
//
// Establish, for either service:
//
//  1. SO_OOBINLINE is set on the accepted socket before the first read.
//  2. The clear envelope (krxsess.Authenticate): stderr-port field,
//     KRB5_SENDAUTH_V1.0, the application version, AP-REQ/AP-REP with the
//     daemon's keytab, replay cache and clock skew, all within the
//     handshake timeout. A legacy client (KCMDV0.1/0.2) is accepted in
//     recvauth only to be told in clear "\1rlogind: legacy KCMDV0.2
//     framing is not supported…" (MsgLegacy): that framing is another
//     issue, and a clear answer beats "bad application version".
//  3. krxsess Start: the encrypted strings and forwarded credentials,
//     checked against the keyed authenticator checksum.
//  4. The server user is looked up (server.Config.Lookup) and the
//     principal authorised by krbauth.Authorize (.k5login read as the user,
//     or the default-realm name mapping). The peer only ever sees the
//     encrypted "rlogind: Permission denied."; the log line has the reason.
//  5. Forwarded credentials are written to a FILE ccache owned by the user
//     (KRB5CCNAME in the session's environment), removed at the end.
//
// Every connection gets one log line (ConnLog): service, peer, principal,
// client and server user, decision and reason.
//
// The login session then runs as logind's does (logind.StartLoginShell:
// login shell on a packet-mode pty, TERM from the payload): the accepting
// status, the in-band command 0x80 (send window sizes), then pty output
// through ServerSession.Output (FF escaped), TIOCPKT control packets as
// SendControl commands (FLUSHWRITE urgent, NOSTOP/DOSTOP in-band, 0x80
// OR-ed in until the first window message as netkit does), keystrokes
// from ServerSession.Input to the pty with window messages applied by
// TIOCSWINSZ. The relay writes each pty packet completely before reading
// the next, so a flush never leaves earlier output of its own behind it.
// The end is logind's: shell exit (output drained for DrainTimeout),
// client close or daemon shutdown → SIGHUP to the session, SIGKILL after
// the grace period, graceful close of the socket.
package klogind
