// Package shelld is rlogind's plain shell service (TCP 514: rsh and rcp;
// PROTOCOL.md §1.3), in netkit rshd's order of events:
//
//  1. The client's source port must be reserved (512–1023) unless the
//     check is off; otherwise "\1rlogind: Permission denied\n".
//  2. The secondary-port field is read. A non-zero port must be reserved
//     too (netkit: "2nd port not reserved"); the server connects back to
//     the client's address at that port from a reserved port of its own
//     (internal/rport) — before it writes any status byte, since glibc's
//     rcmd() only sends the rest of the handshake once it has accepted
//     that connection. A refused connect-back is logged and reported with
//     "\1" on the main connection.
//  3. client-user, server-user and the command are read (the whole
//     handshake within the handshake timeout, netkit's alarm(60)), .rhosts
//     authorises (server.Config.Authorize), and "\0" goes out on the main
//     connection.
//  4. The command runs as "$SHELL -c command" as the user (uid, gid,
//     supplementary groups; its own session and process group), with HOME,
//     SHELL, PATH, USER, LOGNAME, in the home directory. Like netkit, the
//     socket itself is the command's stdin and stdout: no copying through
//     the daemon, so throughput is the kernel's, a client's
//     shutdown(SHUT_WR) is the command's end of input, and the command's
//     exit (with whatever it started) closes the connection. The handshake
//     is read with one-byte reads so that nothing the client sent after it
//     is left in a daemon buffer.
//  5. With a stderr channel, the command's stderr is a pipe the daemon
//     relays to that connection, and each byte the client sends on it is a
//     signal for the command's process group (compat.ParseSignal; other
//     bytes are logged and ignored). When the command's stderr closes the
//     daemon shuts the stderr connection down. Without one (port 0) stderr
//     is the main socket too. The protocol carries no exit status.
//
// At daemon shutdown the command's process group gets SIGHUP, and SIGKILL
// after the hang-up grace period.
package shelld
