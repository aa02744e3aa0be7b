package rlogin

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
)

// DefaultEscape is the escape character when none is chosen (netkit
// rlogin.c escapechar).
const DefaultEscape = '~'

// ErrBadEscape: the -e value is neither one character nor \nnn.
var ErrBadEscape = errors.New("rlogin: bad escape character")

// EscapeError is a -e value ParseEscape refused.
type EscapeError struct{ Value string }

// Error quotes the value.
func (e *EscapeError) Error() string {
	return fmt.Sprintf("rlogin: bad escape character %q: want one character or \\nnn (octal, at most \\377)", e.Value)
}

// Unwrap returns ErrBadEscape.
func (e *EscapeError) Unwrap() error { return ErrBadEscape }

// ParseEscape decodes the -e argument as netkit's getescape() does: any
// single byte (including '\'), or '\' followed by one to three octal
// digits. netkit lets the digit 8 through strtol's back; krx refuses it,
// and values above \377.
func ParseEscape(s string) (byte, error) {
	if len(s) == 1 {
		return s[0], nil
	}
	if len(s) < 2 || len(s) > 4 || s[0] != '\\' {
		return 0, &EscapeError{Value: s}
	}
	v, err := strconv.ParseUint(s[1:], 8, 16)
	if err != nil || v > 0377 {
		return 0, &EscapeError{Value: s}
	}
	return byte(v), nil
}

// Config is one rlogin session.
type Config struct {
	// Addr is the server's "host:port" (login service, 513).
	Addr string
	// ClientUser is the local login name ("" = current user); ServerUser
	// the remote account ("" = ClientUser).
	ClientUser, ServerUser string
	// Term is the handshake payload "TERM/speed"; "" computes it from
	// $TERM and In's speed (TermSpeed).
	Term string
	// EightBit is -8: an 8-bit clean terminal and no flow-control
	// switching (tty.Options.EightBit).
	EightBit bool
	// Escape is the escape character (DefaultEscape if 0 and !NoEscape);
	// NoEscape (-E) turns escapes off.
	Escape   byte
	NoEscape bool
	// In and Out are the terminal (stdin, stdout). In need not be a
	// terminal; then there is no raw mode and no window size.
	In, Out *os.File
	// Messages receives rlogin's own messages ("rlogin: connection
	// closed."); nil means os.Stderr.
	Messages io.Writer
	// IgnoreFlush makes the client ignore FLUSHWRITE (a diagnostic, to
	// compare how much a flood paints with and without flushing).
	IgnoreFlush bool
	// Stats prints, at exit, how many urgent control bytes arrived and
	// how many were flushes (a diagnostic: it tells a server that sent no
	// flush from a client that ignored one).
	Stats bool
	// Dialer is the template for the connection; SO_OOBINLINE is added
	// to its Control.
	Dialer net.Dialer
}

// speeds maps termios speed constants to bits per second, exactly the
// table of netkit rlogin.c getspeedstr(); anything else is sent as 9600.
var speeds = map[uint32]int{
	unix.B0: 0, unix.B50: 50, unix.B75: 75, unix.B110: 110, unix.B134: 134,
	unix.B150: 150, unix.B200: 200, unix.B300: 300, unix.B600: 600,
	unix.B1200: 1200, unix.B1800: 1800, unix.B2400: 2400, unix.B4800: 4800,
	unix.B9600: 9600, unix.B19200: 19200, unix.B38400: 38400,
	unix.B57600: 57600, unix.B115200: 115200, unix.B230400: 230400,
	unix.B460800: 460800,
}

// SpeedOf returns the input speed of tio as netkit's getspeedstr() would
// name it (glibc's cfgetispeed is the CBAUD bits of c_cflag).
func SpeedOf(tio *unix.Termios) int {
	if s, ok := speeds[tio.Cflag&(unix.CBAUD|unix.CBAUDEX)]; ok {
		return s
	}
	return 9600
}

// TermSpeed builds the handshake payload as netkit rlogin's main() does:
// $TERM (DefaultTerm "network" when unset; at most 256 bytes), and
// "/speed" when fd is a terminal.
func TermSpeed(term string, fd int) string {
	if term == "" {
		term = compat.DefaultTerm
	}
	if len(term) > 256 {
		term = term[:256]
	}
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return term
	}
	return compat.TermSpeed{Term: term, Speed: SpeedOf(tio)}.String() + speedZero(tio)
}

// speedZero: TermSpeed.String leaves out a zero speed, netkit sends "/0".
func speedZero(tio *unix.Termios) string {
	if SpeedOf(tio) == 0 {
		return "/0"
	}
	return ""
}
