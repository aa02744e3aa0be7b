package oob

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// siginfoSize is sizeof(struct signalfd_siginfo): every read of a signalfd
// returns whole records of this size (signalfd(2)).
const siginfoSize = int(unsafe.Sizeof(unix.SignalfdSiginfo{}))

// watcher is the Linux Watcher: one goroutine locked to its own OS thread,
// which owns the socket and waits in poll(2) on a control eventfd, a
// signalfd for SIGURG and a private epoll with EPOLLPRI|EPOLLONESHOT.
type watcher struct {
	rc     syscall.RawConn
	events chan Event
	hook   func(Event) // tests and benchmarks: called on the thread for every event
	done   chan struct{}
	tid    int // the thread's id, set before startWatcher returns

	hints, arrivals, ignored, recovered atomic.Uint64
	consumedFlag                        atomic.Bool   // set by a Reader that read the urgent byte
	hintsAtConsume                      atomic.Uint64 // hints counted when that byte was read
	pending                             bool          // thread only: a hint came since the last consumed byte

	mu       sync.Mutex
	ctl      int // eventfd that wakes the thread (Sync, Close); closed after done
	closed   bool
	syncReqs []chan uint64
	loopErr  error
	ctlOnce  sync.Once
}

func startWatcher(c *net.TCPConn, hook func(Event)) (*watcher, error) {
	if c == nil {
		return nil, &OpError{Op: "watch", Err: unix.EINVAL}
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, &OpError{Op: "watch", Err: err}
	}
	ctl, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, &OpError{Op: "eventfd", Err: err}
	}
	w := &watcher{
		rc:     rc,
		events: make(chan Event, 1),
		hook:   hook,
		done:   make(chan struct{}),
		ctl:    ctl,
	}
	ready := make(chan error, 1)
	go w.run(ready)
	if err := <-ready; err != nil {
		<-w.done
		unix.Close(ctl)
		return nil, err
	}
	return w, nil
}

// run is the watcher's thread. It never calls runtime.UnlockOSThread: when
// it returns, the runtime ends the thread, whose signal mask it changed.
func (w *watcher) run(ready chan<- error) {
	runtime.LockOSThread()
	defer close(w.done)
	defer close(w.events)

	var set unix.Sigset_t
	sigaddset(&set, unix.SIGURG)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		ready <- &OpError{Op: "pthread_sigmask SIG_BLOCK SIGURG", Err: err}
		return
	}
	sfd, err := unix.Signalfd(-1, &set, unix.SFD_CLOEXEC|unix.SFD_NONBLOCK)
	if err != nil {
		ready <- &OpError{Op: "signalfd SIGURG", Err: err}
		return
	}
	defer unix.Close(sfd)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		ready <- &OpError{Op: "epoll_create1", Err: err}
		return
	}
	defer unix.Close(epfd)
	w.tid = unix.Gettid()
	err = controlRaw(w.rc, func(fd int) error {
		ev := unix.EpollEvent{Events: unix.EPOLLPRI | unix.EPOLLONESHOT, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return &OpError{Op: "epoll_ctl ADD EPOLLPRI", Err: err}
		}
		return setOwnerTID(fd, w.tid)
	})
	if err != nil {
		ready <- err
		return
	}
	// The socket may already be closed by then; nothing to undo in that case.
	defer controlRaw(w.rc, func(fd int) error { return clearOwnerIfTID(fd, w.tid) })
	ready <- nil
	w.loop(sfd, epfd)
}

func (w *watcher) loop(sfd, epfd int) {
	fds := []unix.PollFd{
		{Fd: int32(w.ctl), Events: unix.POLLIN},
		{Fd: int32(sfd), Events: unix.POLLIN},
		{Fd: int32(epfd), Events: unix.POLLIN},
	}
	sibuf := make([]byte, 16*siginfoSize)
	evbuf := make([]unix.EpollEvent, 1)
	var cnt [8]byte
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			w.fail(&OpError{Op: "poll", Err: err})
			return
		}
		ctl := fds[0].Revents != 0
		if ctl {
			unix.Read(w.ctl, cnt[:]) // reset the eventfd counter
			if w.consumedFlag.Swap(false) {
				// The urgent byte was read: watch for the next one. A hint
				// counted since then (this loop may see the SIGURG of the
				// next urgent byte before this notice) is still pending;
				// clearing it would let recoverHint count that byte twice.
				w.pending = w.hints.Load() > w.hintsAtConsume.Load()
				w.rearm(epfd)
			}
		}
		// Always take pending SIGURGs first: a Sync must see them, and the
		// kernel raises SIGURG before the urgent byte can show up as
		// EPOLLPRI, so an arrival is never handled before its own hint.
		if _, other := w.takeSignals(sfd, epfd, sibuf); other > 0 {
			// A pending runtime SIGURG swallows a kernel one
			// (one pending instance per standard signal).
			w.recoverHint(sfd, epfd, sibuf)
		}
		if fds[2].Revents != 0 {
			if w.readArrival(epfd, evbuf) {
				w.recoverHint(sfd, epfd, sibuf)
			}
		}
		if ctl {
			w.mu.Lock()
			reqs, closed := w.syncReqs, w.closed
			w.syncReqs = nil
			w.mu.Unlock()
			seq := w.hints.Load()
			for _, r := range reqs {
				r <- seq
			}
			if closed {
				return
			}
		}
	}
}

