package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkRshCommand: the whole commands "rsh 127.0.0.1 'cat >/dev/null'
// < 1 GiB file", netkit rsh and krx rsh, against the same netkit in.rshd
// on port 514 (in the fresh network namespace of TestMain), stdin being
// the file itself so each client may use sendfile. The krx-vs-netkit leaf
// interleaves them and reports both rates and the ratio.
func BenchmarkRshCommand(b *testing.B) {
	_, src, _ := setup(b)
	krx := filepath.Join(b.TempDir(), "rsh")
	if out, err := exec.Command("go", "build", "-o", krx, "github.com/krx-suite/krx/cmd/rsh").CombinedOutput(); err != nil {
		b.Fatalf("building krx rsh: %v\n%s", err, out)
	}
	rsh := func(prog string) func(b *testing.B) {
		return func(b *testing.B) {
			f, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cmd := exec.Command(prog, "127.0.0.1", "cat >/dev/null")
			cmd.Stdin = f
			if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
				b.Fatalf("%s: %v: %s", prog, err, out)
			}
		}
	}
	compare(b, rsh(netkitRsh), rsh(krx))
}
