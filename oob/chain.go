package oob

import (
	"io"
	"sync"
	"time"
)

// DefaultLimit is the Chain limit used when NewChain is given limit <= 0.
const DefaultLimit = 64 << 10

// HoldLimit bounds what a held Chain queues. While held, Push does not
// block: the reader must reach the urgent mark, and what lies before a mark
// is at most the sender's send queue plus our receive buffer (a few MB).
// Past this bound the oldest unwritten bytes are dropped, as netkit's
// reader drops them into its waste buffer; below it a hold that ends
// without a flush (flow control, window request) loses nothing.
const HoldLimit = 32 << 20

// directMax bounds what Push writes itself on an idle chain (pushDirect):
// an echo or a prompt, never a piece of a flood, which goes through the
// drain one block at a time so that a hint can stop it.
const directMax = 1 << 10

// HoldTimeout bounds a hold (Hold without the matching Release): a hint
// whose mark never comes must not stop painting for good. The kernel's
// urgent pointer can be clamped, overtaken or replayed, and a hint can be
// counted after the Sync of its own mark; after HoldTimeout painting
// resumes, and a flush still acts where its command is found in-band. On
// a krx server the mark is at most a few hundred KB behind its hint
// (oob.LimitUnsent), well under a second even at 10 Mbit/s.
const HoldTimeout = 2 * time.Second

// blockSize is the size of one buffer on the chain; the drain writes at most
// one block per Write, which bounds how much a flush can no longer stop.
const blockSize = 16 << 10

var blockPool = sync.Pool{New: func() any { return &block{b: make([]byte, 0, blockSize)} }}

// block is one buffer on the chain. Bytes b[:r] have been taken by the drain
// or dropped; b[r:] are queued; b[len(b):cap(b)] is room for Push.
type block struct {
	b []byte
	r int
}

func getBlock() *block { return blockPool.Get().(*block) }

func putBlock(b *block) {
	b.b, b.r = b.b[:0], 0
	blockPool.Put(b)
}

// ChainStats are a Chain's byte counters; Pushed = Written + Dropped + Queued.
type ChainStats struct {
	Pushed  int64 // bytes pushed, including those dropped on arrival
	Written int64 // bytes the io.Writer accepted
	Dropped int64 // bytes flushed, dropped while held and full, or lost to a write error
	Queued  int64 // bytes pushed but neither written nor dropped yet
	// HoldsTimedOut counts holds that ended by HoldTimeout, their mark
	// not reached (a diagnostic: it should stay 0).
	HoldsTimedOut int64
}

// Chain is the chain of buffers to be written: one goroutine Pushes what it
// reads from the socket, the Chain's own goroutine drains it to an
// io.Writer, and FlushTo drops what has not been written yet. Offsets are
// the Chain's: the number of bytes Pushed before a byte. Its methods are
// safe for concurrent use.
type Chain struct {
	w         io.Writer
	limit     int
	holdLimit int // queue bound while held; see HoldLimit
	done      chan struct{}
	trace     func(op byte, off, n int64) // tests: called with mu held

	mu       sync.Mutex
	space    sync.Cond // Push waits here for room
	work     sync.Cond // the drain waits here for bytes or a Release
	blocks   []*block
	head     int64  // offset of the first queued byte
	tail     int64  // offset after the last pushed byte
	discard  int64  // bytes pushed below this offset are dropped at once
	inflight int64  // bytes taken by the drain whose Write has not returned
	direct   bool   // Push is writing an idle chain's bytes itself (pushDirect)
	writing  *block // the block the drain is writing from
	detached bool   // writing is off the chain; the drain recycles it
	written  int64
	dropped  int64
	holdSeq  uint64
	relSeq   uint64
	// A hint's hold ends by itself (hold) holdTimeout after the latest
	// Hold if its mark never comes.
	hold        deadline
	holdTimeout time.Duration
	timedOut    int64    // holds that ended by holdTimeout
	expect      deadline // Expect's hold, unless ExpectDone
	closed      bool
	err         error
}

