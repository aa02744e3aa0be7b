package rcp

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkEngineTCP: Source → Sink of one 256 MiB file over loopback TCP
// (sendfile out, read/write in), both ends in this process, into the
// test's temporary directory.
func BenchmarkEngineTCP(b *testing.B) {
	const size = 256 << 20
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	randomFile(b, src, size)
	dst := filepath.Join(dir, "dst")
	os.Mkdir(dst, 0755)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, y := tcpPair(b)
		res := make(chan error, 1)
		go func() { res <- Sink(y, y, dst, Options{}); y.Close() }()
		if err := Source(x, x, []string{src}, Options{}); err != nil {
			b.Fatal(err)
		}
		x.CloseWrite()
		if err := <-res; err != nil {
			b.Fatal(err)
		}
		x.Close()
	}
}
