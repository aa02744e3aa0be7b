package krbauth

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// checkCCacheBytes walks a FILE ccache (MIT format versions 3 and 4) the
// way gokrb5's parser does, checking every length and count against the
// bytes that remain. gokrb5 allocates whatever a count says before looking
// at the data, so a corrupt cache could exhaust memory — a fatal error no
// recover catches; only caches that pass this walk are handed to it.
func checkCCacheBytes(b []byte) error {
	w := ccWalk{b: b}
	if len(b) < 2 || b[0] != 5 {
		return errors.New("not a credentials cache (bad magic)")
	}
	w.ver, w.p = b[1], 2
	if w.ver != 3 && w.ver != 4 {
		return fmt.Errorf("credentials cache format version %d not supported (only 3 and 4)", w.ver)
	}
	if w.ver == 4 {
		hl := int(w.u16())
		// Same loop condition as gokrb5's parseHeader.
		for w.err == nil && w.p <= hl {
			w.u16()
			w.skip(int(w.u16()))
		}
	}
	w.principal()
	for w.err == nil && w.p < len(b) {
		w.principal()
		w.principal()
		w.u16()
		if w.ver == 3 {
			w.u16()
		}
		w.data()
		w.skip(4*4 + 1 + 4) // times, is_skey, ticket flags
		for range 2 {       // addresses, then authdata: u16 type + data each
			n := w.count(6)
			for i := 0; i < n && w.err == nil; i++ {
				w.u16()
				w.data()
			}
		}
		w.data()
		w.data()
	}
	return w.err
}

type ccWalk struct {
	b   []byte
	p   int
	ver byte
	err error
}

func (w *ccWalk) need(n int) bool {
	if w.err == nil && (n < 0 || n > len(w.b)-w.p) {
		w.err = fmt.Errorf("credentials cache truncated or corrupt at byte %d", w.p)
	}
	return w.err == nil
}

func (w *ccWalk) skip(n int) {
	if w.need(n) {
		w.p += n
	}
}

func (w *ccWalk) u16() uint16 {
	if !w.need(2) {
		return 0
	}
	w.p += 2
	return binary.BigEndian.Uint16(w.b[w.p-2:])
}

func (w *ccWalk) u32() uint32 {
	if !w.need(4) {
		return 0
	}
	w.p += 4
	return binary.BigEndian.Uint32(w.b[w.p-4:])
}

// count reads a u32 count of items of at least min bytes each.
func (w *ccWalk) count(min int) int {
	n := w.u32()
	if w.err == nil && uint64(n)*uint64(min) > uint64(len(w.b)-w.p) {
		w.err = fmt.Errorf("credentials cache count %d at byte %d exceeds the file", n, w.p-4)
		return 0
	}
	return int(n)
}

func (w *ccWalk) data() { w.skip(w.count(1)) }

func (w *ccWalk) principal() {
	w.u32() // name type
	n := w.count(4)
	w.data() // realm
	for i := 0; i < n && w.err == nil; i++ {
		w.data()
	}
}
