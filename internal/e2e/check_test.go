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

// maxPending bounds what the checker buffers after a hole before it finds
// a whole record or a marker to continue from.
const maxPending = 64 << 10

// chunkLen is the generator's write size: markers sit at multiples of it.
const chunkLen = recLen * chunkRecs

// Holes: one ^C may leave more than one hole on the screen. The flush
// drops rlogin's queue, and rlogin also discards the terminal's output
// queue (TCFLSH), which a write still in progress refills with older
// output: that rest is painted after the first hole, then the next hole.
// Only the order and the bytes are strict; the holes are counted.

// checker follows what the client painted against the generator's output
// D (record 0, 1, 2, … back to back) with markers between chunks. Every
// painted byte outside markers must be D's, at increasing offsets, and
// only a ^C may leave holes, between the marker before it and its
// "#INT n#". Everything else must be byte-identical.
type checker struct {
	started, ended bool
	pre            []byte // output before "#START#"

	known bool  // pos is exact; else the painted data continues at a record boundary ≥ cutAt
	pos   int64 // offset in D of the next painted byte

	seg      []byte // bytes after a hole (or while !known) not yet placed
	scan     int    // seg[:scan] holds no whole record to resume from
	cut      bool   // seg is being collected
	cutAt    int64  // offset in D of the hole (a lower bound while !known)
	holes    int    // in the current segment
	inMarker bool
	marker   []byte

	cur    []byte // record of curSeq, for matching
	curSeq int64

	Ints     int      // INT markers, numbered 1, 2, … in order
	Wins     [][4]int // WIN markers in order
	Holes    int      // holes seen with both ends known
	Double   int      // ^C with more than one hole
	MaxHoles int      // most holes left by one ^C
	Lost     int      // times the exact position was given up (tiny fragments)
	Painted  int64    // record bytes painted and verified
	Dropped  int64    // bytes cut out where both ends are known
	EndRecs  int64    // from "#END…#": records written
	EndInts  int      // from "#END…#": SIGINTs seen
	Trail    []byte   // output after "#END…#" (the shell, rlogin's messages)
	firstErr error
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
		case !c.cut:
			n, err := c.match(p)
			if err != nil {
				return err
			}
			p = p[n:]
		default: // after a hole: collect up to a whole record or a marker
			i := bytes.IndexByte(p, '#')
			if i < 0 {
				i = len(p)
			}
			c.seg = append(c.seg, p[:i]...)
			p = p[i:]
			if a, seq, ok := c.anchor(); ok {
				rest := append([]byte(nil), c.seg[a:]...)
				if err := c.resume(c.seg[:a], seq*recLen); err != nil {
					return err
				}
				p = append(rest, p...)
				continue
			}
			if len(c.seg) > maxPending {
				return c.fail("%d bytes after a hole at %d with no whole record: %q…", len(c.seg), c.cutAt, c.seg[:64])
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

// match compares p with D from pos until a marker or a mismatch (a hole);
// it returns how many bytes it consumed.
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
			c.cut, c.cutAt, c.scan = true, c.pos, 0
			c.seg = c.seg[:0]
			return n, nil
		}
	}
	return n, nil
}

// anchor finds the first whole record in seg that starts a line and lies
// after the hole: painting continues from there.
func (c *checker) anchor() (int, int64, bool) {
	for j := c.scan; j+recLen <= len(c.seg); j++ {
		if j > 0 && c.seg[j-1] != '\n' {
			continue
		}
		c.scan = j + 1
		line := c.seg[j : j+recLen]
		seq, ok := parseSeq(line[:headLen], 'R', ' ')
		if ok && seq*recLen >= c.cutAt && bytes.Equal(line, record(nil, seq)) {
			return j, seq, true
		}
	}
	return 0, 0, false
}

// resume places r, the bytes between a hole and offset b of D where
// painting continues: the end of D before b, after (only when the position
// was unknown) the start of a record header painted before the hole.
func (c *checker) resume(r []byte, b int64) error {
	k := 0
	if b > 0 {
		k = matchEnd(r, b/recLen-1)
	}
	head, tail := r[:len(r)-k], r[len(r)-k:]
	y := b - int64(len(tail))
	if y < c.cutAt+int64(len(head)) {
		return c.fail("%q after a hole at %d comes from before it, %d", r, c.cutAt, y)
	}
	if err := c.checkHead(head); err != nil {
		// A piece too short to hold a whole record between two holes.
		// While the position is unknown cutAt is a lower bound, so the
		// piece must still lie, in order, between it and y.
		at, ok := findIn(head, c.cutAt, y)
		if !ok {
			return err
		}
		if c.known {
			c.Holes += 2
			c.holes += 2
			c.Dropped += at - c.cutAt + y - at - int64(len(head))
		} else {
			c.holes++
		}
		c.Painted += int64(len(head))
	} else if c.known {
		c.Holes++
		c.holes++
		c.Dropped += y - c.cutAt
	}
	c.Painted += int64(len(tail))
	c.known, c.cut, c.pos = true, false, b
	c.seg = c.seg[:0]
	return nil
}

// maxSearch bounds findIn's search.
const maxSearch = 16 << 20

