package cfbstream

import (
	"errors"
	"io"
)

var errBadRead = errors.New("cfbstream: underlying reader returned an invalid count")

// WriterBufferSize is the size of a Writer's ciphertext buffer; longer
// writes are encrypted and written in pieces of at most this size.
const WriterBufferSize = 16 << 10

// Writer encrypts everything written to it and writes the ciphertext to an
// underlying io.Writer (for krx, a net.Conn).
//
// Short writes and errors never desynchronise the stream. Write returns n,
// the number of bytes of p whose ciphertext the underlying writer accepted,
// and the Encrypter has then advanced by exactly n bytes: if the underlying
// writer takes only part of a piece, the Writer restores the stream state
// saved before the piece and re-encrypts just the accepted bytes. The
// Writer therefore never holds unsent ciphertext: the caller may retry
// p[n:] (a deadline expiry, say) and gets the same ciphertext again, and
// may use the Encrypter directly between Writes (for an urgent byte sent
// with MSG_OOB, for instance). Not safe for concurrent use.
type Writer struct {
	w   io.Writer
	enc *Encrypter
	buf []byte
}

// NewWriter returns a Writer that encrypts with enc and writes to w.
func NewWriter(w io.Writer, enc *Encrypter) *Writer {
	return &Writer{w: w, enc: enc, buf: make([]byte, WriterBufferSize)}
}

// Encrypter returns the Encrypter the Writer uses.
func (w *Writer) Encrypter() *Encrypter { return w.enc }

// Write encrypts p and writes it to the underlying writer. It returns the
// number of bytes of p written (encrypted and accepted by the underlying
// writer) and, if that is less than len(p), an error (io.ErrShortWrite if
// the underlying writer returned none).
func (w *Writer) Write(p []byte) (int, error) {
	c := &w.enc.core
	written := 0
	for len(p) > 0 {
		// A piece never crosses a rekey point, so restoring the cursor
		// never has to undo a ratchet step. A step due right here is taken
		// first (it only affects bytes from this offset on).
		c.rekeyIfDue()
		chunk := min(len(p), len(w.buf))
		if room := c.next - c.off; room < uint64(chunk) {
			chunk = int(room)
		}
		saved := c.cursor
		ct := w.buf[:chunk]
		w.enc.XORKeyStream(ct, p[:chunk])
		n, err := w.w.Write(ct)
		if n < 0 || n > chunk {
			n = 0 // a broken writer; treat as nothing accepted
			if err == nil {
				err = io.ErrShortWrite
			}
		}
		if n < chunk {
			c.cursor = saved
			w.enc.XORKeyStream(ct[:n], p[:n])
			if err == nil {
				err = io.ErrShortWrite
			}
			return written + n, err
		}
		written += n
		p = p[n:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// rekeyIfDue takes a pending ratchet step now, so that a Writer piece that
// starts exactly at a rekey point is not empty.
func (c *core) rekeyIfDue() {
	if c.off == c.next && c.pos == 0 {
		c.rekey()
	}
}

// Reader reads ciphertext from an underlying io.Reader and returns it
// decrypted. Every byte is decrypted in place as soon as it is read; there
// is no buffering, so the Decrypter's offset always equals the bytes
// returned. Not safe for concurrent use.
type Reader struct {
	r   io.Reader
	dec *Decrypter
}

// NewReader returns a Reader that reads from r and decrypts with dec.
func NewReader(r io.Reader, dec *Decrypter) *Reader {
	return &Reader{r: r, dec: dec}
}

// Decrypter returns the Decrypter the Reader uses.
func (r *Reader) Decrypter() *Decrypter { return r.dec }

// Read reads up to len(p) bytes and decrypts them in place.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n < 0 || n > len(p) {
		return 0, errBadRead
	}
	r.dec.XORKeyStream(p[:n], p[:n])
	return n, err
}
