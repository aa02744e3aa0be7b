package rlogin

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// markReader reads a socket that has SO_OOBINLINE on and says, for each
// read, whether its first byte is the urgent byte at the mark.
//
// Asking SIOCATMARK only after a read (or before it, outside the read
// call) misses the common case of an idle session: the reader has caught
// up, the server sends one urgent byte, and Linux — which stops an inline
// read before the mark only when it has already copied something — hands
// it over as the first byte of the next read, after which the mark is
// behind the read position. So every read here is: peek one byte
// (MSG_PEEK; it waits for data like a read), then SIOCATMARK (the peeked
// byte is already received, so whether it is the marked byte is settled),
// then read. Linux never lets a read run past a later mark, so the urgent
// byte can only ever be the first byte of a read.
type markReader struct {
	rc syscall.RawConn
}

func newMarkReader(c *net.TCPConn) (*markReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &markReader{rc: rc}, nil
}

// Read reads into p (len(p) > 0). urgent reports that p[0] is the urgent
// byte. At the end of the stream it returns 0, io.EOF.
func (r *markReader) Read(p []byte) (n int, urgent bool, err error) {
	var opErr error
	cerr := r.rc.Read(func(fd uintptr) bool {
		var one [1]byte
		for {
			m, _, e := unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK)
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return false // wait until readable
			case e != nil:
				opErr = os.NewSyscallError("recv", e)
				return true
			case m == 0:
				opErr = io.EOF
				return true
			}
			break
		}
		at, e := unix.IoctlGetInt(int(fd), unix.SIOCATMARK)
		if e != nil {
			opErr = os.NewSyscallError("ioctl SIOCATMARK", e)
			return true
		}
		urgent = at != 0
		for {
			n, e = unix.Read(int(fd), p)
			if e == unix.EINTR {
				continue
			}
			break
		}
		if e != nil {
			n, opErr = 0, os.NewSyscallError("read", e)
		}
		return true
	})
	if opErr != nil {
		return 0, false, opErr
	}
	if cerr != nil {
		return 0, false, cerr
	}
	if n == 0 {
		return 0, false, io.EOF
	}
	return n, urgent, nil
}

// isClosed reports an error from reading a connection this side closed.
func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
