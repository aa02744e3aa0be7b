package cfbstream

import "crypto/fips140"

// The AES-NI path (amd64): CFB-64 over AES-128 and AES-256 in assembly
// (aesni_amd64.s) that keeps the 128-bit register in a vector register
// across segments, with round keys from expandAESKey. Streams made by
// NewEncrypter, NewDecrypter and NewPair use it when the CPU has AES-NI,
// the build is not purego, and Go's FIPS 140 module is off
// (crypto/fips140.Enabled); otherwise they use crypto/aes.

// aesniDisabled turns the AES-NI path off for streams made afterwards. Only
// tests set it (export_test.go), to run the whole suite on the crypto/aes
// path as well.
var aesniDisabled bool

// useAESNI reports whether a new stream for alg uses the AES-NI path.
func useAESNI(alg Algorithm) bool {
	return (alg == AES128 || alg == AES256) && haveAESNI && !aesniDisabled && !fips140.Enabled()
}

// blockEncrypter is the part of cipher.Block that CFB needs: the
// keystream only ever comes from the forward cipher.
type blockEncrypter interface {
	BlockSize() int
	Encrypt(dst, src []byte)
}

// aesniBlockSize is the AES block size in bytes.
const aesniBlockSize = 16

// aesniKey is an AES encryption key schedule for the AES-NI path. It lives
// in the stream, and a ratchet step overwrites it in place.
type aesniKey struct {
	rk     [aesScheduleLen]byte // round keys 0..rounds, 16 bytes each
	rounds int                  // Nr: 10 (AES-128) or 14 (AES-256)
}

// newAESNIKey expands a 16- or 32-byte key (the caller checks the length).
func newAESNIKey(key []byte) *aesniKey {
	k := new(aesniKey)
	k.setKey(key)
	return k
}

// setKey zeroes the old schedule and expands key in its place.
func (k *aesniKey) setKey(key []byte) { k.rounds = expandAESKey(&k.rk, key) }

// BlockSize returns 16.
func (k *aesniKey) BlockSize() int { return aesniBlockSize }

// Encrypt encrypts one block: the keystream of a segment that starts as a
// partial one (whole segments go through encSegments and decSegments).
func (k *aesniKey) Encrypt(dst, src []byte) {
	aesniEncryptBlock(&k.rk, k.rounds, (*[aesniBlockSize]byte)(dst), (*[aesniBlockSize]byte)(src))
}

// encSegments encrypts the whole segments of src into dst (len(src) a
// multiple of 8, dst at least as long, equal or not overlapping),
// advancing the register reg.
func (k *aesniKey) encSegments(reg *[16]byte, dst, src []byte) {
	if n := len(src) / SegmentSize; n > 0 {
		_ = dst[len(src)-1]
		aesniEncCFB64(&k.rk, k.rounds, reg, &dst[0], &src[0], n)
	}
}

// decSegments is encSegments's decrypting twin.
func (k *aesniKey) decSegments(reg *[16]byte, dst, src []byte) {
	if n := len(src) / SegmentSize; n > 0 {
		_ = dst[len(src)-1]
		aesniDecCFB64(&k.rk, k.rounds, reg, &dst[0], &src[0], n)
	}
}
