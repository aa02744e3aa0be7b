package krxproto

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/krx-suite/krx/compat"
)

// event is what a decoder produced: a data run or a command.
type event struct {
	data []byte
	cmd  *Command
	err  error
}

// decodeAll feeds src to a decoder in the chunks given by cuts and returns
// the merged events: adjacent data runs are joined, so two decodings are
// comparable whatever the splits.
func decodeAll(t testing.TB, output bool, src []byte, cuts []int) []event {
	var evs []event
	addData := func(p []byte) {
		if len(p) == 0 {
			return
		}
		if n := len(evs); n > 0 && evs[n-1].cmd == nil && evs[n-1].err == nil {
			evs[n-1].data = append(evs[n-1].data, p...)
			return
		}
		evs = append(evs, event{data: append([]byte(nil), p...)})
	}
	od, id := &OutputDecoder{}, &InputDecoder{}
	feed := func(chunk []byte) bool {
		for {
			var out []byte
			var n int
			var cmd Command
			var found bool
			var err error
			if output {
				out, n, cmd, found, err = od.Decode(nil, chunk)
			} else {
				out, n, cmd, found, err = id.Decode(nil, chunk)
			}
			if n > len(chunk) {
				t.Fatalf("consumed %d of %d bytes", n, len(chunk))
			}
			addData(out)
			if err != nil {
				evs = append(evs, event{err: err})
				return false
			}
			if found {
				c := cmd
				evs = append(evs, event{cmd: &c})
			}
			chunk = chunk[n:]
			if len(chunk) == 0 {
				return true
			}
			if !found {
				t.Fatalf("decoder stopped with %d bytes left and no command", len(chunk))
			}
		}
	}
	prev := 0
	for _, c := range append(cuts, len(src)) {
		if c < prev || c > len(src) {
			continue
		}
		if !feed(src[prev:c]) {
			return evs
		}
		prev = c
	}
	return evs
}

func sameEvents(a, b []event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch {
		case (a[i].cmd == nil) != (b[i].cmd == nil), (a[i].err == nil) != (b[i].err == nil):
			return false
		case a[i].cmd != nil && *a[i].cmd != *b[i].cmd:
			return false
		case a[i].err != nil && a[i].err.Error() != b[i].err.Error():
			return false
		case !bytes.Equal(a[i].data, b[i].data):
			return false
		}
	}
	return true
}

func TestOutputDecoderExample(t *testing.T) {
	src := []byte("ab\xff\xffc\xffC\x02d\xffC\x80")
	evs := decodeAll(t, true, src, nil)
	want := []event{
		{data: []byte("ab\xffc")},
		{cmd: &Command{Control: compat.CtlFlushWrite, Offset: 5, End: 8, DataOffset: 4}},
		{data: []byte("d")},
		{cmd: &Command{Control: compat.CtlWindow, Offset: 9, End: 12, DataOffset: 5}},
	}
	if !sameEvents(evs, want) {
		t.Fatalf("got %+v", evs)
	}
	for cut := 0; cut <= len(src); cut++ {
		for cut2 := cut; cut2 <= len(src); cut2++ {
			if got := decodeAll(t, true, src, []int{cut, cut2}); !sameEvents(got, want) {
				t.Fatalf("split at %d,%d: got %+v", cut, cut2, got)
			}
		}
	}
}

func TestInputDecoderExample(t *testing.T) {
	ws := compat.WindowSize{Rows: 24, Cols: 80, XPixel: 640, YPixel: 0xFFFF}
	src := AppendData(nil, []byte("ls\xff\n"))
	src = AppendWindow(src, ws)
	src = append(src, 'x')
	want := []event{
		{data: []byte("ls\xff\n")},
		{cmd: &Command{Window: ws, Offset: 5, End: 15, DataOffset: 4}},
		{data: []byte("x")},
	}
	for cut := 0; cut <= len(src); cut++ {
		if got := decodeAll(t, false, src, []int{cut}); !sameEvents(got, want) {
			t.Fatalf("split at %d: got %+v", cut, got)
		}
	}
	if !bytes.Equal(src[5:15], []byte{0xFF, 'W', 0, 24, 0, 80, 2, 128, 0xFF, 0xFF}) {
		t.Fatalf("window bytes % x", src[5:15])
	}
}

