package cfbstream

import (
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"testing"
)

// nfold is RFC 3961 §5.1 n-fold, written here independently of gokrb5:
// replicate the input, each copy rotated right by 13 more bits, up to
// lcm(n, len) bits, then add the n-bit chunks with end-around carry.
func nfold(in []byte, nBytes int) []byte {
	inBits, outBits := len(in)*8, nBytes*8
	l := inBits * outBits / gcd(inBits, outBits)
	bit := func(i int) byte { // bit i (0 = msb) of the replicated string
		copyIdx, off := i/inBits, i%inBits
		src := (off - 13*copyIdx) % inBits
		if src < 0 {
			src += inBits
		}
		return in[src/8] >> (7 - src%8) & 1
	}
	sum := make([]int, nBytes)
	for chunk := 0; chunk < l/outBits; chunk++ {
		for j := 0; j < nBytes; j++ {
			var b byte
			for k := 0; k < 8; k++ {
				b = b<<1 | bit(chunk*outBits+j*8+k)
			}
			sum[j] += int(b)
		}
	}
	for carry := true; carry; {
		carry = false
		for j := nBytes - 1; j >= 0; j-- {
			if sum[j] > 255 {
				c := sum[j] >> 8
				sum[j] &= 255
				if j > 0 {
					sum[j-1] += c
				} else {
					sum[nBytes-1] += c
				}
				carry = true
			}
		}
	}
	out := make([]byte, nBytes)
	for j := range out {
		out[j] = byte(sum[j])
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func TestNfoldRFC3961(t *testing.T) {
	// RFC 3961 Appendix A.1.
	for _, v := range []struct {
		in   string
		n    int
		want string
	}{
		{"012345", 8, "be072631276b1955"},
		{"password", 7, "78a07b6caf85fa"},
		{"Rough Consensus, and Running Code", 8, "bb6ed30870b7f0e0"},
		{"password", 21, "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"},
		{"MASSACHVSETTS INSTITVTE OF TECHNOLOGY", 24, "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"},
		{"kerberos", 16, "6b65726265726f737b9b5b2b93132b93"},
	} {
		if got := hex.EncodeToString(nfold([]byte(v.in), v.n)); got != v.want {
			t.Errorf("%d-fold(%q) = %s, want %s", v.n*8, v.in, got, v.want)
		}
	}
}

// independentDK computes DK(K, usage‖0xAA) for the AES enctypes without
// gokrb5: RFC 3961/3962 DR with AES for 17 and 18, RFC 8009 KDF-HMAC-SHA2
// for 19 and 20.
func independentDK(t *testing.T, id int32, key []byte, usage uint32) []byte {
	t.Helper()
	constant := append(binary.BigEndian.AppendUint32(nil, usage), 0xAA)
	switch id {
	case 17, 18:
		blk, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		x := nfold(constant, 16)
		var out []byte
		for len(out) < len(key) {
			y := make([]byte, 16)
			blk.Encrypt(y, x)
			out, x = append(out, y...), y
		}
		return out[:len(key)]
	case 19, 20:
		h, bits := sha256.New, 128
		if id == 20 {
			h, bits = func() hash.Hash { return sha512.New384() }, 256
		}
		m := hmac.New(h, key)
		m.Write([]byte{0, 0, 0, 1})
		m.Write(constant)
		m.Write([]byte{0})
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(bits)))
		return m.Sum(nil)[:bits/8]
	}
	t.Fatalf("no independent DK for %d", id)
	return nil
}

// TestDeriveIndependent pins keys and IVs of all four (direction, channel)
// pairs for the AES enctypes to an implementation written from the RFCs.
func TestDeriveIndependent(t *testing.T) {
	for _, id := range []int32{17, 18, 19, 20} {
		info := enctypeInfo[id]
		pk := randomKey(t, info.keyLen)
		for _, d := range []direction{clientToServer, serverToClient} {
			for _, ch := range []Channel{Main, Stderr} {
				got, err := derive(gokrb5Etype(t, id), pk, d, ch)
				if err != nil {
					t.Fatal(err)
				}
				ku, ivu, _ := usages(d, ch)
				if want := independentDK(t, id, pk, ku); !bytes.Equal(got.key, want) {
					t.Fatalf("%s %v/%v key:\n got %x\nwant %x", info.name, d, ch, got.key, want)
				}
				if want := independentDK(t, id, pk, ivu)[:16]; !bytes.Equal(got.iv, want) {
					t.Fatalf("%s %v/%v IV:\n got %x\nwant %x", info.name, d, ch, got.iv, want)
				}
			}
		}
	}
}
