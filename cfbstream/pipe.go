package cfbstream

import "io"

// Pipeline geometry for CopyEncrypted: PipeBuffers buffers of
// PipeBufferSize bytes circulate between the reading, encrypting and
// writing stages, so at most PipeBuffers*PipeBufferSize bytes are in
// flight.
const (
	PipeBufferSize = 512 << 10
	PipeBuffers    = 4
)

// CopyEncrypted copies src to dst until EOF or an error, encrypting with
// enc, as a three-stage pipeline: one goroutine reads src, the calling
// goroutine encrypts each buffer in place, in order, and another
// goroutine writes the ciphertext to dst. Reading, encryption and writing
// of different buffers thus overlap (the Encrypter itself is used by the
// calling goroutine only, sequentially). A fixed pool of PipeBuffers
// buffers bounds the memory; nothing is copied besides the encryption.
//
// It returns the number of plaintext bytes whose ciphertext dst accepted
// and the first error: a read error (io.EOF is not one) after everything
// read before it has been written, or a write error at once.
//
// Stream state: on a nil error the Encrypter has advanced by exactly the
// returned count, as after Writer.Write. On an error it may have advanced
// further: buffers encrypted but not yet accepted by dst exist only
// inside the pipeline and are dropped, so the stream is out of step with
// the peer and the caller must end the session (which any error on a krx
// channel does anyway); unlike Writer, a retry is not possible. After a
// write error CopyEncrypted returns without waiting for a src.Read in
// progress; that Read finishes in the background and its data is
// discarded, and src is not read again.
func CopyEncrypted(dst io.Writer, src io.Reader, enc *Encrypter) (int64, error) {
	type piece struct {
		b   []byte
		err error // read error after b (b may be empty)
	}
	free := make(chan []byte, PipeBuffers)
	for range PipeBuffers {
		free <- make([]byte, PipeBufferSize)
	}
	toEnc := make(chan piece, PipeBuffers)
	toWrite := make(chan []byte, PipeBuffers)
	stop := make(chan struct{}) // closed when the copy ends early
	type result struct {
		n   int64
		err error
	}
	wdone := make(chan result, 1)

	go func() { // reader
		for {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n, err := src.Read(b)
			if n < 0 || n > len(b) {
				n, err = 0, errBadRead
			}
			if n == 0 && err == nil {
				free <- b
				continue
			}
			select {
			case toEnc <- piece{b: b[:n], err: err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	go func() { // writer
		var total int64
		for b := range toWrite {
			n, err := dst.Write(b)
			if n < 0 || n > len(b) {
				n = 0
			}
			total += int64(n)
			if err == nil && n < len(b) {
				err = io.ErrShortWrite
			}
			if err != nil {
				wdone <- result{total, err}
				return
			}
			free <- b[:cap(b)]
		}
		wdone <- result{total, nil}
	}()

	// Encrypter: the only goroutine that touches enc.
	var rerr error
	for rerr == nil {
		var p piece
		select {
		case p = <-toEnc:
		case r := <-wdone: // the writer failed; stop reading
			close(stop)
			return r.n, r.err
		}
		if len(p.b) > 0 {
			enc.XORKeyStream(p.b, p.b)
			toWrite <- p.b // never blocks: at most PipeBuffers in flight
		} else {
			free <- p.b[:cap(p.b)]
		}
		rerr = p.err
	}
	close(toWrite)
	r := <-wdone
	if r.err != nil {
		return r.n, r.err
	}
	if rerr == io.EOF {
		rerr = nil
	}
	return r.n, rerr
}
