package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// errScreen reports painted bytes that the generator's output with flushed
// pieces cut out cannot explain.
var errScreen = errors.New("e2e: screen does not match the flood")

// maxLine bounds what the checker buffers while it looks for a marker or a
// cut's continuation (after a cut only the rest of one chunk precedes the
// next marker).
const maxLine = 4 * recLen * chunkRecs

// checker follows what the client painted against the generator's output
// D (record 0, 1, 2, … back to back) with markers between chunks. Between
// two markers at most one contiguous piece of D may be missing, and only
// before an "#INT n#" marker (the n-th ^C flushed it): the piece before
// the cut is D[P:x], the piece after it D[y:b] with y ≥ x and b the record
// boundary where the generator wrote the marker. Everything else must be
// byte-identical.
type checker struct {
	started, ended bool
	pre            []byte // output before "#START#"

	known bool  // P is exact (else only ≥ lower)
	pos   int64 // P: offset in D of the next painted byte
	lower int64 // when !known: the next segment starts at a record boundary ≥ lower
	frag  []byte

	seg      []byte // current segment's bytes after a cut, or the whole segment while !known
	cut      bool   // the current segment has a cut (seg holds what follows it)
	cutAt    int64  // P at the cut
	inMarker bool
	marker   []byte

	cur    []byte // record of curSeq, for matching
	curSeq int64

	Ints       int      // INT markers, numbered 1, 2, … in order
	Wins       [][4]int // WIN markers in order
	Cuts       int      // segments with a cut
	Lost       int      // times the exact position was given up (tiny fragments)
	Painted    int64    // record bytes painted and verified
	Dropped    int64    // bytes cut out where both ends are known
	EndRecs    int64    // from "#END…#"
	EndInts    int      //
	Trail      []byte   // output after "#END…#" (the shell)
	firstErr   error
	errContext []byte
}

// Write feeds painted bytes; the first mismatch is kept (see Err).
func (c *checker) Write(p []byte) (int, error) {
	if c.firstErr == nil {
		if err := c.feed(p); err != nil {
			c.firstErr = err
		}
	}
	return len(p), nil
}

// Err is the first mismatch, or an error if "#END…#" never came.
func (c *checker) Err() error {
	if c.firstErr != nil {
		return c.firstErr
	}
	if !c.ended {
		return fmt.Errorf("%w: no %q marker (started %v)", errScreen, "#END…#", c.started)
	}
	return nil
}

func (c *checker) fail(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errScreen}, a...)...)
}

func (c *checker) feed(p []byte) error {
	for len(p) > 0 {
		switch {
		case c.ended:
			c.Trail = append(c.Trail, p...)
			if len(c.Trail) > 1<<20 {
				c.Trail = c.Trail[len(c.Trail)-(1<<20):]
			}
			return nil
		case !c.started:
			c.pre = append(c.pre, p...)
			i := bytes.Index(c.pre, []byte(markStart))
			if i < 0 {
				if len(c.pre) > 1<<20 {
					return c.fail("no %q in 1 MiB of output", markStart)
				}
				return nil
			}
			p = c.pre[i+len(markStart):]
			c.pre = c.pre[:i]
			c.started, c.known = true, true
		case c.inMarker:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				c.marker = append(c.marker, p...)
				if len(c.marker) > 128 {
					return c.fail("marker too long: %q", c.marker)
				}
				return nil
			}
			c.marker = append(c.marker, p[:i+1]...)
			p = p[i+1:]
			c.inMarker = false
			if err := c.endSegment(c.marker); err != nil {
				return err
			}
			c.marker = c.marker[:0]
		case c.known && !c.cut:
			n, err := c.match(p)
			if err != nil {
				return err
			}
			p = p[n:]
		default: // after a cut, or position unknown: collect up to the marker
			i := bytes.IndexByte(p, '#')
			if i < 0 {
				i = len(p)
			}
			c.seg = append(c.seg, p[:i]...)
			p = p[i:]
			if !c.known && !c.cut && len(c.seg) >= headLen {
				if err := c.locateHeader(); err != nil {
					return err
				}
				continue
			}
			if len(c.seg) > maxLine {
				return c.fail("%d bytes after a cut without a marker, at %d: %q…", len(c.seg), c.cutAt, c.seg[:64])
			}
			if len(p) > 0 {
				c.inMarker = true
				c.marker = append(c.marker[:0], '#')
				p = p[1:]
			}
		}
	}
	return nil
}

