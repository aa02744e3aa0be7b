package krxproto

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/krx-suite/krx/compat"
)

// AppVersion is krx's sendauth application version (docs/protocol.md §3):
// 8 characters, sent with its NUL as 9 bytes like kcmd's "KCMDV0.2", so a
// legacy server reads it as a version it does not know.
const AppVersion = "KRXCFB01"

// Standard ports (docs/protocol.md §2; /etc/services, MIT krlogin.c).
const (
	PortEklogin = 2105 // eklogin: rlogin -x
	PortKshell  = 544  // kshell: rsh -x, rcp -x
)

// Service names the krx service a connection is for; it is part of the
// checksum binding.
type Service string

// The services.
const (
	Login Service = "login" // rlogin -x: payload is "term/speed"
	Shell Service = "shell" // rsh -x, rcp -x: payload is the command
)

// Limits returns compat's limits for the service's strings, or an error
// wrapping ErrBadService.
func (s Service) Limits() (compat.Limits, error) {
	switch s {
	case Login:
		return compat.LoginLimits, nil
	case Shell:
		return compat.ShellLimits, nil
	}
	return compat.Limits{}, fmt.Errorf("%w %q", ErrBadService, string(s))
}

// BindingMagic starts the checksum binding data (docs/protocol.md §4); the
// 1 is the binding's format version.
const BindingMagic = "krx1"

// Binding is every connection parameter the AP-REQ authenticator checksum
// covers (docs/protocol.md §4).
type Binding struct {
	Service    Service
	ServerPort int // the server's TCP port (client: the port it dialled; server: getsockname)
	StderrPort int // 0: no stderr channel
	ServerUser string
	Payload    string
	ClientUser string
	Forward    bool // a KRB-CRED follows the strings
}

// Marshal returns the binding data:
//
//	"krx1" 00 service 00 server-port 00 stderr-port 00
//	server-user 00 payload 00 client-user 00 forward-flag
//
// Ports are decimal ASCII, forward-flag is one byte 00 or 01. Strings with a
// NUL or above the service's limits and ports outside 0–65535 are refused,
// so two different parameter sets never give the same data.
func (b Binding) Marshal() ([]byte, error) {
	p := Params{ServerUser: b.ServerUser, Payload: b.Payload, ClientUser: b.ClientUser}
	if err := p.check(b.Service); err != nil {
		return nil, err
	}
	for _, port := range []int{b.ServerPort, b.StderrPort} {
		if port < 0 || port > 65535 {
			return nil, fmt.Errorf("%w: %d", ErrBadPort, port)
		}
	}
	out := make([]byte, 0, 32+len(b.ServerUser)+len(b.Payload)+len(b.ClientUser))
	out = append(out, BindingMagic...)
	out = append(out, 0)
	out = append(out, b.Service...)
	out = append(out, 0)
	out = strconv.AppendInt(out, int64(b.ServerPort), 10)
	out = append(out, 0)
	out = strconv.AppendInt(out, int64(b.StderrPort), 10)
	out = append(out, 0)
	out = append(out, b.ServerUser...)
	out = append(out, 0)
	out = append(out, b.Payload...)
	out = append(out, 0)
	out = append(out, b.ClientUser...)
	out = append(out, 0)
	if b.Forward {
		return append(out, 1), nil
	}
	return append(out, 0), nil
}

// Field names used in errors.
const (
	FieldServerUser = "server-user"
	FieldPayload    = "payload"
	FieldClientUser = "client-user"
	FieldCred       = "forwarded credentials"
	FieldStatus     = "status message"
)

// Params are the strings the client sends inside the encrypted stream after
// the AP exchange (docs/protocol.md §6), in kcmd's order.
type Params struct {
	ServerUser string // the account on the server
	Payload    string // "term/speed" (login) or the command (shell)
	ClientUser string // the user's name on the client host
}

func (p Params) check(svc Service) error {
	lim, err := svc.Limits()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{FieldServerUser, p.ServerUser, lim.User}, {FieldPayload, p.Payload, lim.Payload}, {FieldClientUser, p.ClientUser, lim.User}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return &compat.FieldError{Field: f.name, Value: f.v, Err: compat.ErrEmbeddedNUL}
		}
		if len(f.v) > f.max {
			return &compat.FieldError{Field: f.name, Limit: f.max, Value: f.v, Err: compat.ErrTooLong}
		}
	}
	return nil
}

// AppendTo appends server-user\0 payload\0 client-user\0 to b, refusing
// NULs and strings above the service's limits.
func (p Params) AppendTo(b []byte, svc Service) ([]byte, error) {
	if err := p.check(svc); err != nil {
		return b, err
	}
	b = append(b, p.ServerUser...)
	b = append(b, 0)
	b = append(b, p.Payload...)
	b = append(b, 0)
	b = append(b, p.ClientUser...)
	return append(b, 0), nil
}

