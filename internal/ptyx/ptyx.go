package ptyx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ErrStarted is returned by Start and SetOwner once the slave has been
// handed to a command (the daemon no longer holds it).
var ErrStarted = errors.New("ptyx: the slave was already given to a command")

// Error is a failed pty operation.
type Error struct {
	Op  string // "open", "TIOCPKT", "TIOCSWINSZ", ...
	Err error
}

func (e *Error) Error() string { return "ptyx: " + e.Op + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Winsize is a window size (struct winsize).
type Winsize struct {
	Rows   uint16
	Cols   uint16
	XPixel uint16
	YPixel uint16
}

// Pty is a pseudo-terminal pair owned by the daemon.
type Pty struct {
	master *os.File // non-blocking, registered with the poller
	name   string   // slave path, /dev/pts/N

	mu    sync.Mutex
	slave *os.File // nil once Start has handed it over
}

// Open allocates a pty pair. The master is close-on-exec and pollable.
func Open() (*Pty, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	// creack/pty used m.Fd(), which left the descriptor blocking; a
	// non-blocking duplicate goes through Go's poller instead.
	nfd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	m.Close()
	if err == nil {
		if err = unix.SetNonblock(nfd, true); err != nil {
			unix.Close(nfd)
		}
	}
	if err != nil {
		s.Close()
		return nil, &Error{Op: "dup master", Err: err}
	}
	return &Pty{master: os.NewFile(uintptr(nfd), "/dev/ptmx"), name: s.Name(), slave: s}, nil
}

// Master returns the master side. Do not call its Fd method (see the
// package comment).
func (p *Pty) Master() *os.File { return p.master }

// SlaveName returns the slave's path, e.g. "/dev/pts/3".
func (p *Pty) SlaveName() string { return p.name }

// Slave returns the daemon's copy of the slave, or nil after Start.
func (p *Pty) Slave() *os.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slave
}

// control runs an ioctl-style call on the master descriptor without
// changing its blocking mode.
func (p *Pty) control(op string, fn func(fd int) error) error {
	rc, err := p.master.SyscallConn()
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return &Error{Op: op, Err: err}
	}
	if ferr != nil {
		return &Error{Op: op, Err: ferr}
	}
	return nil
}

// SetPacketMode turns TIOCPKT packet mode on or off on the master.
func (p *Pty) SetPacketMode(on bool) error {
	v := 0
	if on {
		v = 1
	}
	return p.control("TIOCPKT", func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.TIOCPKT, v) })
}

// SetSize sets the window size (TIOCSWINSZ); the session's foreground
// process group gets SIGWINCH when it changes.
func (p *Pty) SetSize(ws Winsize) error {
	w := unix.Winsize{Row: ws.Rows, Col: ws.Cols, Xpixel: ws.XPixel, Ypixel: ws.YPixel}
	return p.control("TIOCSWINSZ", func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &w) })
}

// Size returns the window size (TIOCGWINSZ).
func (p *Pty) Size() (Winsize, error) {
	var ws Winsize
	err := p.control("TIOCGWINSZ", func(fd int) error {
		w, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err == nil {
			ws = Winsize{Rows: w.Row, Cols: w.Col, XPixel: w.Xpixel, YPixel: w.Ypixel}
		}
		return err
	})
	return ws, err
}

// Termios returns the slave's terminal settings (read through the master).
func (p *Pty) Termios() (unix.Termios, error) {
	var tio unix.Termios
	err := p.control("TCGETS", func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil {
			tio = *t
		}
		return err
	})
	return tio, err
}

// SetOwner gives the slave to the session's user the way login programs
// do: owner uid, group gid (normally the "tty" group), mode 0620. It
// must be called before Start.
func (p *Pty) SetOwner(uid, gid int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slave == nil {
		return ErrStarted
	}
	if err := p.slave.Chown(uid, gid); err != nil {
		return &Error{Op: "chown slave", Err: err}
	}
	if err := p.slave.Chmod(0o620); err != nil {
		return &Error{Op: "chmod slave", Err: err}
	}
	return nil
}

// Start runs cmd on the slave: stdin, and stdout/stderr unless the
// caller set them, are the slave; the child is a session leader
// (setsid) with the slave as controlling terminal (TIOCSCTTY on fd 0);
// cred, if not nil, is the user it runs as (set in the child between
// fork and exec). Other SysProcAttr fields the caller set are kept.
// After a successful start the daemon's copy of the slave is closed, so
// reads of the master end with EOF once the session's processes exit.
func (p *Pty) Start(cmd *exec.Cmd, cred *syscall.Credential) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slave == nil {
		return ErrStarted
	}
	cmd.Stdin = p.slave
	if cmd.Stdout == nil {
		cmd.Stdout = p.slave
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.slave
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	cmd.SysProcAttr.Setpgid = false // incompatible with Setsid
	cmd.SysProcAttr.Foreground = false
	if cred != nil {
		cmd.SysProcAttr.Credential = cred
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ptyx: start %s: %w", cmd.Path, err)
	}
	p.slave.Close()
	p.slave = nil
	return nil
}

// Read reads from the master: in packet mode one packet (see
// PacketReader). EIO — every holder of the slave has gone — is reported
// as io.EOF.
func (p *Pty) Read(b []byte) (int, error) {
	n, err := p.master.Read(b)
	return n, mapEOF(err)
}

// Write writes input for the session to the master.
func (p *Pty) Write(b []byte) (int, error) { return p.master.Write(b) }

// Close closes the master, which unblocks any Read in progress (it
// returns an error wrapping os.ErrClosed) and hangs up the session, and
// the daemon's copy of the slave if Start has not taken it.
func (p *Pty) Close() error {
	p.mu.Lock()
	if p.slave != nil {
		p.slave.Close()
		p.slave = nil
	}
	p.mu.Unlock()
	return p.master.Close()
}

func mapEOF(err error) error {
	if errors.Is(err, syscall.EIO) {
		return io.EOF
	}
	return err
}
