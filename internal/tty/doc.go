// Package tty manages the rlogin client's own terminal: rlogin's raw
// mode, flow control on the server's request, and getting the terminal
// back to exactly how the user had it on every way out.
//
// Raw mode follows netkit rlogin's mode(1) (PROTOCOL.md §1.2 "Client tty
// mode"): no ICANON, ECHO or ISIG, no ICRNL, no output mapping, VMIN 1.
// ISTRIP is cleared only with Options.EightBit (netkit -8); IXON keeps the
// terminal's setting and is then switched by the server's NOSTOP/DOSTOP
// control bytes through SetFlowControl, except in EightBit mode where it
// is off and stays off (netkit honours NOSTOP/DOSTOP only without -8).
// Two deliberate differences from netkit, both making the terminal more
// transparent: OPOST is cleared as well (netkit clears only ONLCR, OCRNL
// and TAB3, which leaves nothing else on for a usual terminal), and
// IEXTEN is cleared instead of setting the VLNEXT/VDISCARD/... characters
// to 0377 (so an 8-bit 0377 byte is never eaten).
//
// Restoring is the point of the package. Restore is idempotent and safe
// from deferred functions, other goroutines and the signal path:
//
//	t, err := tty.New(0)
//	...
//	defer t.Restore()             // normal return
//	defer t.RestoreOnPanic()      // panics in this goroutine (one per goroutine)
//	stop := t.HandleSignals()     // SIGTERM, SIGHUP, SIGINT, SIGQUIT
//	defer stop()
//	err = t.MakeRaw(tty.Options{})
//
// A panic in a goroutine without RestoreOnPanic kills the process before
// any deferred function of other goroutines runs; every goroutine that
// can run while the terminal is raw should defer RestoreOnPanic.
//
// Suspend implements rlogin's ~^Z and ~^Y: restore, stop with SIGTSTP,
// and on SIGCONT take the (possibly changed) terminal settings as the
// new original and go raw again with the same flow-control state.
//
// Size reads the window size (TIOCGWINSZ); WatchSize delivers the new
// size after each SIGWINCH, coalesced: a slow reader sees only the latest
// size, never a queue of stale ones, and an unchanged size is not sent.
package tty
