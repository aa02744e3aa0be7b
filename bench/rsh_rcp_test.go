package bench

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/rcmd/rshdtest"
)

const (
	netnsEnv  = "KRX_BENCH_IN_NETNS"
	krxRcpEnv = "KRX_BENCH_RCP"
	netkitRcp = "/usr/bin/rcp"
	netkitRsh = "/usr/bin/rsh"
	fileSize  = 1 << 30
)

// TestMain moves a benchmark run into a fresh network + mount namespace
// (see doc.go); tests and non-root runs stay where they are.
func TestMain(m *testing.M) {
	flag.Parse()
	bench := flag.Lookup("test.bench")
	if os.Geteuid() != 0 || os.Getenv(netnsEnv) != "" || bench == nil || bench.Value.String() == "" {
		code := m.Run()
		cleanupData()
		os.Exit(code)
	}
	for _, p := range []string{"unshare", "ip", "socat", rshdtest.Rshd, netkitRcp, netkitRsh} {
		if _, err := exec.LookPath(p); err != nil {
			fmt.Printf("bench: %s missing (%v); rsh/rcp benchmarks need rsh-server, rsh-client, socat, util-linux, iproute2\n", p, err)
			os.Exit(m.Run())
		}
	}
	dir, err := os.MkdirTemp("", "krx-bench-bin-")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "rcp")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/krx-suite/krx/cmd/rcp").CombinedOutput(); err != nil {
		fmt.Printf("bench: building krx rcp: %v\n%s", err, out)
		os.Exit(1)
	}
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
		`ip link set lo up && exec "$0" "$@"`)
	cmd.Args = append(cmd.Args, os.Args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", krxRcpEnv+"="+bin)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code := 0
	if err := cmd.Run(); err != nil {
		code = 1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	dataOnce sync.Once
	dataDir  string
	dataFile string
	dataErr  error
)

// data mounts a private tmpfs and writes the 1 GiB source file once per run.
func data(b *testing.B) (dir, file string) {
	b.Helper()
	dataOnce.Do(func() {
		if dataDir, dataErr = os.MkdirTemp("", "krx-bench-"); dataErr != nil {
			return
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4g", "krx-bench", dataDir).CombinedOutput(); err != nil {
			dataErr = fmt.Errorf("mount tmpfs: %v %s", err, out)
			return
		}
		dataFile = filepath.Join(dataDir, "src")
		f, err := os.Create(dataFile)
		if err != nil {
			dataErr = err
			return
		}
		// Random-ish: a 4 MiB random block repeated (nothing on the way
		// compresses or deduplicates).
		block := make([]byte, 4<<20)
		rand.Read(block)
		for n := 0; n < fileSize; n += len(block) {
			if _, err := f.Write(block); err != nil {
				dataErr = err
				return
			}
		}
		dataErr = f.Close()
	})
	if dataErr != nil {
		b.Fatal(dataErr)
	}
	return dataDir, dataFile
}

func cleanupData() {
	if dataDir != "" {
		exec.Command("umount", "-l", dataDir).Run()
		os.RemoveAll(dataDir)
	}
}

// setup checks the environment and serves in.rshd on 127.0.0.1:514.
func setup(b *testing.B) (dir, src, krx string) {
	b.Helper()
	if os.Getenv(netnsEnv) == "" {
		b.Skip("needs root: runs netkit rsh/rcp (reserved ports, port 514) in a fresh network namespace")
	}
	rshdtest.NeedRoot(b, netkitRcp, netkitRsh)
	rshdtest.AuthorizeRoot(b)
	rshdtest.Start(b, 514)
	dir, src = data(b)
	return dir, src, os.Getenv(krxRcpEnv)
}

func run(b *testing.B, name string, args ...string) {
	b.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		b.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// compare runs the two contenders as leaves, then interleaved.
func compare(b *testing.B, netkit, krx func(b *testing.B)) {
	leaf := func(f func(*testing.B)) func(*testing.B) {
		return func(b *testing.B) {
			b.SetBytes(fileSize)
			for i := 0; i < b.N; i++ {
				f(b)
			}
		}
	}
	b.Run("netkit", leaf(netkit))
	b.Run("krx", leaf(krx))
	b.Run("krx-vs-netkit", func(b *testing.B) {
		var tn, tk time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			netkit(b)
			tn += time.Since(start)
			start = time.Now()
			krx(b)
			tk += time.Since(start)
		}
		mb := float64(fileSize) * float64(b.N) / 1e6
		b.ReportMetric(mb/tn.Seconds(), "netkit-MB/s")
		b.ReportMetric(mb/tk.Seconds(), "krx-MB/s")
		b.ReportMetric(tn.Seconds()/tk.Seconds(), "krx/netkit")
	})
}

// timed runs f with the removal of dst outside the timer.
func removeUntimed(b *testing.B, path string) {
	b.StopTimer()
	os.Remove(path)
	b.StartTimer()
}

// BenchmarkRcpToRemote: "rcp src localhost:dst" of 1 GiB; the remote side
// is in.rshd running netkit's rcp -t for both clients.
func BenchmarkRcpToRemote(b *testing.B) {
	dir, src, krx := setup(b)
	dst := filepath.Join(dir, "dst")
	compare(b, func(b *testing.B) {
		run(b, netkitRcp, src, "127.0.0.1:"+dst)
		removeUntimed(b, dst)
	}, func(b *testing.B) {
		run(b, krx, src, "127.0.0.1:"+dst)
		removeUntimed(b, dst)
	})
}

// BenchmarkRcpFromRemote: "rcp localhost:src dst" of 1 GiB; the remote
// side is netkit's rcp -f for both clients.
func BenchmarkRcpFromRemote(b *testing.B) {
	dir, src, krx := setup(b)
	dst := filepath.Join(dir, "dst")
	compare(b, func(b *testing.B) {
		run(b, netkitRcp, "127.0.0.1:"+src, dst)
		removeUntimed(b, dst)
	}, func(b *testing.B) {
		run(b, krx, "127.0.0.1:"+src, dst)
		removeUntimed(b, dst)
	})
}

// BenchmarkRcpKrxBothEnds: krx rcp to and from a remote krx rcp (in.rshd
// runs it through --remote-rcp) beside netkit on both ends.
func BenchmarkRcpKrxBothEnds(b *testing.B) {
	dir, src, krx := setup(b)
	dst := filepath.Join(dir, "dst")
	b.Run("to", func(b *testing.B) {
		compare(b, func(b *testing.B) {
			run(b, netkitRcp, src, "127.0.0.1:"+dst)
			removeUntimed(b, dst)
		}, func(b *testing.B) {
			run(b, krx, "--remote-rcp", krx, src, "127.0.0.1:"+dst)
			removeUntimed(b, dst)
		})
	})
	b.Run("from", func(b *testing.B) {
		compare(b, func(b *testing.B) {
			run(b, netkitRcp, "127.0.0.1:"+src, dst)
			removeUntimed(b, dst)
		}, func(b *testing.B) {
			run(b, krx, "--remote-rcp", krx, "127.0.0.1:"+src, dst)
			removeUntimed(b, dst)
		})
	})
}
