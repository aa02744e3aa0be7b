package compat

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzHandshake: no panic; a parsed handshake re-marshals to exactly the
// bytes it was parsed from (modulo the port's spelling); anything else is a
// specific error.
func FuzzHandshake(f *testing.F) {
	f.Add(rloginExample)
	f.Add([]byte("1022\x00alice\x00alice\x00ls -l\x00data"))
	f.Add([]byte("\x00a\x00b"))
	f.Add([]byte("12a\x00a\x00b\x00c\x00"))
	f.Add([]byte("0001\x00\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		lim := Limits{User: 16, Payload: 64}
		h, n, err := ParseHandshake(in, lim)
		if n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("unstructured error %v", err)
			}
			return
		}
		b, err := h.Marshal()
		if err != nil {
			t.Fatalf("re-marshal %+v: %v", h, err)
		}
		h2, n2, err := ParseHandshake(b, lim)
		if err != nil || h2 != h || n2 != len(b) {
			t.Fatalf("round trip %+v -> %q -> %+v, %v", h, b, h2, err)
		}
		// The strings part is byte-exact.
		if !bytes.HasSuffix(in[:n], b[bytes.IndexByte(b, 0):]) {
			t.Fatalf("%q is not a suffix of %q", b, in[:n])
		}
		// A 1-byte reader gives the same result and leaves the rest.
		r := onlyReader{bytes.NewReader(in)}
		if h3, err := ReadHandshake(r, lim); err != nil || h3 != h {
			t.Fatalf("ReadHandshake %+v, %v", h3, err)
		}
		if rest, _ := io.ReadAll(r); !bytes.Equal(rest, in[n:]) {
			t.Fatal("over-read")
		}
	})
}

// FuzzStatus: no panic; OK and well-formed refusals round-trip exactly.
func FuzzStatus(f *testing.F) {
	f.Add([]byte("\x00rest"))
	f.Add([]byte("\x01Permission denied.\n"))
	f.Add([]byte("\x01rlogind: Permission denied.\r\nmore"))
	f.Add([]byte("\x01unterminated"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		st, n, err := ParseStatus(in)
		if n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("unstructured error %v", err)
			}
			return
		}
		b, err := st.Marshal()
		if err != nil || !bytes.Equal(b, in[:n]) {
			t.Fatalf("round trip %q -> %+v -> %q, %v", in[:n], st, b, err)
		}
	})
}

// FuzzWindowScanner: input split at fuzzer-chosen points gives the same
// output as one-shot scanning and as the reference, and no byte is lost or
// duplicated.
func FuzzWindowScanner(f *testing.F) {
	f.Add(append(append([]byte("ab\xff"), windowExample...), "\xff\xffss"...), uint64(0x0102030405))
	f.Add([]byte("\xff\xff\xffss12345678\xff\xffx"), uint64(7))
	f.Add(windowExample, uint64(0xffffffffffffffff))
	f.Add([]byte("plain data"), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, splits uint64) {
		// Cut points from the bits of splits: one chunk per set bit, cycling.
		var chunks [][]byte
		rest := in
		for i := 0; len(rest) > 0; i++ {
			k := int(splits>>(uint(i)%64)&15) + 1
			if k > len(rest) {
				k = len(rest)
			}
			chunks = append(chunks, rest[:k])
			rest = rest[k:]
		}
		var a, b WindowScanner
		split, wins := scanAll(&a, chunks, false)
		held := a.Pending()
		split = a.Flush(split)
		whole, wins1 := scanAll(&b, [][]byte{in}, true)
		ref, wins2 := referenceScan(in)
		if !bytes.Equal(split, whole) || !bytes.Equal(whole, ref) {
			t.Fatalf("split %q\nwhole %q\nref   %q", split, whole, ref)
		}
		if !reflect.DeepEqual(wins, wins1) || !reflect.DeepEqual(wins1, wins2) {
			t.Fatalf("windows differ: %v %v %v", wins, wins1, wins2)
		}
		// Conservation: every input byte is data, part of a message, or held.
		data := len(split) - 3*len(wins) // "<W>" markers
		if data+WindowMsgLen*len(wins) != len(in) || held > WindowMsgLen-1 {
			t.Fatalf("bytes: %d data + %d msgs of %d != %d (held %d)", data, len(wins), WindowMsgLen, len(in), held)
		}
	})
}

