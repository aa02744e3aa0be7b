package oob

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReadAtMarkWithSignalPending: Linux's recv at the urgent mark, with
// nothing copied yet and a signal pending on the thread, returns EAGAIN
// on a non-blocking socket (tcp_recvmsg: "if (signal_pending(current))"),
// though the byte is there. Waiting for readability then waits for data
// that is already queued: the edge came before, and the next one only
// with more data. The Go runtime's preemption SIGURGs make that likely
// under load. Here the reading thread is flooded with SIGURG (as the
// runtime sends them) while it reads 2000 marks and urgent bytes, each
// with nothing sent after it until the reader has taken it.
func TestReadAtMarkWithSignalPending(t *testing.T) {
	const n = 2000
	d, a := tcpPair(t, true)
	tid := make(chan int, 1)
	var stop atomic.Bool
	defer stop.Store(true)
	go func() {
		t := <-tid
		for !stop.Load() {
			unix.Tgkill(unix.Getpid(), t, unix.SIGURG)
			time.Sleep(5 * time.Microsecond)
		}
	}()
	acks := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := d.Write([]byte("data before the mark")); err != nil {
				errc <- err
				return
			}
			if err := SendUrgent(d, byte(i)|0x80); err != nil {
				errc <- err
				return
			}
			select {
			case <-acks:
			case <-time.After(5 * time.Second):
				errc <- nil
				return
			}
		}
		close(errc)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid <- unix.Gettid()
	r := NewReader(a, nil)
	buf := make([]byte, 64)
	for marks := 0; marks < n; {
		a.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := r.Read(buf)
		if err != nil {
			t.Fatalf("after %d marks: %v (the urgent byte was queued: the read waited for a readiness edge that had passed)", marks, err)
		}
		if !r.AtMark() {
			continue
		}
		if k, err := r.Read(buf[:1]); err != nil || k != 1 || buf[0] != byte(marks)|0x80 {
			t.Fatalf("mark %d: %x, %v", marks, buf[:k], err)
		}
		marks++
		acks <- struct{}{}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
