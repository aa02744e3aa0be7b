package compat

import (
	"path"
	"strings"
)

// RcpDirection says which side of the copy the remote rcp plays.
type RcpDirection byte

const (
	// RcpTo is "-t": copy to the remote host, the remote rcp is the sink.
	RcpTo RcpDirection = 't'
	// RcpFrom is "-f": copy from the remote host, the remote rcp is the
	// source.
	RcpFrom RcpDirection = 'f'
)

// RcpCommand is the command an rcp client asks the server to run
// (PROTOCOL.md §1.4; netkit rcp.c main(), toremote(), tolocal()):
//
//	rcp [-r] [-p] [-d] -t path
//	rcp [-r] [-p] [-d] -f path…
type RcpCommand struct {
	Recursive bool         // -r
	Preserve  bool         // -p: send/apply T lines and exact modes
	TargetDir bool         // -d: the target must be a directory
	Direction RcpDirection // RcpTo or RcpFrom
	// Paths holds the target (exactly one for RcpTo) or the sources (one
	// or more for RcpFrom), after shell-quote removal.
	Paths []string
}

// String builds the command line as netkit does ("rcp -r -p -d -t path"),
// except that paths needing it are single-quoted for the remote shell
// (netkit sends them raw, so a path with a space breaks there) and "--"
// precedes the paths when one starts with '-'.
func (c RcpCommand) String() string {
	var b strings.Builder
	b.WriteString("rcp")
	if c.Recursive {
		b.WriteString(" -r")
	}
	if c.Preserve {
		b.WriteString(" -p")
	}
	if c.TargetDir {
		b.WriteString(" -d")
	}
	b.WriteString(" -")
	b.WriteByte(byte(c.Direction))
	for _, p := range c.Paths {
		if strings.HasPrefix(p, "-") {
			b.WriteString(" --") // keep getopt from taking it as an option
			break
		}
	}
	for _, p := range c.Paths {
		b.WriteByte(' ')
		b.WriteString(ShellQuote(p))
	}
	return b.String()
}

// ShellQuote returns s unchanged if it consists only of characters no
// POSIX shell treats specially, and single-quoted otherwise.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ParseRcpCommand parses a remote command line (server side). It accepts
// POSIX-shell words separated by spaces or tabs, with '…' and "…" quoting
// and backslash escapes, so everything String produces parses back. A line
// that uses other shell syntax — unquoted $, `, *, ?, [, a word-initial ~
// or #, ;, &, |, <, >, (, ), {, }, !, newline — gives a *FieldError with
// ErrNeedsShell: only the user's shell can expand it, so a server should
// run the line through the shell (as rshd does for every command) instead.
// The program must be "rcp" (or a path ending in /rcp); options are
// getopt-style ("-rp" = "-r -p") from netkit's set d, f, p, r, t, up to
// "--" or the first non-option; exactly one of -t/-f; -t takes exactly one
// path (netkit: "ambiguous target"), -f at least one. Other problems give
// a *FieldError with ErrBadCommand.
func ParseRcpCommand(line string) (RcpCommand, error) {
	words, err := shellWords(line)
	if err != nil {
		return RcpCommand{}, err
	}
	if len(words) == 0 || (words[0] != "rcp" && path.Base(words[0]) != "rcp") {
		return RcpCommand{}, &FieldError{Field: "rcp program", Value: line, Err: ErrBadCommand}
	}
	return ParseRcpArgs(words[1:])
}

// ParseRcpArgs parses rcp's server-mode arguments (argv without the
// program name), with the rules of ParseRcpCommand.
func ParseRcpArgs(args []string) (RcpCommand, error) {
	var c RcpCommand
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for _, o := range a[1:] {
			switch o {
			case 'r':
				c.Recursive = true
			case 'p':
				c.Preserve = true
			case 'd':
				c.TargetDir = true
			case 't', 'f':
				if c.Direction != 0 && c.Direction != RcpDirection(o) {
					return RcpCommand{}, &FieldError{Field: "rcp options", Value: a, Err: ErrBadCommand}
				}
				c.Direction = RcpDirection(o)
			default:
				return RcpCommand{}, &FieldError{Field: "rcp options", Value: a, Err: ErrBadCommand}
			}
		}
	}
	c.Paths = args[i:]
	switch {
	case c.Direction == 0:
		return RcpCommand{}, &FieldError{Field: "rcp -t/-f", Value: strings.Join(args, " "), Err: ErrBadCommand}
	case c.Direction == RcpTo && len(c.Paths) != 1,
		c.Direction == RcpFrom && len(c.Paths) == 0:
		return RcpCommand{}, &FieldError{Field: "rcp paths", Value: strings.Join(c.Paths, " "), Err: ErrBadCommand}
	}
	for _, p := range c.Paths {
		if p == "" || strings.IndexByte(p, 0) >= 0 {
			return RcpCommand{}, &FieldError{Field: "rcp paths", Value: p, Err: ErrBadCommand}
		}
	}
	return c, nil
}

// shellWords splits line into words with POSIX quote removal, refusing any
// syntax that needs a real shell (see ParseRcpCommand).
func shellWords(line string) ([]string, error) {
	needsShell := &FieldError{Field: "rcp command", Value: line, Err: ErrNeedsShell}
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, needsShell
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				switch line[i] {
				case '$', '`':
					return nil, needsShell
				case '\\':
					if i+1 < len(line) && strings.IndexByte("$`\"\\", line[i+1]) >= 0 {
						i++
					} else if i+1 < len(line) && line[i+1] == '\n' {
						return nil, needsShell
					}
				}
				w.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, needsShell
			}
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, needsShell
			}
			i++
			w.WriteByte(line[i])
		case strings.IndexByte("$`*?[;&|<>(){}!\n", c) >= 0,
			(c == '~' || c == '#') && !inWord:
			return nil, needsShell
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