// FuzzRcpLine: no panic; parse -> format -> parse is stable.
func FuzzRcpLine(f *testing.F) {
	for _, s := range []string{
		"C0644 1234 foo\n", "D0755 0 dir\n", "E\n", "T1700000000 0 1700000001 0\n", "\x01rcp: x: err\n",
		"\x02fatal\n", "C0644 -1 x\n", "C0644 1 ../x\n", "C0644 1 a\x00b\n", "C06444 1 x\n", "No match.\n",
		"C0644 9223372036854775807 x\n", "T0 999999 253402300799 1\n", "D0755 00017 d\n", "C0644 1 x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		lim := RcpLimits{MaxLine: 512, MaxName: 64, MaxSize: 1 << 40}
		m, err := ParseControl(line, lim)
		m2, err2 := ReadControl(onlyReader{bytes.NewReader(line)}, lim)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(m, m2) {
			// ReadControl stops at the first '\n', ParseControl wants it
			// last: only when it is not may they differ.
			if bytes.IndexByte(line, '\n') == len(line)-1 && !(len(line) == 0 && err2 == io.EOF) {
				t.Fatalf("ParseControl %#v, %v; ReadControl %#v, %v", m, err, m2, err2)
			}
		}
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("unstructured error %v", err)
			}
			return
		}
		b, err := m.AppendLine(nil)
		if err != nil {
			t.Fatalf("format %#v: %v", m, err)
		}
		m3, err := ParseControl(b, lim)
		if err != nil || !reflect.DeepEqual(m, m3) {
			t.Fatalf("%q -> %#v -> %q -> %#v, %v", line, m, b, m3, err)
		}
		if b2, _ := m3.AppendLine(nil); !bytes.Equal(b, b2) {
			t.Fatalf("format not stable: %q %q", b, b2)
		}
	})
}

// FuzzRcpReply: no panic; replies round-trip exactly.
func FuzzRcpReply(f *testing.F) {
	for _, s := range []string{"\x00", "\x01rcp: x: err\n", "\x02fatal\n", "No match.\n", "\x01cut", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, n, err := ParseReply(in, 256)
		if n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("unstructured error %v", err)
			}
			return
		}
		b, err := rep.AppendLine(nil)
		if err != nil || !bytes.Equal(b, in[:n]) {
			t.Fatalf("round trip %q -> %+v -> %q, %v", in[:n], rep, b, err)
		}
	})
}

// FuzzRcpCommand: no panic; String output of a parsed command parses back
// to the same command.
func FuzzRcpCommand(f *testing.F) {
	for _, s := range []string{"rcp -t x", "rcp -r -p -d -f a 'b c'", `rcp -f "q\"x" c\ d`, "rcp -f *.c", "rcp -t -- -x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseRcpCommand(line)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("unstructured error %v", err)
			}
			return
		}
		c2, err := ParseRcpCommand(c.String())
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", line, c, c.String(), c2, err)
		}
	})
}

// FuzzTermSpeed: no panic; a clean parse with a speed formats back exactly.
func FuzzTermSpeed(f *testing.F) {
	for _, s := range []string{"xterm/38400", "vt100", "x/", "x/1/2", "/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTermSpeed(s)
		if err != nil {
			return
		}
		ts2, err := ParseTermSpeed(ts.String())
		if ts.Speed != 0 && (err != nil || ts2 != ts) {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, ts, ts.String(), ts2, err)
		}
	})
}
