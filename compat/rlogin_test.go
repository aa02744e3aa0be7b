package compat

import (
	"bytes"
	"errors"
	"testing"
)

func TestPacketControl(t *testing.T) {
	for h := 0; h < 256; h++ {
		c, ok := PacketControl(byte(h))
		want := Control(h) & (CtlFlushWrite | CtlNoStop | CtlDoStop)
		if c != want || ok != (want != 0) {
			t.Fatalf("PacketControl(%#x) = %#x, %v", h, c, ok)
		}
	}
	// The dropped bits by name (netkit rlogind pkcontrol()).
	for _, h := range []Control{0, CtlFlushRead, CtlStop, CtlStart, CtlFlushRead | CtlStop | CtlStart, 0x40} {
		if _, ok := PacketControl(byte(h)); ok {
			t.Fatalf("header %#x forwarded", h)
		}
	}
	if c := CtlFlushWrite | CtlWindow; !c.FlushWrite() || !c.Window() || c.NoStop() || c.DoStop() {
		t.Fatal("bit accessors")
	}
	if !CtlNoStop.NoStop() || !CtlDoStop.DoStop() || CtlDoStop.NoStop() {
		t.Fatal("bit accessors")
	}
}

func TestServerControl(t *testing.T) {
	var s ServerControl
	if s.Initial() != 0x80 || s.WindowSeen() {
		t.Fatal("fresh state")
	}
	steps := []struct {
		header byte
		want   Control
		ok     bool
	}{
		{0x02, 0x82, true}, {0x10, 0x90, true}, {0x20, 0xa0, true}, {0x12, 0x92, true},
		{0x01, 0, false}, {0x0c, 0, false}, {0x00, 0, false}, {0x03, 0x82, true},
	}
	for _, st := range steps {
		if c, ok := s.Packet(st.header); c != st.want || ok != st.ok {
			t.Fatalf("before window: Packet(%#x) = %#x, %v", st.header, c, ok)
		}
	}
	s.WindowReceived()
	for _, st := range steps {
		want := st.want &^ CtlWindow
		if c, ok := s.Packet(st.header); c != want || ok != st.ok {
			t.Fatalf("after window: Packet(%#x) = %#x, %v", st.header, c, ok)
		}
	}
}

// PROTOCOL.md §5: 24×80.
var windowExample = []byte{0xff, 0xff, 0x73, 0x73, 0x00, 0x18, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00}

