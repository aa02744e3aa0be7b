package cfbstream_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/krx-suite/krx/cfbstream"
)

// modelEncrypt is an independent, deliberately naive CFB-64 with the
// ratchet exactly as doc.go describes it: segment j (bytes 8j…8j+7) uses
// key generation g = floor(8j / interval); K[g] = HKDF-Expand(SHA-256,
// K[g-1], "krx cfbstream rekey" || 0x00 || uint64be(g), len(K)) with odd
// DES parity for 64-bit ciphers; the register carries over.
func modelEncrypt(t *testing.T, a cfbstream.Algorithm, key, iv []byte, interval uint64, pt []byte) []byte {
	t.Helper()
	reg := bytes.Clone(iv)
	k := bytes.Clone(key)
	gen := uint64(0)
	blk, err := a.NewBlock(k)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 0, len(pt))
	for j := 0; 8*j < len(pt); j++ {
		for interval != 0 && uint64(8*j)/interval > gen {
			gen++
			info := append([]byte("krx cfbstream rekey\x00"), binary.BigEndian.AppendUint64(nil, gen)...)
			k, err = hkdf.Expand(sha256.New, k, string(info), len(k))
			if err != nil {
				t.Fatal(err)
			}
			if a.BlockSize() == 8 {
				for i := range k {
					if bits.OnesCount8(k[i])%2 == 0 {
						k[i] ^= 1
					}
				}
			}
			if blk, err = a.NewBlock(k); err != nil {
				t.Fatal(err)
			}
		}
		ks := make([]byte, a.BlockSize())
		blk.Encrypt(ks, reg)
		seg := pt[8*j : min(8*j+8, len(pt))]
		c := make([]byte, len(seg))
		for i := range seg {
			c[i] = seg[i] ^ ks[i]
		}
		out = append(out, c...)
		if len(c) == 8 {
			reg = append(reg[8:], c...)
		}
	}
	return out
}

// TestRatchetMatchesModel checks the ratchet against the documented
// derivation, for every cipher, with writes that straddle the rekey
// points in many ways.
func TestRatchetMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const interval = 64
	patterns := [][]int{{1}, {7, 9}, {9, 7}, {3}, {8}, {63, 2}, {64}, {65}, {5, 11, 8, 13}, {200}}
	for _, a := range allAlgs {
		key, iv := randBytes(r, a.KeySize()), randBytes(r, a.BlockSize())
		pt := randBytes(r, 5*interval+13)
		want := modelEncrypt(t, a, key, iv, interval, pt)
		for _, p := range patterns {
			enc, dec := newPairFor(t, a, key, iv, cfbstream.WithRekeyInterval(interval))
			ct := chunked(enc, pt, p, false)
			if !bytes.Equal(ct, want) {
				t.Fatalf("%v pattern %v: ciphertext differs from the model", a, p)
			}
			if g := enc.Generation(); g != 5 {
				t.Errorf("%v pattern %v: generation %d after %d bytes, want 5", a, p, g, len(pt))
			}
			if got := chunked(dec, ct, []int{p[len(p)-1]}, true); !bytes.Equal(got, pt) {
				t.Fatalf("%v pattern %v: decrypt failed", a, p)
			}
		}
		// Every split point around the first boundary, two writes.
		for cut := interval - 17; cut <= interval+17; cut++ {
			enc, _ := newPairFor(t, a, key, iv, cfbstream.WithRekeyInterval(interval))
			ct := make([]byte, 2*interval)
			enc.XORKeyStream(ct[:cut], pt[:cut])
			enc.XORKeyStream(ct[cut:], pt[cut:2*interval])
			if !bytes.Equal(ct, want[:2*interval]) {
				t.Fatalf("%v cut %d: differs from the model", a, cut)
			}
		}
	}
}

// TestRatchetChangesKey: before the first rekey point the ratcheting
// stream equals plain CFB-64 under the original key; after it the
// ciphertext differs, and only a ratcheting decrypter can read it.
func TestRatchetChangesKey(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const interval = 4096
	for _, a := range allAlgs {
		t.Run(a.String(), func(t *testing.T) {
			key, iv := randBytes(r, a.KeySize()), randBytes(r, a.BlockSize())
			pt := randBytes(r, 3*interval)
			enc, dec := newPairFor(t, a, key, iv, cfbstream.WithRekeyInterval(interval))
			blk, _ := a.NewBlock(key)
			plain, _ := cfbstream.NewBlockEncrypter(blk, iv)
			ct := chunked(enc, pt, []int{1, 7, 9, 100}, false)
			ref := make([]byte, len(pt))
			plain.XORKeyStream(ref, pt)
			if !bytes.Equal(ct[:interval], ref[:interval]) {
				t.Fatal("ciphertext before the first rekey point differs from plain CFB-64")
			}
			for _, seg := range []int{interval, interval + 8, 2*interval - 8, 2 * interval} {
				if bytes.Equal(ct[seg:seg+8], ref[seg:seg+8]) {
					t.Fatalf("segment at %d equals the non-ratcheting stream: key not changed", seg)
				}
			}
			// The stale-key decrypter fails after the boundary, the
			// ratcheting one succeeds.
			blk2, _ := a.NewBlock(key)
			stale, _ := cfbstream.NewBlockDecrypter(blk2, iv)
			bad := make([]byte, len(ct))
			stale.XORKeyStream(bad, ct)
			if !bytes.Equal(bad[:interval], pt[:interval]) || bytes.Equal(bad[interval:interval+8], pt[interval:interval+8]) {
				t.Fatal("stale-key decrypter: expected success before and failure after the rekey point")
			}
			good := chunked(dec, ct, []int{13}, false)
			if !bytes.Equal(good, pt) {
				t.Fatal("ratcheting decrypter failed")
			}
			// 3*interval bytes: the step at offset 3*interval is taken
			// lazily, with the first byte after it.
			if enc.Generation() != 2 || dec.Generation() != 2 {
				t.Fatalf("generations enc %d dec %d", enc.Generation(), dec.Generation())
			}
		})
	}
}

func TestDefaultRekeyInterval(t *testing.T) {
	for _, a := range allAlgs {
		want := uint64(0)
		if a.BlockSize() == 8 {
			want = 1 << 30
		}
		if got := a.DefaultRekeyInterval(); got != want {
			t.Errorf("%v: default interval %d, want %d", a, got, want)
		}
	}
	// AES does not ratchet unless asked: after 3 "intervals" worth of a
	// small interval, an AES stream without the option is still plain.
	r := rand.New(rand.NewPCG(9, 10))
	key, iv := randBytes(r, 32), randBytes(r, 16)
	enc, _ := newPairFor(t, cfbstream.AES256, key, iv)
	pt := randBytes(r, 1000)
	ct := make([]byte, len(pt))
	enc.XORKeyStream(ct, pt)
	if want := modelEncrypt(t, cfbstream.AES256, key, iv, 0, pt); !bytes.Equal(ct, want) || enc.Generation() != 0 {
		t.Fatal("AES stream without WithRekeyInterval ratcheted")
	}
}

func ExampleWithRekeyInterval() {
	key := bytes.Repeat([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 3)
	iv := make([]byte, 8)
	enc, _ := cfbstream.NewEncrypter(cfbstream.TripleDES, key, iv, cfbstream.WithRekeyInterval(16))
	buf := make([]byte, 40)
	enc.XORKeyStream(buf, buf)
	fmt.Println(enc.Offset(), enc.Generation())
	// Output: 40 2
}
