package compat

import (
	"strconv"
	"strings"
	"time"
)

// parseControl parses a control line without its '\n'.
func parseControl(body []byte, lim RcpLimits) (RcpMessage, error) {
	line := string(body)
	if line == "" {
		return nil, &LineError{Line: line, Field: "line", Err: ErrEmptyLine}
	}
	switch line[0] {
	case rcpError, rcpFatal:
		return &Reply{Kind: ReplyKind(line[0]), Message: line[1:]}, nil
	case 'T':
		return parseTimes(line)
	case 'C', 'D':
		return parseHeader(line, lim)
	case 'E':
		if line != "E" {
			return nil, &LineError{Line: line, Field: "end", Err: ErrBadFormat}
		}
		return &EndDir{}, nil
	}
	return nil, &LineError{Line: line, Field: "type", Err: ErrNotControl}
}

// parseTimes parses "T<sec> <usec> <sec> <usec>".
func parseTimes(line string) (RcpMessage, error) {
	f := strings.Split(line[1:], " ")
	if len(f) != 4 {
		return nil, &LineError{Line: line, Field: "times", Err: ErrBadFormat}
	}
	var v [4]int64
	names := [4]string{"mtime", "mtime usec", "atime", "atime usec"}
	for i, s := range f {
		n, ok := parseDecimal(s)
		max := int64(MaxRcpTime)
		if i%2 == 1 {
			max = 999999
		}
		if !ok || n > max {
			return nil, &LineError{Line: line, Field: names[i], Err: ErrBadTime}
		}
		v[i] = n
	}
	return &Times{
		Mtime: time.Unix(v[0], v[1]*1000),
		Atime: time.Unix(v[2], v[3]*1000),
	}, nil
}

// parseHeader parses "C<mode> <size> <name>" and "D<mode> <size> <name>".
// The mode is exactly four octal digits (netkit rcp.c sink()).
func parseHeader(line string, lim RcpLimits) (RcpMessage, error) {
	if len(line) < 6 || line[5] != ' ' {
		return nil, &LineError{Line: line, Field: "mode", Err: ErrBadMode}
	}
	var mode uint32
	for i := 1; i < 5; i++ {
		c := line[i]
		if c < '0' || c > '7' {
			return nil, &LineError{Line: line, Field: "mode", Err: ErrBadMode}
		}
		mode = mode<<3 | uint32(c-'0')
	}
	sizeStr, name, ok := strings.Cut(line[6:], " ")
	if !ok {
		return nil, &LineError{Line: line, Field: "size", Err: ErrBadFormat}
	}
	size, ok := parseDecimal(sizeStr)
	if !ok {
		return nil, &LineError{Line: line, Field: "size", Err: ErrBadSize}
	}
	if line[0] == 'C' && size > lim.MaxSize {
		return nil, &LineError{Line: line, Field: "size", Err: ErrSizeLimit}
	}
	if err := checkName(name, lim.MaxName); err != nil {
		err.(*LineError).Line = line
		return nil, err
	}
	if line[0] == 'D' {
		// The size of a D line is ignored, as by netkit (always 0 there).
		return &DirHeader{Mode: FileModeOf(mode), Name: name}, nil
	}
	return &FileHeader{Mode: FileModeOf(mode), Size: size, Name: name}, nil
}

// parseDecimal accepts 1–19 ASCII digits whose value fits int64: no sign,
// no spaces.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
