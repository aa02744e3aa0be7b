// Package krxd serves both krx services, login (rlogin -x) and shell
// (rsh -x, rcp -x), on one configured port (rlogind --krx-addr).
//
// The service is not a field of the protocol: each client binds it into
// its authenticator checksum (docs/protocol.md §4). The envelope is run
// with krxsess.EitherService, which takes a stderr port for shell and
// otherwise finds the service whose binding the checksum verifies; the
// connection then goes to the krx login or shell handler as if it had come
// in on eklogin or kshell, and is logged under that service.
package krxd
