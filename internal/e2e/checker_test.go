package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// sent builds a generator's output: chunks, markers after some, and (for
// a ^C) a piece cut out of the bytes before the marker, as a flush does.
type sent struct {
	rng  *rand.Rand
	seq  int64
	ints int
	all  []byte // what was painted
}

func newSent(seed uint64) *sent {
	return &sent{rng: rand.New(rand.NewPCG(seed, 1)), all: []byte(markStart)}
}

func (s *sent) chunks(n int) []byte {
	var b []byte
	for range n * chunkRecs {
		b = record(b, s.seq)
		s.seq++
	}
	return b
}

// flush appends d with [x, y) cut out, then an INT marker.
func (s *sent) flush(d []byte, x, y int) {
	s.ints++
	s.all = append(append(append(s.all, d[:x]...), d[y:]...), fmt.Sprintf(markInt, s.ints)...)
}

// flush2 appends d with [x, y) and [z, v) cut out, then an INT marker.
func (s *sent) flush2(d []byte, x, y, z, v int) {
	s.ints++
	s.all = append(append(append(append(s.all, d[:x]...), d[y:z]...), d[v:]...), fmt.Sprintf(markInt, s.ints)...)
}

// feedRandomly writes b to c in random pieces.
func feedRandomly(c *checker, b []byte, rng *rand.Rand) {
	for len(b) > 0 {
		n := min(len(b), 1+rng.IntN(3000))
		c.Write(b[:n])
		b = b[n:]
	}
}

// TestCheckerModel: the checker accepts every screen a flush can leave
// (one piece cut out before each INT marker, anywhere, any length, also
// none or all) however the bytes arrive.
func TestCheckerModel(t *testing.T) {
	for seed := range uint64(60) {
		s := newSent(seed)
		s.all = append([]byte("$ KRX_E2E_FLOOD=1 ./e2e.test\r\n"), s.all...)
		for range 30 {
			d := s.chunks(1 + s.rng.IntN(3))
			switch s.rng.IntN(6) {
			case 0: // a window change: nothing cut
				s.all = append(append(s.all, d...), fmt.Sprintf(markWin, 30, 90, 0, 255)...)
			case 1: // a tiny piece kept on either side
				x := s.rng.IntN(len(d))
				y := max(x, len(d)-s.rng.IntN(14))
				s.flush(d, x, y)
			case 2: // everything after the last marker cut
				s.flush(d, 0, len(d)-s.rng.IntN(3))
			case 3: // two holes: the terminal's queue, then the flush
				x := s.rng.IntN(len(d))
				y := x + s.rng.IntN(len(d)-x+1)
				z := y + s.rng.IntN(len(d)-y+1)
				s.flush2(d, x, y, z, z+s.rng.IntN(len(d)-z+1))
			default:
				x := s.rng.IntN(len(d))
				s.flush(d, x, x+s.rng.IntN(len(d)-x+1))
			}
		}
		s.all = append(append(s.all, s.chunks(1)...), fmt.Sprintf(markEnd, s.seq, s.ints)...)
		s.all = append(s.all, "\r\nlogout\r\n"...)
		var c checker
		feedRandomly(&c, s.all, s.rng)
		if err := c.Err(); err != nil {
			i := bytes.Index(s.all, []byte("R0000000256"))
			t.Fatalf("seed %d: %v\n%q", seed, err, s.all[max(0, i-300):i+20])
		}
		if c.Ints != s.ints || c.EndRecs != s.seq {
			t.Fatalf("seed %d: ints %d/%d, records %d/%d", seed, c.Ints, s.ints, c.EndRecs, s.seq)
		}
	}
}

// TestCheckerCatches: stray, lost or reordered bytes fail.
func TestCheckerCatches(t *testing.T) {
	s := newSent(1)
	d := s.chunks(3)
	s.flush(d, 1000, 5000)
	f := s.chunks(3)
	s.flush2(f, 100, 3000, 6000, 9000)
	e := s.chunks(2)
	good := append(append(append([]byte(nil), s.all...), e...), fmt.Sprintf(markEnd, s.seq, s.ints)...)
	pos := bytes.Index(good, []byte("#INT 2#")) + 200 // in the records after the last ^C
	cases := map[string][]byte{
		"command painted":  splice(good, pos, 0, "\xffC\x02"),
		"byte changed":     splice(good, pos, 1, "x"),
		"byte lost":        splice(good, pos, 1, ""),
		"cut without ^C":   splice(good, pos, 300, ""),
		"cut late":         splice(good, pos+5000, 300, ""),
		"marker lost":      bytes.Replace(good, []byte("#INT 1#\n"), nil, 1),
		"old marker again": bytes.Replace(good, []byte("#INT 2#\n"), []byte("#INT 2#\n#INT 1#\n"), 1),
		"records swapped":  swapRecords(good, pos/recLen*recLen+recLen),
		"no end":           good[:len(good)-20],
	}
	for name, b := range cases {
		var c checker
		c.Write(b)
		if err := c.Err(); !errors.Is(err, errScreen) {
			t.Errorf("%s: Err() = %v, want errScreen", name, err)
		}
	}
	var c checker
	c.Write(good)
	if err := c.Err(); err != nil || c.Holes != 3 || c.Dropped != 4000+2900+3000 || c.Double != 1 {
		t.Errorf("unchanged: %v, %d holes (%d double), %d dropped", err, c.Holes, c.Double, c.Dropped)
	}
	// The generator's repeat of the last INT marker is accepted, also when
	// the first one was flushed with the data around it.
	for name, b := range map[string][]byte{
		"repeat":               bytes.Replace(good, []byte("#INT 1#\n"), []byte("#INT 1#\n#INT 1#\n"), 1),
		"first marker flushed": bytes.Replace(good, []byte("#INT 1#\n"), []byte(""), 1),
	} {
		if name == "first marker flushed" { // its repeat comes later, before the next ^C's
			b = bytes.Replace(b, []byte("#INT 2#\n"), []byte("#INT 1#\n#INT 2#\n"), 1)
		}
		var c checker
		c.Write(b)
		if err := c.Err(); err != nil || c.Ints != 2 {
			t.Errorf("%s: %v, %d INT markers", name, err, c.Ints)
		}
	}
}

func splice(b []byte, at, del int, ins string) []byte {
	return append(append(append([]byte(nil), b[:at]...), ins...), b[at+del:]...)
}

// swapRecords swaps the 64 bytes at i with the next 64, after the marker
// (where i is not record-aligned in b, swap byte ranges of one record).
func swapRecords(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	copy(out[i:], b[i+recLen:i+2*recLen])
	copy(out[i+recLen:], b[i:i+recLen])
	return out
}

// FuzzChecker: any screen gives a verdict, never a panic or a hang.
func FuzzChecker(f *testing.F) {
	s := newSent(2)
	d := s.chunks(2)
	s.flush(d, 100, 7000)
	f.Add(append(s.all, fmt.Sprintf(markEnd, s.seq, s.ints)...))
	f.Add([]byte(markStart + "R0000000000 #INT 1#\n#WIN 1 2 3 4#\n"))
	f.Add([]byte(markStart + "12\n#INT 1#\nR00\n#INT 2#\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c checker
		feedRandomly(&c, b, rand.New(rand.NewPCG(uint64(len(b)), 2)))
		_ = c.Err()
	})
}
