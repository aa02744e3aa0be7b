package krxproto

import (
	"bytes"
	"encoding/binary"

	"github.com/krx-suite/krx/compat"
)

// In-band escape bytes (docs/protocol.md §7).
const (
	Escape     byte = 0xFF // starts every sequence; FF FF is one data byte FF
	CmdControl byte = 'C'  // server→client: FF 'C' x, control command x
	CmdWindow  byte = 'W'  // client→server: FF 'W' rows cols xpixel ypixel
)

// ControlLen and WindowLen are the lengths of the two command sequences.
const (
	ControlLen = 3
	WindowLen  = 2 + 8
)

// AppendData appends p to dst with every FF doubled.
func AppendData(dst, p []byte) []byte {
	for len(p) > 0 {
		i := bytes.IndexByte(p, Escape)
		if i < 0 {
			return append(dst, p...)
		}
		dst = append(dst, p[:i+1]...)
		dst = append(dst, Escape)
		p = p[i+1:]
	}
	return dst
}

// EscapedLen returns len(AppendData(nil, p)).
func EscapedLen(p []byte) int { return len(p) + bytes.Count(p, []byte{Escape}) }

// AppendControl appends the control command FF 'C' c. Its last byte is the
// one a server sends with MSG_OOB.
func AppendControl(dst []byte, c compat.Control) []byte {
	return append(dst, Escape, CmdControl, byte(c))
}

// AppendWindow appends the window-size command FF 'W' and ws as four
// big-endian u16 (rows, cols, xpixel, ypixel; struct winsize order).
func AppendWindow(dst []byte, ws compat.WindowSize) []byte {
	dst = append(dst, Escape, CmdWindow)
	dst = binary.BigEndian.AppendUint16(dst, ws.Rows)
	dst = binary.BigEndian.AppendUint16(dst, ws.Cols)
	dst = binary.BigEndian.AppendUint16(dst, ws.XPixel)
	return binary.BigEndian.AppendUint16(dst, ws.YPixel)
}

// Command is one decoded in-band command.
type Command struct {
	// Control is the command byte of FF 'C' x (OutputDecoder only).
	Control compat.Control
	// Window is the size carried by FF 'W' … (InputDecoder only).
	Window compat.WindowSize
	// Offset is the stream offset of the command's FF; End the offset after
	// its last byte (for a control command, End-1 is the urgent byte).
	Offset, End int64
	// DataOffset is the number of data bytes decoded before the command:
	// the offset at which an oob.Chain fed with the decoded data flushes.
	DataOffset int64
}

// decoder is the state both directions share.
type decoder struct {
	off   int64 // stream offset of the next byte
	data  int64 // data bytes produced
	start int64 // offset of the FF of the sequence in progress
	state int   // 0: data; 1: after FF; 2…: inside a command
	buf   [8]byte
	err   error
}

// scanData copies plain data up to the next FF; it returns the new index.
func (d *decoder) scanData(dst []byte, src []byte, i int) ([]byte, int) {
	j := bytes.IndexByte(src[i:], Escape)
	if j < 0 {
		j = len(src) - i
	}
	dst = append(dst, src[i:i+j]...)
	d.off += int64(j)
	d.data += int64(j)
	i += j
	if i < len(src) { // src[i] is FF
		d.start = d.off
		d.state = 1
		d.off++
		i++
	}
	return dst, i
}

// OutputDecoder decodes the server→client stream of a login session: data
// with FF FF for FF, and FF 'C' x control commands. The zero value starts
// at stream offset 0; NewOutputDecoder starts elsewhere. Not safe for
// concurrent use.
type OutputDecoder struct{ d decoder }

// NewOutputDecoder returns a decoder whose first byte has stream offset
// start (the number of bytes of the direction before the data phase).
func NewOutputDecoder(start int64) *OutputDecoder {
	return &OutputDecoder{d: decoder{off: start}}
}

