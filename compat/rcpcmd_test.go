package compat

import (
	"errors"
	"reflect"
	"testing"
)

func TestRcpCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		cmd  RcpCommand
	}{
		{"rcp -t /tmp/x", RcpCommand{Direction: RcpTo, Paths: []string{"/tmp/x"}}},
		{"rcp -r -p -d -t dir", RcpCommand{Recursive: true, Preserve: true, TargetDir: true, Direction: RcpTo, Paths: []string{"dir"}}},
		{"rcp -f a b c", RcpCommand{Direction: RcpFrom, Paths: []string{"a", "b", "c"}}},
		{"rcp -p -f 'with space' 'it'\\''s'", RcpCommand{Preserve: true, Direction: RcpFrom, Paths: []string{"with space", "it's"}}},
		{"rcp -t -- -dash", RcpCommand{Direction: RcpTo, Paths: []string{"-dash"}}},
	} {
		got, err := ParseRcpCommand(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.cmd) {
			t.Fatalf("ParseRcpCommand(%q) = %+v, %v", tc.line, got, err)
		}
		if s := tc.cmd.String(); s != tc.line {
			t.Fatalf("String() = %q, want %q", s, tc.line)
		}
	}
	// Accepted spellings that String does not produce.
	for line, want := range map[string]RcpCommand{
		"rcp -rp -t x":             {Recursive: true, Preserve: true, Direction: RcpTo, Paths: []string{"x"}},
		"/usr/bin/rcp  -pt\tx":     {Preserve: true, Direction: RcpTo, Paths: []string{"x"}},
		`rcp -f "a b" c\ d "q\"x"`: {Direction: RcpFrom, Paths: []string{"a b", "c d", `q"x`}},
		"rcp -f a~b x#y":           {Direction: RcpFrom, Paths: []string{"a~b", "x#y"}},
		`rcp -t "back\slash"`:      {Direction: RcpTo, Paths: []string{`back\slash`}},
		"rcp -t -t x":              {Direction: RcpTo, Paths: []string{"x"}},
		"rcp -d -f 'x'":            {TargetDir: true, Direction: RcpFrom, Paths: []string{"x"}},
	} {
		got, err := ParseRcpCommand(line)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseRcpCommand(%q) = %+v, %v", line, got, err)
		}
	}
	for _, line := range []string{
		"rcp -f *.c", "rcp -t ~/x", "rcp -t $HOME", "rcp -t `id`", "rcp -t x; rm -rf /", "rcp -t x > y",
		"rcp -t x | y", "rcp -t 'open", `rcp -t "open`, "rcp -t (x)", "rcp -f a?", "rcp -f [ab]", "rcp -t x\n",
		`rcp -t "$x"`, "rcp -t x\\", "rcp -t #comment", "rcp -f {a,b}",
	} {
		if _, err := ParseRcpCommand(line); !errors.Is(err, ErrNeedsShell) {
			t.Fatalf("ParseRcpCommand(%q) = %v, want ErrNeedsShell", line, err)
		}
	}
	for _, line := range []string{
		"", "cp -t x", "rcpx -t x", "rcp x", "rcp -t", "rcp -t a b", "rcp -f", "rcp -t -f x", "rcp -x -t x",
		"rcp -t ''", "rcp -r", "rcp - -t x",
	} {
		_, err := ParseRcpCommand(line)
		var fe *FieldError
		if !errors.Is(err, ErrBadCommand) || !errors.As(err, &fe) {
			t.Fatalf("ParseRcpCommand(%q) = %v, want ErrBadCommand", line, err)
		}
	}
	if ShellQuote("") != "''" || ShellQuote("a-b_c.d/e") != "a-b_c.d/e" || ShellQuote("~x") != "'~x'" {
		t.Fatal("ShellQuote")
	}
}
