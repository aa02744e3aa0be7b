package oob

import "time"

// Expect holds the chain for at most d because the caller expects a flush
// soon: a client whose user has just typed the remote terminal's interrupt
// character knows the server will flush before the server can say so (as
// telnet's "autoflush" does, RFC 854 "Synch" and the telnet(1) manual).
// Painting stops at once; nothing is dropped by Expect itself: call
// ExpectDone when the flush has been applied, and if it never comes the
// hold ends by itself after d and everything queued is painted. A later
// Expect with a later deadline extends the hold. Expect and the
// Hold/Release pair are independent: the chain is held while either holds
// it.
func (c *Chain) Expect(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !until.After(c.expect) {
		return
	}
	c.expect = until
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.expectExpired)
	} else {
		c.timer.Reset(d)
	}
	c.space.Broadcast() // a Push waiting for room may queue now
}

// ExpectDone ends a hold started by Expect (the flush has arrived, or the
// caller no longer expects one).
func (c *Chain) ExpectDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expect.IsZero() {
		return
	}
	c.expect = time.Time{}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.work.Signal()
}

// Expecting reports whether an Expect hold is in force.
func (c *Chain) Expecting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expectingLocked()
}

func (c *Chain) expectingLocked() bool {
	return !c.expect.IsZero() && time.Now().Before(c.expect)
}

// expectExpired wakes the drain when an Expect hold runs out.
func (c *Chain) expectExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.expect.IsZero() && !time.Now().Before(c.expect) {
		c.expect = time.Time{}
		c.work.Signal()
		c.space.Broadcast()
	} else if !c.expect.IsZero() {
		// Reset raced with this run: wait for the new deadline.
		c.timer.Reset(time.Until(c.expect))
	}
}

// armHoldTimeout starts the bound of the hold just begun (HoldTimeout).
func (c *Chain) armHoldTimeout() {
	if c.holdTimeout <= 0 || c.closed {
		return
	}
	c.holdUntil = time.Now().Add(c.holdTimeout)
	if c.holdTimer == nil {
		c.holdTimer = time.AfterFunc(c.holdTimeout, c.holdExpired)
	} else {
		c.holdTimer.Reset(c.holdTimeout)
	}
}

// holdExpired wakes the drain when a hold runs out without its Release.
func (c *Chain) holdExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holdSeq <= c.relSeq || c.closed {
		return
	}
	if d := time.Until(c.holdUntil); d > 0 { // a later Hold moved it
		c.holdTimer.Reset(d)
		return
	}
	c.timedOut++
	c.relSeq = c.holdSeq // the hold is over; a later Hold starts a new one
	c.work.Signal()
	c.space.Broadcast()
}
