package cfbstream_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/krx-suite/krx/cfbstream"
)

type vector struct {
	alg             cfbstream.Algorithm
	key, iv, pt, ct []byte
	line            int
}

func parseAlg(s string) (cfbstream.Algorithm, error) {
	for _, a := range []cfbstream.Algorithm{cfbstream.DES, cfbstream.TripleDES, cfbstream.AES128, cfbstream.AES256} {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown algorithm %q", s)
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fs := strings.Fields(text)
		if len(fs) != 5 {
			t.Fatalf("vectors.txt:%d: %d fields", line, len(fs))
		}
		v := vector{line: line}
		if v.alg, err = parseAlg(fs[0]); err != nil {
			t.Fatalf("vectors.txt:%d: %v", line, err)
		}
		bs := make([][]byte, 4)
		for i := range bs {
			if bs[i], err = hex.DecodeString(fs[i+1]); err != nil {
				t.Fatalf("vectors.txt:%d: %v", line, err)
			}
		}
		v.key, v.iv, v.pt, v.ct = bs[0], bs[1], bs[2], bs[3]
		if len(v.pt) != len(v.ct) {
			t.Fatalf("vectors.txt:%d: plaintext %d bytes, ciphertext %d", line, len(v.pt), len(v.ct))
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestKnownAnswers(t *testing.T) {
	vs := loadVectors(t)
	count := map[cfbstream.Algorithm]int{}
	for _, v := range vs {
		count[v.alg]++
		name := fmt.Sprintf("%v/line%d/len%d", v.alg, v.line, len(v.pt))
		t.Run(name, func(t *testing.T) {
			// One call.
			enc, err := cfbstream.NewEncrypter(v.alg, v.key, v.iv)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(v.pt))
			enc.XORKeyStream(got, v.pt)
			if !bytes.Equal(got, v.ct) {
				t.Fatalf("encrypt:\n got %x\nwant %x", got, v.ct)
			}
			dec, err := cfbstream.NewDecrypter(v.alg, v.key, v.iv)
			if err != nil {
				t.Fatal(err)
			}
			got = make([]byte, len(v.ct))
			dec.XORKeyStream(got, v.ct)
			if !bytes.Equal(got, v.pt) {
				t.Fatalf("decrypt:\n got %x\nwant %x", got, v.pt)
			}
			// Byte by byte, in place.
			enc, _ = cfbstream.NewEncrypter(v.alg, v.key, v.iv)
			dec, _ = cfbstream.NewDecrypter(v.alg, v.key, v.iv)
			buf := bytes.Clone(v.pt)
			for i := range buf {
				enc.XORKeyStream(buf[i:i+1], buf[i:i+1])
			}
			if !bytes.Equal(buf, v.ct) {
				t.Fatalf("byte-wise encrypt:\n got %x\nwant %x", buf, v.ct)
			}
			for i := range buf {
				dec.XORKeyStream(buf[i:i+1], buf[i:i+1])
			}
			if !bytes.Equal(buf, v.pt) {
				t.Fatalf("byte-wise decrypt:\n got %x\nwant %x", buf, v.pt)
			}
			if enc.Offset() != uint64(len(v.pt)) || dec.Offset() != uint64(len(v.pt)) {
				t.Fatalf("offsets %d, %d, want %d", enc.Offset(), dec.Offset(), len(v.pt))
			}
			// Over a bare cipher.Block.
			b, err := v.alg.NewBlock(v.key)
			if err != nil {
				t.Fatal(err)
			}
			be, err := cfbstream.NewBlockEncrypter(b, v.iv)
			if err != nil {
				t.Fatal(err)
			}
			got = make([]byte, len(v.pt))
			be.XORKeyStream(got, v.pt)
			if !bytes.Equal(got, v.ct) {
				t.Fatalf("block encrypter:\n got %x\nwant %x", got, v.ct)
			}
		})
	}
	for _, a := range []cfbstream.Algorithm{cfbstream.DES, cfbstream.TripleDES, cfbstream.AES128, cfbstream.AES256} {
		if count[a] < 10 {
			t.Errorf("only %d vectors for %v", count[a], a)
		}
	}
}

// TestFIPS81 pins the FIPS 81 Appendix Table D3 (64-bit CFB) example in
// the test itself, independent of testdata.
func TestFIPS81(t *testing.T) {
	key, _ := hex.DecodeString("0123456789abcdef")
	iv, _ := hex.DecodeString("1234567890abcdef")
	want, _ := hex.DecodeString("f3096249c7f46e51a69e839b1a92f78403467133898ea622")
	enc, err := cfbstream.NewEncrypter(cfbstream.DES, key, iv)
	if err != nil {
		t.Fatal(err)
	}
	got := []byte("Now is the time for all ")
	enc.XORKeyStream(got, got)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
}
