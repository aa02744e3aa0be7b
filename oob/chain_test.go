package oob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// pattern returns n bytes whose values depend on their offset, so any
// reordering or duplication shows up in a comparison.
func pattern(off int64, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		o := off + int64(i)
		p[i] = byte(o) ^ byte(o>>8)*31 ^ byte(o>>16)*7
	}
	return p
}

// recWriter records everything written (Bytes, Len); an optional delay
// slows each Write, an optional gate makes each Write wait for a token, and
// an optional fail makes each Write fail with it, recording nothing.
type recWriter struct {
	syncbuf.Buffer
	delay time.Duration
	gate  chan struct{}
	fail  error
}

func (w *recWriter) Write(p []byte) (int, error) {
	if w.gate != nil {
		<-w.gate
	}
	if w.delay > 0 {
		time.Sleep(w.delay)
	}
	if w.fail != nil {
		return 0, w.fail
	}
	return w.Buffer.Write(p)
}

func TestChainWritesEverythingInOrder(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 1000)
	var want []byte
	var off int64
	for i := 1; i < 300; i++ {
		p := pattern(off, i*7%2500)
		want = append(want, p...)
		off += int64(len(p))
		if err := c.Push(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("output differs from input (%d vs %d bytes)", len(w.Bytes()), len(want))
	}
	st := c.Stats()
	if st.Pushed != off || st.Written != off || st.Dropped != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v, want %d pushed and written", st, off)
	}
	if err := c.Push([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close = %v, want ErrClosed", err)
	}
}

func TestChainFlushDropsOnlyUnwrittenBytesBelowOffset(t *testing.T) {
	w := &recWriter{gate: make(chan struct{})}
	c := NewChain(w, 1<<20)
	before := pattern(0, 100000)
	if err := c.Push(before); err != nil {
		t.Fatal(err)
	}
	// The drain has taken at most one block and waits at the gate.
	dropped := c.FlushTo(c.Pushed())
	after := pattern(100000, 5000)
	if err := c.Push(after); err != nil {
		t.Fatal(err)
	}
	close(w.gate)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := w.Bytes()
	k := len(got) - len(after)
	if k < 0 || k > blockSize || !bytes.Equal(got[:k], before[:k]) || !bytes.Equal(got[k:], after) {
		t.Fatalf("output is not a prefix (≤ one block) of the flushed data plus all later data: %d bytes", len(got))
	}
	if st := c.Stats(); st.Dropped != dropped || dropped != int64(len(before)-k) {
		t.Fatalf("dropped %d (stats %+v), want %d", dropped, st, len(before)-k)
	}
}

func TestChainFlushAheadDropsLaterPushes(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 0)
	c.FlushTo(1000)
	if err := c.Push(pattern(0, 1500)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Bytes(), pattern(1000, 500); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want the 500 after offset 1000", len(got))
	}
}

func TestChainPushBlocksWhenFullUntilFlush(t *testing.T) {
	w := &recWriter{gate: make(chan struct{})}
	c := NewChain(w, 4096)
	pushed := make(chan error, 1)
	go func() { pushed <- c.Push(pattern(0, 64<<10)) }()
	// The gated writer holds the drain, so Push must block at the limit.
	select {
	case err := <-pushed:
		t.Fatalf("Push of 64 KiB into a 4 KiB chain with a stuck writer returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	// A flush beyond everything discards what is queued and what is to come.
	c.FlushTo(64 << 10)
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	close(w.gate)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(w.Bytes()); got > 4096 {
		t.Fatalf("wrote %d bytes, want at most the one chunk taken before the flush", got)
	}
}

func TestChainHoldStopsWritingAndDropsOldestWhenFull(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 4096)
	c.mu.Lock()
	c.holdLimit = 4096 // HoldLimit scaled down to the test's size
	c.mu.Unlock()
	c.Hold(1)
	done := make(chan error, 1)
	go func() { done <- c.Push(pattern(0, 3*4096+100)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Push blocked on a held, full chain")
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("held chain wrote %d bytes", n)
	}
	c.Release(0) // a lower seq does not release
	time.Sleep(20 * time.Millisecond)
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("chain released by a stale seq wrote %d bytes", n)
	}
	c.Release(1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Bytes(), pattern(2*4096+100, 4096); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want the newest 4096", len(got))
	}
	if st := c.Stats(); st.Dropped != 2*4096+100 {
		t.Fatalf("stats %+v", st)
	}
}

// TestChainHoldKeepsWhatFitsUnderHoldLimit: a held chain queues past its
// normal limit without blocking or dropping, so a hold that ends without a
// flush (a flow-control or window-request byte at the mark) loses nothing.
func TestChainHoldKeepsWhatFitsUnderHoldLimit(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 4096)
	c.Hold(1)
	want := pattern(0, 64*4096)
	done := make(chan error, 1)
	go func() { done <- c.Push(want) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Push blocked on a held chain below HoldLimit")
	}
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("held chain wrote %d bytes", n)
	}
	c.Release(1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want all %d", len(got), len(want))
	}
	if st := c.Stats(); st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestChainWriterErrorIsReported(t *testing.T) {
	boom := errors.New("terminal gone")
	w := &recWriter{fail: boom}
	c := NewChain(w, 1024)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = c.Push(pattern(0, 1000))
	}
	if !errors.Is(err, boom) {
		t.Fatalf("Push = %v, want the writer's error", err)
	}
	if err := c.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v, want the writer's error", err)
	}
	if st := c.Stats(); st.Written != 0 || st.Dropped != st.Pushed || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// FuzzChain drives a Chain with random Push, FlushTo, Hold and Release calls