// match compares p with D from pos until a marker or a mismatch; it
// returns how many bytes it consumed.
func (c *checker) match(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if p[n] == '#' {
			c.inMarker = true
			c.marker = append(c.marker[:0], '#')
			return n + 1, nil
		}
		seq, off := c.pos/recLen, int(c.pos%recLen)
		if c.cur == nil || c.curSeq != seq {
			c.cur, c.curSeq = record(c.cur[:0], seq), seq
		}
		want := c.cur[off:]
		k := 0
		for k < len(want) && n+k < len(p) && p[n+k] == want[k] {
			k++
		}
		n += k
		c.pos += int64(k)
		c.Painted += int64(k)
		if k < len(want) && n < len(p) && p[n] != '#' {
			c.cut, c.cutAt = true, c.pos
			c.seg = c.seg[:0]
			return n, nil
		}
	}
	return n, nil
}

// locateHeader ends the unknown position at a segment that starts with a
// record header (the data right after a marker).
func (c *checker) locateHeader() error {
	seq, ok := parseSeq(c.seg[:headLen], 'R', ' ')
	if !ok {
		// The segment's start was cut: collect it to the marker.
		c.cut, c.cutAt = true, c.lower
		return nil
	}
	if seq*recLen < c.lower || seq%chunkRecs != 0 {
		return c.fail("record %d painted after a marker at position ≥ %d (markers sit at chunk ends)", seq, c.lower)
	}
	if len(c.frag) > 0 && seq > 0 {
		prev := record(nil, seq-1)
		if !bytes.HasSuffix(prev, c.frag) {
			return c.fail("fragment %q before record %d is not the end of record %d", c.frag, seq, seq-1)
		}
	}
	rest := c.seg
	c.known, c.pos, c.frag = true, seq*recLen, nil
	c.seg = c.seg[:0]
	_, err := c.feedKnown(rest)
	return err
}

// feedKnown matches bytes already taken from the input.
func (c *checker) feedKnown(b []byte) (int, error) {
	b = append([]byte(nil), b...)
	n, err := c.match(b)
	if err != nil || n == len(b) {
		return n, err
	}
	if c.inMarker {
		return n, c.fail("marker inside a header")
	}
	c.seg = append(c.seg, b[n:]...)
	return len(b), nil
}

// parseSeq reads "<lead>%010d<tail>".
func parseSeq(b []byte, lead, tail byte) (int64, bool) {
	if len(b) != 12 || b[0] != lead || b[11] != tail {
		return 0, false
	}
	for _, d := range b[1:11] {
		if d < '0' || d > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b[1:11]), 10, 64)
	return n, err == nil
}

const chunkLen = recLen * chunkRecs

// endSegment checks the segment that marker m ends, then the marker.
func (c *checker) endSegment(m []byte) error {
	kind, args, err := parseMarker(m)
	if err != nil {
		return c.fail("%v", err)
	}
	flushed := kind == "INT" // only a ^C may cut a piece out
	switch {
	case c.known && !c.cut:
		if flushed { // D[P:x] painted; whatever followed up to the marker may be gone
			if c.pos%chunkLen != 0 {
				c.Cuts++
			}
			c.known, c.lower, c.frag = false, c.pos, nil
		} else if c.pos%chunkLen != 0 {
			return c.fail("marker %q at %d, not at a chunk end", m, c.pos)
		}
	case c.cut || len(c.seg) > 0:
		if !c.cut {
			c.cutAt = c.lower
		}
		if !flushed {
			return c.fail("%q at %d cut out before marker %q, with no ^C", c.seg, c.cutAt, m)
		}
		c.Cuts++
		if err := c.cutPiece(c.seg); err != nil {
			return err
		}
		c.cut, c.seg = false, c.seg[:0]
	case flushed: // position unknown, nothing painted: all of it may be gone
		c.frag = nil
	}
	switch kind {
	case "INT":
		if args[0] != c.Ints+1 {
			return c.fail("marker %q after #INT %d#", m, c.Ints)
		}
		c.Ints++
	case "WIN":
		c.Wins = append(c.Wins, [4]int{args[0], args[1], args[2], args[3]})
	case "END":
		c.EndRecs, c.EndInts, c.ended = int64(args[0]), args[1], true
		if c.known && c.pos != c.EndRecs*recLen {
			return c.fail("%q but painting ended at %d", m, c.pos)
		}
	}
	return nil
}

