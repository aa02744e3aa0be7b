package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Interval is the shortest time between two redraws.
const Interval = 100 * time.Millisecond

// Bar is a progress line on a terminal. Its methods match rcp.Progress.
type Bar struct {
	w     io.Writer
	width func() int
	now   func() time.Time

	name      string
	size      int64
	done      int64
	start     time.Time
	last      time.Time
	drawn     int // width of the line on screen, 0 if none
	lastDrawn int64
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// New returns a Bar drawing on f, or nil if f is not a terminal.
func New(f *os.File) *Bar {
	if !IsTerminal(f) {
		return nil
	}
	fd := int(f.Fd())
	return NewWriter(f, func() int {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
		return 80
	})
}

// NewWriter returns a Bar drawing on w, width giving the line width in
// columns (nil: 80).
func NewWriter(w io.Writer, width func() int) *Bar {
	if width == nil {
		width = func() int { return 80 }
	}
	return &Bar{w: w, width: width, now: time.Now}
}

// Start begins a new file of size bytes.
func (b *Bar) Start(name string, size int64) {
	if b == nil {
		return
	}
	b.name, b.size, b.done = name, size, 0
	b.start = b.now()
	b.last = time.Time{}
	b.draw(b.start)
}

// Update reports the bytes moved so far; it redraws at most every Interval.
func (b *Bar) Update(done int64) {
	if b == nil {
		return
	}
	b.done = done
	if now := b.now(); now.Sub(b.last) >= Interval {
		b.draw(now)
	}
}

// End clears the line.
func (b *Bar) End() {
	if b == nil || b.drawn == 0 {
		return
	}
	fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.drawn))
	b.drawn = 0
}

func (b *Bar) draw(now time.Time) {
	b.last = now
	pct := 100
	if b.size > 0 {
		pct = int(b.done * 100 / b.size)
	}
	el := now.Sub(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.done) / el
	}
	eta := "--:--"
	if rate > 0 && b.done > 0 {
		eta = clock(time.Duration(float64(b.size-b.done) / rate * float64(time.Second)))
	}
	stats := fmt.Sprintf(" %3d%% %9s %9s/s %s ETA", pct, Bytes(b.done), Bytes(int64(rate)), eta)
	w := b.width() - 1 // never touch the last column: no wrap
	name := b.name
	if room := w - len(stats); room < len(name) {
		if room < 4 {
			name = ""
		} else {
			name = "…" + name[len(name)-room+1:]
		}
	}
	line := name + stats
	if n := len([]rune(line)); n < b.drawn {
		line += strings.Repeat(" ", b.drawn-n)
	}
	fmt.Fprintf(b.w, "\r%s", line)
	b.drawn = len([]rune(line))
	b.lastDrawn = b.done
}

// Bytes formats n with binary units (B, KiB, MiB, GiB, TiB).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), 0
	for v >= unit && u < 4 {
		v /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[u-1])
}

func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