// NewChain returns a Chain that writes to w and starts its drain goroutine.
// Push blocks while more than limit bytes are queued (limit <= 0 means
// DefaultLimit), so a slow writer slows the reader down; memory is bounded
// by limit plus the one block being written. Close must be called.
func NewChain(w io.Writer, limit int) *Chain { return newChain(w, limit, nil) }

func newChain(w io.Writer, limit int, trace func(op byte, off, n int64)) *Chain {
	if limit <= 0 {
		limit = DefaultLimit
	}
	c := &Chain{w: w, limit: limit, holdLimit: max(limit, HoldLimit), holdTimeout: HoldTimeout,
		done: make(chan struct{}), trace: trace}
	c.space.L = &c.mu
	c.work.L = &c.mu
	go c.drain()
	return c
}

// Push queues a copy of p. It blocks while the chain is full, unless the
// chain is held: then it queues up to HoldLimit bytes, and beyond that the
// oldest unwritten bytes are dropped to make room.
// Bytes below an offset given to an earlier FlushTo are dropped at once. It
// returns ErrClosed after Close and the writer's error after a failed Write.
func (c *Chain) Push(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(p) > 0 {
		if c.err != nil {
			return c.err
		}
		if c.closed {
			return ErrClosed
		}
		if c.tail < c.discard { // the queue is empty: FlushTo went past tail
			k := int(min(int64(len(p)), c.discard-c.tail))
			c.tail += int64(k)
			c.head = c.tail
			c.dropped += int64(k)
			p = p[k:]
			c.tr('d', c.tail-int64(k), int64(k))
			continue
		}
		if c.idleLocked() && len(p) <= directMax {
			return c.pushDirect(p)
		}
		limit := c.limit
		if c.heldLocked() {
			limit = max(limit, c.holdLimit)
		}
		room := limit - int(c.tail-c.head)
		if room <= 0 {
			if c.heldLocked() {
				c.dropFront(min(int64(len(p)), c.tail-c.head))
			} else {
				c.space.Wait()
			}
			continue
		}
		k := min(room, len(p))
		c.append(p[:k])
		p = p[k:]
		c.work.Signal()
	}
	return nil
}

// append copies p (which fits under the limit) onto the chain.
func (c *Chain) append(p []byte) {
	off := c.tail
	for len(p) > 0 {
		var b *block
		if n := len(c.blocks); n > 0 && len(c.blocks[n-1].b) < cap(c.blocks[n-1].b) {
			b = c.blocks[n-1]
		} else {
			b = getBlock()
			c.blocks = append(c.blocks, b)
		}
		k := copy(b.b[len(b.b):cap(b.b)], p)
		b.b = b.b[:len(b.b)+k]
		p = p[k:]
		c.tail += int64(k)
	}
	c.tr('p', off, c.tail-off)
}

// FlushTo drops every byte below offset off that has not been written yet
// (a Write already in progress cannot be stopped). If off is beyond what has
// been pushed, the bytes still to come below off are dropped as they are
// pushed. It returns the number of queued bytes dropped now.
func (c *Chain) FlushTo(off int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if off > c.discard {
		c.discard = off
		c.space.Broadcast() // a blocked Push may now drop instead of waiting
	}
	n := max(min(off, c.tail)-c.head, 0)
	if n > 0 {
		c.dropFront(n)
		c.space.Broadcast()
	}
	c.tr('f', off, n)
	return n
}

// dropFront drops the n oldest queued bytes.
func (c *Chain) dropFront(n int64) {
	for n > 0 && len(c.blocks) > 0 {
		b := c.blocks[0]
		k := min(n, int64(len(b.b)-b.r))
		b.r += int(k)
		c.head += k
		c.dropped += k
		n -= k
		if !c.trim() && k == 0 {
			break // cannot happen: n never exceeds what is queued
		}
	}
}

