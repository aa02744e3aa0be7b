package compat

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// Length limits of netkit's servers, for reference and tests. The counts are
// characters before the terminating NUL.
const (
	// NetkitRlogindUserLen: netkit rlogind reads client-user and
	// server-user into 32-byte buffers (PROTOCOL.md §1.1; netkit
	// rlogind.c getstr()/do_rlogin()).
	NetkitRlogindUserLen = 31
	// NetkitRlogindTermLen: netkit rlogind's term buffer is 256 bytes
	// (PROTOCOL.md §1.1).
	NetkitRlogindTermLen = 255
	// NetkitRshdUserLen: netkit rshd reads the users into 16-byte
	// buffers. Measured against Debian in.rshd 0.17-24: 15 characters are
	// accepted, 16 get "\1remuser too long\n" (upstream 0.17 source reads
	// as 14: PROTOCOL.md §1.1; Debian evidently patched getstr()).
	NetkitRshdUserLen = 15
	// NetkitRshdCommandLen: netkit rshd's command buffer is ARG_MAX+1 bytes
	// (rshd.c doit(); Linux ARG_MAX 131072 in upstream's headers). Debian's
	// in.rshd 0.17-24 reads even 2 MiB commands — which then cannot be
	// exec'd as one argument of `sh -c` (Linux MAX_ARG_STRLEN = 131072
	// including the NUL), so this is the longest command that can run.
	NetkitRshdCommandLen = 131071
)

// krx's own limits: at least as permissive as netkit for everything a
// netkit client sends.
const (
	// MaxUserLen bounds client-user and server-user: Linux LOGIN_NAME_MAX
	// is 256 including the NUL (glibc bits/local_lim.h). ≥ both netkit
	// servers' limits.
	MaxUserLen = 255
	// MaxTermLen bounds the rlogin TERM/speed payload: netkit rlogind's
	// 256-byte term buffer (PROTOCOL.md §1.1).
	MaxTermLen = 255
	// MaxCommandLen bounds the rsh/rcp command: Linux MAX_ARG_STRLEN is
	// 131072 bytes including the NUL, and the command becomes one argument
	// of `$SHELL -c`, so nothing longer could run. Debian's rshd reads
	// longer ones and then fails to exec them; krx refuses them up front.
	MaxCommandLen = 131071
	// MaxPortFieldLen bounds the secondary-port field. netkit rshd reads it
	// unbounded (rshd.c getint()); 5 digits suffice, leading zeros allowed.
	MaxPortFieldLen = 16
	// MaxStatusLen bounds the text after a non-zero status byte: netkit's
	// servers format it into a BUFSIZ (8192) buffer (rshd.c error(),
	// rlogind.c fatal()). glibc rcmd() reads it unbounded.
	MaxStatusLen = 8192
)

// Limits bounds the three handshake strings a server accepts. A zero field
// means the corresponding ShellLimits value.
type Limits struct {
	User    int // client-user and server-user, bytes before the NUL
	Payload int // TERM/speed or command, bytes before the NUL
}

var (
	// LoginLimits are the limits for the rlogin (513) service.
	LoginLimits = Limits{User: MaxUserLen, Payload: MaxTermLen}
	// ShellLimits are the limits for the rsh/rcp (514) service.
	ShellLimits = Limits{User: MaxUserLen, Payload: MaxCommandLen}
)

func (l Limits) norm() Limits {
	if l.User <= 0 {
		l.User = ShellLimits.User
	}
	if l.Payload <= 0 {
		l.Payload = ShellLimits.Payload
	}
	return l
}

// Field names used in FieldError.Field for the handshake.
const (
	FieldStderrPort = "stderr port"
	FieldClientUser = "client-user"
	FieldServerUser = "server-user"
	FieldPayload    = "payload"
	FieldStatus     = "status message"
)

// Handshake is what an rcmd client (glibc rcmd(), used by rlogin, rsh and
// rcp) sends after connecting (PROTOCOL.md §1.1):
//
//	port\0 client-user\0 server-user\0 payload\0
//
// The data phase follows immediately on the same stream.
type Handshake struct {
	// StderrPort is the port the rsh client listens on for the server's
	// stderr connection; 0 means none and is sent as the empty field (rlogin,
	// rcp, rsh without a stderr channel).
	StderrPort int
	// ClientUser is the login name on the client host (the server sources
	// call it "remuser").
	ClientUser string
	// ServerUser is the account on the server (server sources: "locuser").
	ServerUser string
	// Payload is "TERM/speed" for rlogin, the command line for rsh, and
	// "rcp … -t|-f path" for rcp.
	Payload string
}

