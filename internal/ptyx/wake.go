package ptyx

import "golang.org/x/sys/unix"

// WakeWriters wakes the session's processes that sleep in write(2) on a
// full slave. Call it when the slave's output has been flushed
// (PktFlushWrite, e.g. after ^C): Linux frees the space but wakes no
// writer (pty_flush_buffer has no tty_wakeup), and the master then has
// nothing to read that would wake one, so a program that ignores SIGINT
// and writes on would sleep for ever. Stopping and restarting the slave's
// output (TCXONC TCOOFF, TCOON on a descriptor of the slave: on the master
// they would act on the master) runs __start_tty, which wakes them, as
// BSD's ttyflush(FWRITE) does by itself; it also ends a ^S pause of the
// slave, as BSD's flush does. The daemon opens the slave just for this
// (keeping it open would hide the session's end); a session that has
// gone gives an error, which callers may ignore.
func (p *Pty) WakeWriters() error {
	fd, err := unix.Open(p.name, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &Error{Op: "open " + p.name, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOOFF); err != nil {
		return &Error{Op: "TCXONC TCOOFF", Err: err}
	}
	if err := unix.IoctlSetInt(fd, unix.TCXONC, unix.TCOON); err != nil {
		return &Error{Op: "TCXONC TCOON", Err: err}
	}
	return nil
}
