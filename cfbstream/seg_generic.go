//go:build !amd64 || purego

package cfbstream

import "encoding/binary"

// encSeg16 encrypts one 8-byte segment with keystream ks[0:8] into dst and
// shifts the ciphertext into the 128-bit register. dst may equal src.
func encSeg16(dst, src *[8]byte, ks, reg *[16]byte) {
	x := binary.LittleEndian.Uint64(src[:]) ^ binary.LittleEndian.Uint64(ks[:8])
	binary.LittleEndian.PutUint64(dst[:], x)
	binary.LittleEndian.PutUint64(reg[0:8], binary.LittleEndian.Uint64(reg[8:16]))
	binary.LittleEndian.PutUint64(reg[8:16], x)
}

// decSeg16 shifts the ciphertext src into the register and writes
// dst = src ^ ks[0:8]. dst may equal src.
func decSeg16(dst, src *[8]byte, ks, reg *[16]byte) {
	x := binary.LittleEndian.Uint64(src[:])
	binary.LittleEndian.PutUint64(reg[0:8], binary.LittleEndian.Uint64(reg[8:16]))
	binary.LittleEndian.PutUint64(reg[8:16], x)
	binary.LittleEndian.PutUint64(dst[:], x^binary.LittleEndian.Uint64(ks[:8]))
}
