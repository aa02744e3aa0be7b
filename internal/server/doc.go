// Package server is rlogind's front end: where connections come from and
// what every plain service shares once one has arrived.
//
// # Listening
//
// A Listener is a net.Listener tagged with the Service it serves (Login
// on 513, Shell on 514). Connections come from one of three places:
//
//   - standalone: Listen binds an address ("host:port", ":513");
//   - inetd: Inetd turns the socket on file descriptor 0 into a single
//     connection (inetd, xinetd, socat "EXEC:…,nofork" and systemd's
//     Accept=yes with StandardInput=socket all hand it over like that);
//   - systemd socket activation: Systemd reads LISTEN_PID, LISTEN_FDS and
//     LISTEN_FDNAMES (sd_listen_fds(3)), takes the descriptors from 3 on,
//     and tells the services apart by FileDescriptorName= ("login",
//     "shell"; "rlogin"/"rsh" are accepted too), else by the socket's
//     local port (513, 514), else by a fallback service when there is
//     only one socket. A connected socket (Accept=yes) is served as one
//     connection. The variables are removed from the environment.
//
// Server.Serve runs one accept loop per listener and one goroutine per
// connection, handing each to the Handler registered for its service.
// When its context ends (rlogind cancels it on SIGTERM and SIGHUP) it
// closes the listeners, lets the handlers hang their sessions up (they
// get the same context) and returns once every handler has returned.
//
// # What the plain services share
//
// Config holds the policy and timeouts both services apply: the reserved
// source port check (netkit rlogind/network.c, rshd.c: a client port
// outside 512–1023 is refused with "\1…Permission denied"), .rhosts and
// hosts.equiv authorisation with glibc's rules through internal/rhosts
// (off unless Config.Rhosts is set: every plain connection is then refused
// with a message saying how to enable it), the handshake timeout (netkit's
// alarm(60)) and the grace period between hanging a session up and killing
// it. Config.Authorize looks the server user up (LookupAccount: uid, gid,
// groups, home and login shell from the password database) and decides.
//
// The peer only ever sees a short refusal (Refusal.Peer: "Permission
// denied", "server-user too long"); the reason goes to the log. Every
// connection gets exactly one ConnLog line at Info level: service, peer,
// client and server user, decision and reason.
package server
