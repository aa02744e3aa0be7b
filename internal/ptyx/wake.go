package ptyx

import (
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/internal/tty"
)

// WakeWriters wakes the session's processes that sleep in write(2) on a
// full slave (tty.WakeWriters). Call it when the slave's output has been
// flushed (PktFlushWrite, e.g. after ^C): a program that ignores SIGINT
// and writes on would otherwise sleep for ever. The daemon opens the slave
// just for this (keeping it open would hide the session's end); a session
// that has gone gives an error, which callers may ignore. A PacketReader
// on a *Pty calls it for every FLUSHWRITE packet.
func (p *Pty) WakeWriters() error {
	fd, err := unix.Open(p.name, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &Error{Op: "open " + p.name, Err: err}
	}
	defer unix.Close(fd)
	if err := tty.WakeWriters(fd); err != nil {
		return &Error{Op: "wake writers", Err: err}
	}
	return nil
}
