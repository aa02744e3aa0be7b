package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestBarDrawsThrottlesAndClears(t *testing.T) {
	var out bytes.Buffer
	b := NewWriter(&out, func() int { return 60 })
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	b.Start("some/file.bin", 100<<20)
	now = now.Add(time.Second)
	b.Update(50 << 20)
	line := out.String()[strings.LastIndexByte(out.String(), '\r')+1:]
	for _, want := range []string{"file.bin", " 50%", "50.0 MiB", "50.0 MiB/s", "00:01 ETA"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if len([]rune(line)) > 59 {
		t.Errorf("line wider than the terminal: %q", line)
	}
	n := out.Len()
	now = now.Add(Interval / 2)
	b.Update(51 << 20) // too soon: no redraw
	if out.Len() != n {
		t.Errorf("redrawn within %v", Interval)
	}
	now = now.Add(Interval)
	b.Update(60 << 20)
	if out.Len() == n {
		t.Error("not redrawn after the interval")
	}
	b.End()
	if s := out.String(); !strings.HasSuffix(s, "\r") || strings.TrimSpace(s[strings.LastIndexByte(s[:len(s)-1], '\r')+1:]) != "" {
		t.Errorf("not cleared: %q", s[max(0, len(s)-80):])
	}
}

func TestLongNameTruncated(t *testing.T) {
	var out bytes.Buffer
	b := NewWriter(&out, func() int { return 50 })
	b.Start(strings.Repeat("x", 100)+"tail", 10)
	if s := out.String(); len([]rune(s)) > 50 || !strings.Contains(s, "tail") {
		t.Errorf("%q", s)
	}
}

// TestOnlyOnTerminal: a real pty gets a bar, a pipe gets nothing.
func TestOnlyOnTerminal(t *testing.T) {
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptm.Close()
	defer pts.Close()
	if New(pts) == nil {
		t.Fatal("no bar on a pty")
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	var b *Bar = New(w)
	if b != nil {
		t.Fatal("bar on a pipe")
	}
	b.Start("x", 1) // a nil Bar is quiet
	b.Update(1)
	b.End()
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
