// Package oob handles TCP urgent data on real sockets: SO_OOBINLINE, sending
// one urgent byte with MSG_OOB, SIOCATMARK, urgent notification that ignores
// the Go runtime's own SIGURGs, and the chain of buffers to be written that a
// flush cuts up to the urgent mark.
//
// The whole public API is in this file; the per-OS files only implement it.
// Everything but the Chain is Linux-only; on other systems the functions
// return ErrUnsupported.
//
// # Urgent bytes stay in the stream
//
// TCP keeps a single urgent pointer. Without SO_OOBINLINE a second urgent
// byte that arrives before the first has been fetched with recv(MSG_OOB)
// pushes the first one back into the data stream ("OOB creep-in"), and a
// plain read at the mark silently skips the newest one. With SO_OOBINLINE
// (SetInline, or Control as a net.Dialer / net.ListenConfig hook so that it
// is on before the first byte can arrive) every urgent byte stays in the
// byte stream, in order; the urgent pointer only marks where the newest one
// is. On Linux an accepted socket inherits SO_OOBINLINE from its listener.
//
// SendUrgent sends one urgent byte after every byte of every Write that has
// returned (conn.Write returns once the kernel holds all of its bytes, and
// the write lock of the connection serialises the two).
//
// # Finding the mark
//
// A Reader reads the socket and tells when the stream is at the urgent mark:
// the next byte is the newest urgent byte. Linux stops an inline read just
// before that byte, so the read that reaches the mark returns everything
// before it and AtMark reports true (SIOCATMARK after the read); the next
// read starts with the urgent byte. Before each read(2) the Reader also
// peeks one byte and asks SIOCATMARK, because an urgent byte that arrives
// exactly where the reader waits would otherwise be read as plain data;
// then Read returns 0 bytes with AtMark true.
//
// # Notification: an early hint, never the truth
//
// The kernel sends SIGURG to a socket's owner when an urgent pointer arrives
// — with megabytes queued that is long before the urgent byte itself can be
// read — and EPOLLPRI fires once the urgent byte has arrived. Go's runtime
// sends itself SIGURG to preempt goroutines, so a SIGURG by itself proves
// nothing. Watch therefore starts a goroutine locked to its own OS thread,
// blocks SIGURG on that thread, reads it from a signalfd, and points the
// socket's owner at that thread with F_SETOWN_EX(F_OWNER_TID). The kernel's
// SIGURG arrives with si_code SI_KERNEL; the runtime's preemption signals
// (tgkill) carry SI_TKILL and are counted and ignored. The same thread waits
// on a private epoll with EPOLLPRI|EPOLLONESHOT on the socket, re-armed at
// every later urgent pointer and when the Reader has read the urgent byte (a
// level-triggered EPOLLPRI would spin until the byte is read). The epoll
// watches the connection's own descriptor through RawConn.Control rather
// than a dup: a dup would keep a closed connection open (no FIN) until the
// Watcher is closed, and the kernel drops the registration by itself when
// the connection closes.
//
// One Watcher watches one socket, with its own thread. The kernel's SIGURG
// carries no file descriptor (SEND_SIG_PRIV; F_SETSIG only changes the
// O_ASYNC signals, which also fire for every arriving segment), and until
// the urgent byte has arrived neither SIOCATMARK nor POLLPRI can tell which
// socket's pointer came in — so the owning thread is the only early way to
// tell two sockets (rsh's main and stderr channels) apart. A watched socket
// costs one parked OS thread and three file descriptors; Close releases all
// of them and ends the thread.
//
// Measured on Linux 6.18 loopback (BenchmarkHintLatency, 4 MiB written
// before the urgent byte, 2.8–3.8 MiB of it still in the socket buffers):
// with a reader that keeps up, the SIGURG hint came 0.1–0.45 ms after
// SendUrgent and EPOLLPRI 0.7–1.1 ms after it; with a reader draining
// 16 MB/s, SIGURG after 5.3–5.5 ms and EPOLLPRI after 195–204 ms. The
// pointer rides on the next segment the sender may transmit; the byte
// arrives only when the window has let everything before it through.
//
// A pending standard signal swallows another of the same number, so a
// runtime SIGURG that happens to be pending on the watcher's thread hides
// the kernel's. The Watcher then recovers the hint if the socket has an
// unread urgent byte the reader has not reached yet (POLLPRI, SIOCATMARK);
// a hint lost otherwise only means the flush starts at the mark, as without
// notification. The kernel also sends one SIGURG per new urgent pointer,
// and a pointer more than 64 KiB ahead is clamped and re-sent as it moves,
// so hints count signals, not urgent bytes.
//
// # Flushing up to the mark
//
// A Chain is the chain of buffers to be written: the socket reader Pushes
// what it reads (krx decrypts first; it may leave out in-band control
// sequences) and a goroutine drains the chain to an io.Writer (the
// terminal). Offsets are the Chain's own: the number of bytes pushed before.
// A client implements "flush output up to the mark" like this:
//
//  1. On a hint (an Event from the Watcher), Hold(ev.Seq): painting stops at
//     once, reading goes on, nothing is decrypted out of order.
//  2. Keep reading and pushing until the Reader is AtMark.
//  3. seq, _ := watcher.Sync() — every hint raised so far belongs to this
//     mark or an earlier one.
//  4. mark := chain.Pushed(); read the urgent byte; if it means "flush",
//     FlushTo(mark).
//  5. Release(seq): painting resumes.
//
// A hint that arrives after its mark was passed is then already released,
// so a hold can never outlive the mark it was for. While held, Push never
// blocks, so the reader always reaches the mark: the chain queues up to
// HoldLimit (32 MiB, more than can lie before a mark: the peer's send queue
// plus our receive buffer), so a non-flush urgent byte loses nothing; only
// past that bound are the oldest unwritten bytes dropped, as netkit rlogin
// drops them while it waits for the urgent byte.
package oob

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

