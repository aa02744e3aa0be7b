package krbauth

import (
	"fmt"
	"strings"
)

// Principal name text form, MIT's rules (MIT src/lib/krb5/krb/unparse.c
// copy_component_quoting, parse.c): components are joined with '/', the
// realm follows '@'; inside a component or the realm the bytes '/', '@'
// and '\' are escaped with '\', and TAB, LF, BS, NUL are written \t \n \b \0.

// UnparsePrincipalName writes a principal the way MIT krb5_unparse_name
// does, which is the form .k5login lines must have: "alice@R",
// "alice/admin@R", `a\/b@R`.
func UnparsePrincipalName(components []string, realm string) string {
	var b strings.Builder
	for i, c := range components {
		if i > 0 {
			b.WriteByte('/')
		}
		k5QuoteComponent(&b, c)
	}
	b.WriteByte('@')
	k5QuoteComponent(&b, realm)
	return b.String()
}

func k5QuoteComponent(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '@', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\b':
			b.WriteString(`\b`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
}

// k5ParsePrincipal splits an unparsed principal into its components and
// realm, undoing UnparsePrincipalName's escapes. The realm is required
// (authorisation only ever sees full names); an unescaped '/' or '@'
// inside the realm, a trailing '\' or an empty component is malformed.
func k5ParsePrincipal(s string) (components []string, realm string, err error) {
	var cur strings.Builder
	inRealm := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++
			if i == len(s) {
				return nil, "", fmt.Errorf("%w: %q ends in a lone backslash", ErrK5loginPrincipal, s)
			}
			switch e := s[i]; e {
			case 't':
				cur.WriteByte('\t')
			case 'n':
				cur.WriteByte('\n')
			case 'b':
				cur.WriteByte('\b')
			case '0':
				cur.WriteByte(0)
			default:
				cur.WriteByte(e)
			}
			continue
		}
		switch {
		case (c == '/' || c == '@') && inRealm:
			return nil, "", fmt.Errorf("%w: %q has an unescaped %q in its realm", ErrK5loginPrincipal, s, c)
		case c == '/' || c == '@':
			if cur.Len() == 0 {
				return nil, "", fmt.Errorf("%w: %q has an empty component", ErrK5loginPrincipal, s)
			}
			components = append(components, cur.String())
			cur.Reset()
			inRealm = c == '@'
		default:
			cur.WriteByte(c)
		}
	}
	if !inRealm || cur.Len() == 0 {
		return nil, "", fmt.Errorf("%w: %q has no realm", ErrK5loginPrincipal, s)
	}
	return components, cur.String(), nil
}