// Decode decodes src until its end or until one command completes. It
// appends the data bytes to dst and returns the extended slice, the number
// n of src bytes consumed and, if found, the command that ended at
// src[n-1]; the data in out precedes the command. Call again with src[n:].
// A bad escape gives an *EscapeError (n then counts the offending byte) and
// the decoder stays failed.
func (o *OutputDecoder) Decode(dst, src []byte) (out []byte, n int, cmd Command, found bool, err error) {
	d := &o.d
	if d.err != nil {
		return dst, 0, Command{}, false, d.err
	}
	i := 0
	for i < len(src) {
		switch d.state {
		case 0:
			dst, i = d.scanData(dst, src, i)
		case 1:
			c := src[i]
			i++
			d.off++
			switch c {
			case Escape:
				dst = append(dst, Escape)
				d.data++
				d.state = 0
			case CmdControl:
				d.state = 2
			default:
				d.err = &EscapeError{Offset: d.start, Byte: c, Dir: "server→client"}
				return dst, i, Command{}, false, d.err
			}
		default: // 2: the control byte
			c := src[i]
			i++
			d.off++
			d.state = 0
			return dst, i, Command{Control: compat.Control(c), Offset: d.start, End: d.off, DataOffset: d.data}, true, nil
		}
	}
	return dst, i, Command{}, false, nil
}

// Offset returns the stream offset of the next byte to decode.
func (o *OutputDecoder) Offset() int64 { return o.d.off }

// DataOffset returns the number of data bytes decoded so far.
func (o *OutputDecoder) DataOffset() int64 { return o.d.data }

// Pending returns how many bytes of an unfinished sequence it holds: 0, 1
// (FF) or 2 (FF 'C': the next byte is a control byte).
func (o *OutputDecoder) Pending() int { return o.d.state }

// AwaitingControl reports whether the next byte completes a control
// command (FF 'C' has been decoded): at an urgent mark this is what a krx
// server's stream looks like.
func (o *OutputDecoder) AwaitingControl() bool { return o.d.state == 2 }

// InputDecoder decodes the client→server stream of a login session: data
// with FF FF for FF, and FF 'W' + 8 bytes window sizes. The zero value
// starts at stream offset 0. Not safe for concurrent use.
type InputDecoder struct{ d decoder }

// NewInputDecoder returns a decoder whose first byte has stream offset start.
func NewInputDecoder(start int64) *InputDecoder {
	return &InputDecoder{d: decoder{off: start}}
}

// Decode works as OutputDecoder.Decode; a found command carries Window.
func (in *InputDecoder) Decode(dst, src []byte) (out []byte, n int, cmd Command, found bool, err error) {
	d := &in.d
	if d.err != nil {
		return dst, 0, Command{}, false, d.err
	}
	i := 0
	for i < len(src) {
		switch d.state {
		case 0:
			dst, i = d.scanData(dst, src, i)
		case 1:
			c := src[i]
			i++
			d.off++
			switch c {
			case Escape:
				dst = append(dst, Escape)
				d.data++
				d.state = 0
			case CmdWindow:
				d.state = 2
			default:
				d.err = &EscapeError{Offset: d.start, Byte: c, Dir: "client→server"}
				return dst, i, Command{}, false, d.err
			}
		default: // 2…9: window bytes 0…7
			k := copy(d.buf[d.state-2:], src[i:])
			i += k
			d.off += int64(k)
			d.state += k
			if d.state < 2+len(d.buf) {
				continue
			}
			d.state = 0
			b := d.buf[:]
			ws := compat.WindowSize{
				Rows:   binary.BigEndian.Uint16(b[0:]),
				Cols:   binary.BigEndian.Uint16(b[2:]),
				XPixel: binary.BigEndian.Uint16(b[4:]),
				YPixel: binary.BigEndian.Uint16(b[6:]),
			}
			return dst, i, Command{Window: ws, Offset: d.start, End: d.off, DataOffset: d.data}, true, nil
		}
	}
	return dst, i, Command{}, false, nil
}

// Offset returns the stream offset of the next byte to decode.
func (in *InputDecoder) Offset() int64 { return in.d.off }

// DataOffset returns the number of data bytes decoded so far.
func (in *InputDecoder) DataOffset() int64 { return in.d.data }

// Pending returns how many bytes of an unfinished sequence it holds (0–9).
func (in *InputDecoder) Pending() int { return in.d.state }
