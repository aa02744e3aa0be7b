// Package krbauth is krx's Kerberos V5 layer: sendauth/recvauth, AP-REQ and
// AP-REP with subkeys and checksum binding, keytab/ccache/krb5.conf, .k5login
// and KRB-CRED forwarding. It is the only krx package that imports gokrb5.
//
// # Client
//
//	cl, err := krbauth.NewClient(krbauth.ClientOptions{})   // KRB5_CONFIG, KRB5CCNAME
//	st, err := cl.ServiceTicket(host, realmFlag)            // host/<host>, from ccache or KDC
//	res, err := krbauth.SendAuth(conn, st, krbauth.SendAuthOptions{
//		AppVersion:   "KCMDV0.2",
//		ChecksumData: krbauth.KcmdChecksumData(port, term, serverUser),
//	})
//	key := res.SessionUseKey()                               // what the session encrypts with
//
// SendAuth writes "KRB5_SENDAUTH_V1.0" and the application version, reads
// the one-byte answer (2 → *AppVersionError / ErrAppVersionRejected: the
// peer is a legacy server), sends an AP-REQ with mutual-required, a fresh
// subkey valid for the session enctype (des3 with odd parity, RFC 3961
// random-to-key) and the authenticator checksum (RSA-MD5 type 7 by
// default), turns a KRB-ERROR reply into *ServerError, and verifies the
// AP-REP (ctime/cusec; a subkey in it becomes the session key, as MIT's
// rd_rep does).
//
// # Server
//
//	kt, err := krbauth.LoadKeytab(flagK)                     // -K, KRB5_KTNAME, /etc/krb5.keytab
//	rc, err := krbauth.OpenReplayCache("")                   // file, shared by all processes
//	ac := &krbauth.Acceptor{Keytab: kt, RCache: rc, Checksum: krbauth.ChecksumVerifyIfPresent}
//	acc, err := ac.RecvAuth(conn, func(v string) bool { return v == "KCMDV0.2" })
//	// read server-user, term/command, client-user, then:
//	err = acc.VerifyChecksum(krbauth.KcmdChecksumData(localPort, term, serverUser))
//
// Acceptor.Verify is the socket-free core (AP-REQ bytes, optional checksum
// data, keytab, replay cache, time → *Accepted with the AP-REP to send), so
// a privileged monitor can verify bytes handed to it; ReadVersions,
// WriteVersionAnswer, ReadAPReq and WriteAPReqReply are the wire steps
// around it. The replay cache is an append-only, fsync'd, flock'd file of
// hashed (authenticator ciphertext) and (client, server, ctime, cusec)
// tags that expire at ctime + skew, so a re-exec-per-connection daemon
// and its restarts still refuse a replayed AP-REQ.
//
// # Keys
//
// Key is (enctype, bytes); Key.EType gives gokrb5's etype.EType, which
// cfbstream uses for key derivation.
//
// # Errors
//
// Every failure wraps a package sentinel (errors.Is) and most carry a
// struct with the details (errors.As): *NoCCacheError, *TicketExpiredError,
// *KDCError (ErrUnknownServer), *KDCUnreachableError, *WrongRealmError,
// *KeytabError (ErrNoKey, ErrWrongKVNO), *ClockSkewError (both clocks),
// *ReplayError, *AppVersionError, *ServerError. gokrb5 panics on some
// garbage; every exported entry point recovers and returns ErrMalformed.
// gokrb5's DER decoder ignores wrong tags and lengths, so received AP-REQs
// and AP-REPs must re-encode to exactly the bytes received.
package krbauth
