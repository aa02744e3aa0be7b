package compat

import (
	"fmt"
	"strconv"
)

// Signal is one byte sent by an rsh client on the stderr channel
// (client→server): a signal number that rshd delivers to the command's
// process group with killpg (netkit rsh.c sendsig(), rshd.c
// stderr_parent()).
type Signal byte

// The signals the netkit rsh client forwards (netkit rsh.c: it catches
// SIGINT, SIGQUIT and SIGTERM and sends the signal number). Numbers are
// Linux's, as netkit sends its own host's numbers.
const (
	SigInt  Signal = 2  // SIGINT
	SigQuit Signal = 3  // SIGQUIT
	SigTerm Signal = 15 // SIGTERM
)

// MaxSignal is the highest valid signal number on Linux (_NSIG-1 = 64,
// SIGRTMAX).
const MaxSignal = 64

// ParseSignal validates a signal byte received on the stderr channel.
// netkit rshd passes every byte straight to killpg(), which fails for 0
// (that only probes) and for numbers above 64. krx accepts exactly the
// signal numbers Linux can deliver, 1–64 (including SIGKILL and SIGSTOP: the
// command runs as the user, who may send those to their own processes
// anyway), and refuses 0 and 65–255 with a *FieldError (ErrBadSignal), so a
// server can log garbage on the channel instead of acting on it.
func ParseSignal(b byte) (Signal, error) {
	if b == 0 || b > MaxSignal {
		return 0, &FieldError{Field: "signal byte", Value: strconv.Itoa(int(b)), Err: ErrBadSignal}
	}
	return Signal(b), nil
}

// String names the netkit signals and numbers the rest.
func (s Signal) String() string {
	switch s {
	case SigInt:
		return "SIGINT"
	case SigQuit:
		return "SIGQUIT"
	case SigTerm:
		return "SIGTERM"
	}
	return fmt.Sprintf("signal %d", byte(s))
}
