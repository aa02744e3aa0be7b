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
	attempt:
		for tries := 0; ; tries++ {
			// EAGAIN with bytes queued: a signal was pending at the mark
			// (see eagainAtMark). Try again at once; waiting for
			// readability would wait for more data.
			retry := func() bool { return tries < eagainRetries && queued(int(fd)) }
			n, at, rerr = 0, false, nil
			if !wasAt {
				k, _, err := unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK)
				for err == unix.EINTR {
					k, _, err = unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK)
				}
				switch {
				case err == unix.EAGAIN:
					if retry() {
						continue attempt
					}
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
					if retry() {
						continue attempt
					}
					return false
				}
				if rerr != nil {
					rerr = &OpError{Op: "read", Err: rerr}
				} else if n > 0 && n < len(p) {
					at, rerr = atMarkFD(int(fd))
				}
				return true
			}
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

// eagainRetries bounds the immediate retries of a read that returned
// EAGAIN with bytes queued. Linux's tcp_recvmsg, at the urgent mark with
// nothing copied, returns EAGAIN on a non-blocking socket when a signal is
// pending on the thread ("if (signal_pending(current))"), and the Go
// runtime sends its threads SIGURG to preempt goroutines. The byte is
// queued and its readiness edge has passed: waiting in the poller would
// wait for more data (a reader at the mark then stalls until the peer
// sends again). The signal is handled when the read returns, so the next
// try normally succeeds; the bound only keeps a storm of signals from
// spinning here for ever.
const eagainRetries = 1000

// queued reports whether the socket has bytes to read (SIOCINQ).
func queued(fd int) bool {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	return err == nil && n > 0
}
