package rlogin

import (
	"bytes"
	"sync/atomic"

	"github.com/krx-suite/krx/compat"
)

// Autoflush decides when a typed character makes the client expect the
// server's flush, so that it can stop painting at once (oob.Chain.Expect)
// instead of a round trip later — telnet's "autoflush" (telnet(1): with
// localchars, output is not shown after an interrupt until the remote
// acknowledges it). The remote tty answers its interrupt, quit and suspend
// characters with a flush of its output (n_tty isig() without NOFLSH), and
// the client knows those characters from its own terminal, whose settings
// the remote normally shares. Once the server reports NOSTOP (the remote
// tty left cooked mode: raw-mode programs turn IXON off) a typed interrupt
// is probably data, and nothing is expected until DOSTOP. A wrong guess
// costs only a short pause: the hold ends by itself and nothing is lost.
type Autoflush struct {
	chars []byte
	raw   atomic.Bool
}

// NewAutoflush returns an Autoflush for the given characters; 0 (Linux's
// _POSIX_VDISABLE) is ignored.
func NewAutoflush(chars ...byte) *Autoflush {
	a := &Autoflush{}
	for _, c := range chars {
		if c != 0 {
			a.chars = append(a.chars, c)
		}
	}
	return a
}

// Control notes the server's flow-control word: NOSTOP means the remote
// tty is raw, DOSTOP that it is cooked again.
func (a *Autoflush) Control(c compat.Control) {
	if a == nil {
		return
	}
	if c.NoStop() {
		a.raw.Store(true)
	}
	if c.DoStop() {
		a.raw.Store(false)
	}
}

// Typed reports whether sending p should make the client expect a flush.
// A nil Autoflush never expects one.
func (a *Autoflush) Typed(p []byte) bool {
	if a == nil || a.raw.Load() {
		return false
	}
	for _, c := range a.chars {
		if bytes.IndexByte(p, c) >= 0 {
			return true
		}
	}
	return false
}
