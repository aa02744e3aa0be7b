package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentWrites: writes from many goroutines all land whole, and
// String, Bytes and Len agree.
func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fmt.Fprintf(&b, "<%d.%d>", w, i)
			}
		}()
	}
	// Readers run alongside the writers (the race detector checks them).
	for range 100 {
		_ = b.Len()
		_ = b.String()
	}
	wg.Wait()
	s := b.String()
	for w := range writers {
		for i := range each {
			if tok := fmt.Sprintf("<%d.%d>", w, i); strings.Count(s, tok) != 1 {
				t.Fatalf("%s appears %d times", tok, strings.Count(s, tok))
			}
		}
	}
	if b.Len() != len(s) || string(b.Bytes()) != s {
		t.Fatalf("Len %d, Bytes %d bytes, String %d bytes", b.Len(), len(b.Bytes()), len(s))
	}
}

// TestBytesIsACopy: changing what Bytes returned leaves the buffer alone.
func TestBytesIsACopy(t *testing.T) {
	var b Buffer
	b.Write([]byte("abc"))
	p := b.Bytes()
	p[0] = 'X'
	if got := b.String(); got != "abc" {
		t.Fatalf("buffer is %q after changing its Bytes", got)
	}
}

// TestWaitForChains: WaitFor sees data written later by another goroutine,
// returns the offset past the match, and skips matches before from.
func TestWaitForChains(t *testing.T) {
	var b Buffer
	go func() {
		for _, s := range []string{"login: ", "x42y ", "prompt$ ", "x42y done"} {
			time.Sleep(20 * time.Millisecond)
			b.Write([]byte(s))
		}
	}()
	off := b.WaitFor(t, 0, "x42y", 5*time.Second)
	if want := len("login: x42y"); off != want {
		t.Fatalf("first x42y ends at %d, want %d", off, want)
	}
	off = b.WaitFor(t, off, "x42y", 5*time.Second)
	if want := len("login: x42y prompt$ x42y"); off != want {
		t.Fatalf("second x42y ends at %d, want %d", off, want)
	}
	if got := b.WaitFor(t, -5, "login", time.Second); got != len("login") {
		t.Fatalf("negative from: got %d, want %d", got, len("login"))
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// returns instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

// TestWaitForTimesOut: a string that never comes fails t after the
// timeout, with the searched string and the buffer's tail in the message;
// a match before from does not count, and from past the end is no panic.
func TestWaitForTimesOut(t *testing.T) {
	var b Buffer
	b.Write([]byte("needle " + strings.Repeat("x", 1000) + "END-OF-SCREEN"))
	for _, from := range []int{1, 5000} {
		r := &fatalRecorder{TB: t}
		start := time.Now()
		if got := b.WaitFor(r, from, "needle", 50*time.Millisecond); got != -1 {
			t.Fatalf("from %d: WaitFor returned %d, want -1", from, got)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("from %d: gave up after %v, before the timeout", from, d)
		}
		if !strings.Contains(r.msg, `"needle"`) {
			t.Errorf("from %d: message does not name the wanted string: %s", from, r.msg)
		}
		if from == 1 && (!strings.Contains(r.msg, "END-OF-SCREEN") || len(r.msg) > 2*tailBytes) {
			t.Errorf("message lacks the tail or is not cut to it (%d bytes): %s", len(r.msg), r.msg)
		}
	}
}