// AppendTo appends the wire form of h to b. It refuses a port outside
// 0–65535, strings containing NUL and strings longer than ShellLimits (the
// most permissive limits a krx server applies).
func (h Handshake) AppendTo(b []byte) ([]byte, error) {
	if h.StderrPort < 0 || h.StderrPort > 65535 {
		return b, &FieldError{Field: FieldStderrPort, Value: strconv.Itoa(h.StderrPort), Err: ErrBadPort}
	}
	if h.StderrPort != 0 {
		b = strconv.AppendInt(b, int64(h.StderrPort), 10)
	}
	b = append(b, 0)
	for _, f := range [...]struct {
		name, v string
		max     int
	}{
		{FieldClientUser, h.ClientUser, MaxUserLen},
		{FieldServerUser, h.ServerUser, MaxUserLen},
		{FieldPayload, h.Payload, MaxCommandLen},
	} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return b, &FieldError{Field: f.name, Value: f.v, Err: ErrEmbeddedNUL}
		}
		if len(f.v) > f.max {
			return b, &FieldError{Field: f.name, Limit: f.max, Value: f.v, Err: ErrTooLong}
		}
		b = append(append(b, f.v...), 0)
	}
	return b, nil
}

// Marshal returns the wire form of h (see AppendTo).
func (h Handshake) Marshal() ([]byte, error) { return h.AppendTo(nil) }

// WriteHandshake writes h with a single Write call. (glibc's rcmd() writes
// the port field first and the three strings, with one writev, once the
// stderr connection is up; netkit rshd reads the port, connects back and
// only then reads on, so the whole handshake may be sent at once.)
func WriteHandshake(w io.Writer, h Handshake) error {
	b, err := h.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadHandshake reads a client's whole handshake (server side). It never
// consumes a byte beyond the payload's NUL: with an io.ByteReader such as a
// *bufio.Reader it uses ReadByte (any further buffered bytes stay in that
// reader, which the caller then uses for the data phase); with any other
// reader it issues 1-byte reads.
//
// A shell server that is given a stderr port must NOT use it: glibc's
// rcmd() sends the three strings only after it has accepted the stderr
// connection, so the server has to call ReadStderrPort, connect back, and
// then call ReadHandshakeStrings (netkit rshd.c doit() does the same).
//
// Errors are *FieldError: ErrTooLong (over lim), ErrUnterminated (the peer
// closed: Cause is io.ErrUnexpectedEOF, or io.EOF if it sent nothing at
// all), ErrBadPort.
func ReadHandshake(r io.Reader, lim Limits) (Handshake, error) {
	var h Handshake
	var err error
	if h.StderrPort, err = ReadStderrPort(r); err != nil {
		return h, err
	}
	err = ReadHandshakeStrings(r, lim, &h)
	return h, err
}

// ReadStderrPort reads the secondary-port field, the first part of the
// handshake (see ReadHandshake for how it reads). 0 means no stderr
// channel. The field must be empty or decimal digits with a value 0–65535.
// netkit rshd silently ignores non-digit characters there (rshd.c
// getint()); krx refuses them with ErrBadPort instead, as no rcmd
// implementation sends any. Whether a non-zero port is reserved is the
// server's policy: see IsReservedPort (netkit rshd refuses ≥ 1024).
func ReadStderrPort(r io.Reader) (int, error) {
	s := newByteSource(r)
	port, err := readField(&s, FieldStderrPort, 0, MaxPortFieldLen, true)
	if err != nil {
		return 0, err
	}
	return parsePort(port)
}

// ReadHandshakeStrings reads client-user, server-user and payload, the
// part of the handshake after the port field, into h (see ReadHandshake).
func ReadHandshakeStrings(r io.Reader, lim Limits, h *Handshake) error {
	lim = lim.norm()
	s := newByteSource(r)
	var err error
	if h.ClientUser, err = readField(&s, FieldClientUser, 0, lim.User, false); err != nil {
		return err
	}
	if h.ServerUser, err = readField(&s, FieldServerUser, 0, lim.User, false); err != nil {
		return err
	}
	h.Payload, err = readField(&s, FieldPayload, 0, lim.Payload, false)
	return err
}

// ParseHandshake parses a handshake at the start of b and returns it with
// the number of bytes it occupied; b[n:] is the start of the data phase.
// Errors are as for ReadHandshake.
func ParseHandshake(b []byte, lim Limits) (h Handshake, n int, err error) {
	r := bytes.NewReader(b)
	h, err = ReadHandshake(r, lim)
	return h, len(b) - r.Len(), err
}

func parsePort(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, &FieldError{Field: FieldStderrPort, Value: s, Err: ErrBadPort}
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return 0, &FieldError{Field: FieldStderrPort, Value: s, Err: ErrBadPort}
		}
	}
	return v, nil
}

// Reserved-port range checked by netkit's servers: a client's source port
// and an rsh stderr port must be in [512, 1023] (netkit rlogind/network.c,
// rshd.c network_init(); glibc rresvport() counts down from 1023).
const (
	ReservedPortMin = 512  // IPPORT_RESERVED/2
	ReservedPortMax = 1023 // IPPORT_RESERVED-1
)

// IsReservedPort reports whether p is in netkit's reserved range 512–1023.
func IsReservedPort(p int) bool { return p >= ReservedPortMin && p <= ReservedPortMax }
