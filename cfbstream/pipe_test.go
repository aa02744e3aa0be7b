package cfbstream_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"testing/iotest"

	krbcrypto "github.com/jcmturner/gokrb5/v8/crypto"

	"github.com/krx-suite/krx/cfbstream"
)

// realPairs returns the client's main-channel Encrypter and the server's
// matching Decrypter, derived from protocol key pk as krx does, plus a
// second client Encrypter for the reference ciphertext.
func realPairs(t *testing.T, pk []byte) (enc, ref *cfbstream.Encrypter, dec *cfbstream.Decrypter) {
	t.Helper()
	et, err := krbcrypto.GetEtype(cfbstream.EnctypeAES256CTSHMACSHA196)
	if err != nil {
		t.Fatal(err)
	}
	enc, _, err = cfbstream.NewPair(et, pk, cfbstream.Client, cfbstream.Main)
	if err != nil {
		t.Fatal(err)
	}
	ref, _, _ = cfbstream.NewPair(et, pk, cfbstream.Client, cfbstream.Main)
	_, dec, _ = cfbstream.NewPair(et, pk, cfbstream.Server, cfbstream.Main)
	return enc, ref, dec
}

// chunkReader returns data in random-sized reads (some empty), optionally
// with the last data and io.EOF together.
type chunkReader struct {
	r    *rand.Rand
	data []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.r.IntN(10) == 0 {
		return 0, nil
	}
	n := min(len(p), len(c.data), 1+c.r.IntN(300<<10))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.r.IntN(2) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// failWriter accepts limit bytes, then fails (the failing Write takes
// part of its buffer).
type failWriter struct {
	buf   bytes.Buffer
	limit int
}

func (f *failWriter) Write(p []byte) (int, error) {
	if room := f.limit - f.buf.Len(); room < len(p) {
		f.buf.Write(p[:max(room, 0)])
		return max(room, 0), errFlaky
	}
	return f.buf.Write(p)
}

// TestCopyEncryptedChunkings: for random read chunkings the pipelined
// ciphertext equals one-shot encryption, the peer's Decrypter recovers
// the input, and the Encrypter's offset equals the count returned.
func TestCopyEncryptedChunkings(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := range 40 {
		pk := randBytes(r, 32)
		pt := randBytes(r, r.IntN(5*cfbstream.PipeBufferSize*cfbstream.PipeBuffers/2))
		enc, ref, dec := realPairs(t, pk)
		var src io.Reader = &chunkReader{r: r, data: pt}
		if trial%4 == 3 {
			src = iotest.DataErrReader(bytes.NewReader(pt))
		}
		var dst bytes.Buffer
		n, err := cfbstream.CopyEncrypted(&dst, src, enc)
		if err != nil || n != int64(len(pt)) {
			t.Fatalf("trial %d: copied %d of %d, %v", trial, n, len(pt), err)
		}
		want := make([]byte, len(pt))
		ref.XORKeyStream(want, pt)
		if !bytes.Equal(dst.Bytes(), want) {
			t.Fatalf("trial %d: ciphertext differs from one-shot encryption", trial)
		}
		got := dst.Bytes()
		dec.XORKeyStream(got, got)
		if !bytes.Equal(got, pt) {
			t.Fatalf("trial %d: peer decrypts other data", trial)
		}
		if enc.Offset() != uint64(len(pt)) {
			t.Fatalf("trial %d: offset %d, want %d", trial, enc.Offset(), len(pt))
		}
	}
}

// TestCopyEncryptedTCP: the pipeline over a real loopback TCP connection,
// decrypted by the peer's cfbstream.Reader.
func TestCopyEncryptedTCP(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	enc, _, dec := realPairs(t, randBytes(r, 32))
	pt := randBytes(r, 3<<20+17)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(cfbstream.NewReader(c, dec))
		got <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := cfbstream.CopyEncrypted(c, &chunkReader{r: r, data: pt}, enc)
	if err != nil || n != int64(len(pt)) {
		t.Fatalf("copied %d of %d: %v", n, len(pt), err)
	}
	c.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, pt) {
		t.Fatalf("server read %d bytes, not the input", len(b))
	}
}

// TestCopyEncryptedWriteError: a write error comes back with the count
// of bytes the writer accepted, which decrypt correctly, and the copy
// returns even though the source never ends.
func TestCopyEncryptedWriteError(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, limit := range []int{0, 1, cfbstream.PipeBufferSize - 3, 2*cfbstream.PipeBufferSize + 5, 5 << 20} {
		enc, ref, _ := realPairs(t, randBytes(r, 32))
		fw := &failWriter{limit: limit}
		src := bytes.NewReader(randBytes(r, 8<<20))
		pt := make([]byte, src.Len())
		src.ReadAt(pt, 0)
		n, err := cfbstream.CopyEncrypted(fw, src, enc)
		if !errors.Is(err, errFlaky) {
			t.Fatalf("limit %d: error %v, want %v", limit, err, errFlaky)
		}
		if n != int64(limit) || fw.buf.Len() != limit {
			t.Fatalf("limit %d: returned %d, writer holds %d", limit, n, fw.buf.Len())
		}
		want := make([]byte, limit)
		ref.XORKeyStream(want, pt[:limit])
		if !bytes.Equal(fw.buf.Bytes(), want) {
			t.Fatalf("limit %d: accepted ciphertext differs", limit)
		}
	}

	// A source blocked in Read does not hold up the error.
	enc, _, _ := realPairs(t, randBytes(r, 32))
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(make([]byte, 1000)) // then nothing more
	n, err := cfbstream.CopyEncrypted(&failWriter{limit: 10}, pr, enc)
	if !errors.Is(err, errFlaky) || n != 10 {
		t.Fatalf("blocked source: %d, %v", n, err)
	}
}

// TestCopyEncryptedReadError: a read error comes back after everything
// read before it has been encrypted and written.
func TestCopyEncryptedReadError(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	errRead := errors.New("read broke")
	for _, size := range []int{0, 1, cfbstream.PipeBufferSize, 3<<20 + 9} {
		enc, ref, dec := realPairs(t, randBytes(r, 32))
		pt := randBytes(r, size)
		src := io.MultiReader(&chunkReader{r: r, data: pt}, iotest.ErrReader(errRead))
		var dst bytes.Buffer
		n, err := cfbstream.CopyEncrypted(&dst, src, enc)
		if !errors.Is(err, errRead) {
			t.Fatalf("size %d: error %v, want %v", size, err, errRead)
		}
		if n != int64(size) || enc.Offset() != uint64(size) {
			t.Fatalf("size %d: returned %d, offset %d", size, n, enc.Offset())
		}
		want := make([]byte, size)
		ref.XORKeyStream(want, pt)
		if !bytes.Equal(dst.Bytes(), want) {
			t.Fatalf("size %d: ciphertext differs", size)
		}
		got := dst.Bytes()
		dec.XORKeyStream(got, got)
		if !bytes.Equal(got, pt) {
			t.Fatalf("size %d: peer decrypts other data", size)
		}
	}
}