// readSignals reads the pending SIGURG, if any, and counts those raised by
// the kernel (send_sigurg: si_code SI_KERNEL) and the others (the runtime's
// preemption, tgkill: SI_TKILL). It reads once, never "until EAGAIN": the
// runtime keeps asking to preempt a goroutine that runs without entering a
// blocking syscall, and on this thread, where SIGURG is blocked, each
// request is one more pending signal — a drain loop then never ends (seen
// in CI: a watcher spinning for 12 minutes). One read and back to poll
// ends that: in poll the goroutine is in a syscall and is not preempted.
// (A standard signal is pending at most once per thread anyway.)
func (w *watcher) readSignals(sfd int, buf []byte) (kernel, other int) {
	n, err := unix.Read(sfd, buf)
	for err == unix.EINTR {
		n, err = unix.Read(sfd, buf)
	}
	if err == nil {
		for i := 0; i+siginfoSize <= n; i += siginfoSize {
			si := (*unix.SignalfdSiginfo)(unsafe.Pointer(&buf[i]))
			if si.Signo == uint32(unix.SIGURG) && si.Code == siKernel {
				kernel++
			} else {
				other++
			}
		}
	}
	w.ignored.Add(uint64(other))
	return kernel, other
}

// takeSignals reads the pending SIGURGs and reports a hint if the kernel
// sent any.
func (w *watcher) takeSignals(sfd, epfd int, buf []byte) (kernel, other int) {
	kernel, other = w.readSignals(sfd, buf)
	if kernel > 0 {
		w.hints.Add(uint64(kernel))
		w.pending = true
		w.rearm(epfd)
		w.emit(Event{Kind: Hint, Seq: w.hints.Load(), Time: time.Now()})
	}
	return kernel, other
}

// recoverHint counts a hint whose SIGURG may have been swallowed: if no hint
// is pending since the last urgent byte was consumed, and the socket has an
// unread urgent byte (POLLPRI) that the reader has not reached (SIOCATMARK
// false, checked first), the reader will meet that mark and Sync after this
// count, so a Hold for it cannot outlive its mark. The kernel raises SIGURG
// before the byte shows as POLLPRI, so if it was not swallowed it is
// pending now and is counted as itself.
func (w *watcher) recoverHint(sfd, epfd int, buf []byte) {
	if w.pending {
		return
	}
	var found bool
	controlRaw(w.rc, func(fd int) error {
		at, err := atMarkFD(fd)
		if err != nil || at {
			return err
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
		n, err := unix.Poll(pfd, 0)
		found = err == nil && n == 1 && pfd[0].Revents&unix.POLLPRI != 0
		return err
	})
	if !found {
		return
	}
	if kernel, _ := w.takeSignals(sfd, epfd, buf); kernel > 0 {
		return
	}
	w.hints.Add(1)
	w.recovered.Add(1)
	w.pending = true
	w.emit(Event{Kind: Hint, Seq: w.hints.Load(), Time: time.Now()})
}

// rearm re-arms the one-shot EPOLLPRI watch; the socket may be closed.
func (w *watcher) rearm(epfd int) {
	controlRaw(w.rc, func(fd int) error {
		ev := unix.EpollEvent{Events: unix.EPOLLPRI | unix.EPOLLONESHOT, Fd: int32(fd)}
		return unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &ev)
	})
}

// readArrival takes the one-shot EPOLLPRI event (it disarms the watch) and
// reports whether there was one.
func (w *watcher) readArrival(epfd int, evbuf []unix.EpollEvent) bool {
	n, err := unix.EpollWait(epfd, evbuf, 0)
	if err != nil || n < 1 || evbuf[0].Events&unix.EPOLLPRI == 0 {
		return false
	}
	w.arrivals.Add(1)
	w.emit(Event{Kind: Arrived, Seq: w.hints.Load(), Time: time.Now()})
	return true
}

// emit hands ev to the hook and to the one-slot channel, replacing an
// unread older event.
func (w *watcher) emit(ev Event) {
	if w.hook != nil {
		w.hook(ev)
	}
	select {
	case w.events <- ev:
		return
	default:
	}
	select {
	case <-w.events:
	default:
	}
	select {
	case w.events <- ev:
	default:
	}
}

func (w *watcher) fail(err error) {
	w.mu.Lock()
	w.loopErr = err
	w.mu.Unlock()
}

// kick wakes the thread; w.mu must be held and w.closed false.
func (w *watcher) kick() {
	one := [8]byte{1}
	if !littleEndian() {
		one = [8]byte{7: 1}
	}
	unix.Write(w.ctl, one[:])
}

func (w *watcher) sync() (uint64, error) {
	reply := make(chan uint64, 1)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return 0, ErrClosed
	}
	w.syncReqs = append(w.syncReqs, reply)
	w.kick()
	w.mu.Unlock()
	select {
	case s := <-reply:
		return s, nil
	case <-w.done:
		select {
		case s := <-reply:
			return s, nil
		default:
			return 0, ErrClosed
		}
	}
}

func (w *watcher) stats() WatchStats {
	return WatchStats{Hints: w.hints.Load(), Arrivals: w.arrivals.Load(),
		Ignored: w.ignored.Load(), Recovered: w.recovered.Load()}
}

// consumed tells the thread that the urgent byte at the mark has been read.
func (w *watcher) consumed() {
	w.hintsAtConsume.Store(w.hints.Load())
	w.consumedFlag.Store(true)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.kick()
	}
}

func (w *watcher) close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		w.kick()
	}
	w.mu.Unlock()
	<-w.done
	w.ctlOnce.Do(func() { unix.Close(w.ctl) })
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loopErr
}

// sigaddset adds sig to set, whatever the word size of unix.Sigset_t.
func sigaddset(set *unix.Sigset_t, sig unix.Signal) {
	const bits = uint(unsafe.Sizeof(set.Val[0]) * 8)
	n := uint(sig) - 1
	set.Val[n/bits] |= 1 << (n % bits)
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
