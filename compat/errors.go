package compat

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error returned by this package wraps one of these
// (usually inside a *FieldError or *LineError), so callers can test with
// errors.Is and still get the field and the offending line from errors.As.
var (
	// ErrTooLong: a NUL- or newline-terminated string exceeded its limit.
	ErrTooLong = errors.New("compat: string too long")
	// ErrUnterminated: the stream ended before the string's terminator.
	// Errors carrying it also match io.ErrUnexpectedEOF (or io.EOF when
	// not a single byte had been read).
	ErrUnterminated = errors.New("compat: unterminated string")
	// ErrEmbeddedNUL: a string to be sent contains a NUL byte, which the
	// peer would take as its terminator.
	ErrEmbeddedNUL = errors.New("compat: string contains NUL")
	// ErrBadPort: the secondary-port field is not a decimal number 0–65535.
	ErrBadPort = errors.New("compat: bad secondary port")
	// ErrNoStatus: the server closed the connection without sending the
	// status byte (netkit rshd exits silently on some refusals, e.g. a
	// non-reserved source port). Errors carrying it also match
	// io.ErrUnexpectedEOF.
	ErrNoStatus = errors.New("compat: connection closed before status byte")
	// ErrBadStatus: a status or reply message contains a newline or is
	// otherwise impossible to send.
	ErrBadStatus = errors.New("compat: bad status message")
	// ErrBadSpeed: the speed after the '/' of an rlogin TERM/speed string is
	// not decimal.
	ErrBadSpeed = errors.New("compat: bad terminal speed")
	// ErrBadWindow: a window-size message is not FF FF 's' 's' + 8 bytes.
	ErrBadWindow = errors.New("compat: bad window-size message")
	// ErrBadSignal: an rsh signal byte is outside 1–64.
	ErrBadSignal = errors.New("compat: bad signal number")

	// ErrEmptyLine: an rcp control line consisting of just "\n"
	// (netkit sink: "unexpected <newline>").
	ErrEmptyLine = errors.New("compat: rcp: empty control line")
	// ErrNotControl: an rcp line starting with something other than
	// T, C, D, E, \1 or \2 (netkit sink: "expected control record"; on the
	// very first read netkit prints such a line as shell noise and exits).
	ErrNotControl = errors.New("compat: rcp: not a control record")
	// ErrBadFormat: wrong delimiters or trailing garbage in an rcp line.
	ErrBadFormat = errors.New("compat: rcp: malformed control line")
	// ErrBadMode: the mode is not exactly four octal digits, or has bits
	// outside 07777.
	ErrBadMode = errors.New("compat: rcp: bad mode")
	// ErrBadSize: the size is not a non-negative decimal that fits int64.
	ErrBadSize = errors.New("compat: rcp: bad size")
	// ErrSizeLimit: the size exceeds the caller's RcpLimits.MaxSize.
	ErrSizeLimit = errors.New("compat: rcp: size above limit")
	// ErrBadName: the name is empty, ".", "..", contains '/' or NUL, or is
	// longer than RcpLimits.MaxName — anything but one path component.
	ErrBadName = errors.New("compat: rcp: bad file name")
	// ErrBadTime: a T line's seconds are negative, beyond MaxRcpTime, or its
	// microseconds are not 0–999999.
	ErrBadTime = errors.New("compat: rcp: bad time")
	// ErrSourceDied: the stream ended before a file's body was complete.
	// Errors carrying it also match io.ErrUnexpectedEOF.
	ErrSourceDied = errors.New("compat: rcp: source died mid-file")
	// ErrBodyPending: the trailing status was requested before the whole
	// body had been read.
	ErrBodyPending = errors.New("compat: rcp: file body not fully read")
	// ErrBadCommand: an rcp remote command line that is not
	// "rcp [-r] [-p] [-d] -t|-f path…".
	ErrBadCommand = errors.New("compat: rcp: bad remote command")
	// ErrNeedsShell: the rcp command line uses shell syntax (globs,
	// variables, unquoted ~, redirections…) that only a real shell can
	// expand; a server should hand such a line to the user's shell, as
	// rshd does for every command.
	ErrNeedsShell = errors.New("compat: rcp: command needs a shell")
)

// FieldError reports a problem with one field of the rcmd handshake, the
// server's status, an rlogin or rsh message.
type FieldError struct {
	Field string // e.g. "client-user", "stderr port", "status message"
	Limit int    // the length limit in bytes, when Err is ErrTooLong
	Value string // the offending value (possibly partial), quoted in Error
	Err   error  // one of the sentinels above
	Cause error  // underlying I/O error (io.ErrUnexpectedEOF, …) or nil
}

// Error names the sentinel, the field and the value.
func (e *FieldError) Error() string {
	s := fmt.Sprintf("%v: %s", e.Err, e.Field)
	if e.Err == ErrTooLong {
		s += fmt.Sprintf(" longer than %d bytes", e.Limit)
	}
	if e.Value != "" {
		s += " " + quoteShort(e.Value)
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and the I/O cause, so errors.Is matches both.
func (e *FieldError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// LineError reports a problem with one rcp control line or reply.
type LineError struct {
	Line  string // the line as received (without the final '\n'), possibly partial
	Field string // "type", "mode", "size", "name", "mtime", "atime", "line"…
	Err   error  // one of the sentinels above
	Cause error  // underlying I/O error or nil
}

// Error names the sentinel, the field and the line.
func (e *LineError) Error() string {
	s := fmt.Sprintf("%v: %s in %s", e.Err, e.Field, quoteShort(e.Line))
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and the I/O cause, so errors.Is matches both.
func (e *LineError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// quoteShort quotes s for an error message, eliding the middle of long input
// so a hostile peer cannot make log lines huge.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max/2]) + "…" + strconv.Quote(s[len(s)-max/4:])
	}
	return strconv.Quote(s)
}
