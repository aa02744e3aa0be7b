package rcp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeTree builds a small tree with odd modes and fixed times (with
// microseconds unless wholeSeconds: netkit's source sends none).
func makeTree(t *testing.T, root string, wholeSeconds bool) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sub", "deep"), 0755))
	files := map[string]struct {
		mode os.FileMode
		data string
	}{
		"a.txt":           {0640, "alpha\n"},
		"with space":      {0755, ""},
		"sub/b":           {0600, strings.Repeat("bravo", 100000)},
		"sub/deep/c":      {0444, "charlie"},
		"sub/deep/binary": {0700, "\x00\x01\x02\n\xff"},
	}
	for name, f := range files {
		p := filepath.Join(root, name)
		must(os.WriteFile(p, []byte(f.data), 0600))
		must(os.Chmod(p, f.mode))
		ts := time.Unix(1500000000+int64(len(name)), 123456000)
		if wholeSeconds {
			ts = ts.Truncate(time.Second)
		}
		must(os.Chtimes(p, ts, ts))
	}
	must(os.Chmod(filepath.Join(root, "sub", "deep"), 0550))
	for i, d := range []string{"sub/deep", "sub", "."} {
		ts := time.Unix(1400000000+int64(i), 0)
		must(os.Chtimes(filepath.Join(root, d), ts, ts))
	}
}

// TestRoundTripTree: Source → Sink over loopback TCP with -r -p; the tree
// arrives with contents, modes and times.
func TestRoundTripTree(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	makeTree(t, src, false)
	dst := filepath.Join(tmp, "dst")
	if err := os.Mkdir(dst, 0755); err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	opt := Options{Recursive: true, Preserve: true}
	res := make(chan error, 1)
	go func() { res <- Sink(b, b, dst, opt); b.Close() }()
	if err := Source(a, a, []string{src}, opt); err != nil {
		t.Fatal(err)
	}
	a.CloseWrite()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if d := diffSnap(snapshot(t, src), snapshot(t, filepath.Join(dst, "src"))); d != "" {
		t.Fatalf("trees differ:\n%s", d)
	}
	// No temporary files are left anywhere.
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), ".rcp.") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// TestUmaskRules: without -p new files get (mode|0200)&^umask, existing
// files keep their mode.
func TestUmaskRules(t *testing.T) {
	dst := t.TempDir()
	os.WriteFile(filepath.Join(dst, "old"), []byte("old"), 0604)
	os.Chmod(filepath.Join(dst, "old"), 0604)
	r, w, res := startSink(t, dst, Options{Umask: 027})
	wantReply(t, r, 0, "")
	for _, f := range []string{"new", "old"} {
		writeLine(t, w, "C0444 3 "+f+"\n")
		wantReply(t, r, 0, "")
		writeLine(t, w, "abc\x00")
		wantReply(t, r, 0, "")
	}
	w.CloseWrite()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]os.FileMode{"new": 0640, "old": 0604} {
		fi, _ := os.Stat(filepath.Join(dst, f))
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", f, fi.Mode(), want)
		}
		if b, _ := os.ReadFile(filepath.Join(dst, f)); string(b) != "abc" {
			t.Errorf("%s: %q", f, b)
		}
	}
}

// TestShrinkingSource: a file whose announced size is larger than what can
// be read (sysfs reports 4096 bytes) is padded and reported; the sink
// keeps the old destination.
func TestShrinkingSource(t *testing.T) {
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
	err = Source(a, a, []string{sys}, Options{Log: &log})
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
	if n := listDir(t, dst); len(n) != 1 {
		t.Fatalf("left behind: %v", n)
	}
}

// TestSourceErrors: missing files, non-files and directories without -r
// are reported to the sink and locally, the rest still goes.
func TestSourceErrors(t *testing.T) {
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "ok"), []byte("fine"), 0644)
	os.Mkdir(filepath.Join(tmp, "dir"), 0755)
	dst := t.TempDir()
	a, b := tcpPair(t)
	res := make(chan error, 1)
	var sinkLog bytes.Buffer
	go func() { res <- Sink(b, b, dst, Options{Log: &sinkLog}); b.Close() }()
	var log bytes.Buffer
	err := Source(a, a, []string{filepath.Join(tmp, "missing"), "/dev/null", filepath.Join(tmp, "dir"), filepath.Join(tmp, "ok")}, Options{Log: &log})
	a.CloseWrite()
	var f *Failures
	if !errors.As(err, &f) || len(f.Messages) != 3 {
		t.Fatalf("source: %v", err)
	}
	for _, want := range []string{"missing: no such file or directory", "/dev/null: not a plain file", "dir: not a plain file"} {
		if !strings.Contains(log.String(), want) || !strings.Contains(sinkLog.String(), want) {
			t.Errorf("%q missing from source log %q / sink log %q", want, log.String(), sinkLog.String())
		}
	}
	<-res
	if b, _ := os.ReadFile(filepath.Join(dst, "ok")); string(b) != "fine" {
		t.Fatalf("ok: %q", b)
	}
}

// TestSpecialTarget: a FIFO or device the user names is written into,
// not replaced ("rcp host:f /dev/null").
func TestSpecialTarget(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0600); err != nil {
		t.Skip(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	r, w, res := startSink(t, fifo, Options{})
	wantReply(t, r, 0, "")
	writeLine(t, w, "C0644 5 x\nhello\x00")
	wantReply(t, r, 0, "")
	w.CloseWrite()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "hello" {
		t.Fatalf("read %q from the FIFO", s)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("FIFO replaced: %v %v", fi.Mode(), err)
	}
}
