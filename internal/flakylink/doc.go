// Package flakylink builds a lossy, slow or URG-stripping TCP link between
// two "hosts" on one machine for tests: two network namespaces joined by a
// veth pair, with nftables rules in the receiver's namespace (TESTBED.md,
// "A flaky link between two hosts on one machine"; this kernel has no
// netem).
//
//	l := flakylink.New(t, flakylink.Options{LossPercent: 10})
//	ln, _ := l.Sender.Listen(l.Sender.Addr + ":0")    // in the sender's namespace
//	c, _ := l.Receiver.Dial(ln.Addr().String())       // in the receiver's namespace
//	// … traffic …
//	cnt, _ := l.Counters()                            // what the rules did
//
// The rules act on TCP segments arriving in the receiver's namespace
// (prerouting): random loss of any segment, random loss of segments with
// URG set, and a middlebox that clears URG and the urgent pointer. A token
// bucket (tc tbf) on the sender's veth makes a slow, queued link. Segments
// the receiver sends (ACKs, the other direction's data) pass untouched.
//
// Sockets are made in a namespace by a goroutine locked to its OS thread
// that joins the namespace with setns(2); a socket keeps its namespace for
// life, so the returned *net.TCPConn and *net.TCPListener are ordinary Go
// sockets usable from any goroutine. The thread is never unlocked: Go
// discards it when the goroutine returns, so no other goroutine ever runs
// in the wrong namespace.
//
// Every link has its own uniquely named namespaces (parallel tests do not
// collide) and the same addresses inside them (SenderIP, ReceiverIP).
// New skips the test unless it runs as root with ip and nft (and tc for a
// rate) installed; t.Cleanup deletes both namespaces, which removes the
// veth pair and the rules with them.
package flakylink
