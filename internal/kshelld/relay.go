package kshelld

import (
	"io"

	"golang.org/x/sys/unix"
)

// Geometry of the stdin relay's pipeline (relayCopy): StdinBuffers
// buffers of StdinBufSize bytes circulate between the goroutine that
// reads and decrypts the client's input and the one that writes it to the
// command, so at most StdinBuffers*StdinBufSize bytes are in flight.
const (
	StdinBufSize = 256 << 10
	StdinBuffers = 4
)

// SocketBuf is the send buffer asked for on both ends of the command's
// stdin+stdout socketpair (SO_SNDBUF; the kernel caps it at
// net.core.wmem_max, and doubles it for its bookkeeping). A unix stream
// socket's capacity is its sender's send buffer; the default
// (net.core.wmem_default, 208 KiB) makes the relay and the command wake
// each other every couple of hundred KiB during a bulk copy (rcp -x).
const SocketBuf = 2 << 20

// growSocketBuf asks for SocketBuf on fd. Failing is harmless: the
// default buffer only costs speed.
func growSocketBuf(fd int) {
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, SocketBuf)
}

// relayCopy copies src to dst until src ends (EOF or an error), reading
// and writing in two goroutines so that reading (and decrypting) the next
// piece overlaps writing the previous one. After dst fails, onWriteErr is
// called once (from the writing goroutine) and the rest of src is read and
// dropped: reading goes on until src ends, so the peer's close is seen and
// not answered with a reset. It returns the bytes dst accepted and the
// first write error (nil if none); src's error only ends the copy. A
// Write in progress when src ends is waited for.
func relayCopy(dst io.Writer, src io.Reader, onWriteErr func(error)) (int64, error) {
	free := make(chan []byte, StdinBuffers)
	for range StdinBuffers {
		free <- make([]byte, StdinBufSize)
	}
	full := make(chan []byte, StdinBuffers)
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() { // writer
		var total int64
		var werr error
		for b := range full {
			if werr == nil {
				n, err := dst.Write(b)
				if n < 0 || n > len(b) {
					n = 0
				}
				total += int64(n)
				if err == nil && n < len(b) {
					err = io.ErrShortWrite
				}
				if err != nil {
					werr = err
					onWriteErr(err)
				}
			}
			free <- b[:cap(b)]
		}
		done <- result{total, werr}
	}()
	for {
		b := <-free
		n, err := src.Read(b)
		if n < 0 || n > len(b) {
			n = 0
		}
		if n > 0 {
			full <- b[:n] // never blocks: at most StdinBuffers in flight
		} else {
			free <- b
		}
		if err != nil {
			break
		}
	}
	close(full)
	r := <-done
	return r.n, r.err
}
