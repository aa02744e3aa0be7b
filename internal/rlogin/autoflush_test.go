package rlogin

import (
	"testing"

	"github.com/krx-suite/krx/compat"
)

func TestAutoflushTyped(t *testing.T) {
	a := NewAutoflush(0x03, 0, 0x1a) // intr ^C, quit disabled, susp ^Z
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ls\r", false}, {"\x03", true}, {"ab\x1acd", true}, {"\x00", false}, {"\x1c", false},
	} {
		if got := a.Typed([]byte(tc.in)); got != tc.want {
			t.Errorf("Typed(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	a.Control(compat.CtlNoStop) // the remote went raw
	if a.Typed([]byte{0x03}) {
		t.Error("Typed(^C) after NOSTOP = true, want false")
	}
	a.Control(compat.CtlFlushWrite) // a flush says nothing about the mode
	if a.Typed([]byte{0x03}) {
		t.Error("Typed(^C) after NOSTOP and FLUSHWRITE = true, want false")
	}
	a.Control(compat.CtlDoStop) // cooked again
	if !a.Typed([]byte{0x03}) {
		t.Error("Typed(^C) after DOSTOP = false, want true")
	}
	var none *Autoflush
	none.Control(compat.CtlDoStop)
	if none.Typed([]byte{0x03}) {
		t.Error("nil Autoflush expects a flush")
	}
}
