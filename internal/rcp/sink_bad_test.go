package rcp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/krx-suite/krx/compat"
)

// jail is a target directory inside a parent that must stay untouched.
func jail(t *testing.T) (parent, target string) {
	t.Helper()
	parent = t.TempDir()
	target = filepath.Join(parent, "target")
	if err := os.Mkdir(target, 0755); err != nil {
		t.Fatal(err)
	}
	return parent, target
}

func checkJail(t *testing.T, parent string) {
	t.Helper()
	if n := listDir(t, parent); len(n) != 1 || n[0] != "target" {
		t.Fatalf("something was written outside the target: %v", n)
	}
}

// TestSinkRefusesBadLines feeds malformed control lines: each is refused
// with a protocol-screwup reply, the sink ends, nothing is written.
func TestSinkRefusesBadLines(t *testing.T) {
	for _, c := range []struct{ line, why string }{
		{"C0x44 1 x\n", "bad mode"},
		{"C644 1 x\n", "bad mode"},
		{"C0644 -1 x\n", "bad size"},
		{"C0644 99999999999999999999 x\n", "bad size"},
		{"C0644 1x x\n", "bad size"},
		{"C0644 3 ../escaped\n", "bad file name"},
		{"C0644 3 sub/escaped\n", "bad file name"},
		{"C0644 3 ..\n", "bad file name"},
		{"C0644 3 .\n", "bad file name"},
		{"C0644 3 \n", "bad file name"},
		{"D0755 0 ../up\n", "bad file name"},
		{"D0755 0 /abs\n", "bad file name"},
		{"T1 0 2\n", "malformed"},
		{"T-1 0 2 0\n", "bad time"},
		{"E junk\n", "malformed"},
		{"\n", "empty control line"},
		{"C0644 1 a\nX", ""}, // fine line, then a body and no status: lost connection
	} {
		t.Run(strings.TrimSpace(c.line), func(t *testing.T) {
			parent, target := jail(t)
			r, w, res := startSink(t, target, Options{Recursive: true})
			wantReply(t, r, 0, "")
			writeLine(t, w, c.line)
			if c.why != "" {
				wantReply(t, r, compat.ReplyError, "protocol screwup")
			}
			w.CloseWrite()
			err := <-res
			if !errors.Is(err, ErrProtocol) || (c.why != "" && !strings.Contains(err.Error(), c.why)) {
				t.Fatalf("sink: %v", err)
			}
			checkJail(t, parent)
			if n := listDir(t, target); len(n) != 0 {
				t.Fatalf("written: %v", n)
			}
		})
	}
}

func TestSinkDirWithoutR(t *testing.T) {
	parent, target := jail(t)
	r, w, res := startSink(t, target, Options{})
	wantReply(t, r, 0, "")
	writeLine(t, w, "D0755 0 d\n")
	wantReply(t, r, compat.ReplyError, "without -r")
	if err := <-res; !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
	checkJail(t, parent)
}

// TestSourceDiesMidFile: the connection closes in the middle of a body;
// the old file is intact, no temporary file is left.
func TestSourceDiesMidFile(t *testing.T) {
	_, target := jail(t)
	old := filepath.Join(target, "f")
	os.WriteFile(old, []byte("precious old contents"), 0644)
	var log bytes.Buffer
	r, w, res := startSink(t, target, Options{Log: &log})
	wantReply(t, r, 0, "")
	writeLine(t, w, "C0644 1000000 f\n")
	wantReply(t, r, 0, "")
	writeLine(t, w, strings.Repeat("x", 500000))
	w.CloseWrite()
	err := <-res
	if !errors.Is(err, ErrProtocol) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(log.String(), "source died mid-file") {
		t.Fatalf("sink: %v; log %q", err, log.String())
	}
	if b, _ := os.ReadFile(old); string(b) != "precious old contents" {
		t.Fatalf("old file now %d bytes", len(b))
	}
	if n := listDir(t, target); len(n) != 1 {
		t.Fatalf("left behind: %v", n)
	}
}

