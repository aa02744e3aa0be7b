package krxproto

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/krx-suite/krx/compat"
)

// cutsFrom turns fuzz bytes into sorted split points within n.
func cutsFrom(seed []byte, n int) []int {
	var cuts []int
	for i := 0; i+1 < len(seed) && n > 0; i += 2 {
		cuts = append(cuts, int(binary.BigEndian.Uint16(seed[i:]))%(n+1))
	}
	sortInts(cuts)
	return cuts
}

func addDecoderSeeds(f *testing.F) {
	f.Add([]byte("ab\xff\xffc\xffC\x02d\xffC\x80"), []byte{0, 3, 0, 5})
	f.Add([]byte("\xffW\x00\x18\x00\x50\x00\x00\x00\x00x"), []byte{0, 1, 0, 2, 0, 9})
	f.Add([]byte("\xff"), []byte{})
	f.Add([]byte("\xff\xff\xff"), []byte{0, 1})
	f.Add([]byte("abc\xffZ"), []byte{0, 4})
	f.Add(bytes.Repeat([]byte{0xFF, 'C'}, 9), []byte{0, 2, 0, 7})
}

// FuzzOutputDecoderSplit: decoding the server→client stream in arbitrary
// pieces gives exactly what decoding it whole gives.
func FuzzOutputDecoderSplit(f *testing.F) {
	addDecoderSeeds(f)
	f.Fuzz(func(t *testing.T, src, seed []byte) {
		whole := decodeAll(t, true, src, nil)
		if got := decodeAll(t, true, src, cutsFrom(seed, len(src))); !sameEvents(got, whole) {
			t.Fatalf("split decode differs:\n got %+v\nwant %+v", got, whole)
		}
		checkConservation(t, src, whole, ControlLen)
	})
}

// FuzzInputDecoderSplit: the same for the client→server stream.
func FuzzInputDecoderSplit(f *testing.F) {
	addDecoderSeeds(f)
	f.Fuzz(func(t *testing.T, src, seed []byte) {
		whole := decodeAll(t, false, src, nil)
		if got := decodeAll(t, false, src, cutsFrom(seed, len(src))); !sameEvents(got, whole) {
			t.Fatalf("split decode differs:\n got %+v\nwant %+v", got, whole)
		}
		checkConservation(t, src, whole, WindowLen)
	})
}

// checkConservation: re-encoding what was decoded gives back the input
// (up to an error or an unfinished sequence), so no byte was lost or
// duplicated; command offsets are consistent.
func checkConservation(t *testing.T, src []byte, evs []event, cmdLen int64) {
	var re []byte
	var data int64
	for _, e := range evs {
		switch {
		case e.err != nil:
			return
		case e.cmd != nil:
			if e.cmd.Offset != int64(len(re)) || e.cmd.End != e.cmd.Offset+cmdLen || e.cmd.DataOffset != data {
				t.Fatalf("command %+v at encoded offset %d, data %d", *e.cmd, len(re), data)
			}
			if cmdLen == ControlLen {
				re = AppendControl(re, e.cmd.Control)
			} else {
				re = AppendWindow(re, e.cmd.Window)
			}
		default:
			re = AppendData(re, e.data)
			data += int64(len(e.data))
		}
	}
	if !bytes.HasPrefix(src, re) || len(src)-len(re) > int(cmdLen)-1 {
		t.Fatalf("re-encoded % x is not the input % x minus an unfinished tail", re, src)
	}
}

// FuzzRoundTrip: any sequence of data and commands, encoded and decoded in
// arbitrary pieces, comes back unchanged in both directions.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello\xf3\x02world\xff\xff\xf0\x80\x10"), []byte{0, 3})
	f.Add([]byte{0xF5, 0xFF, 0xFF, 0xFF}, []byte{0, 1, 0, 2})
	f.Add([]byte("\x07\x0e\x15"), []byte{})
	f.Fuzz(func(t *testing.T, prog, seed []byte) {
		for _, output := range []bool{true, false} {
			wire, want := encodeSegments(genSegments(prog, output), output)
			if got := decodeAll(t, output, wire, cutsFrom(seed, len(wire))); !sameEvents(got, want) {
				t.Fatalf("output=%v:\n got %+v\nwant %+v", output, got, want)
			}
		}
	})
}

// FuzzHandshakeReaders: the string, credential and status readers never
// panic and accept exactly what the writers produce.
func FuzzHandshakeReaders(f *testing.F) {
	f.Add([]byte("alice\x00xterm/9600\x00al\x00"), "alice", "xterm/9600", "al", true)
	f.Add([]byte("krx1\x01no\n"), "", "ls", "", false)
	f.Add([]byte{0, 0, 0, 4, 1, 2, 3, 4}, "a", "", "b", false)
	f.Fuzz(func(t *testing.T, raw []byte, su, pay, cu string, login bool) {
		svc := Shell
		if login {
			svc = Login
		}
		_, _ = ReadParams(bytes.NewReader(raw), svc)
		_, _ = ReadCred(bytes.NewReader(raw))
		_ = ReadStatus(bytes.NewReader(raw))
		p := Params{ServerUser: su, Payload: pay, ClientUser: cu}
		b, err := p.AppendTo(nil, svc)
		if err != nil {
			return
		}
		got, err := ReadParams(bytes.NewReader(b), svc)
		if err != nil || got != p {
			t.Fatalf("%+v → %q → %+v, %v", p, b, got, err)
		}
		if _, err := (Binding{Service: svc, ServerUser: su, Payload: pay, ClientUser: cu}).Marshal(); err != nil {
			t.Fatalf("params accepted but binding refused: %v", err)
		}
		st, err := AppendStatus(nil, false, pay)
		if err == nil {
			var se *StatusError
			if err := ReadStatus(bytes.NewReader(st)); !asStatus(err, &se) || se.Message != trimCR(pay) {
				t.Fatalf("status %q: %v", pay, err)
			}
		}
		_ = compat.MaxStatusLen
	})
}

func asStatus(err error, se **StatusError) bool {
	s, ok := err.(*StatusError)
	*se = s
	return ok
}

func trimCR(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\r' {
		return s[:n-1]
	}
	return s
}
