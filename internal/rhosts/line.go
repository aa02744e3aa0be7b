package rhosts

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
)

// Kind says what a line of a hosts.equiv/.rhosts file is.
type Kind int

const (
	// Skip is a blank line or a comment.
	Skip Kind = iota
	// Entry is a "host [user]" line.
	Entry
	// Stop is a line starting with blank space that is not blank: its
	// host is empty and glibc stops reading the file there (denied).
	Stop
)

// Line is one parsed line.
type Line struct {
	Kind Kind
	Host string // lower-cased; may start with "+", "-", "+@", "-@"
	User string // "" means the server user's own name
}

// isSpace is the C locale's isspace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ParseLine parses one line (with or without its '\n') as glibc's
// __validuser2_sa does.
func ParseLine(b []byte) Line {
	if i := bytes.IndexByte(b, 0); i >= 0 { // C string: a NUL ends the line
		b = b[:i]
	}
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) || b[i] == '#' {
		return Line{Kind: Skip}
	}
	if i > 0 {
		return Line{Kind: Stop}
	}
	for i < len(b) && !isSpace(b[i]) {
		i++
	}
	host := asciiLower(b[:i])
	var user string
	if i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		j := i
		for j < len(b) && !isSpace(b[j]) {
			j++
		}
		user = string(b[i:j])
	}
	return Line{Kind: Entry, Host: host, User: user}
}

// asciiLower lower-cases A-Z only (the C locale's tolower), leaving other
// bytes, valid UTF-8 or not, alone.
func asciiLower(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}

// checkUser is glibc __icheckuser: 1 positive match, 0 none, -1 negative.
// field is the line's user ("" already replaced by the server user).
func checkUser(field, clientUser string) int {
	switch {
	case strings.HasPrefix(field, "+@"):
		return 0 // netgroups: never a positive match (package comment)
	case strings.HasPrefix(field, "-@"):
		return -1 // netgroups: fail closed
	case strings.HasPrefix(field, "-"):
		if field[1:] == clientUser {
			return -1
		}
		return 0
	case field == "+":
		return 1
	case field == clientUser:
		return 1
	}
	return 0
}

// resolver resolves host names, remembering answers for one decision.
type resolver struct {
	lookup LookupFunc
	cache  map[string][]netip.Addr
}

func (r *resolver) addrs(ctx context.Context, host string) []netip.Addr {
	if a, ok := r.cache[host]; ok {
		return a
	}
	a, err := r.lookup(ctx, host)
	if err != nil {
		a = nil
	}
	if r.cache == nil {
		r.cache = map[string][]netip.Addr{}
	}
	r.cache[host] = a
	return a
}

// checkHost is glibc __checkhost_sa: 1 positive match, 0 none, -1
// negative. peer is already unmapped.
func checkHost(ctx context.Context, r *resolver, peer netip.Addr, host string) int {
	switch {
	case strings.HasPrefix(host, "+@"):
		return 0
	case strings.HasPrefix(host, "-@"):
		return -1
	}
	sign := 1
	if strings.HasPrefix(host, "-") {
		sign, host = -1, host[1:]
	} else if host == "+" {
		return 1
	}
	if host == "" {
		return 0
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.WithZone("").Unmap() == peer {
			return sign
		}
		return 0
	}
	for _, a := range r.addrs(ctx, host) {
		if a.WithZone("").Unmap() == peer {
			return sign
		}
	}
	return 0
}

// verdict is the outcome of scanning one file.
type verdict int

const (
	noMatch verdict = iota
	allow
	deny
)

// scan evaluates file contents line by line. It returns the verdict and
// the 1-based number and text of the deciding line.
func scan(ctx context.Context, r *resolver, data []byte, peer netip.Addr, clientUser, serverUser string) (verdict, int, string) {
	n := 0
	for len(data) > 0 {
		n++
		raw := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		l := ParseLine(raw)
		switch l.Kind {
		case Skip:
			continue
		case Stop:
			return deny, n, "line starts with blank space (glibc stops reading here)"
		}
		user := l.User
		if user == "" {
			user = serverUser
		}
		text := l.Host + " " + user
		u := checkUser(user, clientUser)
		if u == 0 && !strings.HasPrefix(l.Host, "-") {
			continue
		}
		h := checkHost(ctx, r, peer, l.Host)
		switch {
		case h < 0:
			return deny, n, text
		case h > 0 && u > 0:
			return allow, n, text
		case h > 0 && u < 0:
			return deny, n, text
		}
		if ctx.Err() != nil {
			return deny, n, "stopped: " + ctx.Err().Error()
		}
	}
	return noMatch, 0, ""
}