// ReadParams reads the three strings (server side) within the service's
// limits, never consuming a byte beyond the last NUL. Errors are
// *compat.FieldError (compat.ErrTooLong, compat.ErrUnterminated).
func ReadParams(r io.Reader, svc Service) (Params, error) {
	lim, err := svc.Limits()
	if err != nil {
		return Params{}, err
	}
	s := newByteSource(r)
	var p Params
	if p.ServerUser, err = readField(s, FieldServerUser, 0, lim.User, true); err != nil {
		return p, err
	}
	if p.Payload, err = readField(s, FieldPayload, 0, lim.Payload, false); err != nil {
		return p, err
	}
	p.ClientUser, err = readField(s, FieldClientUser, 0, lim.User, false)
	return p, err
}

// MaxCredLen caps a forwarded-credentials message; it equals
// krbauth.MaxKRBCredLen (a TGT with a large PAC is well under 64 KiB).
const MaxCredLen = 64 << 10

// AppendCred appends the forwarded-credentials message: u32 length and the
// KRB-CRED DER, or 00 00 00 00 when der is empty (kcmd's format, sent
// encrypted in krx).
func AppendCred(b, der []byte) ([]byte, error) {
	if len(der) > MaxCredLen {
		return b, fmt.Errorf("%w: %d bytes (limit %d)", ErrCredTooLong, len(der), MaxCredLen)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(der)))
	return append(b, der...), nil
}

// ReadCred reads a forwarded-credentials message: nil, nil for "none". A
// length above MaxCredLen is refused before the body is read.
func ReadCred(r io.Reader) ([]byte, error) {
	s := newByteSource(r)
	var h [4]byte
	if err := s.readFull(h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &compat.FieldError{Field: FieldCred, Err: compat.ErrUnterminated, Cause: err}
	}
	n := binary.BigEndian.Uint32(h[:])
	if n == 0 {
		return nil, nil
	}
	if n > MaxCredLen {
		return nil, fmt.Errorf("%w: length field %d (limit %d)", ErrCredTooLong, n, MaxCredLen)
	}
	der := make([]byte, n)
	if err := s.readFull(der); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &compat.FieldError{Field: FieldCred, Err: compat.ErrUnterminated, Cause: err}
	}
	return der, nil
}

// StatusTag starts the server's encrypted status (docs/protocol.md §6).
const StatusTag = "krx1"

// Status codes after the tag.
const (
	StatusOK      byte = 0x00
	StatusRefused byte = 0x01
)

// StatusLen is the length of an accepting status and of the part of every
// status that decides how to read the rest: the tag and the code.
const StatusLen = len(StatusTag) + 1

// AppendStatus appends the server's status: "krx1" 00 when msg is "" and ok,
// else "krx1" 01 msg "\n". msg must not contain a newline and is at most
// compat.MaxStatusLen bytes.
func AppendStatus(b []byte, ok bool, msg string) ([]byte, error) {
	b = append(b, StatusTag...)
	if ok {
		if msg != "" {
			return b[:len(b)-len(StatusTag)], fmt.Errorf("%w: an accepting status carries no text", ErrBadStatus)
		}
		return append(b, StatusOK), nil
	}
	if strings.IndexByte(msg, '\n') >= 0 || len(msg) > compat.MaxStatusLen {
		return b[:len(b)-len(StatusTag)], fmt.Errorf("%w: refusal text with a newline or over %d bytes", ErrBadStatus, compat.MaxStatusLen)
	}
	b = append(b, StatusRefused)
	b = append(b, msg...)
	return append(b, '\n'), nil
}

// ReadStatus reads the server's status (client side) and returns nil for
// "accepted", a *StatusError for a refusal, an error wrapping ErrBadTag when
// the first four bytes are not the tag, ErrBadStatus for an unknown code or
// a bad text. It never reads beyond the status.
func ReadStatus(r io.Reader) error {
	s := newByteSource(r)
	var h [StatusLen]byte
	if err := s.readFull(h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return &compat.FieldError{Field: "status", Err: compat.ErrNoStatus, Cause: err}
	}
	return readStatusRest(s, h)
}

// CheckStatus parses a status whose first StatusLen bytes are head and
// whose refusal text (if any) follows in r.
func CheckStatus(head [StatusLen]byte, r io.Reader) error {
	return readStatusRest(newByteSource(r), head)
}

func readStatusRest(s *byteSource, h [StatusLen]byte) error {
	if !bytes.Equal(h[:len(StatusTag)], []byte(StatusTag)) {
		return fmt.Errorf("%w (got % x)", ErrBadTag, h[:])
	}
	switch h[len(StatusTag)] {
	case StatusOK:
		return nil
	case StatusRefused:
		msg, err := readField(s, FieldStatus, '\n', compat.MaxStatusLen, false)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadStatus, err)
		}
		return &StatusError{Message: strings.TrimSuffix(msg, "\r")}
	}
	return fmt.Errorf("%w: code %#02x", ErrBadStatus, h[len(StatusTag)])
}

// StderrPrefix is what the server sends first on the stderr channel,
// encrypted with that channel's server→client stream (docs/protocol.md
// §8), so the client can refuse a connection from anyone without the key.
const StderrPrefix = "krx-stderr\x00"
