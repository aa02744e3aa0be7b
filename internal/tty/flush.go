package tty

import "golang.org/x/sys/unix"

// FlushOutput discards what the terminal on fd has not sent yet (TCOFLUSH)
// and wakes writers blocked on it, as BSD's ttyflush(FWRITE) does (it
// clears TS_TTSTOP and wakes the output queue's sleepers; the rlogin
// protocol's flush was designed against it). Linux's pty driver frees the
// space without waking a writer that a full pty put to sleep
// (pty_flush_buffer has no tty_wakeup), and the reader on the master then
// has nothing to read that would wake it either: a blocking write(2) of
// the next output would sleep for ever. Stopping and restarting output
// (TCOOFF, TCOON) runs __start_tty, which wakes the writers; it also ends
// a ^S pause, as BSD's flush does. fd need not be a pty; errors of the
// wake-up are ignored once the flush has worked.
func FlushOutput(fd int) error {
	if err := unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCOFLUSH); err != nil {
		return &Error{Op: "TCFLSH TCOFLUSH", Fd: fd, Err: err}
	}
	_ = unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOOFF)
	_ = unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOON)
	return nil
}
