package cfbstream_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/krx-suite/krx/cfbstream"
)

var errFlaky = errors.New("flaky: try again")

// flakyWriter accepts a random prefix of each write and sometimes fails,
// like a socket with a write deadline.
type flakyWriter struct {
	r   *rand.Rand
	out bytes.Buffer
}

func (f *flakyWriter) Write(p []byte) (int, error) {
	switch f.r.IntN(4) {
	case 0:
		return 0, errFlaky
	case 1:
		n := f.r.IntN(len(p) + 1)
		f.out.Write(p[:n])
		return n, errFlaky
	case 2:
		n := f.r.IntN(len(p) + 1)
		f.out.Write(p[:n])
		return n, nil // short write without error
	}
	return f.out.Write(p)
}

// TestWriterShortWrites: whatever the underlying writer accepts, the
// Encrypter's offset equals the bytes reported written, retrying the rest
// yields exactly the one-shot ciphertext, and an urgent byte encrypted
// directly between Writes stays in step.
func TestWriterShortWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, a := range allAlgs {
		for trial := 0; trial < 30; trial++ {
			key, iv := randBytes(r, a.KeySize()), randBytes(r, a.BlockSize())
			opts := []cfbstream.Option{cfbstream.WithRekeyInterval(uint64(8 * (1 + r.IntN(200))))}
			pt := randBytes(r, r.IntN(3*cfbstream.WriterBufferSize))
			ref, dec := newPairFor(t, a, key, iv, opts...)
			want := make([]byte, len(pt))
			ref.XORKeyStream(want, pt)

			enc, _ := newPairFor(t, a, key, iv, opts...)
			fw := &flakyWriter{r: r}
			w := cfbstream.NewWriter(fw, enc)
			rest := pt
			urgentAt := -1
			for len(rest) > 0 {
				k := min(len(rest), 1+r.IntN(2*cfbstream.WriterBufferSize))
				n, err := w.Write(rest[:k])
				if n < 0 || n > k {
					t.Fatalf("Write returned %d of %d", n, k)
				}
				if n < k && err == nil {
					t.Fatalf("short Write without error")
				}
				if err != nil && !errors.Is(err, errFlaky) && !errors.Is(err, io.ErrShortWrite) {
					t.Fatalf("unexpected error %v", err)
				}
				rest = rest[n:]
				if got := enc.Offset(); got != uint64(fw.out.Len()) {
					t.Fatalf("%v trial %d: encrypter offset %d, bytes on the wire %d", a, trial, got, fw.out.Len())
				}
				if urgentAt < 0 && len(rest) > 0 && r.IntN(5) == 0 {
					// An urgent byte: the next plaintext byte, encrypted
					// directly and sent outside the Writer.
					urgentAt = len(pt) - len(rest)
					var b [1]byte
					enc.XORKeyStream(b[:], rest[:1])
					fw.out.WriteByte(b[0])
					rest = rest[1:]
				}
			}
			if !bytes.Equal(fw.out.Bytes(), want) {
				t.Fatalf("%v trial %d (urgent at %d): wire bytes differ from one-shot ciphertext", a, trial, urgentAt)
			}
			got := make([]byte, len(want))
			dec.XORKeyStream(got, fw.out.Bytes())
			if !bytes.Equal(got, pt) {
				t.Fatalf("%v trial %d: decrypt failed", a, trial)
			}
		}
	}
}

// lyingWriter claims to have written more than it was given.
type lyingWriter struct{}

func (lyingWriter) Write(p []byte) (int, error) { return len(p) + 5, nil }

func TestWriterBrokenUnderlying(t *testing.T) {
	enc, _ := newPairFor(t, cfbstream.AES128, make([]byte, 16), make([]byte, 16))
	w := cfbstream.NewWriter(lyingWriter{}, enc)
	n, err := w.Write([]byte("hello"))
	if n != 0 || err == nil || enc.Offset() != 0 {
		t.Fatalf("lying writer: n=%d err=%v offset=%d", n, err, enc.Offset())
	}
}

func TestWriterZeroAllocs(t *testing.T) {
	enc, _ := newPairFor(t, cfbstream.AES256, make([]byte, 32), make([]byte, 16))
	w := cfbstream.NewWriter(io.Discard, enc)
	buf := make([]byte, 40000)
	if n := testing.AllocsPerRun(20, func() {
		w.Write(buf)
		w.Write(buf[:1])
	}); n != 0 {
		t.Errorf("%v allocs per Write", n)
	}
}

// TestReader: short reads and errors pass through, every returned byte is
// decrypted, and the decrypter's offset equals the bytes returned.
func TestReader(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, a := range allAlgs {
		key, iv := randBytes(r, a.KeySize()), randBytes(r, a.BlockSize())
		enc, _ := newPairFor(t, a, key, iv, cfbstream.WithRekeyInterval(104))
		pt := randBytes(r, 10000)
		ct := make([]byte, len(pt))
		enc.XORKeyStream(ct, pt)
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"one":  iotest.OneByteReader,
			"half": iotest.HalfReader,
			"data": iotest.DataErrReader,
			"none": func(r io.Reader) io.Reader { return r },
		} {
			_, dec := newPairFor(t, a, key, iv, cfbstream.WithRekeyInterval(104))
			rd := cfbstream.NewReader(wrap(bytes.NewReader(ct)), dec)
			got, err := io.ReadAll(rd)
			if err != nil {
				t.Fatalf("%v/%s: %v", a, name, err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("%v/%s: plaintext differs", a, name)
			}
			if dec.Offset() != uint64(len(pt)) {
				t.Fatalf("%v/%s: offset %d", a, name, dec.Offset())
			}
		}
	}
	// Errors from the underlying reader come back unchanged.
	_, dec := newPairFor(t, cfbstream.AES128, make([]byte, 16), make([]byte, 16))
	rd := cfbstream.NewReader(iotest.ErrReader(errFlaky), dec)
	if _, err := rd.Read(make([]byte, 4)); !errors.Is(err, errFlaky) {
		t.Fatalf("error not passed through: %v", err)
	}
}
