package kshelld

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// chunkyReader returns data in random-sized pieces, sometimes (0, nil),
// then err (io.EOF if nil).
type chunkyReader struct {
	data []byte
	rng  *mrand.Rand
	err  error
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	if c.rng.IntN(8) == 0 {
		return 0, nil
	}
	n := min(len(p), len(c.data), 1+c.rng.IntN(3*StdinBufSize/2))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// chunkyWriter accepts writes, sleeping now and then so that the reader
// gets ahead.
type chunkyWriter struct {
	buf bytes.Buffer
	rng *mrand.Rand
}

func (w *chunkyWriter) Write(p []byte) (int, error) {
	if w.rng.IntN(16) == 0 {
		time.Sleep(time.Millisecond)
	}
	return w.buf.Write(p)
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestRelayCopyRoundTrip(t *testing.T) {
	for seed := range uint64(6) {
		data := randomBytes(t, 1+int(seed)*700_001)
		src := &chunkyReader{data: data, rng: mrand.New(mrand.NewPCG(seed, 1))}
		dst := &chunkyWriter{rng: mrand.New(mrand.NewPCG(seed, 2))}
		called := false
		n, err := relayCopy(dst, src, func(error) { called = true })
		if err != nil || called {
			t.Fatalf("seed %d: err %v, onWriteErr called %v", seed, err, called)
		}
		if n != int64(len(data)) || !bytes.Equal(dst.buf.Bytes(), data) {
			t.Fatalf("seed %d: copied %d of %d bytes, identical %v", seed, n, len(data), bytes.Equal(dst.buf.Bytes(), data))
		}
	}
}

// A read error ends the copy after what was read before it is written.
func TestRelayCopyReadError(t *testing.T) {
	data := randomBytes(t, 3*StdinBufSize+17)
	boom := errors.New("boom")
	src := &chunkyReader{data: data, rng: mrand.New(mrand.NewPCG(7, 7)), err: boom}
	dst := &chunkyWriter{rng: mrand.New(mrand.NewPCG(7, 8))}
	n, err := relayCopy(dst, src, func(error) { t.Error("onWriteErr called") })
	if err != nil || n != int64(len(data)) || !bytes.Equal(dst.buf.Bytes(), data) {
		t.Fatalf("n %d err %v identical %v", n, err, bytes.Equal(dst.buf.Bytes(), data))
	}
}

// failingWriter takes limit bytes, then fails every write.
type failingWriter struct {
	limit, got int
	writes     atomic.Int32
}

var errFull = errors.New("full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	room := w.limit - w.got
	if room <= 0 {
		return 0, errFull
	}
	n := min(room, len(p))
	w.got += n
	if n < len(p) {
		return n, errFull
	}
	return n, nil
}

// After a write error the rest of the source is still read to its end
// (and dropped), onWriteErr runs once and no more writes are tried.
func TestRelayCopyWriteErrorDrains(t *testing.T) {
	data := randomBytes(t, 10*StdinBufSize)
	src := &chunkyReader{data: data, rng: mrand.New(mrand.NewPCG(3, 3))}
	dst := &failingWriter{limit: StdinBufSize + 5}
	var calls atomic.Int32
	n, err := relayCopy(dst, src, func(e error) {
		calls.Add(1)
		if !errors.Is(e, errFull) {
			t.Errorf("onWriteErr got %v", e)
		}
	})
	if !errors.Is(err, errFull) || n != int64(dst.limit) {
		t.Fatalf("n %d err %v, want %d and %v", n, err, dst.limit, errFull)
	}
	if calls.Load() != 1 {
		t.Fatalf("onWriteErr called %d times", calls.Load())
	}
	if len(src.data) != 0 {
		t.Fatalf("%d bytes of the source left unread", len(src.data))
	}
	w := dst.writes.Load()
	if w < 2 {
		t.Fatalf("%d writes", w)
	}
}

// The relay over real sockets, as job uses it: a TCP connection in, the
// command's end of a socketpair out; the socketpair's reader sees every
// byte and then EOF (half-close), and no goroutine is left behind.
func TestRelayCopySockets(t *testing.T) {
	g0 := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	growSocketBuf(fds[0])
	growSocketBuf(fds[1])
	if v, err := unix.GetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil || v < 256<<10 {
		t.Logf("SO_SNDBUF is %d (%v): capped by net.core.wmem_max", v, err)
	}
	theirs := os.NewFile(uintptr(fds[0]), "theirs")
	ours := os.NewFile(uintptr(fds[1]), "ours")
	oc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	stdio := oc.(*net.UnixConn)
	defer stdio.Close()

	data := randomBytes(t, 9<<20+3)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(theirs) // EOF only after CloseWrite
		got <- b
	}()
	go func() {
		rng := mrand.New(mrand.NewPCG(5, 5))
		for p := data; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(200_000))
			client.Write(p[:n])
			p = p[n:]
		}
		client.(*net.TCPConn).CloseWrite()
	}()
	n, err := relayCopy(stdio, server, func(error) {})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("n %d err %v", n, err)
	}
	stdio.CloseWrite()
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatalf("received %d bytes, not identical", len(b))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the command's end saw no EOF")
	}
	theirs.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > g0 {
		t.Fatalf("%d goroutines, %d before", g, g0)
	}
}

// A command that closed its end: writing fails (EPIPE), the relay calls
// onWriteErr and still reads the client to its end.
func TestRelayCopyCommandGone(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[0])
	ours := os.NewFile(uintptr(fds[1]), "ours")
	oc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	data := randomBytes(t, 2<<20)
	src := &chunkyReader{data: data, rng: mrand.New(mrand.NewPCG(9, 9))}
	var calls atomic.Int32
	_, err = relayCopy(oc, src, func(error) { calls.Add(1) })
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err %v, want EPIPE", err)
	}
	if calls.Load() != 1 || len(src.data) != 0 {
		t.Fatalf("onWriteErr %d calls, %d bytes unread", calls.Load(), len(src.data))
	}
}
