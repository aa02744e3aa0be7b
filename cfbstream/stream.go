package cfbstream

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// SegmentSize is the CFB feedback segment in bytes (s = 64 bits).
const SegmentSize = 8

// cursor is the part of the stream state that moves with every byte. It is
// a plain value so that Writer can save and restore it.
type cursor struct {
	// reg is the CFB input register. The keystream of a segment is
	// E(reg[:bs]). As soon as it is computed the register is shifted
	// (for a 16-byte block reg[0:8] = reg[8:16]) and the ciphertext bytes
	// of the segment are written into reg[tail:tail+8] as they are made.
	reg [16]byte
	ks  [16]byte // E(register) for the current segment; ks[:8] is used
	pos int      // bytes of the current segment done, 0..7; 0: ks not yet computed
	off uint64   // bytes processed since the start of the stream
}

// core is the state shared by Encrypter and Decrypter.
type core struct {
	cursor
	blk  blockEncrypter
	ni   *aesniKey // the AES-NI path (then blk == ni), or nil
	bs   int       // block size, 8 or 16
	tail int       // bs - 8: where the newest ciphertext segment sits in reg

	// Key ratchet (see rekey.go). alg is 0 for streams made from a bare
	// cipher.Block, which never rekey.
	alg  Algorithm
	key  []byte
	gen  uint64 // generation of key: number of ratchet steps taken
	next uint64 // offset at which the next ratchet step happens; MaxUint64: never
	step uint64 // ratchet interval; 0: never
}

// init sets up the state for block cipher b and IV iv.
func (c *core) init(b blockEncrypter, iv []byte) error {
	bs := b.BlockSize()
	if bs != 8 && bs != 16 {
		return fmt.Errorf("%w: got %d", ErrBlockSize, bs)
	}
	if len(iv) != bs {
		return fmt.Errorf("%w: need %d bytes, got %d", ErrIVSize, bs, len(iv))
	}
	c.blk, c.bs, c.tail = b, bs, bs-8
	copy(c.reg[:], iv)
	c.next = math.MaxUint64
	return nil
}

// start begins a segment: ratchet the key if this offset is a rekey point,
// compute the keystream and shift the register.
func (c *core) start() {
	if c.off == c.next {
		c.rekey()
	}
	c.blk.Encrypt(c.ks[:], c.reg[:])
	if c.tail == 8 {
		binary.LittleEndian.PutUint64(c.reg[0:8], binary.LittleEndian.Uint64(c.reg[8:16]))
	}
}

// fullSegments returns how many whole segments may be processed from an
// input of n bytes before the next rekey point, ratcheting first if the
// stream stands exactly on one. Requires pos == 0.
func (c *core) fullSegments(n int) int {
	if c.off == c.next {
		c.rekey()
	}
	segs := uint64(n / SegmentSize)
	if room := (c.next - c.off) / SegmentSize; room < segs {
		segs = room
	}
	return int(segs)
}

