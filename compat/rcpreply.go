package compat

import (
	"bytes"
	"io"
	"strings"
)

// Reply bytes (netkit rcp.c response(), error()).
const (
	rcpOK    = 0x00
	rcpError = 0x01
	rcpFatal = 0x02
)

// ReplyKind classifies an rcp acknowledgement.
type ReplyKind byte

const (
	// ReplyOK is the single byte \0.
	ReplyOK ReplyKind = rcpOK
	// ReplyError is \1 + message + \n: this item failed, the session
	// continues.
	ReplyError ReplyKind = rcpError
	// ReplyFatal is \2 + message + \n: the peer gives up.
	ReplyFatal ReplyKind = rcpFatal
	// ReplyNoise is a line starting with any other byte, typically shell
	// output such as "No match." printed before rcp started; Message holds
	// the whole line including its first byte. netkit's response() treats
	// it as an error and exits (like ReplyFatal). Not a wire byte.
	ReplyNoise ReplyKind = 0xFF
)

// Reply is an rcp acknowledgement: sent by the sink after each control line
// and file, and by the source after a file body (its trailing status).
// Message excludes the final '\n'.
type Reply struct {
	Kind    ReplyKind
	Message string
}

// Fatal reports whether netkit would end the session on this reply
// (ReplyFatal and ReplyNoise).
func (r Reply) Fatal() bool { return r.Kind == ReplyFatal || r.Kind == ReplyNoise }

// Err returns nil for ReplyOK and a *RcpError otherwise.
func (r Reply) Err() error {
	if r.Kind == ReplyOK {
		return nil
	}
	return &RcpError{Kind: r.Kind, Message: r.Message}
}

// RcpError is a non-OK Reply as a Go error.
type RcpError struct {
	Kind    ReplyKind
	Message string
}

// Error returns the peer's message.
func (e *RcpError) Error() string { return "remote: " + strings.TrimSuffix(e.Message, "\r") }

// AppendLine implements RcpMessage: \0, or the kind byte, Message and '\n'
// (ReplyNoise: Message and '\n'). Message may not contain '\n'; a noise
// Message may not start with \0, \1 or \2.
func (r *Reply) AppendLine(b []byte) ([]byte, error) {
	bad := &LineError{Line: r.Message, Field: "reply", Err: ErrBadStatus}
	if strings.IndexByte(r.Message, '\n') >= 0 || len(r.Message) > DefaultRcpMaxLine {
		return b, bad
	}
	switch r.Kind {
	case ReplyOK:
		if r.Message != "" {
			return b, bad
		}
		return append(b, rcpOK), nil
	case ReplyError, ReplyFatal:
		b = append(b, byte(r.Kind))
	case ReplyNoise:
		if r.Message != "" && r.Message[0] <= rcpFatal {
			return b, bad
		}
	default:
		return b, bad
	}
	b = append(b, r.Message...)
	return append(b, '\n'), nil
}

// WriteReply writes r with a single Write call.
func WriteReply(w io.Writer, r Reply) error { return WriteControl(w, &r) }

// ReadReply reads one acknowledgement, never consuming a byte past it (see
// ReadHandshake for how). maxLine bounds the message (0: DefaultRcpMaxLine).
// A connection closed before the reply is a *LineError with ErrNoStatus
// (Cause io.ErrUnexpectedEOF); a message cut off or too long gives the
// Reply as far as read plus a *LineError (ErrUnterminated, ErrTooLong).
func ReadReply(r io.Reader, maxLine int) (Reply, error) {
	if maxLine <= 0 {
		maxLine = DefaultRcpMaxLine
	}
	s := newByteSource(r)
	c, err := s.readByte()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Reply{}, &LineError{Field: "reply", Err: ErrNoStatus, Cause: err}
	}
	rep := Reply{Kind: ReplyKind(c)}
	var prefix []byte
	switch c {
	case rcpOK:
		return rep, nil
	case rcpError, rcpFatal:
	case '\n':
		// An empty noise line. (netkit's response() would read on to the
		// next '\n'; it exits on noise either way.)
		rep.Kind = ReplyNoise
		return rep, nil
	default:
		rep.Kind = ReplyNoise
		prefix = []byte{c} // counts towards maxLine
	}
	data, tooLong, err := readTerminated(&s, '\n', maxLine, prefix)
	rep.Message = string(data)
	if tooLong {
		return rep, &LineError{Line: rep.Message, Field: "reply", Err: ErrTooLong}
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return rep, &LineError{Line: rep.Message, Field: "reply", Err: ErrUnterminated, Cause: err}
	}
	return rep, nil
}

// ParseReply parses a reply at the start of b and returns the number of
// bytes it occupied.
func ParseReply(b []byte, maxLine int) (rep Reply, n int, err error) {
	r := bytes.NewReader(b)
	rep, err = ReadReply(r, maxLine)
	return rep, len(b) - r.Len(), err
}
