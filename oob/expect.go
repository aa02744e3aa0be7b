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
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !time.Now().Add(d).After(c.expect.until) {
		return
	}
	c.expect.set(d, c.expectExpired)
	c.space.Broadcast() // a Push waiting for room may queue now
}

// ExpectDone ends a hold started by Expect (the flush has arrived, or the
// caller no longer expects one).
func (c *Chain) ExpectDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.expect.active() {
		return
	}
	c.expect.clear()
	c.work.Signal()
}

// Expecting reports whether an Expect hold is in force.
func (c *Chain) Expecting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expectingLocked()
}

func (c *Chain) expectingLocked() bool { return c.expect.active() }

// expectExpired ends an Expect hold that ran out and wakes the drain.
func (c *Chain) expectExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expect.passed() {
		c.expect.clear()
		c.work.Signal()
		c.space.Broadcast()
	}
}

// armHoldTimeout starts the bound of the hold just begun (HoldTimeout).
func (c *Chain) armHoldTimeout() {
	if c.holdTimeout > 0 && !c.closed {
		c.hold.set(c.holdTimeout, c.holdExpired)
	}
}

// holdExpired ends a hold that ran out without its Release and wakes the
// drain.
func (c *Chain) holdExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holdSeq <= c.relSeq || c.closed || !c.hold.passed() {
		return
	}
	c.hold.clear()
	c.timedOut++
	c.relSeq = c.holdSeq // the hold is over; a later Hold starts a new one
	c.work.Signal()
	c.space.Broadcast()
}

// deadline is a hold that ends by itself: its timer runs a Chain method,
// which takes the lock and asks passed. All methods need the Chain's lock.
type deadline struct {
	until time.Time // zero: not set
	timer *time.Timer
}

// set moves the deadline to d from now; at it, fire runs.
func (dl *deadline) set(d time.Duration, fire func()) {
	dl.until = time.Now().Add(d)
	if dl.timer == nil {
		dl.timer = time.AfterFunc(d, fire)
	} else {
		dl.timer.Reset(d)
	}
}

// clear unsets the deadline and stops its timer.
func (dl *deadline) clear() {
	dl.until = time.Time{}
	if dl.timer != nil {
		dl.timer.Stop()
	}
}

// active reports whether the deadline is set.
func (dl *deadline) active() bool { return !dl.until.IsZero() }

// passed reports whether a set deadline has come; one moved later since
// the timer was armed re-arms it and has not passed.
func (dl *deadline) passed() bool {
	if !dl.active() {
		return false
	}
	if d := time.Until(dl.until); d > 0 {
		dl.timer.Reset(d)
		return false
	}
	return true
}
