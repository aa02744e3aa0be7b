package syncbuf

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// pollEvery is how often WaitFor looks at the buffer again.
const pollEvery = 10 * time.Millisecond

// tailBytes is how much of the buffer a WaitFor failure shows.
const tailBytes = 400

// Buffer is a concurrency-safe, append-only byte buffer. The zero value is
// empty and ready to use; a Buffer must not be copied after first use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer; it appends p and never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Bytes returns a copy of everything written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// Len returns how many bytes were written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// WaitFor waits until want appears in the buffer at or after byte offset
// from and returns the offset just past that occurrence, so that calls can
// be chained to wait for one thing after another. After timeout it fails t
// with the buffer's tail in the message (and returns -1 if t.Fatalf
// returns, as a recording testing.TB may).
func (b *Buffer) WaitFor(t testing.TB, from int, want string, timeout time.Duration) int {
	t.Helper()
	from = max(from, 0)
	deadline := time.Now().Add(timeout)
	for {
		s := b.String()
		if from <= len(s) {
			if i := strings.Index(s[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("syncbuf: no %q after offset %d within %v (%d bytes in all); tail: %q",
				want, from, timeout, len(s), tail(s, from))
			return -1
		}
		time.Sleep(pollEvery)
	}
}

// tail returns what follows offset from in s, cut to its last tailBytes.
func tail(s string, from int) string {
	s = s[min(from, len(s)):]
	if len(s) > tailBytes {
		return "…" + s[len(s)-tailBytes:]
	}
	return s
}
