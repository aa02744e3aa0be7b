package oob

import (
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux constants without a name in golang.org/x/sys/unix.
const (
	// fOwnerTID is F_OWNER_TID from <linux/fcntl.h> (struct f_owner_ex.type):
	// deliver the owner's signals to one thread, not to the whole process.
	fOwnerTID = 0
	// siKernel is SI_KERNEL from <asm-generic/siginfo.h>: the si_code of a
	// signal the kernel raised itself, as send_sigurg() does (SEND_SIG_PRIV).
	siKernel = 0x80
)

// fOwnerEx is struct f_owner_ex from <linux/fcntl.h>.
type fOwnerEx struct {
	Type int32
	Pid  int32
}

// setInlineFD sets SO_OOBINLINE on fd.
func setInlineFD(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_OOBINLINE, 1); err != nil {
		return &OpError{Op: "setsockopt SO_OOBINLINE", Err: err}
	}
	return nil
}

// setNotSentLowatFD sets TCP_NOTSENT_LOWAT on fd (Linux 3.12; sendmsg
// honours it since 4.x through sk_stream_memory_free).
func setNotSentLowatFD(fd, n int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, n); err != nil {
		return &OpError{Op: "setsockopt TCP_NOTSENT_LOWAT", Err: err}
	}
	return nil
}

// smoothedRTTFD reads tcpi_rtt (µs) from TCP_INFO.
func smoothedRTTFD(fd int) (time.Duration, error) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, &OpError{Op: "getsockopt TCP_INFO", Err: err}
	}
	return time.Duration(info.Rtt) * time.Microsecond, nil
}

// inlineFD reports whether SO_OOBINLINE is set on fd.
func inlineFD(fd int) (bool, error) {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_OOBINLINE)
	if err != nil {
		return false, &OpError{Op: "getsockopt SO_OOBINLINE", Err: err}
	}
	return v != 0, nil
}

// atMarkFD asks the kernel whether fd's read position is at the urgent mark.
func atMarkFD(fd int) (bool, error) {
	v, err := unix.IoctlGetInt(fd, unix.SIOCATMARK)
	if err != nil {
		return false, &OpError{Op: "ioctl SIOCATMARK", Err: err}
	}
	return v != 0, nil
}

// sendUrgent sends one MSG_OOB byte. RawConn.Write holds the connection's
// write lock, so the byte cannot overtake a concurrent conn.Write, and
// returning false from the callback makes it wait in the netpoller until the
// socket is writable again (or the write deadline passes).
func sendUrgent(c *net.TCPConn, b byte) error {
	if c == nil {
		return &OpError{Op: "send MSG_OOB", Err: unix.EINVAL}
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return &OpError{Op: "send MSG_OOB", Err: err}
	}
	buf := [1]byte{b}
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		for {
			serr = unix.Sendto(int(fd), buf[:], unix.MSG_OOB|unix.MSG_NOSIGNAL, nil)
			switch serr {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			return true
		}
	})
	if werr != nil {
		return &OpError{Op: "send MSG_OOB", Err: werr}
	}
	if serr != nil {
		return &OpError{Op: "send MSG_OOB", Err: serr}
	}
	return nil
}

// setOwnerTID makes thread tid the owner of fd: the kernel's SIGURG for fd
// goes to that thread only.
func setOwnerTID(fd, tid int) error {
	o := fOwnerEx{Type: fOwnerTID, Pid: int32(tid)}
	_, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_SETOWN_EX, uintptr(unsafe.Pointer(&o)))
	if e != 0 {
		return &OpError{Op: "fcntl F_SETOWN_EX", Err: e}
	}
	return nil
}

// clearOwnerIfTID removes fd's owner if it is still thread tid (another
// Watcher may have taken the socket over since).
func clearOwnerIfTID(fd, tid int) error {
	var o fOwnerEx
	_, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_GETOWN_EX, uintptr(unsafe.Pointer(&o)))
	if e != 0 {
		return &OpError{Op: "fcntl F_GETOWN_EX", Err: e}
	}
	if o.Type != fOwnerTID || int(o.Pid) != tid {
		return nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETOWN, 0); err != nil {
		return &OpError{Op: "fcntl F_SETOWN 0", Err: err}
	}
	return nil
}
