package cfbstream

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestSbox pins S-box entries from FIPS 197 Figure 7 (and the §5.1.1
// example S(53) = ed), so the computed table cannot drift unnoticed.
func TestSbox(t *testing.T) {
	for in, want := range map[byte]byte{0x00: 0x63, 0x01: 0x7c, 0x53: 0xed, 0x10: 0xca, 0x8d: 0x5d, 0xff: 0x16} {
		if got := aesSbox[in]; got != want {
			t.Errorf("S(%02x) = %02x, want %02x", in, got, want)
		}
	}
	var seen [256]bool
	for _, v := range aesSbox {
		if seen[v] {
			t.Fatalf("S-box is not a permutation: %02x twice", v)
		}
		seen[v] = true
	}
	if want := [...]byte{0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36}; !bytes.Equal(aesRcon[:len(want)], want[:]) {
		t.Errorf("Rcon = %x, want %x", aesRcon[:len(want)], want)
	}
}

// TestExpandAESKeyFIPS197 checks words of the key expansion examples in
// FIPS 197 Appendix A.1 (AES-128) and A.3 (AES-256).
func TestExpandAESKeyFIPS197(t *testing.T) {
	for _, tc := range []struct {
		key    string
		rounds int
		words  map[int]string // word index → expected value
	}{
		{"2b7e151628aed2a6abf7158809cf4f3c", 10, map[int]string{
			0: "2b7e1516", 4: "a0fafe17", 5: "88542cb1", 6: "23a33939", 7: "2a6c7605",
			40: "d014f9a8", 41: "c9ee2589", 42: "e13f0cc8", 43: "b6630ca6"}},
		{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 14, map[int]string{
			7: "0914dff4", 8: "9ba35411", 9: "8e6925af", 10: "a51a8b5f", 11: "2067fcde", 12: "a8b09c1a",
			56: "fe4890d1", 57: "e6188d0b", 58: "046df344", 59: "706c631e"}},
	} {
		key, _ := hex.DecodeString(tc.key)
		var rk [aesScheduleLen]byte
		for i := range rk {
			rk[i] = 0xee // must be overwritten or zeroed
		}
		if nr := expandAESKey(&rk, key); nr != tc.rounds {
			t.Fatalf("%d-byte key: %d rounds, want %d", len(key), nr, tc.rounds)
		}
		for i, w := range tc.words {
			if got := hex.EncodeToString(rk[4*i : 4*i+4]); got != w {
				t.Errorf("%d-byte key: w[%d] = %s, want %s", len(key), i, got, w)
			}
		}
		if end := 16 * (tc.rounds + 1); !bytes.Equal(rk[end:], make([]byte, len(rk)-end)) {
			t.Errorf("%d-byte key: bytes after the schedule not zeroed", len(key))
		}
	}
}

// refEncrypt is a deliberately plain AES encryption (FIPS 197 §5.1) over
// an expandAESKey schedule, so the schedule can be checked against
// crypto/aes on every architecture.
func refEncrypt(rk *[aesScheduleLen]byte, nr int, in []byte) []byte {
	s := bytes.Clone(in)
	addRoundKey := func(r int) {
		for i := range s {
			s[i] ^= rk[16*r+i]
		}
	}
	addRoundKey(0)
	for r := 1; r <= nr; r++ {
		for i := range s {
			s[i] = aesSbox[s[i]]
		}
		// ShiftRows: byte (row, col) sits at s[4*col+row].
		t := bytes.Clone(s)
		for col := range 4 {
			for row := range 4 {
				s[4*col+row] = t[4*((col+row)%4)+row]
			}
		}
		if r != nr {
			for col := range 4 {
				a := s[4*col : 4*col+4]
				a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
				a[0] = gfMul(a0, 2) ^ gfMul(a1, 3) ^ a2 ^ a3
				a[1] = a0 ^ gfMul(a1, 2) ^ gfMul(a2, 3) ^ a3
				a[2] = a0 ^ a1 ^ gfMul(a2, 2) ^ gfMul(a3, 3)
				a[3] = gfMul(a0, 3) ^ a1 ^ a2 ^ gfMul(a3, 2)
			}
		}
		addRoundKey(r)
	}
	return s
}

// TestAESBlockAgainstStdlib: random keys and blocks, both key sizes: the
// reference AES over our schedule and (where available) the AES-NI single
// block agree with crypto/aes, and crypto/aes decrypts what they produce.
func TestAESBlockAgainstStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, klen := range []int{16, 32} {
		for trial := range 200 {
			key, pt := randBytesInternal(r, klen), randBytesInternal(r, 16)
			std, err := aes.NewCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, 16)
			std.Encrypt(want, pt)
			k := newAESNIKey(key)
			if got := refEncrypt(&k.rk, k.rounds, pt); !bytes.Equal(got, want) {
				t.Fatalf("key %x: reference AES over our schedule %x, crypto/aes %x", key, got, want)
			}
			if !haveAESNI {
				continue
			}
			got := make([]byte, 16)
			k.Encrypt(got, pt)
			if !bytes.Equal(got, want) {
				t.Fatalf("trial %d key %x pt %x: AES-NI %x, crypto/aes %x", trial, key, pt, got, want)
			}
			back := make([]byte, 16)
			std.Decrypt(back, got)
			if !bytes.Equal(back, pt) {
				t.Fatalf("crypto/aes does not decrypt the AES-NI block back")
			}
		}
	}
	if !haveAESNI {
		t.Log("no AES-NI in this build/CPU: checked the key schedule through the reference AES only")
	}
}

func randBytesInternal(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
