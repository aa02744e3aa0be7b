package krxproto

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error from this package wraps one of these or a
// compat sentinel (compat.ErrTooLong, compat.ErrUnterminated,
// compat.ErrEmbeddedNUL) inside a *compat.FieldError.
var (
	// ErrBadEscape: FF followed by a byte that starts no sequence.
	ErrBadEscape = errors.New("krxproto: bad in-band escape sequence")
	// ErrBadService: a service other than login or shell.
	ErrBadService = errors.New("krxproto: unknown service")
	// ErrBadPort: a port outside 0–65535.
	ErrBadPort = errors.New("krxproto: port out of range")
	// ErrCredTooLong: a forwarded-credentials length above MaxCredLen.
	ErrCredTooLong = errors.New("krxproto: forwarded credentials too long")
	// ErrBadTag: the status does not start with StatusTag — the peer did
	// not decrypt with krx's keys (a legacy server answering in clear).
	ErrBadTag = errors.New("krxproto: status has no krx tag")
	// ErrBadStatus: a status code other than 00 and 01, or a refusal text
	// that is too long, contains a newline or is cut off.
	ErrBadStatus = errors.New("krxproto: bad status")
)

// EscapeError reports a protocol error in the in-band stream: the escape
// byte FF at stream offset Offset was followed by Byte.
type EscapeError struct {
	Offset int64 // stream offset of the FF
	Byte   byte  // the byte after it
	Dir    string
}

func (e *EscapeError) Error() string {
	return fmt.Sprintf("krxproto: bad escape FF %02X at offset %d of the %s stream", e.Byte, e.Offset, e.Dir)
}

// Unwrap returns ErrBadEscape.
func (e *EscapeError) Unwrap() error { return ErrBadEscape }

// StatusError is a server's refusal (status 01), as a Go error.
type StatusError struct {
	Message string
}

func (e *StatusError) Error() string { return "remote: " + e.Message }
