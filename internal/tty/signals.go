package tty

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RestoreOnPanic restores the terminal if the calling goroutine is
// panicking, then lets the panic continue (so its message and stack are
// printed on a sane terminal). It must be deferred directly:
//
//	defer t.RestoreOnPanic()
func (t *Terminal) RestoreOnPanic() {
	if r := recover(); r != nil {
		_ = t.Restore()
		panic(r)
	}
}

// exitSignals are the signals that end rlogin while it is raw. netkit
// rlogin exits through done() (which restores) on SIGHUP and SIGQUIT;
// krx does the same for SIGTERM and SIGINT (the latter can only come
// from kill(2): ISIG is off in raw mode).
var exitSignals = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT}

// HandleSignals restores the terminal when the process receives SIGTERM,
// SIGHUP, SIGINT or SIGQUIT, and then dies of that same signal (the
// default action is re-raised, so the parent sees the real cause). A
// signal that was ignored when the program started stays ignored, as
// netkit's setsignal() does. The returned function stops the handling.
func (t *Terminal) HandleSignals() (stop func()) {
	var sigs []os.Signal
	for _, s := range exitSignals {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case s := <-ch:
			_ = t.Restore()
			dieOf(s.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		select {
		case <-done:
		default:
			close(done)
		}
	}
}

// dieOf ends the process with the default action of sig, or with exit
// status 128+sig if the signal somehow does not kill it.
func dieOf(sig syscall.Signal) {
	signal.Reset(sig)
	_ = unix.Kill(os.Getpid(), sig)
	time.Sleep(100 * time.Millisecond)
	os.Exit(128 + int(sig))
}

// Suspend stops the process for the shell's job control, as rlogin's
// escapes do: restore the terminal, send SIGTSTP — to the whole process
// group when group is true (netkit ~^Z: kill(0, SIGTSTP)), else to this
// process only (~^Y, the "delayed suspend" character) — and when
// continued (SIGCONT), take the terminal's current settings as the new
// original (the user may have changed them meanwhile) and go raw again
// with the same options and flow-control state. If the terminal was not
// raw, it stops and returns without touching the settings.
//
// The kernel discards SIGTSTP sent to an orphaned process group; then
// Suspend returns at once with the terminal raw again. Callers should
// re-check the window size afterwards (netkit calls sigwinch()).
func (t *Terminal) Suspend(group bool) error {
	t.mu.Lock()
	wasRaw := t.raw
	if err := t.restoreLocked(); err != nil {
		t.mu.Unlock()
		return err
	}
	t.mu.Unlock()

	pid := os.Getpid()
	if group {
		pid = 0
	}
	// A stop signal sent to ourselves takes effect before kill returns to
	// user space, so when it returns we have been continued.
	if err := unix.Kill(pid, syscall.SIGTSTP); err != nil {
		return fmt.Errorf("tty: suspend: %w", err)
	}
	if !wasRaw {
		return nil
	}
	tio, err := getattr(t.fd)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.orig = *tio
	r := RawTermios(t.orig, t.opt, t.flow)
	if err := setattr(t.fd, &r); err != nil {
		return err
	}
	t.raw = true
	return nil
}
