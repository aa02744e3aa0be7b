package compat

import (
	"strconv"
	"strings"
)

// DefaultTerm is what the netkit rlogin client sends when $TERM is unset
// (netkit rlogin.c main()).
const DefaultTerm = "network"

// TermSpeed is the rlogin handshake payload "TERM/speed", e.g.
// "xterm/38400" (RFC 1282; netkit rlogin.c getspeedstr()).
type TermSpeed struct {
	Term  string
	Speed int // bits per second; 0 = not given. Advisory only (PROTOCOL.md §1.2).
}

// String returns "Term/Speed", or just Term when Speed is 0.
func (t TermSpeed) String() string {
	if t.Speed == 0 {
		return t.Term
	}
	return t.Term + "/" + strconv.Itoa(t.Speed)
}

// ParseTermSpeed splits an rlogin payload at its first '/' (netkit
// rlogind.c setup_term()). Without a '/' the whole payload is the terminal
// type and Speed is 0. netkit atoi()s the speed and ignores anything after a
// second '/'; krx requires the speed to be plain decimal (no sign, at most 9
// digits) and refuses anything else with a *FieldError (ErrBadSpeed), so a
// caller that prefers netkit's leniency can fall back to the Term part.
func ParseTermSpeed(s string) (TermSpeed, error) {
	term, speed, ok := strings.Cut(s, "/")
	ts := TermSpeed{Term: term}
	if !ok {
		return ts, nil
	}
	if speed == "" || len(speed) > 9 {
		return ts, &FieldError{Field: "speed", Value: speed, Err: ErrBadSpeed}
	}
	for i := 0; i < len(speed); i++ {
		if speed[i] < '0' || speed[i] > '9' {
			return ts, &FieldError{Field: "speed", Value: speed, Err: ErrBadSpeed}
		}
		ts.Speed = ts.Speed*10 + int(speed[i]-'0')
	}
	return ts, nil
}

// Control is an rlogin server→client control byte, sent as one TCP urgent
// byte. Its bits are the BSD pty packet-mode TIOCPKT_* flags (Linux
// <asm-generic/ioctls.h>; netkit rlogin.c fall-back defines; RFC 1282).
type Control byte

// Control bits. Only FlushWrite, NoStop, DoStop and Window ever reach the
// wire; the others are pty packet-header bits that rlogind drops.
const (
	CtlFlushRead  Control = 0x01 // TIOCPKT_FLUSHREAD: dropped by rlogind
	CtlFlushWrite Control = 0x02 // TIOCPKT_FLUSHWRITE: discard output up to the urgent mark
	CtlStop       Control = 0x04 // TIOCPKT_STOP: dropped by rlogind
	CtlStart      Control = 0x08 // TIOCPKT_START: dropped by rlogind
	CtlNoStop     Control = 0x10 // TIOCPKT_NOSTOP: "raw", stop handling ^S/^Q locally
	CtlDoStop     Control = 0x20 // TIOCPKT_DOSTOP: "cooked", handle ^S/^Q locally
	CtlWindow     Control = 0x80 // TIOCPKT_WINDOW: send window-size messages
)

// CtlForwardMask is the set of pty packet bits rlogind forwards to the
// client (netkit rlogind.c protocol(), pkcontrol()).
const CtlForwardMask = CtlFlushWrite | CtlNoStop | CtlDoStop

// FlushWrite reports the FLUSHWRITE bit.
func (c Control) FlushWrite() bool { return c&CtlFlushWrite != 0 }

// NoStop reports the NOSTOP bit.
func (c Control) NoStop() bool { return c&CtlNoStop != 0 }

// DoStop reports the DOSTOP bit.
func (c Control) DoStop() bool { return c&CtlDoStop != 0 }

// Window reports the WINDOW bit.
func (c Control) Window() bool { return c&CtlWindow != 0 }

// PacketControl maps the header byte of a TIOCPKT packet read from a pty
// master to the control bits rlogind forwards: header & CtlForwardMask.
// ok is false when nothing is to be sent (header 0 = TIOCPKT_DATA, or only
// FLUSHREAD/STOP/START/IOCTL bits).
func PacketControl(header byte) (c Control, ok bool) {
	c = Control(header) & CtlForwardMask
	return c, c != 0
}

// ServerControl is rlogind's control-byte state (netkit rlogind.c
// protocol(), control()): the first urgent byte is 0x80 ("indicate new
// rlogin"), and 0x80 is OR-ed into every forwarded control byte until the
// client's first window-size message has been received. The zero value is
// a fresh session. It is not safe for concurrent use.
type ServerControl struct {
	windowSeen bool
}

// Initial returns the urgent byte a server sends right after the
// confirmation and pty start: CtlWindow.
func (s *ServerControl) Initial() Control { return CtlWindow }

// Packet maps a pty packet header byte to the urgent byte to send, OR-ing
// in CtlWindow while no window message has been seen. ok is false when the
// header carries nothing to forward.
func (s *ServerControl) Packet(header byte) (c Control, ok bool) {
	c, ok = PacketControl(header)
	if ok && !s.windowSeen {
		c |= CtlWindow
	}
	return c, ok
}

// WindowReceived records that the client sent a window-size message; from
// now on CtlWindow is no longer OR-ed in.
func (s *ServerControl) WindowReceived() { s.windowSeen = true }

// WindowSeen reports whether WindowReceived has been called.
func (s *ServerControl) WindowSeen() bool { return s.windowSeen }