// cutPiece checks the bytes after a cut up to the marker: the end of the
// chunk the generator was writing when the ^C flushed, D[y:b] with b a
// chunk end and y ≥ the cut, after (only when the position was unknown)
// the start of a record header painted before the cut.
func (c *checker) cutPiece(r []byte) error {
	fromUnknown := !c.known
	var tail []byte
	var b int64
	if n := len(r); n >= trailLen && r[n-1] == '\n' {
		if seq, ok := parseSeq(r[n-trailLen:], ' ', '\n'); ok {
			b = (seq + 1) * recLen
			if b%chunkLen != 0 {
				return c.fail("piece after a cut at %d ends at record %d, not a chunk end", c.cutAt, seq)
			}
			k := matchEnd(r, seq)
			tail, r = r[n-k:], r[:n-k]
		} else if !fromUnknown {
			return c.fail("piece after a cut at %d does not end in a record trailer: …%q", c.cutAt, r[max(0, n-64):])
		}
	}
	// What is left: the start of a header (position unknown only), then
	// the end of a trailer too short to locate ("1234\n", no tail then).
	split := len(r)
	if len(tail) == 0 && len(r) > 0 && r[len(r)-1] == '\n' {
		split = len(r) - 1
		for split > 0 && r[split-1] >= '0' && r[split-1] <= '9' && len(r)-split < trailLen-1 {
			split--
		}
	}
	head, short := r[:split], r[split:]
	if len(head) > 0 {
		ok := fromUnknown && len(head) < headLen && head[0] == 'R'
		for _, d := range head[1:] {
			ok = ok && d >= '0' && d <= '9'
		}
		if !ok {
			return c.fail("stray bytes %q after a cut at %d", head, c.cutAt)
		}
	}
	if len(tail) > 0 {
		y := b - int64(len(tail))
		if y < c.cutAt+int64(len(head)) {
			return c.fail("piece after a cut at %d starts before it, at %d", c.cutAt, y)
		}
		if !fromUnknown {
			c.Dropped += y - c.cutAt
		}
		c.Painted += int64(len(tail))
		c.known, c.pos, c.frag = true, b, nil
		return nil
	}
	// Too short to locate: the next header will tell where we are.
	c.Lost++
	c.known, c.lower = false, (c.cutAt+recLen-1)/recLen*recLen
	c.frag = nil
	if len(head) == 0 {
		c.frag = append([]byte(nil), short...)
	}
	return nil
}

// matchEnd is how many bytes at the end of r equal the end of D up to the
// end of record seq.
func matchEnd(r []byte, seq int64) int {
	k := 0
	for s := seq; s >= 0 && k < len(r); s-- {
		rec := record(nil, s)
		i := len(rec) - 1
		for i >= 0 && k < len(r) && r[len(r)-1-k] == rec[i] {
			i--
			k++
		}
		if i >= 0 {
			break
		}
	}
	return k
}

// parseMarker reads "#KIND n…#\n".
func parseMarker(m []byte) (string, []int, error) {
	if len(m) < 4 || m[0] != '#' || !bytes.HasSuffix(m, []byte("#\n")) {
		return "", nil, fmt.Errorf("malformed marker %q", m)
	}
	f := bytes.Fields(m[1 : len(m)-2])
	want := map[string]int{"INT": 1, "WIN": 4, "END": 2}
	if len(f) == 0 {
		return "", nil, fmt.Errorf("malformed marker %q", m)
	}
	kind := string(f[0])
	n, ok := want[kind]
	if !ok || len(f) != n+1 {
		return "", nil, fmt.Errorf("unexpected marker %q", m)
	}
	args := make([]int, n)
	for i := range args {
		v, err := strconv.Atoi(string(f[i+1]))
		if err != nil {
			return "", nil, fmt.Errorf("malformed marker %q", m)
		}
		args[i] = v
	}
	return kind, args, nil
}
