// Package krxclient is the client side that rlogin -x, rsh -x and rcp -x
// share: Kerberos set-up (krb5.conf and the FILE ccache, a service ticket
// for host/<name>, -k realm, -f/-F forwarding), dialling a krx session
// (internal/krxsess), and the errors that tell the user what to do.
//
// Dial opens one session; RunShell relays a shell session (rsh -x: stdin,
// stdout, a separate stderr channel, signals); RunLogin runs an
// interactive login session on the terminal (rlogin -x: raw mode, escapes,
// window sizes, flow control); Transport gives rcp's engine a session as
// its reader and writer.
//
// Nothing here falls back to the plain protocol: every failure is an
// error naming its cause (a legacy server, no credentials cache, no krx
// service on the port).
package krxclient
