package oob

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestInlineSetAndInheritedByAcceptedSockets(t *testing.T) {
	d, a := tcpPair(t, true)
	if !inline(t, a) {
		t.Fatal("socket accepted from a listener with Control lacks SO_OOBINLINE")
	}
	if inline(t, d) {
		t.Fatal("plain dialled socket has SO_OOBINLINE")
	}
	if err := SetInline(d); err != nil {
		t.Fatal(err)
	}
	if !inline(t, d) {
		t.Fatal("SetInline did not set SO_OOBINLINE")
	}
	_, a2 := tcpPair(t, false)
	if inline(t, a2) {
		t.Fatal("socket accepted from a plain listener has SO_OOBINLINE")
	}
	dl := net.Dialer{Control: Control}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := dl.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !inline(t, c.(*net.TCPConn)) {
		t.Fatal("net.Dialer with Control did not set SO_OOBINLINE")
	}
}

// Two urgent bytes sent before the reader reads: with SO_OOBINLINE both stay
// in the stream in order and the read stops at the newest one; without it
// the older one creeps into the data and the newer one leaves the stream.
func TestTwoUrgentBytesBeforeRead(t *testing.T) {
	send := func(t *testing.T, c *net.TCPConn) {
		mustWrite(t, c, "A")
		mustUrgent(t, c, 'X')
		mustWrite(t, c, "B")
		mustUrgent(t, c, 'Y')
		mustWrite(t, c, "C")
	}
	t.Run("inline", func(t *testing.T) {
		d, a := tcpPair(t, true)
		send(t, d)
		waitInq(t, a, 5)
		r := NewReader(a, nil)
		buf := make([]byte, 64)
		n, err := r.Read(buf)
		if err != nil || string(buf[:n]) != "AXB" || !r.AtMark() || r.Offset() != 3 {
			t.Fatalf("first read %q, %v, at mark %v, offset %d; want \"AXB\" stopping at the mark at 3",
				buf[:n], err, r.AtMark(), r.Offset())
		}
		n, err = r.Read(buf)
		if err != nil || string(buf[:n]) != "YC" || r.AtMark() {
			t.Fatalf("second read %q, %v, at mark %v; want \"YC\" past the mark", buf[:n], err, r.AtMark())
		}
	})
	t.Run("not inline", func(t *testing.T) {
		d, a := tcpPair(t, false)
		send(t, d)
		// Without SO_OOBINLINE SIOCINQ counts up to the mark only: 3 bytes
		// readable means the pointer to 'Y' has arrived.
		waitInq(t, a, 3)
		a.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, err := a.Read(buf)
		if err != nil || string(buf[:n]) != "AXB" {
			t.Fatalf("first read %q, %v; want \"AXB\" with the older urgent byte crept in", buf[:n], err)
		}
		var oob [1]byte
		var on int
		var oerr error
		if err := rawControl(a, func(fd int) error {
			on, _, oerr = unix.Recvfrom(fd, oob[:], unix.MSG_OOB)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if oerr != nil || on != 1 || oob[0] != 'Y' {
			t.Fatalf("recv MSG_OOB = %d bytes %q, %v; want only 'Y' out of band", on, oob[:max(on, 0)], oerr)
		}
		n, err = a.Read(buf)
		if err != nil || string(buf[:n]) != "C" {
			t.Fatalf("second read %q, %v; want \"C\": 'Y' has left the stream", buf[:n], err)
		}
	})
}

func TestReaderParksAtMark(t *testing.T) {
	d, a := tcpPair(t, true)
	mustWrite(t, d, "hello")
	mustUrgent(t, d, '!')
	mustWrite(t, d, "world")
	waitInq(t, a, 11)
	r := NewReader(a, nil)
	buf := make([]byte, 2)
	var got []byte
	for !r.AtMark() {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if r.AtMark() != (r.Offset() == 5) {
			t.Fatalf("after %q: AtMark %v at offset %d", append(got, buf[:n]...), r.AtMark(), r.Offset())
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "hello" {
		t.Fatalf("read %q before the mark, want \"hello\"", got)
	}
	if at, err := AtMark(a); err != nil || !at {
		t.Fatalf("AtMark = %v, %v at the mark", at, err)
	}
	buf = make([]byte, 64)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "!world" || r.AtMark() {
		t.Fatalf("read at the mark %q, %v, at mark %v; want \"!world\"", buf[:n], err, r.AtMark())
	}
	if at, err := AtMark(a); err != nil || at {
		t.Fatalf("AtMark = %v, %v past the mark", at, err)
	}
}

// fillSendBuffer writes until c's send buffer and the peer's receive buffer
// are full (the peer does not read) and returns how many bytes went in. It
// ends with single bytes: the kernel appends a small send to the last
// queued segment while that has room, even when the buffer is over its size.
func fillSendBuffer(t *testing.T, c *net.TCPConn) int64 {
	t.Helper()
	var total int64
	for _, size := range []int{1 << 20, 1} {
		chunk := make([]byte, size)
		for {
			c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := c.Write(chunk)
			total += int64(n)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	c.SetWriteDeadline(time.Time{})
	return total
}

// SendUrgent on a full socket waits for room (EAGAIN is not an error),
// honours the write deadline, and lands after every byte written before.
func TestSendUrgentWaitsForRoom(t *testing.T) {
	d, a := tcpPair(t, true)
	total := fillSendBuffer(t, d)
	d.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	err := SendUrgent(d, 0x02)
	var op *OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &op) {
		t.Fatalf("SendUrgent on a full socket with a deadline = %v, want a deadline OpError", err)
	}
	d.SetWriteDeadline(time.Time{})
	sent := make(chan error, 1)
	go func() { sent <- SendUrgent(d, 0x02) }()
	r := NewReader(a, nil)
	buf := make([]byte, 64<<10)
	for !r.AtMark() {
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
		if r.Offset() > total {
			t.Fatalf("read %d bytes without meeting the mark; %d were written before it", r.Offset(), total)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if r.Offset() != total {
		t.Fatalf("mark at offset %d, want %d (after every byte written before)", r.Offset(), total)
	}
	n, err := r.Read(buf[:1])
	if err != nil || n != 1 || buf[0] != 0x02 {
		t.Fatalf("byte at the mark %x, %v; want the urgent 02", buf[:n], err)
	}
}

func TestErrorsOnClosedOrNilConn(t *testing.T) {
	d, _ := tcpPair(t, true)
	d.Close()
	var op *OpError
	if err := SendUrgent(d, 1); !errors.As(err, &op) {
		t.Fatalf("SendUrgent on a closed conn = %v, want *OpError", err)
	}
	if _, err := AtMark(d); !errors.As(err, &op) {
		t.Fatalf("AtMark on a closed conn = %v, want *OpError", err)
	}
	if err := SetInline(nil); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("SetInline(nil) = %v", err)
	}
	if _, err := Watch(d); !errors.As(err, &op) {
		t.Fatalf("Watch on a closed conn = %v, want *OpError", err)
	}
	r := NewReader(d, nil)
	if _, err := r.Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Fatalf("Read on a closed conn = %v", err)
	}
}