// and checks its invariants from a trace taken under the Chain's lock:
// written bytes are exactly the taken chunks, in order, never below an
// earlier flush offset; queued bytes never exceed the limit; every pushed
// byte is either written or dropped.
func FuzzChain(f *testing.F) {
	f.Add([]byte{0, 200, 1, 10, 0, 50, 2, 0, 0, 255, 0, 255, 3, 1, 0, 9})
	f.Add([]byte{1, 100, 0, 10, 0, 10, 4, 0, 0, 90})
	f.Add([]byte{2, 0, 0, 255, 0, 255, 0, 255, 0, 255, 1, 0, 3, 0, 0, 1})
	f.Add(bytes.Repeat([]byte{0, 77, 4, 1}, 40))
	f.Fuzz(func(t *testing.T, ops []byte) {
		const limit = 3000
		type ev struct {
			op     byte
			off, n int64
		}
		var (
			log    []ev
			c      *Chain
			failed string
		)
		trace := func(op byte, off, n int64) {
			log = append(log, ev{op, off, n})
			if q := c.tail - c.head; q > limit && failed == "" {
				failed = fmt.Sprintf("%d bytes queued, limit %d", q, limit)
			}
			if c.tail < c.discard && c.head != c.tail && failed == "" {
				failed = "bytes queued below the discard offset"
			}
		}
		w := &recWriter{}
		c = &Chain{w: w, limit: limit, done: make(chan struct{}), trace: trace}
		c.space.L, c.work.L = &c.mu, &c.mu
		go c.drain()

		var off int64
		var seq uint64
		for i := 0; i+1 < len(ops); i += 2 {
			arg := int64(ops[i+1])
			switch ops[i] % 5 {
			case 0:
				p := pattern(off, int(arg*37))
				off += int64(len(p))
				if err := c.Push(p); err != nil {
					t.Fatal(err)
				}
			case 1:
				c.FlushTo(c.Pushed() + arg*20 - 2560)
			case 2:
				seq++
				c.Hold(seq)
			case 3:
				c.Release(uint64(arg) % (seq + 2))
			case 4:
				runtime.Gosched()
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if failed != "" {
			t.Fatal(failed)
		}
		var want []byte
		var flushed, next int64
		for _, e := range log {
			switch e.op {
			case 'f':
				flushed = max(flushed, e.off)
			case 't':
				if e.off < flushed {
					t.Fatalf("wrote offset %d after a flush to %d", e.off, flushed)
				}
				if e.off < next {
					t.Fatalf("chunk at %d overlaps or precedes the previous one ending at %d", e.off, next)
				}
				next = e.off + e.n
				want = append(want, pattern(e.off, int(e.n))...)
			}
		}
		if !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("writer got %d bytes that differ from the %d taken", w.Len(), len(want))
		}
		if c.tail != off || c.written != int64(len(want)) || c.written+c.dropped != off || c.head != c.tail || c.inflight != 0 {
			t.Fatalf("pushed %d: tail %d written %d dropped %d head %d inflight %d",
				off, c.tail, c.written, c.dropped, c.head, c.inflight)
		}
	})
}

// BenchmarkChain measures Push → drain throughput with 32 KiB pushes and a
// writer that costs nothing, the chain's own overhead.
func BenchmarkChain(b *testing.B) {
	for _, size := range []int{512, 32 << 10} {
		b.Run(fmt.Sprintf("push-%d", size), func(b *testing.B) {
			c := NewChain(io.Discard, 0)
			p := pattern(0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := c.Push(p); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
