package cfbstream_test

import (
	"bytes"
	"crypto/cipher"
	"math/rand/v2"
	"testing"

	"github.com/krx-suite/krx/cfbstream"
)

var allAlgs = []cfbstream.Algorithm{cfbstream.DES, cfbstream.TripleDES, cfbstream.AES128, cfbstream.AES256}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// chunked runs s over src in pieces whose lengths come from sizes
// (cycled), into a fresh buffer, or in place when inPlace is set.
func chunked(s cipher.Stream, src []byte, sizes []int, inPlace bool) []byte {
	out := make([]byte, len(src))
	if inPlace {
		copy(out, src)
	}
	for i, k := 0, 0; i < len(src); k++ {
		n := min(sizes[k%len(sizes)], len(src)-i)
		if inPlace {
			s.XORKeyStream(out[i:i+n], out[i:i+n])
		} else {
			s.XORKeyStream(out[i:i+n], src[i:i+n])
		}
		i += n
	}
	return out
}

func randSizes(r *rand.Rand) []int {
	sizes := make([]int, 1+r.IntN(20))
	for i := range sizes {
		switch r.IntN(4) {
		case 0:
			sizes[i] = 1 + r.IntN(8)
		case 1:
			sizes[i] = 1 + r.IntN(40)
		case 2:
			sizes[i] = 8 * (1 + r.IntN(8))
		default:
			sizes[i] = 1 + r.IntN(3000)
		}
	}
	return sizes
}