// TestSourceErrorStatus: a complete body followed by the source's error
// status does not replace the old file; the session goes on.
func TestSourceErrorStatus(t *testing.T) {
	_, target := jail(t)
	os.WriteFile(filepath.Join(target, "f"), []byte("old"), 0644)
	var log bytes.Buffer
	r, w, res := startSink(t, target, Options{Log: &log})
	wantReply(t, r, 0, "")
	writeLine(t, w, "C0644 3 f\n")
	wantReply(t, r, 0, "")
	writeLine(t, w, "\x00\x00\x00\x01rcp: f: Input/output error\n")
	wantReply(t, r, compat.ReplyError, "not replaced")
	writeLine(t, w, "C0644 2 g\n")
	wantReply(t, r, 0, "")
	writeLine(t, w, "ok\x00")
	wantReply(t, r, 0, "")
	w.CloseWrite()
	var f *Failures
	if err := <-res; !errors.As(err, &f) || len(f.Messages) != 2 || f.Messages[0] != "rcp: f: Input/output error" {
		t.Fatalf("sink: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "f")); string(b) != "old" {
		t.Fatalf("f: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "g")); string(b) != "ok" {
		t.Fatalf("g: %q", b)
	}
	if n := listDir(t, target); len(n) != 2 {
		t.Fatalf("entries: %v", n)
	}
}

// TestPlantedSymlinks: a link where a file goes is replaced, not followed;
// a link where a directory goes is refused and the source skips it.
func TestPlantedSymlinks(t *testing.T) {
	parent, target := jail(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "victim"), []byte("untouched"), 0644)
	os.Symlink(filepath.Join(outside, "victim"), filepath.Join(target, "flink"))
	os.Symlink(outside, filepath.Join(target, "dlink"))
	r, w, res := startSink(t, target, Options{Recursive: true})
	wantReply(t, r, 0, "")
	writeLine(t, w, "C0644 3 flink\n")
	wantReply(t, r, 0, "")
	writeLine(t, w, "new\x00")
	wantReply(t, r, 0, "")
	writeLine(t, w, "D0755 0 dlink\n")
	wantReply(t, r, compat.ReplyError, "symbolic link, not followed")
	w.CloseWrite()
	if err := <-res; !errors.Is(err, ErrFailed) {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "untouched" {
		t.Fatalf("victim: %q", b)
	}
	if fi, _ := os.Lstat(filepath.Join(target, "flink")); !fi.Mode().IsRegular() {
		t.Fatalf("flink: %v", fi.Mode())
	}
	if n := listDir(t, outside); len(n) != 1 {
		t.Fatalf("outside: %v", n)
	}
	checkJail(t, parent)
}

func TestShellNoise(t *testing.T) {
	_, target := jail(t)
	var log bytes.Buffer
	r, w, res := startSink(t, target, Options{Log: &log})
	wantReply(t, r, 0, "")
	writeLine(t, w, "No match.\n")
	if err := <-res; !errors.Is(err, ErrProtocol) || log.String() != "No match.\n" {
		t.Fatalf("%v, log %q", err, log.String())
	}
}

func TestTargetMustBeDir(t *testing.T) {
	tmp := t.TempDir()
	f := filepath.Join(tmp, "file")
	os.WriteFile(f, nil, 0644)
	r, _, res := startSink(t, f, Options{TargetDir: true})
	wantReply(t, r, compat.ReplyError, "file: not a directory")
	if err := <-res; !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
}

// TestDepthLimit: a source nesting directories without end is stopped.
func TestDepthLimit(t *testing.T) {
	_, target := jail(t)
	r, w, res := startSink(t, target, Options{Recursive: true})
	go func() {
		for i := 0; i < MaxDepth+5; i++ {
			if _, err := io.WriteString(w, "D0755 0 d\n"); err != nil {
				return
			}
		}
	}()
	for {
		rep, err := compat.ReadReply(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Kind != compat.ReplyOK {
			if !strings.Contains(rep.Message, "nested deeper") {
				t.Fatal(rep.Message)
			}
			break
		}
	}
	if err := <-res; !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
}

// TestDiskFull: a small tmpfs fills up mid-file; the sink reports it,
// keeps the old file and carries on with the next file.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	target := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "krx-rcp-test", target).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	defer syscall.Unmount(target, syscall.MNT_DETACH)
	os.WriteFile(filepath.Join(target, "f"), []byte("old"), 0644)
	var log bytes.Buffer
	r, w, res := startSink(t, target, Options{Log: &log})
	wantReply(t, r, 0, "")
	const size = 2 << 20
	writeLine(t, w, "C0644 2097152 f\n")
	wantReply(t, r, 0, "")
	go func() { w.Write(make([]byte, size)); w.Write([]byte{0}) }()
	wantReply(t, r, compat.ReplyError, "rcp: "+filepath.Join(target, "f")+": no space left on device")
	writeLine(t, w, "C0644 2 g\n")
	wantReply(t, r, 0, "")
	writeLine(t, w, "ok\x00")
	wantReply(t, r, 0, "")
	w.CloseWrite()
	if err := <-res; !errors.Is(err, ErrFailed) || !strings.Contains(log.String(), "no space left on device") {
		t.Fatalf("%v, log %q", err, log.String())
	}
	if b, _ := os.ReadFile(filepath.Join(target, "f")); string(b) != "old" {
		t.Fatalf("old file now %d bytes", len(b))
	}
	if n := listDir(t, target); len(n) != 2 {
		t.Fatalf("entries: %v", n)
	}
}

// FuzzSink feeds arbitrary streams to a recursive, preserving sink: it
// must end without panicking or hanging, and never write outside its
// target.
func FuzzSink(f *testing.F) {
	for _, s := range []string{
		"C0644 3 a\nabc\x00",
		"T1500000000 0 1500000000 0\nD0755 0 d\nC0600 2 b\nhi\x00E\n",
		"D0755 0 d\nD0700 0 e\nC0644 0 f\n\x00E\nE\n",
		"C0644 3 ../x\nabc\x00",
		"\x01rcp: x: error\nC0644 1 y\nz\x00",
		"C0644 5 a\nab",
		"No match.\n",
		"D0755 0 d\nE\nE\nE\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		target := filepath.Join(parent, "target")
		os.Mkdir(target, 0755)
		Sink(bytes.NewReader(data), io.Discard, target, Options{Recursive: true, Preserve: true, Limits: compat.RcpLimits{MaxSize: 1 << 20}})
		if n := listDir(t, parent); len(n) != 1 || n[0] != "target" {
			t.Fatalf("outside the target: %v", n)
		}
		filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
			if d != nil && strings.HasPrefix(d.Name(), ".rcp.") {
				t.Errorf("temporary file left: %s", p)
			}
			if d != nil && d.IsDir() {
				os.Chmod(p, 0755) // let TempDir's cleanup remove it
			}
			return nil
		})
	})
}
