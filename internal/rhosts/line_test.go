package rhosts

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		in   string
		want Line
	}{
		{"host user", Line{Entry, "host", "user"}},
		{"host user\n", Line{Entry, "host", "user"}},
		{"host user\r\n", Line{Entry, "host", "user"}},
		{"HoSt.Example.COM Bob", Line{Entry, "host.example.com", "Bob"}},
		{"host\tuser extra words", Line{Entry, "host", "user"}},
		{"host  \t  user", Line{Entry, "host", "user"}},
		{"host", Line{Entry, "host", ""}},
		{"host\n", Line{Entry, "host", ""}},
		{"host   ", Line{Entry, "host", ""}},
		{"host\ruser", Line{Entry, "host", ""}}, // glibc: only ' ' or '\t' lead to a user
		{"host\vuser", Line{Entry, "host", ""}},
		{"+ +", Line{Entry, "+", "+"}},
		{"-evil.example", Line{Entry, "-evil.example", ""}},
		{"+@ng -@badusers", Line{Entry, "+@ng", "-@badusers"}},
		{"a\x00b c", Line{Entry, "a", ""}}, // NUL ends the C string
		{"# comment", Line{Skip, "", ""}},
		{"   # indented comment", Line{Skip, "", ""}},
		{"", Line{Skip, "", ""}},
		{"\n", Line{Skip, "", ""}},
		{" \t\r\v\f", Line{Skip, "", ""}},
		{"\x00host user", Line{Skip, "", ""}},
		{" host user", Line{Stop, "", ""}},
		{"\thost", Line{Stop, "", ""}},
		{"h\xffST \xfeu", Line{Entry, "h\xffst", "\xfeu"}},
	}
	for _, c := range cases {
		if got := ParseLine([]byte(c.in)); got != c.want {
			t.Errorf("ParseLine(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// fakeDNS is a deterministic resolver: names map to fixed addresses,
// anything else fails like NXDOMAIN. It counts lookups.
type fakeDNS struct {
	names   map[string][]string
	lookups int
}

func (f *fakeDNS) lookup(_ context.Context, host string) ([]netip.Addr, error) {
	f.lookups++
	var out []netip.Addr
	for _, s := range f.names[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if out == nil {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func newDNS() *fakeDNS {
	return &fakeDNS{names: map[string][]string{
		"client.example": {"10.1.1.1", "2001:db8::1"},
		"other.example":  {"10.2.2.2"},
		"localhost":      {"127.0.0.1", "::1"},
	}}
}

func TestScanSemantics(t *testing.T) {
	const c1, c2, lo6 = "10.1.1.1", "10.2.2.2", "::1"
	cases := []struct {
		name   string
		file   string
		peer   string
		ruser  string // client user
		luser  string // server user
		want   verdict
		line   int
		lookup bool // a name lookup must have happened
	}{
		{"ip literal + user", "10.1.1.1 bob\n", c1, "bob", "alice", allow, 1, false},
		{"ip literal, other user", "10.1.1.1 bob\n", c1, "carol", "alice", noMatch, 0, false},
		{"ip literal, other host", "10.1.1.1 bob\n", c2, "bob", "alice", noMatch, 0, false},
		{"name resolves to peer", "client.example bob", c1, "bob", "alice", allow, 1, true},
		{"name, IPv6 peer", "client.example bob", "2001:db8::1", "bob", "alice", allow, 1, true},
		{"name does not resolve to peer", "other.example bob", c1, "bob", "alice", noMatch, 0, true},
		{"unresolvable name", "nowhere.example bob", c1, "bob", "alice", noMatch, 0, true},
		{"missing user = server user", "client.example\n", c1, "alice", "alice", allow, 1, true},
		{"missing user, different names", "client.example\n", c1, "bob", "alice", noMatch, 0, false},
		{"user is case-sensitive", "10.1.1.1 Bob", c1, "bob", "alice", noMatch, 0, false},
		{"host is case-insensitive", "CLIENT.Example bob", c1, "bob", "alice", allow, 1, true},
		{"plus host", "+ bob", c2, "bob", "alice", allow, 1, false},
		{"plus user", "10.1.1.1 +", c1, "anyone", "alice", allow, 1, false},
		{"plus plus", "+ +", c2, "x", "y", allow, 1, false},
		{"negative host stops", "-10.1.1.1\n+ +\n", c1, "bob", "alice", deny, 1, false},
		{"negative host, other peer", "-10.1.1.1\n+ +\n", c2, "bob", "alice", allow, 2, false},
		{"negative named host", "-client.example\n+ +", c1, "x", "y", deny, 1, true},
		{"negative user stops", "client.example -bob\n+ +\n", c1, "bob", "alice", deny, 1, true},
		{"negative user, other user", "client.example -bob\n+ +\n", c1, "carol", "alice", allow, 2, false},
		{"negative user, other host goes on", "client.example -bob\n+ +\n", c2, "bob", "alice", allow, 2, true},
		{"first match wins", "+ bob\n-10.1.1.1\n", c1, "bob", "alice", allow, 1, false},
		{"comments and blanks", "# hi\n\n   \n10.1.1.1 bob\n", c1, "bob", "alice", allow, 4, false},
		{"leading blank stops the file", " 10.1.1.1 bob\n+ +\n", c1, "bob", "alice", deny, 1, false},
		{"netgroup host never matches", "+@trusted bob\n", c1, "bob", "alice", noMatch, 0, false},
		{"netgroup user never matches", "10.1.1.1 +@staff\n", c1, "bob", "alice", noMatch, 0, false},
		{"negative netgroup host fails closed", "-@bad\n+ +\n", c1, "bob", "alice", deny, 1, false},
		{"negative netgroup user fails closed", "10.1.1.1 -@bad\n+ +\n", c1, "bob", "alice", deny, 1, false},
		{"IPv6 literal", "::1 bob", lo6, "bob", "alice", allow, 1, false},
		{"IPv6 literal other spelling", "0:0::0001 bob", lo6, "bob", "alice", allow, 1, false},
		{"mapped peer matches IPv4 line", "127.0.0.1 bob", "::ffff:127.0.0.1", "bob", "alice", allow, 1, false},
		{"lone minus", "- bob\n", c1, "bob", "alice", noMatch, 0, false},
		{"CRLF file", "10.1.1.1 bob\r\n", c1, "bob", "alice", allow, 1, false},
		{"no trailing newline", "# x\n10.1.1.1 bob", c1, "bob", "alice", allow, 2, false},
		{"garbage", "\xff\xfe\x00\x01\n\x80 \x81\n", c1, "bob", "alice", noMatch, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dns := newDNS()
			r := &resolver{lookup: dns.lookup}
			peer := netip.MustParseAddr(c.peer).Unmap()
			v, n, _ := scan(context.Background(), r, []byte(c.file), peer, c.ruser, c.luser)
			if v != c.want || n != c.line {
				t.Errorf("got verdict %d line %d, want %d line %d", v, n, c.want, c.line)
			}
			if c.lookup != (dns.lookups > 0) {
				t.Errorf("lookups = %d, want lookup %v", dns.lookups, c.lookup)
			}
		})
	}
}

func TestScanCancelledFailsClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &resolver{lookup: func(ctx context.Context, string2 string) ([]netip.Addr, error) { return nil, ctx.Err() }}
	v, _, why := scan(ctx, r, []byte("client.example bob\n+ +\n"), netip.MustParseAddr("10.1.1.1"), "bob", "bob")
	if v != deny || !strings.Contains(why, "canceled") {
		t.Fatalf("verdict %d (%s), want deny after cancel", v, why)
	}
}

func TestVeryLongLine(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	file := long + " bob\n" + "10.1.1.1 " + long + "\n10.1.1.1 bob\n"
	r := &resolver{lookup: newDNS().lookup}
	v, n, _ := scan(context.Background(), r, []byte(file), netip.MustParseAddr("10.1.1.1"), "bob", "bob")
	if v != allow || n != 3 {
		t.Fatalf("verdict %d line %d", v, n)
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"host user", "+ +", "-h", " x", "# c", "", "a\x00b", "H\tU\r\n", "+@n -@u", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := ParseLine(b)
		switch l.Kind {
		case Entry:
			if l.Host == "" {
				t.Fatalf("entry without host: %q", b)
			}
		case Skip, Stop:
			if l.Host != "" || l.User != "" {
				t.Fatalf("non-entry with fields: %q -> %+v", b, l)
			}
		default:
			t.Fatalf("kind %d", l.Kind)
		}
		for _, s := range []string{l.Host, l.User} {
			if strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) >= 0 ||
				strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("field %q has white space or NUL (line %q)", s, b)
			}
		}
		if bytes.ContainsAny([]byte(l.Host), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("host %q not lower-cased", l.Host)
		}
		// The whole file path must not panic either, and a resolver that
		// always fails must never allow a line that is not "+"-hosted or a
		// literal.
		r := &resolver{lookup: func(context.Context, string) ([]netip.Addr, error) { return nil, errors.New("no") }}
		peer := netip.MustParseAddr("192.0.2.1")
		v, _, text := scan(context.Background(), r, b, peer, "u", "u")
		if v == allow {
			host, _, _ := strings.Cut(text, " ")
			if a, err := netip.ParseAddr(host); host != "+" && (err != nil || a.Unmap() != peer) {
				t.Fatalf("allowed by %q without a resolvable name (file %q)", text, b)
			}
		}
	})
}
