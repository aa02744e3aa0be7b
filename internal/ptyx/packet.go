package ptyx

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Packet-mode header values: Linux include/uapi/asm-generic/ioctls.h
// (TIOCPKT_*), the same bits as BSD <sys/ttycom.h>. rlogind forwards
// PktFlushWrite, PktNoStop and PktDoStop to the client as urgent bytes
// (netkit rlogind protocol()).
const (
	PktData       = 0x00 // TIOCPKT_DATA: the rest of the read is data
	PktFlushRead  = 0x01 // TIOCPKT_FLUSHREAD: the slave's input queue was flushed
	PktFlushWrite = 0x02 // TIOCPKT_FLUSHWRITE: the slave's output queue was flushed
	PktStop       = 0x04 // TIOCPKT_STOP: output stopped (^S)
	PktStart      = 0x08 // TIOCPKT_START: output restarted (^Q)
	PktNoStop     = 0x10 // TIOCPKT_NOSTOP: ^S/^Q are no longer flow control
	PktDoStop     = 0x20 // TIOCPKT_DOSTOP: ^S/^Q are flow control again
	PktIoctl      = 0x40 // TIOCPKT_IOCTL: termios changed (EXTPROC)
)

// ErrEmptyPacket is returned for a zero-length packet-mode read, which
// the kernel never produces.
var ErrEmptyPacket = errors.New("ptyx: empty packet")

// PacketError is a packet that breaks the packet-mode format.
type PacketError struct {
	Header byte
	Len    int // bytes after the header
}

func (e *PacketError) Error() string {
	return fmt.Sprintf("ptyx: control packet %#02x followed by %d data bytes", e.Header, e.Len)
}

// Packet is one read of a packet-mode master.
type Packet struct {
	// Flags is the header byte: PktData (0) for data, else TIOCPKT_* bits.
	Flags byte
	// Data is the session's output; empty for control packets.
	Data []byte
}

// IsControl reports whether p carries TIOCPKT_* flags rather than data.
func (p Packet) IsControl() bool { return p.Flags != PktData }

// String names the flags, e.g. "FLUSHWRITE|DOSTOP", or "data(12)".
func (p Packet) String() string {
	if !p.IsControl() {
		return fmt.Sprintf("data(%d)", len(p.Data))
	}
	names := []string{"FLUSHREAD", "FLUSHWRITE", "STOP", "START", "NOSTOP", "DOSTOP", "IOCTL", "0x80"}
	var s []string
	for i, n := range names {
		if p.Flags&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	return strings.Join(s, "|")
}

// ParsePacket splits one packet-mode read into header and data. Data
// aliases b. A control header followed by data is an error: the kernel
// delivers a control byte alone (Linux n_tty_read).
func ParsePacket(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmptyPacket
	}
	if b[0] != PktData && len(b) > 1 {
		return Packet{}, &PacketError{Header: b[0], Len: len(b) - 1}
	}
	return Packet{Flags: b[0], Data: b[1:]}, nil
}

// DefaultPacketSize is PacketReader's read size: one header byte plus
// the data a pty hands out per read.
const DefaultPacketSize = 1 + 4096

// PacketReader reads packets from a packet-mode master, one per read.
type PacketReader struct {
	r   io.Reader
	pty *Pty // r, when it is one: FLUSHWRITE wakes its writers
	buf []byte
}

// NewPacketReader reads packets from r (normally a *Pty) with reads of
// size bytes; size < 2 means DefaultPacketSize (a one-byte read could
// never carry data). When r is a *Pty, every FLUSHWRITE packet also wakes
// the writers the flush left asleep (Pty.WakeWriters).
func NewPacketReader(r io.Reader, size int) *PacketReader {
	if size < 2 {
		size = DefaultPacketSize
	}
	p, _ := r.(*Pty)
	return &PacketReader{r: r, pty: p, buf: make([]byte, size)}
}

// Next returns the next packet. Its Data is valid until the next call.
// The end of the session (EIO from the master) is io.EOF.
func (pr *PacketReader) Next() (Packet, error) {
	for range 100 {
		n, err := pr.r.Read(pr.buf)
		if n > 0 {
			pk, err := ParsePacket(pr.buf[:n])
			if err == nil && pr.pty != nil && pk.Flags&PktFlushWrite != 0 {
				_ = pr.pty.WakeWriters() // a session that has gone has no writers
			}
			return pk, err
		}
		if err != nil {
			return Packet{}, mapEOF(err)
		}
		// n == 0 without an error: io.Reader allows it; try again.
	}
	return Packet{}, io.ErrNoProgress
}
