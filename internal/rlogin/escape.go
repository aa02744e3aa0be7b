package rlogin

// Action is what the escape processor asks the session to do after
// sending its output bytes.
type Action int

// The escape actions (netkit rlogin.c writer()).
const (
	// None: just send Out.
	None Action = iota
	// Disconnect: ~. or ~<EOF char>.
	Disconnect
	// SuspendAll: ~<susp char> (^Z): stop rlogin's whole process group.
	SuspendAll
	// SuspendSelf: ~<dsusp char> (^Y): stop rlogin only.
	SuspendSelf
)

// Chars are the terminal's special characters that matter to escapes,
// taken from the terminal's settings before raw mode.
type Chars struct {
	Kill, EOF, Intr, Susp, DSusp byte
}

// DefaultChars are the usual settings (^U, ^D, ^C, ^Z, ^Y), for input
// that is not a terminal.
var DefaultChars = Chars{Kill: 0x15, EOF: 0x04, Intr: 0x03, Susp: 0x1a, DSusp: 0x19}

// Escaper is the client-side escape processor of netkit's writer(): the
// escape character is only special at the beginning of a line, which is
// the start of the session and after the kill, EOF, interrupt or suspend
// character, CR or LF. The zero value is not ready; use NewEscaper.
type Escaper struct {
	esc      byte
	disabled bool
	ch       Chars
	bol      bool // at beginning of line
	local    bool // the escape character was the last byte seen at bol
}

// NewEscaper returns an Escaper at the beginning of a line. disabled is
// rlogin -E.
func NewEscaper(esc byte, disabled bool, ch Chars) *Escaper {
	return &Escaper{esc: esc, disabled: disabled, ch: ch, bol: true}
}

// Process consumes input bytes from in and appends the bytes to send to
// out. It stops after the first byte that completes an escape command and
// returns the command, the extended out, the number of bytes of in used,
// and the local echo to print (netkit echo(): escape char, the command
// char in ^X form, CR LF). Call it again with in[n:] for the rest.
func (e *Escaper) Process(out, in []byte) (o []byte, n int, act Action, echo []byte) {
	for i, c := range in {
		if e.bol {
			e.bol = false
			if !e.disabled && c == e.esc {
				e.local = true
				continue
			}
		} else if e.local {
			e.local = false
			switch {
			case c == '.' || c == e.ch.EOF:
				return out, i + 1, Disconnect, e.echo(c)
			case c == e.ch.Susp:
				e.bol = true
				return out, i + 1, SuspendAll, e.echo(c)
			case c == e.ch.DSusp:
				e.bol = true
				return out, i + 1, SuspendSelf, e.echo(c)
			}
			if c != e.esc {
				out = append(out, e.esc)
			}
		}
		out = append(out, c)
		e.bol = c == e.ch.Kill || c == e.ch.EOF || c == e.ch.Intr || c == e.ch.Susp ||
			c == '\r' || c == '\n'
	}
	return out, len(in), None, nil
}

// Pending reports whether an escape character is held back, waiting for
// the next byte to decide.
func (e *Escaper) Pending() bool { return e.local }

func (e *Escaper) echo(c byte) []byte {
	b := []byte{e.esc}
	c &= 0177
	switch {
	case c < ' ':
		b = append(b, '^', c+'@')
	case c == 0177:
		b = append(b, '^', '?')
	default:
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}
