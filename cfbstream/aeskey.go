package cfbstream

import (
	"fmt"
	"math/bits"
)

// AES key expansion (FIPS 197 §5.2), written from the standard for the
// AES-NI path (aesni_amd64.s), which takes the encryption round keys in the
// byte order of the expanded key: round key r is w[4r]‖w[4r+1]‖w[4r+2]‖w[4r+3],
// each word's bytes in order.

// AES parameters (FIPS 197 §2.2, §4.2, §5.1.1 and Figure 4,
// "Key-Block-Round Combinations").
const (
	aesNb          = 4                              // words per block
	aesWordBytes   = 4                              // bytes per word
	aesRounds128   = 10                             // Nr for AES-128 (Nk = 4)
	aesRounds256   = 14                             // Nr for AES-256 (Nk = 8)
	aesScheduleLen = (aesRounds256 + 1) * aesNb * 4 // bytes in the longest key schedule (240)
	aesRconCount   = (aesRounds128+1)*aesNb/4 + 1   // Rcon[1..i/Nk] for the shortest Nk (4)
	aesPoly        = 0x11b                          // m(x) = x^8 + x^4 + x^3 + x + 1, §4.2
	aesAffineConst = 0x63                           // c of the S-box affine transformation, §5.1.1
	aesGenerator   = 0x03                           // x + 1, a generator of GF(2^8)*, for log tables
)

// aesSbox is the S-box of FIPS 197 §5.1.1 (Figure 7), computed at start-up
// from its definition: the multiplicative inverse in GF(2^8) followed by
// the affine transformation.
var aesSbox = makeSbox()

// aesRcon[i] is the round constant word Rcon[i] = [x^(i-1), 0, 0, 0] of
// FIPS 197 §5.2; only the first byte is stored.
var aesRcon = makeRcon()

// gfMul multiplies in GF(2^8) modulo aesPoly (FIPS 197 §4.2).
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		a = xtime(a)
		b >>= 1
	}
	return p
}

// xtime multiplies by x (FIPS 197 §4.2.1).
func xtime(a byte) byte {
	if a&0x80 != 0 {
		return byte(uint16(a)<<1 ^ aesPoly)
	}
	return a << 1
}

func makeSbox() [256]byte {
	// exp[i] = g^i and log[g^i] = i for the generator g = x + 1; the
	// inverse of a ≠ 0 is g^(255 - log a), and 0 maps to 0.
	var exp, log [256]byte
	x := byte(1)
	for i := range 255 {
		exp[i] = x
		log[x] = byte(i)
		x = gfMul(x, aesGenerator)
	}
	var s [256]byte
	for a := range 256 {
		var inv byte
		if a != 0 {
			inv = exp[(255-int(log[a]))%255]
		}
		// b'_i = b_i ⊕ b_(i+4) ⊕ b_(i+5) ⊕ b_(i+6) ⊕ b_(i+7) ⊕ c_i (indices
		// mod 8): as rotations, b ⊕ rotl(b,1) ⊕ rotl(b,2) ⊕ rotl(b,3) ⊕ rotl(b,4).
		s[a] = inv ^ bits.RotateLeft8(inv, 1) ^ bits.RotateLeft8(inv, 2) ^
			bits.RotateLeft8(inv, 3) ^ bits.RotateLeft8(inv, 4) ^ aesAffineConst
	}
	return s
}

func makeRcon() [aesRconCount]byte {
	var r [aesRconCount]byte
	x := byte(1)
	for i := 1; i < len(r); i++ {
		r[i] = x
		x = xtime(x)
	}
	return r
}

// expandAESKey writes the encryption key schedule of key (16 or 32 bytes)
// into rk and returns the number of rounds Nr (FIPS 197 §5.2, KeyExpansion).
// It panics on any other key length (callers check it). The schedule is
// built in rk itself, so no copy of key material is left elsewhere.
func expandAESKey(rk *[aesScheduleLen]byte, key []byte) int {
	nk := len(key) / aesWordBytes
	var nr int
	switch len(key) {
	case 16:
		nr = aesRounds128
	case 32:
		nr = aesRounds256
	default:
		panic(fmt.Sprintf("cfbstream: internal error: AES key of %d bytes", len(key)))
	}
	clear(rk[:])
	copy(rk[:], key)
	words := aesNb * (nr + 1)
	for i := nk; i < words; i++ {
		prev := rk[aesWordBytes*(i-1) : aesWordBytes*i]
		t := [aesWordBytes]byte{prev[0], prev[1], prev[2], prev[3]}
		switch {
		case i%nk == 0:
			// SubWord(RotWord(temp)) xor Rcon[i/Nk]
			t = [aesWordBytes]byte{aesSbox[t[1]] ^ aesRcon[i/nk], aesSbox[t[2]], aesSbox[t[3]], aesSbox[t[0]]}
		case nk > 6 && i%nk == 4:
			t = [aesWordBytes]byte{aesSbox[t[0]], aesSbox[t[1]], aesSbox[t[2]], aesSbox[t[3]]}
		}
		back := rk[aesWordBytes*(i-nk):]
		w := rk[aesWordBytes*i:]
		for j := range aesWordBytes {
			w[j] = back[j] ^ t[j]
		}
		clear(t[:])
	}
	return nr
}
