package rcp

import (
	"fmt"
	"strings"
)

// Spec is one file operand, "[[user@]host:]path" (netkit rcp.c colon()).
type Spec struct {
	Remote bool
	User   string // "" = the local user's name
	Host   string // without brackets for an IPv6 literal
	Path   string // remote: "" means the home directory (sent as ".")
}

// ParseSpec splits an operand the netkit way: it names a remote file if a
// ':' comes before any '/', and a leading ':' belongs to a local name.
// The part before the colon is "host" or "user@host" (the first '@'
// splits). As an extension a bracketed IPv6 literal may hold colons:
// "[::1]:path", "user@[fe80::1%eth0]:path".
func ParseSpec(s string) (Spec, error) {
	i := colon(s)
	if i < 0 {
		return Spec{Path: s}, nil
	}
	sp := Spec{Remote: true, Host: s[:i], Path: s[i+1:]}
	if u, h, ok := strings.Cut(sp.Host, "@"); ok {
		sp.User, sp.Host = u, h
		if u != "" && !okName(u) {
			return sp, fmt.Errorf("rcp: %s: invalid user name", u)
		}
	}
	if strings.HasPrefix(sp.Host, "[") && strings.HasSuffix(sp.Host, "]") {
		sp.Host = sp.Host[1 : len(sp.Host)-1]
	}
	if sp.Host == "" {
		return sp, fmt.Errorf("rcp: %s: missing host name", s)
	}
	return sp, nil
}

// RemotePath is Path as sent to the remote rcp: "." for the home
// directory, otherwise unchanged (netkit sends it raw, so the remote
// shell expands globs and ~).
func (s Spec) RemotePath() string {
	if s.Path == "" {
		return "."
	}
	return s.Path
}

// String gives the operand back as "[user@]host:path" or path.
func (s Spec) String() string {
	if !s.Remote {
		return s.Path
	}
	h := s.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if s.User != "" {
		h = s.User + "@" + h
	}
	return h + ":" + s.Path
}

func colon(s string) int {
	if s == "" || s[0] == ':' {
		return -1
	}
	inBracket := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			inBracket = true
		case ']':
			inBracket = false
		case ':':
			if !inBracket {
				return i
			}
		case '/':
			if !inBracket {
				return -1
			}
		}
	}
	return -1
}

// okName is netkit's okname(): letters, digits, '_' and '-', not
// starting with '-' (the name goes into a remote command line).
func okName(u string) bool {
	if u == "" || u[0] == '-' {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