func TestBadEscape(t *testing.T) {
	for _, tc := range []struct {
		output bool
		src    string
		off    int64
		b      byte
	}{
		{true, "abc\xffW", 3, 'W'},      // a client command in the server's direction
		{false, "abc\xffC\x02", 3, 'C'}, // and the other way round
		{true, "\xff\x00", 0, 0},
		{false, "\xff\xff\xff\xfe", 2, 0xFE},
	} {
		evs := decodeAll(t, tc.output, []byte(tc.src), []int{1})
		last := evs[len(evs)-1]
		var ee *EscapeError
		if !errors.As(last.err, &ee) || !errors.Is(last.err, ErrBadEscape) || ee.Offset != tc.off || ee.Byte != tc.b {
			t.Errorf("%q: got %+v", tc.src, evs)
		}
	}
	// The error is sticky.
	var d OutputDecoder
	if _, _, _, _, err := d.Decode(nil, []byte("\xffz")); err == nil {
		t.Fatal("no error")
	}
	if out, n, _, _, err := d.Decode(nil, []byte("more")); err == nil || n != 0 || len(out) != 0 {
		t.Fatalf("decoder went on after an error: %q %d %v", out, n, err)
	}
}

func TestOffsetsStartAndPending(t *testing.T) {
	d := NewOutputDecoder(100)
	_, n, _, found, err := d.Decode(nil, []byte("xy\xffC"))
	if err != nil || found || n != 4 || !d.AwaitingControl() || d.Pending() != 2 || d.Offset() != 104 || d.DataOffset() != 2 {
		t.Fatalf("n=%d found=%v err=%v pending=%d off=%d", n, found, err, d.Pending(), d.Offset())
	}
	_, _, cmd, found, _ := d.Decode(nil, []byte{0x02})
	if !found || cmd.Offset != 102 || cmd.End != 105 || cmd.DataOffset != 2 || d.AwaitingControl() {
		t.Fatalf("%+v", cmd)
	}
	in := NewInputDecoder(7)
	in.Decode(nil, []byte("\xffW\x00"))
	if in.Pending() != 3 || in.Offset() != 10 {
		t.Fatalf("pending %d offset %d", in.Pending(), in.Offset())
	}
}

// segment is one piece of a generated stream: data or a command.
type segment struct {
	data []byte
	ctl  compat.Control
	ws   compat.WindowSize
	cmd  bool
}

// genSegments turns fuzz bytes into segments: byte 0xF0–0xFF starts a
// command, anything else is data with a good share of FF bytes.
func genSegments(prog []byte, output bool) []segment {
	var segs []segment
	for i := 0; i < len(prog); i++ {
		b := prog[i]
		if b >= 0xF0 && i+2 < len(prog) {
			s := segment{cmd: true, ctl: compat.Control(prog[i+1])}
			s.ws = compat.WindowSize{Rows: uint16(prog[i+1]) << 8, Cols: uint16(prog[i+2]) | 0xFF00, XPixel: 0xFFFF, YPixel: uint16(b)}
			segs = append(segs, s)
			i += 2
			continue
		}
		if b%7 == 0 {
			b = 0xFF
		}
		if n := len(segs); n > 0 && !segs[n-1].cmd {
			segs[n-1].data = append(segs[n-1].data, b)
		} else {
			segs = append(segs, segment{data: []byte{b}})
		}
	}
	return segs
}

func encodeSegments(segs []segment, output bool) (wire []byte, want []event) {
	var off, data int64
	for _, s := range segs {
		if !s.cmd {
			wire = AppendData(wire, s.data)
			want = append(want, event{data: s.data})
			off += int64(EscapedLen(s.data))
			data += int64(len(s.data))
			continue
		}
		c := Command{Offset: off, DataOffset: data}
		if output {
			wire = AppendControl(wire, s.ctl)
			c.Control = s.ctl
			off += ControlLen
		} else {
			wire = AppendWindow(wire, s.ws)
			c.Window = s.ws
			off += WindowLen
		}
		c.End = off
		want = append(want, event{cmd: &c})
	}
	return wire, want
}

func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		prog := make([]byte, rng.IntN(400))
		for i := range prog {
			prog[i] = byte(rng.UintN(256))
		}
		for _, output := range []bool{true, false} {
			wire, want := encodeSegments(genSegments(prog, output), output)
			var cuts []int
			for range rng.IntN(10) {
				cuts = append(cuts, rng.IntN(len(wire)+1))
			}
			sortInts(cuts)
			if got := decodeAll(t, output, wire, cuts); !sameEvents(got, want) {
				t.Fatalf("output=%v prog % x cuts %v:\n got %+v\nwant %+v", output, prog, cuts, got, want)
			}
		}
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestAppendDataEscapes(t *testing.T) {
	got := AppendData([]byte("p:"), []byte("\xffa\xff\xff"))
	if want := []byte("p:\xff\xffa\xff\xff\xff\xff"); !bytes.Equal(got, want) {
		t.Fatalf("% x", got)
	}
	if EscapedLen([]byte("\xffa\xff\xff")) != 7 {
		t.Fatal("EscapedLen")
	}
}
