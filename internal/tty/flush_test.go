package tty

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestFlushOutputWakesABlockedWriter: a blocking write(2) to a full pty
// sleeps; after TCOFLUSH alone Linux leaves it asleep (logged, not
// asserted: a kernel may fix it), FlushOutput wakes it and it goes on.
func TestFlushOutputWakesABlockedWriter(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	// A blocking descriptor of the slave: os.File would use the poller.
	fd, err := unix.Open(tty.Name(), unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	raw := RawTermios(*tio, Options{EightBit: true}, false)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		t.Fatal(err)
	}
	closeMaster := func() { ptmx.Close() }
	var written atomic.Int64
	exited := make(chan struct{})
	// Stop the writer before its descriptor is closed (a number reused
	// by the next test must never be written): closing the master first
	// makes its write fail with EIO.
	defer func() { <-exited }()
	defer closeMaster()
	go func() {
		defer close(exited) // ends when the test closes the pty (EIO)
		buf := make([]byte, 4096)
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
			if n := written.Load(); n == last {
				return n
			} else {
				last = n
			}
		}
	}
	full := stalled()
	if full == 0 {
		t.Fatal("nothing written to the pty")
	}
	if err := unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCOFLUSH); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	t.Logf("%d bytes filled the pty; after TCOFLUSH alone the writer wrote %d more", full, written.Load()-full)
	before := stalled()
	if err := FlushOutput(fd); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for written.Load() == before {
		if time.Now().After(deadline) {
			t.Fatalf("writer still asleep 5 s after FlushOutput (%d bytes written)", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
