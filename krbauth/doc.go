// Package krbauth is krx's Kerberos V5 layer: sendauth/recvauth, AP-REQ and
// AP-REP with subkeys and checksum binding, keytab/ccache/krb5.conf, .k5login
// and KRB-CRED forwarding. It is the only krx package that imports gokrb5.
package krbauth
