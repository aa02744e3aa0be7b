package oob

import (
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// readMark reads once from c into p through RawConn.Read, so that it can
// look before each read(2) attempt: a 1-byte MSG_PEEK waits until the next
// byte is there, then SIOCATMARK says whether that byte is the urgent one
// (its urgent pointer arrives with it or earlier, and a later pointer can
// only point past everything already queued). If so the mark is reported
// (n = 0) and nothing is read; otherwise read(2) cannot start at a mark, and
// it stops before any mark further on. Asking SIOCATMARK without the peek
// would race with an urgent byte arriving just before read(2), which would
// then read it unnoticed. wasAt says the mark was reported already: this
// read takes the urgent byte. After a short read, SIOCATMARK tells whether
// it stopped at the mark.
func readMark(c *net.TCPConn, p []byte, wasAt bool) (n int, at bool, err error) {
	if c == nil {
		return 0, false, &OpError{Op: "read", Err: unix.EINVAL}
	}
	if len(p) == 0 {
		return 0, wasAt, nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false, &OpError{Op: "read", Err: err}
	}
	var rerr error
	var peek [1]byte
	werr := rc.Read(func(fd uintptr) bool {
		n, at, rerr = 0, false, nil
		if !wasAt {
			k, _, err := unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK)
			for err == unix.EINTR {
				k, _, err = unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK)
			}
			switch {
			case err == unix.EAGAIN:
				return false
			case err != nil:
				rerr = &OpError{Op: "recv MSG_PEEK", Err: err}
				return true
			case k > 0:
				if at, rerr = atMarkFD(int(fd)); rerr != nil || at {
					return true
				}
			}
		}
		for {
			n, rerr = unix.Read(int(fd), p)
			switch rerr {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			if rerr != nil {
				rerr = &OpError{Op: "read", Err: rerr}
			} else if n > 0 && n < len(p) {
				at, rerr = atMarkFD(int(fd))
			}
			return true
		}
	})
	switch {
	case werr != nil:
		return 0, false, &OpError{Op: "read", Err: werr}
	case n < 0:
		return 0, false, rerr
	case rerr != nil:
		return n, false, rerr
	case n == 0 && !at:
		return 0, false, io.EOF
	}
	return n, at, nil
}
