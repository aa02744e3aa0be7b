package rlogin

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseEscape(t *testing.T) {
	for in, want := range map[string]byte{"~": '~', "\\": '\\', "x": 'x', "\\35": 035, "\\0": 0, "\\377": 0377, "\\1": 1} {
		if got, err := ParseEscape(in); err != nil || got != want {
			t.Errorf("ParseEscape(%q) = %#o, %v; want %#o", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ab", "\\8", "\\400", "\\1234", "\\-1", "\\x1"} {
		if _, err := ParseEscape(in); !errors.Is(err, ErrBadEscape) {
			t.Errorf("ParseEscape(%q): %v, want ErrBadEscape", in, err)
		}
	}
}

// run feeds in byte by byte chunks of size k and collects output and actions.
func runEscaper(e *Escaper, in []byte, k int) (out []byte, acts []Action, echo []byte) {
	for len(in) > 0 {
		chunk := in[:min(k, len(in))]
		in = in[len(chunk):]
		for len(chunk) > 0 {
			var n int
			var a Action
			var ec []byte
			out, n, a, ec = e.Process(out, chunk)
			chunk = chunk[n:]
			echo = append(echo, ec...)
			if a != None {
				acts = append(acts, a)
			}
		}
	}
	return out, acts, echo
}

func TestEscaper(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		acts    []Action
		echo    string
	}{
		{"~.", "", []Action{Disconnect}, "~.\r\n"},
		{"~\x04", "", []Action{Disconnect}, "~^D\r\n"},
		{"a~.", "a~.", nil, ""}, // not at line start
		{"a\r~.", "a\r", []Action{Disconnect}, "~.\r\n"},
		{"~~x", "~x", nil, ""},                             // ~~ sends one ~
		{"~x", "~x", nil, ""},                              // ~x sends ~x
		{"\x15~.", "\x15", []Action{Disconnect}, "~.\r\n"}, // after kill
		{"\x03~.", "\x03", []Action{Disconnect}, "~.\r\n"}, // after intr
		{"~\x1ab", "b", []Action{SuspendAll}, "~^Z\r\n"},
		{"~\x19~.", "", []Action{SuspendSelf, Disconnect}, "~^Y\r\n~.\r\n"}, // bol after a suspend
		{"x\n~~\n~.", "x\n~\n", []Action{Disconnect}, "~.\r\n"},
	} {
		for _, k := range []int{1, 2, 100} {
			out, acts, echo := runEscaper(NewEscaper('~', false, DefaultChars), []byte(tc.in), k)
			if string(out) != tc.out || !equalActs(acts, tc.acts) || string(echo) != tc.echo {
				t.Errorf("%q (chunks of %d): sent %q acts %v echo %q; want %q %v %q", tc.in, k, out, acts, echo, tc.out, tc.acts, tc.echo)
			}
		}
	}
	// -E: nothing is special.
	if out, acts, _ := runEscaper(NewEscaper('~', true, DefaultChars), []byte("~.~~"), 3); string(out) != "~.~~" || acts != nil {
		t.Errorf("-E: %q %v", out, acts)
	}
	// -e ^]: another escape character.
	if out, acts, _ := runEscaper(NewEscaper(035, false, DefaultChars), []byte("~.\r\x1d."), 3); string(out) != "~.\r" || len(acts) != 1 {
		t.Errorf("-e ^]: %q %v", out, acts)
	}
}

func equalActs(a, b []Action) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzEscaper: chunking never changes the result, and without escape
// characters in the input everything is sent unchanged.
func FuzzEscaper(f *testing.F) {
	for _, s := range []string{"~.", "a\r~~b", "~\x1a~\x19", "\x15~x", "~"} {
		f.Add([]byte(s), byte(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, k byte) {
		chunk := int(k%16) + 1
		o1, a1, e1 := runEscaper(NewEscaper('~', false, DefaultChars), in, len(in)+1)
		o2, a2, e2 := runEscaper(NewEscaper('~', false, DefaultChars), in, chunk)
		if !bytes.Equal(o1, o2) || !equalActs(a1, a2) || !bytes.Equal(e1, e2) {
			t.Fatalf("chunking changed the result: %q/%v vs %q/%v", o1, a1, o2, a2)
		}
		if !bytes.ContainsRune(in, '~') && (!bytes.Equal(o1, in) || a1 != nil) {
			t.Fatalf("no escapes but sent %q for %q", o1, in)
		}
		if len(o1) > 2*len(in) {
			t.Fatal("output grew too much")
		}
	})
}

func FuzzParseEscape(f *testing.F) {
	for _, s := range []string{"~", "\\35", "\\400", "ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseEscape(s)
		if err == nil && len(s) != 1 && (s[0] != '\\' || len(s) > 4) {
			t.Fatalf("accepted %q as %#o", s, b)
		}
	})
}
