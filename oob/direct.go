package oob

// idleLocked reports whether nothing is queued, being written or held:
// then bytes pushed may go straight to the writer.
func (c *Chain) idleLocked() bool {
	return c.head == c.tail && c.inflight == 0 && !c.direct && !c.heldLocked() && c.tail >= c.discard
}

// pushDirect writes p, pushed onto an idle chain, from Push's own
// goroutine: an echoed keystroke is painted without waking the drain, one
// goroutine hand-off less on every round trip. The bytes count as taken,
// like a chunk the drain writes: a FlushTo meanwhile cannot stop them, and
// later Pushes queue behind them (the drain waits for this Write).
func (c *Chain) pushDirect(p []byte) error {
	off := int64(len(p))
	c.tr('p', c.tail, off)
	c.tr('t', c.tail, off)
	c.tail += off
	c.head = c.tail
	c.inflight, c.direct = off, true
	c.mu.Unlock()
	n, err := c.w.Write(p)
	c.mu.Lock()
	c.direct = false
	c.work.Broadcast() // the drain waits while direct
	return c.wroteLocked(n, len(p), err)
}
