// Package compat holds the wire formats of other peers: plain RFC 1282
// rlogin, rsh and rcp as netkit/BSD speak them, and the legacy KCMDV0.1/0.2
// length-framed encryption. The codecs never import net.
package compat