var (
	// ErrUnsupported is returned by everything socket-related on systems
	// other than Linux.
	ErrUnsupported = errors.New("oob: TCP urgent data handling is supported on Linux only")
	// ErrClosed is returned by a closed Chain or Watcher.
	ErrClosed = errors.New("oob: use of closed chain or watcher")
)

// OpError reports a failed system call on a socket. Use errors.As to get it;
// errors.Is sees through it to the errno (for example syscall.EPIPE).
type OpError struct {
	Op  string // the call, e.g. "setsockopt SO_OOBINLINE" or "send MSG_OOB"
	Err error  // the underlying error, usually a syscall.Errno
}

func (e *OpError) Error() string { return fmt.Sprintf("oob: %s: %v", e.Op, e.Err) }

// Unwrap returns the underlying error.
func (e *OpError) Unwrap() error { return e.Err }

// SetInline turns on SO_OOBINLINE on c. Call it before the peer can send an
// urgent byte; Control does it before the connection exists.
func SetInline(c *net.TCPConn) error { return rawControl(c, setInlineFD) }

// Control sets SO_OOBINLINE on a socket before it is connected or listening.
// Use it as net.Dialer.Control or net.ListenConfig.Control; sockets accepted
// from such a listener inherit the option on Linux. network and address are
// ignored.
func Control(network, address string, c syscall.RawConn) error {
	return controlRaw(c, setInlineFD)
}

// SendUrgent sends b as one urgent byte (MSG_OOB). It is ordered after every
// earlier Write on c that has returned. On a full send buffer it waits for
// room, honouring c's write deadline.
func SendUrgent(c *net.TCPConn, b byte) error { return sendUrgent(c, b) }

// DefaultUnsent is the bound LimitUnsent callers use for an interactive
// stream: 16 KiB is about 13 ms of a 10 Mbit/s link, and more than one
// pty read (4 KiB) ahead, so bulk output still keeps the link busy.
const DefaultUnsent = 16 << 10

// LimitUnsent bounds the bytes c's kernel send queue holds that have not
// been transmitted yet (TCP_NOTSENT_LOWAT): a Write waits once n bytes are
// unsent. A flush cannot take back bytes the kernel already holds, and the
// urgent pointer rides only on segments sent after SendUrgent (and is only
// set on those within 64 KiB of the mark), so every unsent byte queued
// before the urgent byte is painted by the peer before it hears of the
// flush. A sender that keeps the rest of its output in its own buffers (a
// pty's, or a chain it can cut) makes the flush reach the peer at once.
func LimitUnsent(c *net.TCPConn, n int) error {
	return rawControl(c, func(fd int) error { return setNotSentLowatFD(fd, n) })
}

// SmoothedRTT returns c's smoothed round-trip time as the kernel measures
// it (TCP_INFO tcpi_rtt), queueing delay included: about how long a
// command the peer answers at once takes to come back.
func SmoothedRTT(c *net.TCPConn) (time.Duration, error) {
	var d time.Duration
	err := rawControl(c, func(fd int) error {
		var err error
		d, err = smoothedRTTFD(fd)
		return err
	})
	return d, err
}

// Bounds of FlushWait: twice the smoothed round trip plus FlushWaitSlack,
// at most FlushWaitMax. The slack covers what a round trip measured on
// idle keystrokes does not see: the output queued in the network ahead of
// the peer's flush during a flood.
const (
	FlushWaitSlack = 250 * time.Millisecond
	FlushWaitMax   = time.Second
)

// FlushWait is how long a client that has just sent the remote terminal's
// interrupt character should hold its output (Chain.Expect) for the
// peer's flush: min(2·SmoothedRTT(c) + FlushWaitSlack, FlushWaitMax).
func FlushWait(c *net.TCPConn) time.Duration {
	rtt, err := SmoothedRTT(c)
	if err != nil {
		rtt = 0
	}
	return min(2*rtt+FlushWaitSlack, FlushWaitMax)
}