// findIn finds piece in D[from:to].
func findIn(piece []byte, from, to int64) (int64, bool) {
	if len(piece) == 0 || to-from > maxSearch || to < from {
		return 0, false
	}
	base := from / recLen * recLen
	var d []byte
	for seq := base / recLen; seq*recLen < to; seq++ {
		d = record(d, seq)
	}
	d = d[:to-base]
	if i := bytes.Index(d[from-base:], piece); i >= 0 {
		return from + int64(i), true
	}
	return 0, false
}

// checkHead allows, while the position is unknown, the start of a record
// header: the record after a marker, painted up to a hole.
func (c *checker) checkHead(head []byte) error {
	if len(head) == 0 {
		return nil
	}
	ok := !c.known && head[0] == 'R'
	if ok && len(head) >= headLen { // the record after the marker, up to a hole
		seq, sok := parseSeq(head[:headLen], 'R', ' ')
		if !sok || seq*recLen < c.cutAt || !bytes.HasPrefix(record(nil, seq), head) {
			return c.fail("stray bytes %q after a hole at %d", head, c.cutAt)
		}
		c.holes++
		c.Painted += int64(len(head))
		return nil
	}
	for _, d := range head[1:] {
		ok = ok && d >= '0' && d <= '9'
	}
	if !ok {
		return c.fail("stray bytes %q after a hole at %d", head, c.cutAt)
	}
	return nil
}

// endSegment checks the segment that marker m ends, then the marker.
func (c *checker) endSegment(m []byte) error {
	kind, args, err := parseMarker(m)
	if err != nil {
		return c.fail("%v", err)
	}
	flushed := kind == "INT" // only a ^C may leave holes
	switch {
	case !c.cut:
		if flushed { // D[P:x] painted; what followed up to the marker may be gone
			if c.pos%chunkLen != 0 {
				c.Holes++
				c.holes++
			}
			c.known, c.cut, c.cutAt, c.scan = false, true, c.pos, 0
			c.seg = c.seg[:0]
		} else if c.pos%chunkLen != 0 {
			return c.fail("marker %q at %d, not at a chunk end", m, c.pos)
		}
	case len(c.seg) > 0:
		if !flushed {
			return c.fail("%q at %d cut out before marker %q, with no ^C", c.seg, c.cutAt, m)
		}
		if err := c.lastPiece(c.seg); err != nil {
			return err
		}
	}
	if c.holes > 0 && !flushed {
		return c.fail("%d holes before marker %q, with no ^C", c.holes, m)
	}
	if c.holes > 1 {
		c.Double++
	}
	c.MaxHoles = max(c.MaxHoles, c.holes)
	c.holes = 0
	switch kind {
	case "INT":
		// The generator writes each INT marker again a little later (the
		// first may be flushed by its own ^C): a repeat of the last is
		// fine, and the holes before it belong to that ^C.
		switch args[0] {
		case c.Ints + 1:
			c.Ints++
		case c.Ints:
			if c.Ints == 0 {
				return c.fail("marker %q before any ^C", m)
			}
		default:
			return c.fail("marker %q after #INT %d#", m, c.Ints)
		}
	case "WIN":
		c.Wins = append(c.Wins, [4]int{args[0], args[1], args[2], args[3]})
	case "END":
		c.EndRecs, c.EndInts, c.ended = int64(args[0]), args[1], true
		if !c.known && len(c.seg) == 0 && c.EndRecs*recLen >= c.cutAt { // nothing after the last marker
			c.known, c.cut, c.pos = true, false, c.EndRecs*recLen
		}
		if !c.known || c.pos != c.EndRecs*recLen {
			return c.fail("%q but painting ended at %d (exact %v)", m, c.pos, c.known)
		}
	}
	return nil
}

// lastPiece places the bytes after a hole up to an INT marker: D up to
// the chunk end b where the marker was written (found from the last
// record's trailer), after the start of a header while the position was
// unknown; too short to locate, the position stays unknown.
func (c *checker) lastPiece(r []byte) error {
	n := len(r)
	if n >= trailLen && r[n-1] == '\n' {
		if seq, ok := parseSeq(r[n-trailLen:], ' ', '\n'); ok {
			b := (seq + 1) * recLen
			if b%chunkLen != 0 {
				return c.fail("piece after a hole at %d ends at record %d, not at a chunk end", c.cutAt, seq)
			}
			return c.resume(r, b)
		}
	}
	// The start of a header and/or the end of a trailer ("1234\n").
	split := n
	if n > 0 && r[n-1] == '\n' {
		split = n - 1
		for split > 0 && r[split-1] >= '0' && r[split-1] <= '9' && n-split < trailLen-1 {
			split--
		}
	}
	head, short := r[:split], r[split:]
	if err := c.checkHead(head); err != nil {
		// A piece too short to hold a whole record between two holes.
		at, ok := findIn(head, c.cutAt, c.cutAt+maxSearch)
		if !ok {
			return err
		}
		c.Holes++
		c.holes++
		c.Painted += int64(len(head))
		c.cutAt = at + int64(len(head))
	}
	if c.known {
		c.Holes++
		c.holes++
	}
	c.Lost++
	c.known, c.cutAt = false, (c.cutAt+recLen-1)/recLen*recLen
	_ = short // a trailer's end: digits and "\n", checked by the split
	c.seg, c.scan = c.seg[:0], 0
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