func checkBuffers(dst, src []byte) {
	if len(dst) < len(src) {
		panic("cfbstream: output smaller than input")
	}
	if len(src) == 0 {
		return
	}
	d := uintptr(unsafe.Pointer(unsafe.SliceData(dst)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	if d != s && d < s+uintptr(len(src)) && s < d+uintptr(len(src)) {
		panic("cfbstream: invalid buffer overlap")
	}
}

// Encrypter encrypts one direction of a CFB-64 stream. It implements
// cipher.Stream: XORKeyStream encrypts src into dst (which may be the same
// slice). Bytes are encrypted the moment they are passed in; a partial
// segment carries over to the next call. An Encrypter is not safe for
// concurrent use.
type Encrypter struct{ core }

// Decrypter decrypts one direction of a CFB-64 stream. It implements
// cipher.Stream: XORKeyStream decrypts src into dst (which may be the same
// slice). Not safe for concurrent use.
type Decrypter struct{ core }

var (
	_ cipher.Stream = (*Encrypter)(nil)
	_ cipher.Stream = (*Decrypter)(nil)
)

// Offset returns the number of bytes encrypted so far.
func (e *Encrypter) Offset() uint64 { return e.off }

// Generation returns how many key-ratchet steps have been taken (0 before
// the first; a step is taken with the first byte at or after its offset).
func (e *Encrypter) Generation() uint64 { return e.gen }

// BlockSize returns the underlying cipher's block size, 8 or 16.
func (e *Encrypter) BlockSize() int { return e.bs }

// Offset returns the number of bytes decrypted so far.
func (d *Decrypter) Offset() uint64 { return d.off }

// Generation returns how many key-ratchet steps have been taken.
func (d *Decrypter) Generation() uint64 { return d.gen }

// BlockSize returns the underlying cipher's block size, 8 or 16.
func (d *Decrypter) BlockSize() int { return d.bs }

// XORKeyStream encrypts src into dst. dst must be at least as long as src
// and may overlap it only exactly; otherwise it panics, as cipher.Stream
// implementations do.
func (e *Encrypter) XORKeyStream(dst, src []byte) {
	checkBuffers(dst, src)
	c := &e.core
	// Finish a partial segment.
	for c.pos != 0 && len(src) > 0 {
		x := src[0] ^ c.ks[c.pos]
		dst[0] = x
		c.reg[c.tail+c.pos] = x
		c.pos = (c.pos + 1) & 7
		c.off++
		src, dst = src[1:], dst[1:]
	}
	for len(src) >= SegmentSize {
		nb := c.fullSegments(len(src)) * SegmentSize
		if c.ni != nil {
			c.ni.encSegments(&c.reg, dst[:nb], src[:nb])
		} else {
			c.encBlocks(dst[:nb], src[:nb])
		}
		src, dst = src[nb:], dst[nb:]
		c.off += uint64(nb)
	}
	// Begin a partial segment.
	if len(src) > 0 {
		c.start()
		for i, p := range src {
			x := p ^ c.ks[i]
			dst[i] = x
			c.reg[c.tail+i] = x
		}
		c.pos = len(src)
		c.off += uint64(len(src))
	}
}

// XORKeyStream decrypts src into dst. dst must be at least as long as src
// and may overlap it only exactly; otherwise it panics, as cipher.Stream
// implementations do.
func (d *Decrypter) XORKeyStream(dst, src []byte) {
	checkBuffers(dst, src)
	c := &d.core
	for c.pos != 0 && len(src) > 0 {
		x := src[0]
		dst[0] = x ^ c.ks[c.pos]
		c.reg[c.tail+c.pos] = x
		c.pos = (c.pos + 1) & 7
		c.off++
		src, dst = src[1:], dst[1:]
	}
	for len(src) >= SegmentSize {
		nb := c.fullSegments(len(src)) * SegmentSize
		if c.ni != nil {
			c.ni.decSegments(&c.reg, dst[:nb], src[:nb])
		} else {
			c.decBlocks(dst[:nb], src[:nb])
		}
		src, dst = src[nb:], dst[nb:]
		c.off += uint64(nb)
	}
	if len(src) > 0 {
		c.start()
		for i, x := range src {
			dst[i] = x ^ c.ks[i]
			c.reg[c.tail+i] = x
		}
		c.pos = len(src)
		c.off += uint64(len(src))
	}
}

// encBlocks encrypts the whole segments of src (len(src) a multiple of 8)
// into dst with c.blk.Encrypt, one call per segment: the path for DES,
// 3DES, any cipher.Block, and AES where the AES-NI path is not used.
func (c *core) encBlocks(dst, src []byte) {
	blk := c.blk
	if c.tail == 8 {
		for len(src) >= SegmentSize {
			blk.Encrypt(c.ks[:], c.reg[:])
			encSeg16((*[8]byte)(dst), (*[8]byte)(src), &c.ks, &c.reg)
			src, dst = src[8:], dst[8:]
		}
		return
	}
	for len(src) >= SegmentSize {
		blk.Encrypt(c.ks[:], c.reg[:])
		x := binary.LittleEndian.Uint64(src[:8]) ^ binary.LittleEndian.Uint64(c.ks[:8])
		binary.LittleEndian.PutUint64(dst[:8], x)
		binary.LittleEndian.PutUint64(c.reg[0:8], x)
		src, dst = src[8:], dst[8:]
	}
}

// decBlocks is encBlocks's decrypting twin.
func (c *core) decBlocks(dst, src []byte) {
	blk := c.blk
	if c.tail == 8 {
		for len(src) >= SegmentSize {
			blk.Encrypt(c.ks[:], c.reg[:])
			decSeg16((*[8]byte)(dst), (*[8]byte)(src), &c.ks, &c.reg)
			src, dst = src[8:], dst[8:]
		}
		return
	}
	for len(src) >= SegmentSize {
		blk.Encrypt(c.ks[:], c.reg[:])
		x := binary.LittleEndian.Uint64(src[:8])
		binary.LittleEndian.PutUint64(c.reg[0:8], x)
		binary.LittleEndian.PutUint64(dst[:8], x^binary.LittleEndian.Uint64(c.ks[:8]))
		src, dst = src[8:], dst[8:]
	}
}
