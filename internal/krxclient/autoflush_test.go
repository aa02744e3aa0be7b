package krxclient

import (
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/krx-suite/krx/oob"
)

// lineClock records when each numbered line "L<n>" first appears on a
// pty master.
type lineClock struct {
	mu    sync.Mutex
	buf   []byte
	seen  map[int]time.Time
	order []int
}

var lineRE = regexp.MustCompile(`L(\d+)\r\n`)

func (c *lineClock) Write(p []byte) (int, error) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	for _, m := range lineRE.FindAllSubmatch(c.buf, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		if _, ok := c.seen[n]; !ok {
			c.seen[n] = now
			c.order = append(c.order, n)
		}
	}
	if i := len(c.buf) - 64; i > 0 { // keep only a tail that may hold a split line
		c.buf = append(c.buf[:0], c.buf[i:]...)
	}
	return len(p), nil
}

// after returns the lines first seen after t, in order, with their times.
func (c *lineClock) after(t time.Time) (ns []int, ts []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.order {
		if c.seen[n].After(t) {
			ns, ts = append(ns, n), append(ts, c.seen[n])
		}
	}
	return ns, ts
}

// TestAutoflush: the built rlogin -x against krx's rlogind, the remote
// shell printing a numbered line every 10 ms and ignoring SIGINT. A typed
// ^C makes the client stop painting at once (rlogin.Autoflush): with
// "stty noflsh" no flush comes, so painting stops for the whole hold
// (oob.FlushWaitSlack and more) and resumes with no line lost; with the
// flush (the default) the flush command ends the hold early; after
// "stty -ixon" (the server reports NOSTOP: the remote left cooked mode) a
// typed ^C holds nothing.
func TestAutoflush(t *testing.T) {
	needRoot(t)
	r := realm(t)
	d := startRlogind(t, r)
	ptmx, tty := openPty(t)
	clock := &lineClock{seen: map[int]time.Time{}}
	c := startOnPty(t, r, ptmx, tty, []string{"rlogin", "-x", "--debug-stats", "-p", d.login, "localhost"}, clock)
	scr := c.scr
	ptmx.Write([]byte("echo RE''ADY\r"))
	scr.waitFor(t, 0, "READY")
	// The longest pause in painting in the second after a ^C, and whether
	// the line numbers painted in it are consecutive.
	interrupt := func(stty string) (gap time.Duration, consecutive bool) {
		t.Helper()
		at := len(scr.String())
		ptmx.Write([]byte("stty " + stty + "; trap '' INT; for i in $(seq 1 150); do echo L$i; sleep 0.01; done; trap - INT; stty sane; echo DO''NE\r"))
		scr.waitFor(t, at, "L20\r\n")
		start := time.Now()
		ptmx.Write([]byte{0x03})
		time.Sleep(time.Second)
		ns, ts := clock.after(start)
		scr.waitFor(t, at, "DONE")
		if len(ns) < 2 {
			t.Fatalf("stty %s: %d lines painted in the second after ^C", stty, len(ns))
		}
		prev, consecutive := start, true
		for i, tm := range ts {
			gap = max(gap, tm.Sub(prev))
			prev = tm
			if i > 0 && ns[i] != ns[i-1]+1 {
				consecutive = false
			}
		}
		t.Logf("stty %s: %d lines in the second after ^C, longest pause %v, consecutive %v", stty, len(ns), gap, consecutive)
		clock.mu.Lock()
		clear(clock.seen) // the next loop counts from 1 again
		clock.order = nil
		clock.mu.Unlock()
		return gap, consecutive
	}
	hold := oob.FlushWaitSlack
	// No flush comes: the client holds for the whole wait, loses nothing.
	if gap, consecutive := interrupt("noflsh"); gap < hold || !consecutive {
		t.Errorf("^C with noflsh: longest pause %v (want ≥ %v: the client holds), lines consecutive %v (want true)",
			gap, hold, consecutive)
	}
	// The flush comes: it ends the hold at once; after NOSTOP there is no
	// hold. A full hold pauses painting at least hold in every try, so one
	// try with a shorter pause shows it (a loaded machine may stall the
	// remote loop in a try: up to five).
	for _, stty := range []string{"-noflsh", "-ixon noflsh"} {
		var gaps []time.Duration
		for range 5 {
			gap, _ := interrupt(stty)
			gaps = append(gaps, gap)
			if gap < hold {
				break
			}
		}
		if g := gaps[len(gaps)-1]; g >= hold {
			t.Errorf("^C with stty %s: pauses %v, want one < %v (no hold to run out)", stty, gaps, hold)
		}
	}
	// --debug-stats counts the flushes the client acted on: the -noflsh
	// tries sent at least one.
	at := len(scr.String())
	ptmx.Write([]byte("exit\r"))
	c.waitExit(t, "exit")
	end := scr.waitFor(t, at, "rlogin: stats: ")
	m := regexp.MustCompile(`urgent (\d+) flushes (\d+) dropped (\d+)`).FindStringSubmatch(scr.String()[end:])
	if m == nil {
		time.Sleep(100 * time.Millisecond)
		m = regexp.MustCompile(`urgent (\d+) flushes (\d+) dropped (\d+)`).FindStringSubmatch(scr.String()[end:])
	}
	if m == nil || m[2] == "0" {
		t.Errorf("stats line %q: want flushes ≥ 1", scr.String()[end:])
	}
}
