package compat

import (
	"bytes"
	"encoding/binary"
)

// WindowMsgLen is the length of the client→server window-size message
// (RFC 1282; netkit rlogin.c sendwindow()).
const WindowMsgLen = 12

// WindowMagic is the start of a window-size message: FF FF 's' 's'
// (RFC 1282; netkit rlogind.c magic[] and control()).
var WindowMagic = [4]byte{0xFF, 0xFF, 's', 's'}

// WindowSize is a terminal size as carried by the window-size message: four
// big-endian 16-bit fields, in the order of struct winsize.
type WindowSize struct {
	Rows, Cols, XPixel, YPixel uint16
}

// AppendTo appends the 12-byte message FF FF 73 73 rows cols xpixel ypixel.
func (w WindowSize) AppendTo(b []byte) []byte {
	b = append(b, WindowMagic[:]...)
	b = binary.BigEndian.AppendUint16(b, w.Rows)
	b = binary.BigEndian.AppendUint16(b, w.Cols)
	b = binary.BigEndian.AppendUint16(b, w.XPixel)
	return binary.BigEndian.AppendUint16(b, w.YPixel)
}

// Marshal returns the 12-byte message. A client should send it with one
// Write (PROTOCOL.md §1.2: netkit rlogind only recognises a message that
// arrives within one read).
func (w WindowSize) Marshal() [WindowMsgLen]byte {
	var m [WindowMsgLen]byte
	w.AppendTo(m[:0])
	return m
}

// ParseWindow decodes exactly one 12-byte window-size message; anything else
// is a *FieldError with ErrBadWindow.
func ParseWindow(b []byte) (WindowSize, error) {
	if len(b) != WindowMsgLen || !bytes.Equal(b[:4], WindowMagic[:]) {
		return WindowSize{}, &FieldError{Field: "window message", Value: string(b), Err: ErrBadWindow}
	}
	return decodeWindow(b), nil
}

func decodeWindow(b []byte) WindowSize {
	return WindowSize{
		Rows:   binary.BigEndian.Uint16(b[4:]),
		Cols:   binary.BigEndian.Uint16(b[6:]),
		XPixel: binary.BigEndian.Uint16(b[8:]),
		YPixel: binary.BigEndian.Uint16(b[10:]),
	}
}

// WindowScanner is the server side of the client→server direction of
// rlogin: it passes data through and extracts window-size messages, as a
// stream. State is kept between calls, so a message split across any number
// of reads is still recognised. Every other byte — including FF FF not
// followed by "ss" — passes through unchanged and in order; no byte is lost
// or duplicated.
//
// Differences from netkit rlogind (rlogind.c protocol(), control()), which
// scans each 1024-byte read buffer on its own:
//   - netkit only recognises a message lying wholly inside one read buffer
//     and passes a split one to the pty as data; krx recognises it (the
//     PROTOCOL.md §1.2 advice "parse as a stream").
//   - after removing a message netkit rescans the buffer from its start, so
//     bytes before and after a removed message can splice into a new one
//     (FF | FF FF s s …12… | FF s s …); krx never splices across a removed
//     message.
//
// Both agree otherwise: a candidate is FF FF s s at any position (also just
// after another FF: FF FF FF s s … passes the first FF through), and there
// is no quoting of FF FF in this direction.
//
// Because bytes that may begin a message (a trailing FF, FF FF, FF FF s, …)
// are held back until the next call decides them, a lone FF typed last is
// delayed; a server that cares can call Flush after a short idle period, at
// the price of netkit's behaviour for a message split at that point.
//
// The zero value is ready to use; it is not safe for concurrent use.
type WindowScanner struct {
	pend [WindowMsgLen]byte
	n    int
}

// Scan processes src until the end or until one window message completes.
// It appends the data bytes to dst and returns the extended slice as out,
// the number n of src bytes consumed, and, when found is true, the message
// that completed at src[n-1]. Data in out precedes the message in the
// stream; call Scan again with src[n:] for the rest.
func (s *WindowScanner) Scan(dst, src []byte) (out []byte, n int, ws WindowSize, found bool) {
	i := 0
	for i < len(src) {
		if s.n == 0 {
			j := bytes.IndexByte(src[i:], 0xFF)
			if j < 0 {
				dst = append(dst, src[i:]...)
				return dst, len(src), WindowSize{}, false
			}
			dst = append(dst, src[i:i+j]...)
			i += j + 1
			s.pend[0] = 0xFF
			s.n = 1
			continue
		}
		s.pend[s.n] = src[i]
		s.n++
		i++
		if !windowPrefix(s.pend[:s.n]) {
			dst = s.shed(dst)
			continue
		}
		if s.n == WindowMsgLen {
			s.n = 0
			return dst, i, decodeWindow(s.pend[:]), true
		}
	}
	return dst, i, WindowSize{}, false
}

// shed emits held-back bytes from the front until the rest could again
// start a message (or nothing is held).
func (s *WindowScanner) shed(dst []byte) []byte {
	for s.n > 0 && !windowPrefix(s.pend[:s.n]) {
		dst = append(dst, s.pend[0])
		copy(s.pend[:], s.pend[1:s.n])
		s.n--
	}
	return dst
}

// windowPrefix reports whether p (non-empty, ≤ 12 bytes) could be the start
// of a window message.
func windowPrefix(p []byte) bool {
	for i := 0; i < len(p) && i < 4; i++ {
		if p[i] != WindowMagic[i] {
			return false
		}
	}
	return true
}

// Pending returns how many bytes are held back as a possible message start.
func (s *WindowScanner) Pending() int { return s.n }

// Flush appends the held-back bytes to dst as data and forgets them; use it
// at end of stream (or after an idle period, see the type's comment).
func (s *WindowScanner) Flush(dst []byte) []byte {
	dst = append(dst, s.pend[:s.n]...)
	s.n = 0
	return dst
}