// AtMark reports whether c's read position is at the urgent mark
// (SIOCATMARK): the next byte to read is the newest urgent byte, or will be
// once it arrives.
func AtMark(c *net.TCPConn) (bool, error) {
	var at bool
	err := rawControl(c, func(fd int) error {
		var err error
		at, err = atMarkFD(fd)
		return err
	})
	return at, err
}

// Reader reads a TCP connection and tracks the urgent mark. It is an
// io.Reader; use one goroutine per Reader.
type Reader struct {
	c      *net.TCPConn
	w      *Watcher
	off    int64
	atMark bool
}

// NewReader returns a Reader for c. c should have SO_OOBINLINE on, otherwise
// the kernel removes the newest urgent byte from the stream. w, the
// Watcher of c or nil, is told whenever an urgent byte has been read, so it
// re-arms its EPOLLPRI watch and can recover a hint the runtime swallowed.
func NewReader(c *net.TCPConn, w *Watcher) *Reader { return &Reader{c: c, w: w} }

// Read reads from the connection like c.Read (honouring its read deadline)
// and records whether the stream is now at the urgent mark. A read never
// crosses the mark: it stops before the urgent byte, and the next read
// begins with it. The kernel is asked before every read attempt as well as
// after it, because an urgent byte can arrive while the reader sits exactly
// at its position; then Read returns 0, nil with AtMark true, once per mark.
// At the end of the stream it returns io.EOF.
func (r *Reader) Read(p []byte) (int, error) {
	wasAt := r.atMark
	n, at, err := readMark(r.c, p, wasAt)
	r.off += int64(n)
	r.atMark = at
	if wasAt && n > 0 && r.w != nil {
		r.w.w.consumed()
	}
	return n, err
}

// AtMark reports whether the last Read left the stream at the urgent mark:
// the byte at stream offset Offset() is the newest urgent byte (it may not
// have arrived yet), and the next Read returns it first.
func (r *Reader) AtMark() bool { return r.atMark }

// Offset returns the number of bytes read so far: the stream offset of the
// next byte.
func (r *Reader) Offset() int64 { return r.off }

// Kind says what an Event reports.
type Kind uint8

const (
	// Hint: the kernel's SIGURG — an urgent pointer has arrived. The urgent
	// byte may still be far behind in the stream.
	Hint Kind = iota + 1
	// Arrived: EPOLLPRI — the urgent byte has been received and not yet read.
	Arrived
)

func (k Kind) String() string {
	switch k {
	case Hint:
		return "hint"
	case Arrived:
		return "arrived"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one urgent notification from a Watcher.
type Event struct {
	Kind Kind
	// Seq is the number of kernel SIGURGs counted so far, this one included;
	// pass it to Chain.Hold. Several urgent pointers may share one SIGURG
	// (signals are coalesced) and one far-away urgent byte may cause several
	// (the 16-bit pointer is clamped), so Seq counts hints, not bytes.
	Seq uint64
	// Time is when the Watcher's thread received the notification.
	Time time.Time
}

// WatchStats are a Watcher's counters.
type WatchStats struct {
	Hints     uint64 // hints reported: kernel SIGURGs (si_code SI_KERNEL) plus Recovered
	Arrivals  uint64 // EPOLLPRI notifications received
	Ignored   uint64 // other SIGURGs (the runtime's preemption) received and ignored
	Recovered uint64 // hints counted because a runtime SIGURG may have swallowed the kernel's
}

// Watcher delivers urgent notifications for one TCP socket. Create it with
// Watch; it must be closed.
type Watcher struct{ w *watcher }

// Watch starts watching c for urgent data: it makes a dedicated OS thread
// the owner of c (F_SETOWN_EX), so it replaces any earlier owner. Call it
// before the peer sends urgent data; a SIGURG that comes before Watch
// returns is lost (the in-band byte and the mark are not).
func Watch(c *net.TCPConn) (*Watcher, error) {
	w, err := startWatcher(c, nil)
	if err != nil {
		return nil, err
	}
	return &Watcher{w: w}, nil
}

// Events returns the notification channel. It holds at most one event: a
// newer event replaces an unread older one (Seq keeps growing, so nothing a
// Chain needs is lost). It is closed by Close.
func (w *Watcher) Events() <-chan Event { return w.w.events }

// Sync waits until the Watcher has received every SIGURG the kernel has
// already sent for the socket and returns the hint count (Event.Seq) then.
// Called when a Reader is AtMark, it says which hints that mark answers:
// the kernel raises SIGURG before the marked bytes can be read.
func (w *Watcher) Sync() (uint64, error) { return w.w.sync() }

// Stats returns the Watcher's counters.
func (w *Watcher) Stats() WatchStats { return w.w.stats() }

// Close stops the Watcher: it gives up ownership of the socket if it still
// has it, closes its file descriptors and ends its thread. It does not close
// the connection. Close is idempotent.
func (w *Watcher) Close() error { return w.w.close() }
