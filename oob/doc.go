// Package oob handles TCP urgent data on real sockets: SO_OOBINLINE, sending
// one urgent byte with MSG_OOB, SIOCATMARK, urgent notification that ignores
// the Go runtime's own SIGURGs, and the chain of buffers to be written that a
// flush cuts up to the urgent mark.
package oob
