package krxproto

import (
	"io"

	"github.com/krx-suite/krx/compat"
)

// byteSource takes one byte at a time and never consumes a byte beyond the
// one it returns: ReadByte on an io.ByteReader, else 1-byte Reads (the same
// rule as compat's readers).
type byteSource struct {
	br io.ByteReader
	r  io.Reader
	b  [1]byte
}

func newByteSource(r io.Reader) *byteSource {
	if br, ok := r.(io.ByteReader); ok {
		return &byteSource{br: br}
	}
	return &byteSource{r: r}
}

// maxEmptyReads bounds (0, nil) reads in a row, as bufio does.
const maxEmptyReads = 100

func (s *byteSource) ReadByte() (byte, error) {
	if s.br != nil {
		return s.br.ReadByte()
	}
	for range maxEmptyReads {
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

// Read fills p exactly (io.ReadFull semantics through ReadByte or Read).
func (s *byteSource) readFull(p []byte) error {
	if s.br == nil {
		_, err := io.ReadFull(s.r, p)
		return err
	}
	for i := range p {
		c, err := s.br.ReadByte()
		if err != nil {
			if err == io.EOF && i > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		p[i] = c
	}
	return nil
}

// readField reads bytes up to term (not included), at most max of them.
// atStart says whether a clean EOF before the first byte is io.EOF (true)
// or io.ErrUnexpectedEOF. Problems are *compat.FieldError.
func readField(s *byteSource, field string, term byte, max int, atStart bool) (string, error) {
	var data []byte
	for {
		c, err := s.ReadByte()
		if err != nil {
			if err == io.EOF && (len(data) > 0 || !atStart) {
				err = io.ErrUnexpectedEOF
			}
			return string(data), &compat.FieldError{Field: field, Value: string(data), Err: compat.ErrUnterminated, Cause: err}
		}
		if c == term {
			return string(data), nil
		}
		if len(data) >= max {
			return string(data), &compat.FieldError{Field: field, Limit: max, Value: string(data), Err: compat.ErrTooLong}
		}
		data = append(data, c)
	}
}