// trim takes used-up full blocks off the front of the chain and reports
// whether it removed any. The block being written is recycled by the drain.
func (c *Chain) trim() bool {
	removed := false
	for len(c.blocks) > 0 {
		b := c.blocks[0]
		if b.r < len(b.b) || len(b.b) < cap(b.b) {
			break
		}
		c.blocks[0] = nil
		c.blocks = c.blocks[1:]
		removed = true
		if b == c.writing {
			c.detached = true
		} else {
			putBlock(b)
		}
	}
	return removed
}

// Hold stops the drain from writing, because a flush is expected. The
// chain stays held while the largest seq given to Hold exceeds the largest
// given to Release; pass Event.Seq. While held, Push never blocks (see
// HoldLimit).
func (c *Chain) Hold(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq > c.holdSeq {
		c.holdSeq = seq
		c.armHoldTimeout()
		c.space.Broadcast()
	}
}

// Release lets the drain write again once seq reaches the largest Hold; pass
// the result of Watcher.Sync taken at the mark.
func (c *Chain) Release(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq > c.relSeq {
		c.relSeq = seq
		c.work.Signal()
	}
}

func (c *Chain) heldLocked() bool {
	return (c.hintHeldLocked() || c.expectingLocked()) && !c.closed
}

// hintHeldLocked reports whether a Hold is in force (see HoldTimeout).
func (c *Chain) hintHeldLocked() bool { return c.holdSeq > c.relSeq }

// Pushed returns the number of bytes pushed so far: the offset the next
// pushed byte will have. At the urgent mark, after pushing everything read
// before it, this is the mark's offset for FlushTo.
func (c *Chain) Pushed() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tail
}

// Stats returns the Chain's counters.
func (c *Chain) Stats() ChainStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ChainStats{Pushed: c.tail, Written: c.written, Dropped: c.dropped, Queued: c.tail - c.head + c.inflight,
		HoldsTimedOut: c.timedOut}
}

// Close stops accepting pushes, ends any hold, waits until everything queued
// has been written (or the writer failed) and returns the writer's error.
// Use FlushTo(Pushed()) first to discard instead. Close is idempotent.
func (c *Chain) Close() error {
	c.mu.Lock()
	c.closed = true
	c.expect.clear()
	c.hold.clear()
	c.work.Broadcast()
	c.space.Broadcast()
	c.mu.Unlock()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// drain is the Chain's goroutine: it writes one block's queued bytes at a
// time, without holding the lock during Write.
func (c *Chain) drain() {
	defer close(c.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for c.direct || (!c.closed && (c.head == c.tail || c.heldLocked())) {
			c.work.Wait()
		}
		if c.head == c.tail { // closed and empty
			return
		}
		chunk := c.take()
		c.mu.Unlock()
		n, err := c.w.Write(chunk)
		c.mu.Lock()
		if c.detached {
			putBlock(c.writing)
		}
		c.writing, c.detached = nil, false
		if c.wroteLocked(n, len(chunk), err) != nil {
			return
		}
	}
}

// wroteLocked accounts for a Write of want taken bytes that returned n and
// err (the drain's or pushDirect's): a short write is an error, and after
// an error everything still queued is dropped. It returns the error.
func (c *Chain) wroteLocked(n, want int, err error) error {
	if n < 0 || n > want {
		n = 0
	}
	if err == nil && n < want {
		err = io.ErrShortWrite
	}
	c.written += int64(n)
	c.dropped += int64(want - n)
	c.inflight = 0
	c.space.Broadcast()
	if err != nil {
		c.err = err
		c.dropFront(c.tail - c.head)
	}
	return err
}

// take hands the queued bytes of the first block to the drain.
func (c *Chain) take() []byte {
	b := c.blocks[0]
	chunk := b.b[b.r:len(b.b)]
	b.r = len(b.b)
	off := c.head
	c.head += int64(len(chunk))
	c.inflight = int64(len(chunk))
	c.writing = b
	c.trim()
	c.tr('t', off, int64(len(chunk)))
	c.space.Broadcast() // taken bytes no longer count against the limit
	return chunk
}

func (c *Chain) tr(op byte, off, n int64) {
	if c.trace != nil {
		c.trace(op, off, n)
	}
}
