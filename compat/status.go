package compat

import (
	"bytes"
	"io"
	"strings"
)

// Status codes: the first byte a server sends after the handshake.
const (
	// StatusOK: accepted, the data phase begins (glibc rcmd(); netkit
	// rshd.c doit() writes "\0", rlogind network_confirm()).
	StatusOK byte = 0x00
	// StatusRefused: refused; netkit servers send 0x01 followed by a message
	// ending in '\n' (rshd.c error(), rlogind.c fatal()). glibc treats any
	// non-zero byte as an error.
	StatusRefused byte = 0x01
)

// Status is the server's answer to the handshake: Code StatusOK, or any
// non-zero Code followed by Message. Message is the text as received,
// without the final '\n' (netkit rlogind's messages end in "\r\n", so its
// Message ends in '\r'; Text trims that).
type Status struct {
	Code    byte
	Message string
}

// OK reports whether the server accepted the connection.
func (s Status) OK() bool { return s.Code == StatusOK }

// Text returns Message without a trailing '\r'.
func (s Status) Text() string { return strings.TrimSuffix(s.Message, "\r") }

// Err returns nil for an accepting status and a *StatusError otherwise.
func (s Status) Err() error {
	if s.OK() {
		return nil
	}
	return &StatusError{Code: s.Code, Message: s.Text()}
}

// StatusError is a server's refusal, as a Go error.
type StatusError struct {
	Code    byte
	Message string
}

// Error returns the server's message.
func (e *StatusError) Error() string { return "remote: " + e.Message }

// AppendTo appends the wire form of s to b: one zero byte, or Code, Message
// and '\n'. It refuses a non-zero Code whose Message contains '\n' or is
// longer than MaxStatusLen, and an OK status with a Message.
func (s Status) AppendTo(b []byte) ([]byte, error) {
	if s.Code == StatusOK {
		if s.Message != "" {
			return b, &FieldError{Field: FieldStatus, Value: s.Message, Err: ErrBadStatus}
		}
		return append(b, 0), nil
	}
	if strings.IndexByte(s.Message, '\n') >= 0 {
		return b, &FieldError{Field: FieldStatus, Value: s.Message, Err: ErrBadStatus}
	}
	if len(s.Message) > MaxStatusLen {
		return b, &FieldError{Field: FieldStatus, Limit: MaxStatusLen, Value: s.Message, Err: ErrTooLong}
	}
	b = append(b, s.Code)
	b = append(b, s.Message...)
	return append(b, '\n'), nil
}

// Marshal returns the wire form of s (see AppendTo).
func (s Status) Marshal() ([]byte, error) { return s.AppendTo(nil) }

// WriteStatus writes s with a single Write call.
func WriteStatus(w io.Writer, s Status) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadStatus reads the server's status (client side), never consuming a
// byte beyond the status byte or the message's '\n' (see ReadHandshake for
// how). A connection closed before the status byte gives a *FieldError with
// ErrNoStatus (Cause io.ErrUnexpectedEOF). For a refusal it returns the
// Status and a nil error — use Status.Err. A refusal message longer than
// MaxStatusLen or cut off by EOF is returned as far as read, together with
// a *FieldError (ErrTooLong or ErrUnterminated).
func ReadStatus(r io.Reader) (Status, error) {
	s := newByteSource(r)
	c, err := s.readByte()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Status{}, &FieldError{Field: "status byte", Err: ErrNoStatus, Cause: err}
	}
	if c == StatusOK {
		return Status{}, nil
	}
	msg, err := readField(&s, FieldStatus, '\n', MaxStatusLen, false)
	return Status{Code: c, Message: msg}, err
}

// ParseStatus parses a status at the start of b and returns the number of
// bytes it occupied.
func ParseStatus(b []byte) (st Status, n int, err error) {
	r := bytes.NewReader(b)
	st, err = ReadStatus(r)
	return st, len(b) - r.Len(), err
}
