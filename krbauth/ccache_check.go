package krbauth

// A bounds check of the FILE ccache layout (see ccache_write.go) before
// gokrb5's credentials.CCache.Unmarshal sees the bytes: that parser trusts
// every length and count, so a damaged or hostile file makes it index out
// of range (a panic) or allocate gigabytes (a fatal, unrecoverable "out of
// memory" that kills the process).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrCCacheFormat reports a credential cache file that is not a
// well-formed version 3 or 4 FILE ccache.
var ErrCCacheFormat = errors.New("krbauth: malformed credential cache")

// MaxCCacheSize is the largest ccache file krbauth reads (MIT's caches
// of one user's tickets are a few KiB).
const MaxCCacheSize = 16 << 20

// ccHeaderTagKDCOffset is the only v4 header tag MIT writes (cc_file.c
// FCC_TAG_DELTATIME), always 8 bytes long.
const ccHeaderTagKDCOffset = 1

// ValidateCCache checks that b is a FILE ccache of format version 3 or 4
// whose every length and count fits inside b, with v4 header tags exactly
// as gokrb5 accepts them — after which gokrb5's parser can neither panic
// nor allocate more than len(b).
func ValidateCCache(b []byte) error {
	r := ccReader{b: b}
	if r.u8() != 5 {
		return fmt.Errorf("%w: not a ccache (first byte is not 5)", ErrCCacheFormat)
	}
	ver := r.u8()
	if r.err != nil || (ver != 3 && ver != 4) {
		return fmt.Errorf("%w: format version 5.%d (only 5.3 and 5.4 are read)", ErrCCacheFormat, ver)
	}
	if ver == 4 {
		hl := int(r.u16())
		end := r.off + hl
		for r.err == nil && r.off < end {
			tag, l := r.u16(), int(r.u16())
			if tag != ccHeaderTagKDCOffset || l != 8 {
				return fmt.Errorf("%w: header tag %d of length %d", ErrCCacheFormat, tag, l)
			}
			r.skip(l)
		}
		if r.err == nil && r.off != end {
			return fmt.Errorf("%w: header fields overrun the header length %d", ErrCCacheFormat, hl)
		}
	}
	r.principal()
	for n := 0; r.err == nil && r.off < len(b); n++ {
		r.principal() // client
		r.principal() // server
		r.u16()       // enctype
		if ver == 3 {
			r.u16() // repeated in version 3
		}
		r.data()      // key
		r.skip(4 * 4) // authtime, starttime, endtime, renew-till
		r.skip(1)     // is-skey
		r.skip(4)     // ticket flags
		for i, c := 0, r.count(6); i < c && r.err == nil; i++ {
			r.u16() // address type
			r.data()
		}
		for i, c := 0, r.count(6); i < c && r.err == nil; i++ {
			r.u16() // authdata type
			r.data()
		}
		r.data() // ticket
		r.data() // second ticket
		if r.err != nil {
			return fmt.Errorf("%w: credential %d: %v", ErrCCacheFormat, n+1, r.err)
		}
	}
	if r.err != nil {
		return fmt.Errorf("%w: %v", ErrCCacheFormat, r.err)
	}
	return nil
}

// ccReader walks b; the first overrun sets err and later reads are no-ops.
type ccReader struct {
	b   []byte
	off int
	err error
}

func (r *ccReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = fmt.Errorf("%d bytes needed at offset %d, %d left", n, r.off, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *ccReader) skip(n int) { r.take(n) }

func (r *ccReader) u8() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *ccReader) u16() uint16 {
	if p := r.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *ccReader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// count reads a u32 count of items of at least min bytes each; a count
// the rest of the file cannot hold is an error.
func (r *ccReader) count(min int) int {
	c := r.u32()
	if r.err == nil && uint64(c)*uint64(min) > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("count %d at offset %d exceeds the file", c, r.off-4)
		return 0
	}
	return int(c)
}

func (r *ccReader) data() { r.skip(int(min(r.u32(), uint32(len(r.b)+1)))) }

func (r *ccReader) principal() {
	r.u32() // name type
	n := r.count(4)
	r.data() // realm
	for i := 0; i < n && r.err == nil; i++ {
		r.data()
	}
}

// ccReadFile reads a ccache file of at most MaxCCacheSize bytes and
// validates it.
func ccReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCCacheSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxCCacheSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCCacheFormat, path, MaxCCacheSize)
	}
	if err := ValidateCCache(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