func TestWindowMessage(t *testing.T) {
	w := WindowSize{Rows: 24, Cols: 80}
	if m := w.Marshal(); !bytes.Equal(m[:], windowExample) {
		t.Fatalf("Marshal = % x", m)
	}
	got, err := ParseWindow(windowExample)
	if err != nil || got != w {
		t.Fatalf("ParseWindow = %+v, %v", got, err)
	}
	big := WindowSize{Rows: 0x1234, Cols: 0xfedc, XPixel: 1, YPixel: 0xffff}
	m := big.Marshal()
	if got, err := ParseWindow(m[:]); err != nil || got != big {
		t.Fatalf("round trip %+v, %v", got, err)
	}
	for _, bad := range [][]byte{windowExample[:11], append(append([]byte{}, windowExample...), 0), {0xff, 0xff, 's', 'S', 0, 0, 0, 0, 0, 0, 0, 0}, {0xfe, 0xff, 's', 's', 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := ParseWindow(bad); !errors.Is(err, ErrBadWindow) {
			t.Fatalf("ParseWindow(% x) = %v", bad, err)
		}
	}
}

// scanAll feeds chunks through a scanner and returns the data stream with
// each window message rendered as "<W rows cols xp yp>" in place.
func scanAll(s *WindowScanner, chunks [][]byte, flush bool) (out []byte, wins []WindowSize) {
	for _, c := range chunks {
		for len(c) > 0 {
			var ws WindowSize
			var found bool
			var n int
			out, n, ws, found = s.Scan(out, c)
			c = c[n:]
			if found {
				wins = append(wins, ws)
				out = append(out, "<W>"...)
			}
		}
	}
	if flush {
		out = s.Flush(out)
	}
	return out, wins
}

// referenceScan is the one-shot specification: at each position, a full
// FF FF s s + 8 bytes is a message, anything else is one data byte.
func referenceScan(in []byte) (out []byte, wins []WindowSize) {
	for i := 0; i < len(in); {
		if i+WindowMsgLen <= len(in) && bytes.Equal(in[i:i+4], WindowMagic[:]) {
			wins = append(wins, decodeWindow(in[i:i+WindowMsgLen]))
			out = append(out, "<W>"...)
			i += WindowMsgLen
			continue
		}
		out = append(out, in[i])
		i++
	}
	return out, wins
}

func TestWindowScannerSplitEverywhere(t *testing.T) {
	in := append(append([]byte("ab\xff\xffcd\xff"), windowExample...), "ef\xff\xffs"...)
	in = append(in, (WindowSize{Rows: 50, Cols: 132}).AppendTo(nil)...)
	in = append(in, "\xff\xff\xffss12345678tail\xff\xffs"...)
	wantOut, wantWins := referenceScan(in)
	if len(wantWins) != 3 {
		t.Fatalf("reference found %d messages", len(wantWins))
	}
	// One-shot, every single split point, and every pair of split points.
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			var s WindowScanner
			out, wins := scanAll(&s, [][]byte{in[:i], in[i:j], in[j:]}, true)
			if !bytes.Equal(out, wantOut) || len(wins) != len(wantWins) {
				t.Fatalf("split %d,%d: %q %v\nwant %q %v", i, j, out, wins, wantOut, wantWins)
			}
			for k := range wins {
				if wins[k] != wantWins[k] {
					t.Fatalf("split %d,%d: window %d = %+v", i, j, k, wins[k])
				}
			}
		}
	}
	// Byte by byte.
	var s WindowScanner
	var chunks [][]byte
	for i := range in {
		chunks = append(chunks, in[i:i+1])
	}
	if out, _ := scanAll(&s, chunks, true); !bytes.Equal(out, wantOut) {
		t.Fatalf("byte by byte: %q", out)
	}
}

func TestWindowScannerLegacyPassThrough(t *testing.T) {
	var s WindowScanner
	// FF FF not followed by "ss" passes through as soon as it is decided.
	out, n, _, found := s.Scan(nil, []byte("\xff\xffxy"))
	if found || n != 4 || string(out) != "\xff\xffxy" || s.Pending() != 0 {
		t.Fatalf("got %q n=%d pending=%d", out, n, s.Pending())
	}
	// A possible start is held back, then released by Flush.
	out, _, _, _ = s.Scan(nil, []byte("z\xff\xffs"))
	if string(out) != "z" || s.Pending() != 3 {
		t.Fatalf("held: %q pending %d", out, s.Pending())
	}
	if out = s.Flush(out); string(out) != "z\xff\xffs" || s.Pending() != 0 {
		t.Fatalf("flush: %q", out)
	}
	// The state machine: a message completes exactly at its 12th byte.
	for i := 0; i < WindowMsgLen-1; i++ {
		if _, _, _, found := s.Scan(nil, windowExample[i:i+1]); found {
			t.Fatalf("found at byte %d", i)
		}
	}
	var ws WindowSize
	if _, _, ws, found = s.Scan(nil, windowExample[11:]); !found || ws != (WindowSize{Rows: 24, Cols: 80}) {
		t.Fatal("message not found at its last byte")
	}
}

func TestParseSignal(t *testing.T) {
	for b := 0; b < 256; b++ {
		s, err := ParseSignal(byte(b))
		if valid := b >= 1 && b <= 64; valid != (err == nil) {
			t.Fatalf("ParseSignal(%d) = %v, %v", b, s, err)
		} else if !valid {
			fieldErr(t, err, ErrBadSignal, "signal byte")
		} else if s != Signal(b) {
			t.Fatalf("ParseSignal(%d) = %d", b, s)
		}
	}
	if SigInt != 2 || SigQuit != 3 || SigTerm != 15 || SigTerm.String() != "SIGTERM" || Signal(9).String() != "signal 9" {
		t.Fatal("signal constants")
	}
}