func newPairFor(t testing.TB, a cfbstream.Algorithm, key, iv []byte, opts ...cfbstream.Option) (*cfbstream.Encrypter, *cfbstream.Decrypter) {
	t.Helper()
	enc, err := cfbstream.NewEncrypter(a, key, iv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := cfbstream.NewDecrypter(a, key, iv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return enc, dec
}

// TestRoundTripChunkings encrypts with one random chunking and decrypts
// with another; the ciphertext must not depend on the chunking.
func TestRoundTripChunkings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, a := range allAlgs {
		for trial := 0; trial < 40; trial++ {
			key, iv := randBytes(r, a.KeySize()), randBytes(r, a.BlockSize())
			pt := randBytes(r, r.IntN(5000))
			var opts []cfbstream.Option
			if trial%2 == 1 {
				opts = append(opts, cfbstream.WithRekeyInterval(uint64(8*(1+r.IntN(64)))))
			}
			encRef, _ := newPairFor(t, a, key, iv, opts...)
			ref := make([]byte, len(pt))
			encRef.XORKeyStream(ref, pt)

			enc, dec := newPairFor(t, a, key, iv, opts...)
			ct := chunked(enc, pt, randSizes(r), trial%3 == 0)
			if !bytes.Equal(ct, ref) {
				t.Fatalf("%v trial %d: ciphertext depends on chunking", a, trial)
			}
			got := chunked(dec, ct, randSizes(r), trial%3 == 1)
			if !bytes.Equal(got, pt) {
				t.Fatalf("%v trial %d: round trip failed", a, trial)
			}
			if len(pt) > 0 && bytes.Equal(ct, pt) {
				t.Fatalf("%v trial %d: ciphertext equals plaintext", a, trial)
			}
			if enc.Offset() != uint64(len(pt)) || dec.Offset() != uint64(len(pt)) {
				t.Fatalf("offsets %d/%d, want %d", enc.Offset(), dec.Offset(), len(pt))
			}
		}
	}
}

// TestErrorPropagation: CFB-64 garbles the damaged segment and the next
// whole segment only (8 bytes for 64-bit blocks, 16 for AES), then
// recovers. Shows the decrypter feeds back ciphertext, not plaintext.
func TestErrorPropagation(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, a := range allAlgs {
		key, iv := randBytes(r, a.KeySize()), randBytes(r, a.BlockSize())
		enc, dec := newPairFor(t, a, key, iv)
		pt := randBytes(r, 200)
		ct := make([]byte, len(pt))
		enc.XORKeyStream(ct, pt)
		ct[43] ^= 0x01 // segment 5
		got := make([]byte, len(ct))
		dec.XORKeyStream(got, ct)
		if got[43] != pt[43]^0x01 {
			t.Errorf("%v: flipped bit not flipped in plaintext", a)
		}
		lastBad := 48 + a.BlockSize() // segment 5 ends at 48; the register holds bs/8 segments
		if !bytes.Equal(got[:43], pt[:43]) || !bytes.Equal(got[lastBad:], pt[lastBad:]) {
			t.Errorf("%v: error spread beyond [43,%d)", a, lastBad)
		}
		if bytes.Equal(got[48:lastBad], pt[48:lastBad]) {
			t.Errorf("%v: following segment(s) not affected; register not fed from ciphertext", a)
		}
	}
}

func TestConstructorErrors(t *testing.T) {
	for _, a := range allAlgs {
		if _, err := cfbstream.NewEncrypter(a, make([]byte, a.KeySize()+1), make([]byte, a.BlockSize())); err == nil {
			t.Errorf("%v: long key accepted", a)
		}
		if _, err := cfbstream.NewDecrypter(a, make([]byte, a.KeySize()), make([]byte, a.BlockSize()-1)); err == nil {
			t.Errorf("%v: short IV accepted", a)
		}
		if _, err := cfbstream.NewEncrypter(a, make([]byte, a.KeySize()), make([]byte, a.BlockSize()), cfbstream.WithRekeyInterval(12)); err == nil {
			t.Errorf("%v: rekey interval 12 accepted", a)
		}
		if _, err := cfbstream.NewEncrypter(a, make([]byte, a.KeySize()), make([]byte, a.BlockSize()), cfbstream.WithRekeyInterval(0)); err == nil {
			t.Errorf("%v: rekey interval 0 accepted", a)
		}
	}
	if _, err := cfbstream.NewEncrypter(cfbstream.Algorithm(99), make([]byte, 16), make([]byte, 16)); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if _, err := cfbstream.NewBlockEncrypter(fakeBlock(32), make([]byte, 32)); err == nil {
		t.Error("32-byte block accepted")
	}
}

type fakeBlock int

func (f fakeBlock) BlockSize() int          { return int(f) }
func (f fakeBlock) Encrypt(dst, src []byte) { copy(dst, src[:f]) }
func (f fakeBlock) Decrypt(dst, src []byte) { copy(dst, src[:f]) }

func TestBufferMisuse(t *testing.T) {
	enc, _ := newPairFor(t, cfbstream.AES128, make([]byte, 16), make([]byte, 16))
	mustPanic(t, "short dst", func() { enc.XORKeyStream(make([]byte, 3), make([]byte, 4)) })
	buf := make([]byte, 32)
	mustPanic(t, "inexact overlap", func() { enc.XORKeyStream(buf[1:17], buf[0:16]) })
	enc.XORKeyStream(buf, buf) // exact overlap is fine
	enc.XORKeyStream(nil, nil)
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

// TestZeroAllocs: steady-state XORKeyStream allocates nothing.
func TestZeroAllocs(t *testing.T) {
	for _, a := range allAlgs {
		enc, dec := newPairFor(t, a, make([]byte, a.KeySize()), make([]byte, a.BlockSize()))
		buf := make([]byte, 1000)
		if n := testing.AllocsPerRun(50, func() {
			enc.XORKeyStream(buf, buf)
			enc.XORKeyStream(buf[:3], buf[:3])
			dec.XORKeyStream(buf, buf)
			dec.XORKeyStream(buf[:1], buf[:1])
		}); n != 0 {
			t.Errorf("%v: %v allocs per run", a, n)
		}
	}
}

// FuzzRoundTrip: any plaintext, any two chunkings (derived from the seed
// bytes), any of the four ciphers: decrypt(encrypt(p)) == p, and the
// ciphertext does not depend on the chunking.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0), []byte("Now is the time for all "), []byte{1, 2, 3}, []byte{8})
	f.Add(uint8(1), []byte{}, []byte{}, []byte{})
	f.Add(uint8(2), bytes.Repeat([]byte{0xff}, 100), []byte{7, 9}, []byte{1})
	f.Add(uint8(3), bytes.Repeat([]byte("krx"), 700), []byte{255, 1, 16}, []byte{5, 250})
	f.Add(uint8(7), []byte("x"), []byte{0}, []byte{0, 0})
	f.Fuzz(func(t *testing.T, sel uint8, pt, sizesA, sizesB []byte) {
		a := allAlgs[int(sel)%len(allAlgs)]
		var opts []cfbstream.Option
		if sel&4 != 0 {
			opts = append(opts, cfbstream.WithRekeyInterval(16))
		}
		key := bytes.Repeat([]byte{sel | 1, 0x5a}, 16)[:a.KeySize()]
		iv := bytes.Repeat([]byte{0xa5, sel}, 8)[:a.BlockSize()]
		conv := func(b []byte) []int {
			s := []int{len(pt) + 1}
			for _, x := range b {
				s = append(s, int(x)+1)
			}
			if len(s) > 1 {
				s = s[1:]
			}
			return s
		}
		refEnc, _ := newPairFor(t, a, key, iv, opts...)
		ref := make([]byte, len(pt))
		refEnc.XORKeyStream(ref, pt)
		enc, dec := newPairFor(t, a, key, iv, opts...)
		ct := chunked(enc, pt, conv(sizesA), len(sizesA)%2 == 0)
		if !bytes.Equal(ct, ref) {
			t.Fatalf("%v: ciphertext depends on chunking", a)
		}
		if got := chunked(dec, ct, conv(sizesB), len(sizesB)%2 == 1); !bytes.Equal(got, pt) {
			t.Fatalf("%v: round trip failed", a)
		}
	})
}
