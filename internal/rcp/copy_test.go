package rcp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plainWriter hides the connection's ReadFrom, as a unix socket's stream
// has none: Source then copies bodies with its own buffer (copyN).
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// TestSourceBufferedBody: a body larger than copyBufSize and not a
// multiple of it arrives byte-identical through a writer without ReadFrom.
func TestSourceBufferedBody(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	data := make([]byte, 3*copyBufSize+12345)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(src, "f"), data, 0644); err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	res := make(chan error, 1)
	go func() { res <- Sink(b, b, dst, Options{}); b.Close() }()
	if err := Source(a, plainWriter{a}, []string{filepath.Join(src, "f")}, Options{}); err != nil {
		t.Fatal(err)
	}
	a.CloseWrite()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "f"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("copy: %v, %d bytes, identical %v", err, len(got), bytes.Equal(got, data))
	}
}

// TestSourceBufferedShrink: through the buffered path too, a file shorter
// than its announced size is padded and reported, and the sink keeps the
// old destination.
func TestSourceBufferedShrink(t *testing.T) {
	const sys = "/sys/kernel/mm/transparent_hugepage/enabled"
	fi, err := os.Stat(sys)
	if err != nil || fi.Size() != 4096 {
		t.Skipf("no short sysfs file to read: %v", err)
	}
	dst := t.TempDir()
	os.WriteFile(filepath.Join(dst, "enabled"), []byte("old contents"), 0644)
	a, b := tcpPair(t)
	res := make(chan error, 1)
	var sinkLog bytes.Buffer
	go func() { res <- Sink(b, b, dst, Options{Log: &sinkLog}); b.Close() }()
	var log bytes.Buffer
	err = Source(a, plainWriter{a}, []string{sys}, Options{Log: &log})
	a.CloseWrite()
	var f *Failures
	if !errors.As(err, &f) || !strings.Contains(log.String(), "shrank") {
		t.Fatalf("source: %v, log %q", err, log.String())
	}
	if err := <-res; !errors.Is(err, ErrFailed) || !strings.Contains(sinkLog.String(), "not replaced") {
		t.Fatalf("sink: %v, log %q", err, sinkLog.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "enabled")); string(b) != "old contents" {
		t.Fatalf("old file replaced by %q", b)
	}
}
