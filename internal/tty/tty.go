package tty

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNotTerminal is returned by New for a descriptor that is not a terminal.
var ErrNotTerminal = errors.New("tty: not a terminal")

// Options select the variant of rlogin's raw mode.
type Options struct {
	// EightBit is netkit rlogin's -8: clear ISTRIP, turn IXON off and
	// ignore the server's NOSTOP/DOSTOP requests (SetFlowControl).
	EightBit bool
}

// Error is a failed terminal operation on a descriptor.
type Error struct {
	Op  string // "tcgetattr", "tcsetattr" or "TIOCGWINSZ"
	Fd  int
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("tty: %s on fd %d: %v", e.Op, e.Fd, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Terminal is one terminal descriptor together with the settings to
// restore. All methods are safe for concurrent use.
type Terminal struct {
	fd int

	mu   sync.Mutex
	orig unix.Termios // what Restore puts back
	raw  bool         // raw mode is in effect
	opt  Options
	flow bool // IXON wanted while raw
}

// New records the current settings of the terminal fd as the ones to
// restore. It fails with an error wrapping ErrNotTerminal if fd is not a
// terminal.
func New(fd int) (*Terminal, error) {
	tio, err := getattr(fd)
	if err != nil {
		if errors.Is(err, unix.ENOTTY) {
			return nil, fmt.Errorf("%w (fd %d)", ErrNotTerminal, fd)
		}
		return nil, err
	}
	return &Terminal{fd: fd, orig: *tio}, nil
}

// Fd returns the terminal's descriptor.
func (t *Terminal) Fd() int { return t.fd }

// Original returns the settings Restore puts back.
func (t *Terminal) Original() unix.Termios {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.orig
}

// IsRaw reports whether raw mode is in effect.
func (t *Terminal) IsRaw() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.raw
}

// RawTermios returns orig changed to rlogin's raw mode (see the package
// comment); flow selects IXON and is ignored (off) with EightBit.
func RawTermios(orig unix.Termios, opt Options, flow bool) unix.Termios {
	r := orig
	// netkit rlogin mode(1): no CR->NL mapping on input. INLCR and IGNCR
	// would change CR/NL as well, so they go too.
	r.Iflag &^= unix.ICRNL | unix.INLCR | unix.IGNCR
	if opt.EightBit {
		r.Iflag &^= unix.ISTRIP
	}
	if flow && !opt.EightBit {
		r.Iflag |= unix.IXON
	} else {
		r.Iflag &^= unix.IXON
	}
	// Output goes to the screen exactly as the remote pty produced it.
	r.Oflag &^= unix.OPOST | unix.ONLCR | unix.OCRNL
	r.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	r.Cc[unix.VMIN] = 1
	r.Cc[unix.VTIME] = 0
	return r
}

// MakeRaw puts the terminal into rlogin's raw mode. Flow control (IXON)
// starts as the terminal had it, or off with EightBit. Calling it again
// while raw re-applies the mode with the new options.
func (t *Terminal) MakeRaw(opt Options) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.raw {
		t.flow = t.orig.Iflag&unix.IXON != 0
	}
	r := RawTermios(t.orig, opt, t.flow)
	if err := setattr(t.fd, &r); err != nil {
		return err
	}
	t.raw, t.opt = true, opt
	return nil
}

// SetFlowControl turns local ^S/^Q handling (IXON) on or off, as the
// server's DOSTOP (on) and NOSTOP (off) control bytes ask. With
// Options.EightBit it does nothing, like netkit rlogin -8. Outside raw
// mode the setting is only recorded (Suspend keeps it across a stop);
// MakeRaw from cooked mode starts again from the terminal's own IXON.
func (t *Terminal) SetFlowControl(on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.opt.EightBit {
		return nil
	}
	t.flow = on
	if !t.raw {
		return nil
	}
	r := RawTermios(t.orig, t.opt, on)
	return setattr(t.fd, &r)
}

// FlowControl reports whether IXON is wanted in raw mode.
func (t *Terminal) FlowControl() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.flow && !t.opt.EightBit
}

// Restore puts back the original settings if raw mode is in effect. It
// is idempotent (a second call does nothing and returns nil) and safe to
// call from deferred functions, other goroutines and signal handling.
func (t *Terminal) Restore() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.restoreLocked()
}

func (t *Terminal) restoreLocked() error {
	if !t.raw {
		return nil
	}
	if err := setattr(t.fd, &t.orig); err != nil {
		return err
	}
	t.raw = false
	return nil
}

// getattr is tcgetattr.
func getattr(fd int) (*unix.Termios, error) {
	for {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &Error{Op: "tcgetattr", Fd: fd, Err: err}
		}
		return tio, nil
	}
}

// setattr is tcsetattr(TCSANOW). Not TCSADRAIN: a terminal stopped by
// ^S would make draining, and so restoring, wait for ever.
func setattr(fd int, tio *unix.Termios) error {
	for {
		err := unix.IoctlSetTermios(fd, unix.TCSETS, tio)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &Error{Op: "tcsetattr", Fd: fd, Err: err}
		}
		return nil
	}
}
