package ptyx

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWakeWritersAfterInterrupt: a process asleep in write(2) on a full
// slave stays asleep after ^C's flush (Linux; logged, not asserted) and
// goes on after WakeWriters.
func TestWakeWritersAfterInterrupt(t *testing.T) {
	p := openPacket(t)
	fd, err := unix.Open(p.SlaveName(), unix.O_RDWR|unix.O_NOCTTY, 0) // blocking, as a program's stdout
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	closeMaster := func() { p.Close() }
	var written atomic.Int64
	exited := make(chan struct{})
	// Stop the writer before its descriptor is closed (a number reused
	// by the next test must never be written): closing the master first
	// makes its write fail with EIO.
	defer func() { <-exited }()
	defer closeMaster()
	go func() {
		defer close(exited) // ends with EIO when the test closes the pty
		buf := make([]byte, 4096)
		for i := range buf {
			buf[i] = 'x'
		}
		for {
			n, err := unix.Write(fd, buf)
			written.Add(int64(max(n, 0)))
			if err != nil && err != unix.EINTR {
				return
			}
		}
	}()
	stalled := func() int64 {
		for last := int64(-1); ; time.Sleep(100 * time.Millisecond) {
			n := written.Load()
			if n == last {
				return n
			}
			last = n
		}
	}
	full := stalled()
	if full == 0 {
		t.Fatal("nothing written")
	}
	if _, err := p.Write([]byte{0x03}); err != nil { // ^C: ISIG flushes the slave's output
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the line discipline works in the background
	before := stalled()
	if before != full {
		// The writer went on by itself (the flush raced with its
		// sleep) and has filled the pty again: nothing to show.
		t.Skipf("the kernel woke the writer itself this time (%d → %d bytes)", full, before)
	}
	t.Logf("after the flush the writer is asleep with %d bytes written", before)
	if err := p.WakeWriters(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for written.Load() == before {
		if time.Now().After(deadline) {
			t.Fatalf("writer still asleep 5 s after WakeWriters (%d bytes written)", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
