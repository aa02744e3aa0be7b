package bench

import (
	"bytes"
	"crypto/aes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
)

// krxServer is krx's own rlogind serving only eklogin and kshell on
// loopback, with a throwaway MIT realm; alice@KRX.TEST is authorised for
// root by a .k5login in a private --k5login-dir.
type krxServer struct {
	Bin        string // directory of the built rsh, rcp, rlogin, rlogind
	Login      string // eklogin port
	Shell      string // kshell port
	Realm      *krbtest.Realm
	Env        []string // os.Environ() plus the realm's, alice's ccache
	K5LoginDir string
	RCache     string
	Pid        int // rlogind's
	perfRuns   int
	log        bytes.Buffer
}

// needNetns skips b outside TestMain's private network namespace.
func needNetns(b *testing.B) {
	b.Helper()
	if os.Getenv(netnsEnv) == "" {
		b.Skip("needs root: starts sshd, a KDC and rlogind in a fresh network namespace (see TestMain)")
	}
}

// buildKrx builds krx's programs into a temporary directory.
func buildKrx(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, p := range []string{"rsh", "rcp", "rlogin", "rlogind"} {
		if out, err := exec.Command(goBin, "build", "-o", filepath.Join(dir, p),
			"github.com/krx-suite/krx/cmd/"+p).CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", p, err, out)
		}
	}
	return dir
}

// startKrx starts a realm, kinits alice and builds krx; Serve starts the
// daemon.
func startKrx(b *testing.B) *krxServer {
	b.Helper()
	r, err := krbtest.Start("", krbtest.Options{})
	if errors.Is(err, krbtest.ErrNoMIT) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	cc, err := r.Kinit("alice")
	if err != nil {
		b.Fatal(err)
	}
	s := &krxServer{Bin: buildKrx(b), Realm: r, Env: append(os.Environ(), r.Env(cc)...)}
	dir := b.TempDir()
	s.K5LoginDir = filepath.Join(dir, "k5login")
	s.RCache = filepath.Join(dir, "rcache")
	if err := os.MkdirAll(s.K5LoginDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.K5LoginDir, "root"), []byte("alice@"+r.Name+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return s
}

// serveLoopback starts rlogind with eklogin and kshell on 127.0.0.1.
func (s *krxServer) serveLoopback(b *testing.B) {
	b.Helper()
	s.Login, s.Shell = freeTCPPort(b), freeTCPPort(b)
	cmd := s.daemon("127.0.0.1:"+s.Login, "127.0.0.1:"+s.Shell)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stopByPid(b, cmd, "rlogind", &s.log)
	s.Pid = cmd.Process.Pid
	waitListen(b, "127.0.0.1:"+s.Login)
	waitListen(b, "127.0.0.1:"+s.Shell)
}

// daemon is the rlogind command line for the two krx addresses.
func (s *krxServer) daemon(login, shell string, wrap ...string) *exec.Cmd {
	args := append(wrap, filepath.Join(s.Bin, "rlogind"), "--login-addr", "off", "--shell-addr", "off",
		"--eklogin-addr", login, "--kshell-addr", shell,
		"-K", s.Realm.HostKeytab, "--rcache", s.RCache, "--k5login-dir", s.K5LoginDir)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+s.Realm.Krb5Conf)
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// perfEnv names a directory: if set, each krx client a benchmark runs is
// profiled there by "perf record -g" (its figures then include perf's
// sampling cost; for finding where the client's time goes only).
const perfEnv = "KRX_BENCH_PERF"

// command is one of krx's clients with the realm's environment.
func (s *krxServer) command(prog string, args ...string) *exec.Cmd {
	args = append([]string{filepath.Join(s.Bin, prog)}, args...)
	if dir := os.Getenv(perfEnv); dir != "" {
		s.perfRuns++
		out := filepath.Join(dir, fmt.Sprintf("%s-%d.perf", prog, s.perfRuns))
		args = append([]string{"perf", "record", "-q", "-g", "-F", "997", "-o", out, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = s.Env
	return cmd
}

// runQuiet runs cmd with stdin from in (nil: /dev/null) and fails b on an
// error or any output.
func runQuiet(b *testing.B, cmd *exec.Cmd, in string) time.Duration {
	b.Helper()
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil || len(out) != 0 {
		b.Fatalf("%v: %v: %s", cmd.Args, err, out)
	}
	return d
}

// aesCFB64Ceiling measures the one-core ceiling of a CFB with 64-bit
// feedback over AES-256 in MB/s: chained crypto/aes block encryptions (each
// input the previous output, as in CFB), each worth 8 bytes of stream. As
// cfbstream's BenchmarkAES256Ceiling does, it takes the fastest of many
// 512-block pieces: on a shared machine that estimates the undisturbed
// speed, so the krx/ceiling ratios are strict.
func aesCFB64Ceiling(b *testing.B) float64 {
	b.Helper()
	c, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	const piece, pieces = 512, 4096
	best := time.Duration(1<<63 - 1)
	var blk [16]byte
	for range pieces {
		start := time.Now()
		for range piece {
			c.Encrypt(blk[:], blk[:])
		}
		best = min(best, time.Since(start))
	}
	if blk == [16]byte{} {
		b.Fatal("AES produced zeros") // and the loop is not dead code
	}
	return 8 * piece / best.Seconds() / 1e6
}

// procCPU is the CPU time pid and its reaped children have used so far
// (utime+stime+cutime+cstime of /proc/pid/stat), 0 if unreadable.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime is field 14.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / clockTicks)
}

// clockTicks is Linux's USER_HZ, the unit of /proc/pid/stat times.
const clockTicks = 100

// cpuOf is the CPU time a finished command used.
func cpuOf(cmd *exec.Cmd) time.Duration {
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// quantile of sorted durations in µs.
func quantile(d []time.Duration, q float64) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q * float64(len(s)-1))
	return float64(s[i].Nanoseconds()) / 1e3
}
