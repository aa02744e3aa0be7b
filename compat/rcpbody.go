package compat

import (
	"errors"
	"fmt"
	"io"
)

// Errors of the file-body primitives.
var (
	// ErrSinkWrite: writing the received body to its destination failed;
	// the body was still read to its end so the stream stays in step, and
	// the sink should answer with a ReplyError naming the file.
	ErrSinkWrite = errors.New("compat: rcp: writing the received file failed")
	// ErrFileRead: reading the file to send failed or it shrank; the body
	// was padded with zero bytes to the announced size and the error was
	// reported to the sink in place of the \0 status (netkit rcp.c source()).
	ErrFileRead = errors.New("compat: rcp: reading the file to send failed")
)

// BodyError reports a file body that could not be transferred completely.
type BodyError struct {
	Name     string // the file's name from its FileHeader
	Size     int64  // the announced size
	Received int64  // body bytes transferred before the problem
	Err      error  // ErrSourceDied, ErrSinkWrite, ErrFileRead or ErrBodyPending
	Cause    error  // underlying I/O error (io.ErrUnexpectedEOF, …) or nil
}

// Error names the sentinel, the file and how far it got.
func (e *BodyError) Error() string {
	s := fmt.Sprintf("%v: %q after %d of %d bytes", e.Err, e.Name, e.Received, e.Size)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and the I/O cause.
func (e *BodyError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// BodyReader reads exactly one file body of the size announced by a
// FileHeader from the rcp stream (sink side), then the source's trailing
// status. It never reads past the body from the stream. If the stream ends
// or fails before Size bytes, Read returns a *BodyError with ErrSourceDied
// (matching io.ErrUnexpectedEOF too), so a sink can remove its temporary
// file instead of leaving a truncated one.
type BodyReader struct {
	r    io.Reader
	h    FileHeader
	left int64
}

// NewBodyReader returns a reader for the body announced by h, read from r.
func NewBodyReader(r io.Reader, h FileHeader) *BodyReader {
	return &BodyReader{r: r, h: h, left: h.Size}
}

// Remaining returns the number of body bytes not yet read.
func (b *BodyReader) Remaining() int64 { return b.left }

// Read reads body bytes; it returns io.EOF once Size bytes have been read.
func (b *BodyReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil && b.left > 0 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, b.died(err)
	}
	if b.left == 0 {
		err = nil // the stream's own EOF, if any, shows up at Status
	}
	return n, err
}

func (b *BodyReader) died(cause error) error {
	return &BodyError{Name: b.h.Name, Size: b.h.Size, Received: b.h.Size - b.left, Err: ErrSourceDied, Cause: cause}
}

// Status reads the source's trailing status after the whole body: \0 when
// the source read its file without error, otherwise its error message
// (netkit rcp.c source() sends "\1rcp: <file>: <error>\n"). Called before
// the body is complete it returns a *BodyError with ErrBodyPending.
// Errors are as for ReadReply.
func (b *BodyReader) Status() (Reply, error) {
	if b.left > 0 {
		return Reply{}, &BodyError{Name: b.h.Name, Size: b.h.Size, Received: b.h.Size - b.left, Err: ErrBodyPending}
	}
	return ReadReply(b.r, 0)
}

// ReceiveBody copies the body announced by h from r to dst and reads the
// source's trailing status, using buf (or a 64 KiB buffer if buf is empty).
//
// If dst fails, ReceiveBody keeps reading (discarding) to the end of the
// body and the status so the stream stays in step, and returns the status
// with a *BodyError (ErrSinkWrite, Cause: dst's error): the sink then
// reports the failure with a ReplyError and carries on, as netkit's sink
// does. If the stream ends early the error is a *BodyError with
// ErrSourceDied. A non-OK status from the source is returned as the Reply
// with a nil error: the file is bad, and the caller decides (see Reply.Err).
func ReceiveBody(dst io.Writer, r io.Reader, h FileHeader, buf []byte) (Reply, error) {
	if len(buf) == 0 {
		buf = make([]byte, 64<<10)
	}
	br := NewBodyReader(r, h)
	var werr error
	var written int64
	for br.Remaining() > 0 {
		n, err := br.Read(buf)
		if n > 0 && werr == nil {
			m, e := dst.Write(buf[:n])
			written += int64(m)
			if e == nil && m < n {
				e = io.ErrShortWrite
			}
			werr = e
		}
		if err != nil {
			return Reply{}, err
		}
	}
	st, err := br.Status()
	if err != nil {
		return st, err
	}
	if werr != nil {
		return st, &BodyError{Name: h.Name, Size: h.Size, Received: written, Err: ErrSinkWrite, Cause: werr}
	}
	return st, nil
}

// SendBody writes the body announced by h — exactly h.Size bytes read from
// src — and then the trailing status \0 (source side), using buf (or a
// 64 KiB buffer if buf is empty).
//
// If src fails or ends early, SendBody pads the body with zero bytes to
// h.Size so the stream stays in step and sends the error reply
// "\1rcp: <name>: <error>\n" in place of \0, as netkit's source() does; it
// then returns a *BodyError with ErrFileRead. The caller goes on to read the
// sink's reply either way. An error writing to w is returned as is: the
// session is over.
func SendBody(w io.Writer, src io.Reader, h FileHeader, buf []byte) error {
	if len(buf) == 0 {
		buf = make([]byte, 64<<10)
	}
	var rerr error
	var sent, good int64
	for sent < h.Size {
		chunk := buf
		if int64(len(chunk)) > h.Size-sent {
			chunk = chunk[:h.Size-sent]
		}
		n := 0
		if rerr == nil {
			n, rerr = io.ReadFull(src, chunk)
			good += int64(n)
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				rerr = fmt.Errorf("file shrank to %d bytes", good)
			}
		}
		clear(chunk[n:])
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		sent += int64(len(chunk))
	}
	if rerr == nil {
		_, err := w.Write([]byte{rcpOK})
		return err
	}
	msg := fmt.Sprintf("rcp: %s: %v", h.Name, rerr)
	if err := WriteReply(w, Reply{Kind: ReplyError, Message: sanitizeLine(msg)}); err != nil {
		return err
	}
	return &BodyError{Name: h.Name, Size: h.Size, Received: good, Err: ErrFileRead, Cause: rerr}
}

// sanitizeLine makes s sendable as a one-line message.
func sanitizeLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' {
			b[i] = ' '
		}
	}
	if len(b) > DefaultRcpMaxLine {
		b = b[:DefaultRcpMaxLine]
	}
	return string(b)
}
