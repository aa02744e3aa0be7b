package tty

import "golang.org/x/sys/unix"

// FlushOutput discards what the terminal on fd has not sent yet (TCOFLUSH)
// and wakes writers blocked on it (WakeWriters), as BSD's ttyflush(FWRITE)
// does by itself: it clears TS_TTSTOP and wakes the output queue's
// sleepers, and the rlogin protocol's flush was designed against it.
func FlushOutput(fd int) error {
	if err := unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCOFLUSH); err != nil {
		return &Error{Op: "TCFLSH TCOFLUSH", Fd: fd, Err: err}
	}
	_ = WakeWriters(fd) // the flush has worked; a failed wake-up changes nothing
	return nil
}

// WakeWriters wakes the processes asleep in write(2) on the terminal on fd.
// Linux's pty driver frees the room a flush makes without waking a writer
// that a full pty put to sleep (pty_flush_buffer has no tty_wakeup), and
// the reader on the master then has nothing to read that would wake it: a
// blocking write would sleep for ever. Stopping and restarting output
// (TCXONC TCOOFF, TCOON) runs __start_tty, which wakes the writers; it
// also ends a ^S pause, as BSD's flush does. On a pty, fd must be the
// slave's: on the master the calls act on the master.
func WakeWriters(fd int) error {
	if err := unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOOFF); err != nil {
		return &Error{Op: "TCXONC TCOOFF", Fd: fd, Err: err}
	}
	if err := unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOON); err != nil {
		return &Error{Op: "TCXONC TCOON", Fd: fd, Err: err}
	}
	return nil
}
