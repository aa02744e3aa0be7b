// Package krbtest starts a throwaway MIT Kerberos realm on loopback for
// krx's tests, benchmarks and demo. It installs nothing: the MIT tools
// (krb5kdc, kdb5_util, kadmin.local, kinit from Debian's krb5-kdc,
// krb5-admin-server and krb5-user) must be on the machine; Start returns
// ErrNoMIT otherwise so a test can skip with that reason.
//
// Every file lives in one temp directory; the KDC listens on 127.0.0.1 on a
// free port and is stopped by its pid in Close. The realm follows
// ../shared/TESTBED.md: no DNS, no hostname canonicalisation, TCP only,
// forwardable tickets, principals alice, bob and host/localhost, keytabs
// for the service and for alice, and a ccache for alice written by kinit.
package krbtest
