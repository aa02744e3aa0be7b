package oob

import (
	"bytes"
	"testing"
	"time"
)

// waitLen waits until w holds n bytes or fails t after timeout.
func waitLen(t *testing.T, w *recWriter, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(w.Bytes()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("wrote %d bytes, want %d within %v", len(w.Bytes()), n, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestChainExpectFlushDropsWhatCameMeanwhile: the user typed ^C, the chain
// is held; the flush that arrives drops everything before its offset and
// ends the hold, so nothing of it was painted.
func TestChainExpectFlushDropsWhatCameMeanwhile(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 4096)
	c.Expect(time.Minute)
	if !c.Expecting() {
		t.Fatal("Expecting = false after Expect")
	}
	if err := c.Push(pattern(0, 3*4096)); err != nil { // more than the limit: held, so no block
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("expecting chain wrote %d bytes", n)
	}
	c.FlushTo(3 * 4096)
	c.ExpectDone()
	if c.Expecting() {
		t.Fatal("Expecting = true after ExpectDone")
	}
	after := pattern(3*4096, 100)
	if err := c.Push(after); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Bytes(); !bytes.Equal(got, after) {
		t.Fatalf("painted %d bytes, want only the %d after the flush", len(got), len(after))
	}
}

// TestChainExpectRunsOut: no flush comes (the remote was in raw mode);
// the hold ends by itself and every byte is painted, in order.
func TestChainExpectRunsOut(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 4096)
	c.Expect(50 * time.Millisecond)
	want := pattern(0, 5*4096)
	start := time.Now()
	if err := c.Push(want); err != nil {
		t.Fatal(err)
	}
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("expecting chain wrote %d bytes at once", n)
	}
	waitLen(t, w, len(want), 10*time.Second)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("hold ended after %v, want about 50 ms", d)
	}
	if c.Expecting() {
		t.Fatal("still expecting after the deadline")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("painted %d bytes, want all %d in order", len(got), len(want))
	}
}

// TestChainExpectAndHoldAreIndependent: ending one hold leaves the other.
func TestChainExpectAndHoldAreIndependent(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 4096)
	c.Hold(1)
	c.Expect(time.Minute)
	c.Push(pattern(0, 100))
	c.Release(1)
	time.Sleep(20 * time.Millisecond)
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("released but expecting chain wrote %d bytes", n)
	}
	c.Hold(2)
	c.ExpectDone()
	time.Sleep(20 * time.Millisecond)
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("expect done but held chain wrote %d bytes", n)
	}
	c.Release(2)
	waitLen(t, w, 100, 10*time.Second)
	// A shorter Expect does not cut a longer one short; Close ends both.
	c.Expect(time.Minute)
	c.Expect(time.Millisecond)
	c.Push(pattern(100, 100))
	time.Sleep(30 * time.Millisecond)
	if n := len(w.Bytes()); n != 100 {
		t.Fatalf("a shorter Expect shortened the hold: %d bytes painted", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Bytes(), pattern(0, 200); !bytes.Equal(got, want) {
		t.Fatalf("painted %d bytes, want %d", len(got), len(want))
	}
}

// TestChainHoldTimesOut: a hold whose Release never comes ends after
// holdTimeout, everything is painted in order, and it is counted.
func TestChainHoldTimesOut(t *testing.T) {
	w := &recWriter{}
	c := NewChain(w, 4096)
	c.mu.Lock()
	c.holdTimeout = 100 * time.Millisecond // HoldTimeout scaled down
	c.mu.Unlock()
	c.Hold(1)
	want := pattern(0, 3*4096)
	start := time.Now()
	if err := c.Push(want); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if n := len(w.Bytes()); n != 0 {
		t.Fatalf("held chain wrote %d bytes", n)
	}
	waitLen(t, w, len(want), 10*time.Second)
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("hold ended after %v, want about 100 ms", d)
	}
	if st := c.Stats(); st.HoldsTimedOut != 1 {
		t.Fatalf("stats %+v, want one hold timed out", st)
	}
	// A later hint holds again, and its Release ends it at once.
	c.Hold(2)
	c.Push(pattern(3*4096, 100))
	time.Sleep(20 * time.Millisecond)
	if n := len(w.Bytes()); n != len(want) {
		t.Fatalf("second hold painted %d bytes", n-len(want))
	}
	c.Release(2)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Bytes(); !bytes.Equal(got, pattern(0, 3*4096+100)) {
		t.Fatalf("painted %d bytes, want %d in order", len(got), 3*4096+100)
	}
	if st := c.Stats(); st.HoldsTimedOut != 1 {
		t.Fatalf("stats %+v, want still one", st)
	}
}
