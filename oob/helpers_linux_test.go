package oob

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns a connected loopback TCP pair: the dialled end and the
// accepted end. With inline, the listener gets SO_OOBINLINE through Control
// and the accepted end inherits it.
func tcpPair(t testing.TB, inline bool) (dialed, accepted *net.TCPConn) {
	t.Helper()
	lc := net.ListenConfig{}
	if inline {
		lc.Control = Control
	}
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		d.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() { d.Close(); r.c.Close() })
	return d.(*net.TCPConn), r.c.(*net.TCPConn)
}

func inline(t testing.TB, c *net.TCPConn) bool {
	t.Helper()
	var on bool
	if err := rawControl(c, func(fd int) (err error) { on, err = inlineFD(fd); return }); err != nil {
		t.Fatal(err)
	}
	return on
}

// waitInq waits until at least n bytes are readable on c (SIOCINQ), so that
// everything the peer sent has arrived before the test reads.
func waitInq(t testing.TB, c *net.TCPConn, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var inq int
		if err := rawControl(c, func(fd int) (err error) { inq, err = unix.IoctlGetInt(fd, unix.SIOCINQ); return }); err != nil {
			t.Fatal(err)
		}
		if inq >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d bytes arrived", inq, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustWrite(t testing.TB, c *net.TCPConn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func mustUrgent(t testing.TB, c *net.TCPConn, b byte) {
	t.Helper()
	if err := SendUrgent(c, b); err != nil {
		t.Fatal(err)
	}
}
