package compat

import (
	"io"
)

// byteSource reads one byte at a time without ever consuming a byte beyond
// the one it returns. If the underlying reader is an io.ByteReader (for
// example the caller's *bufio.Reader) it uses ReadByte, so whatever the
// caller has buffered beyond stays in the caller's buffer; otherwise it
// issues 1-byte Read calls, which never over-read a socket.
type byteSource struct {
	br io.ByteReader
	r  io.Reader
	b  [1]byte
}

func newByteSource(r io.Reader) byteSource {
	if br, ok := r.(io.ByteReader); ok {
		return byteSource{br: br}
	}
	return byteSource{r: r}
}

// maxEmptyReads bounds how often a Reader may return (0, nil) in a row
// before we give up with io.ErrNoProgress (as bufio does).
const maxEmptyReads = 100

func (s *byteSource) readByte() (byte, error) {
	if s.br != nil {
		return s.br.ReadByte()
	}
	for i := 0; i < maxEmptyReads; i++ {
		n, err := s.r.Read(s.b[:])
		if n == 1 {
			return s.b[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, io.ErrNoProgress
}

// readTerminated reads bytes up to and including term. It returns the bytes
// before term. At most max bytes may precede term: if byte max+1 is not term
// it stops (having consumed max+1 bytes) and reports tooLong. An I/O error
// before term is returned as err with the partial data; a clean end of
// stream is reported as io.EOF when no byte was read and io.ErrUnexpectedEOF
// otherwise.
//
// buf is a prefix already read (it counts towards the result).
func readTerminated(s *byteSource, term byte, max int, buf []byte) (data []byte, tooLong bool, err error) {
	data = buf
	for {
		c, err := s.readByte()
		if err != nil {
			if err == io.EOF && len(data) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return data, false, err
		}
		if c == term {
			return data, false, nil
		}
		if len(data) >= max {
			return data, true, nil
		}
		data = append(data, c)
	}
}

// readField reads one terminated field and turns problems into a
// *FieldError naming the field. atStart says whether this is the very first
// byte of a message: only then is a clean EOF reported with io.EOF as
// cause; anywhere later it is io.ErrUnexpectedEOF.
func readField(s *byteSource, field string, term byte, max int, atStart bool) (string, error) {
	data, tooLong, err := readTerminated(s, term, max, nil)
	if tooLong {
		return string(data), &FieldError{Field: field, Limit: max, Value: string(data), Err: ErrTooLong}
	}
	if err != nil {
		if err == io.EOF && !atStart {
			err = io.ErrUnexpectedEOF
		}
		return string(data), &FieldError{Field: field, Value: string(data), Err: ErrUnterminated, Cause: err}
	}
	return string(data), nil
}
