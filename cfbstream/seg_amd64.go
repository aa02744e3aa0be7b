//go:build amd64 && !purego

package cfbstream

// encSeg16 encrypts one 8-byte segment with keystream ks[0:8] into dst and
// shifts the ciphertext into the 128-bit register with a single 16-byte
// store (see seg_amd64.s for why). dst may equal src.
//
//go:noescape
func encSeg16(dst, src *[8]byte, ks, reg *[16]byte)

// decSeg16 is encSeg16's decrypting twin: the ciphertext src is shifted
// into the register and dst = src ^ ks[0:8]. dst may equal src.
//
//go:noescape
func decSeg16(dst, src *[8]byte, ks, reg *[16]byte)
