package krxclient

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkRshXCat: bulk stdin through the built rsh -x into
// "cat >/dev/null" on krx's rlogind (kshell), 64 MiB per op.
func BenchmarkRshXCat(b *testing.B) {
	needRoot(b)
	r := realm(b)
	d := startRlogind(b, r)
	const size = 64 << 20
	f, err := os.CreateTemp(b.TempDir(), "in")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, zeroReader{}, size); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(programs(b), "rsh")
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		f.Seek(0, 0)
		cmd := exec.Command(bin, "-x", "-p", d.shell, "localhost", "cat >/dev/null")
		cmd.Env = env(r)
		cmd.Stdin = f
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
