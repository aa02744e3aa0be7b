package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/internal/flakylink"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
)

// interrupts is how many ^C each session gets (issue 5: ≥ 1000 flushes).
const interrupts = 1000

// genLogEnv names a file where the generator logs each SIGINT with the
// record it was about to write (for debugging a lost marker).
const genLogEnv = "KRX_E2E_GENLOG"

// dumpEnv names a directory where each session's screen is saved (for
// debugging a mismatch).
const dumpEnv = "KRX_E2E_DUMP"

// winEvery is how many ^C pass between window changes.
const winEvery = 25

// stepTimeout bounds each wait for the session to answer (a marker, the
// start, the end): a stuck session fails with what it painted last.
const stepTimeout = 20 * time.Second

// rtoMin shortens retransmission timeouts on the lossy links, as
// internal/krxsess's TestCreepInFlakyLink does.
const rtoMin = 20 * time.Millisecond

// rtoMax caps them (flakylink.Options.RTOMax): the rules drop
// retransmissions too, and once in CI a segment lost 9 times in a row on
// the 25 % link backed off to a 12 s timeout, past stepTimeout.
const rtoMax = time.Second

// links are issue 5's: loss of 0, 2, 10 and 25 % of the segments reaching
// the client, and a middlebox that clears URG and the urgent pointer.
var links = []struct {
	name string
	o    flakylink.Options
}{
	{"loss0", flakylink.Options{}},
	{"loss2", flakylink.Options{LossPercent: 2, RTOMin: rtoMin, RTOMax: rtoMax}},
	{"loss10", flakylink.Options{LossPercent: 10, RTOMin: rtoMin, RTOMax: rtoMax}},
	{"loss25", flakylink.Options{LossPercent: 25, RTOMin: rtoMin, RTOMax: rtoMax}},
	{"stripurg", flakylink.Options{StripURG: true}},
}

// TestCreepInRealPrograms is the creep-in proof with the real programs
// (see doc.go).
func TestCreepInRealPrograms(t *testing.T) {
	needRoot(t)
	w := getWorld(t)
	if err := w.hostTicket(flakylink.SenderIP); err != nil {
		t.Fatal(err)
	}
	for _, lc := range links {
		t.Run(lc.name, func(t *testing.T) { runSession(t, w, lc.o) })
	}
}

// screen feeds what the client paints to the checker, keeping the last
// bytes for messages.
type screen struct {
	c       *client
	link    *flakylink.Link
	rlogind int      // the monitor's pid
	dump    *os.File // KRX_E2E_DUMP: everything painted, for debugging
	chk     checker
	last    []byte
	n       int64
}

func (s *screen) read(p []byte) {
	s.chk.Write(p)
	if s.dump != nil {
		s.dump.Write(p)
	}
	s.n += int64(len(p))
	s.last = append(s.last, p...)
	if len(s.last) > 4096 {
		s.last = s.last[len(s.last)-2048:]
	}
}

// until reads the screen until cond holds; it fails t after stepTimeout,
// when the checker finds a mismatch, or when the client ends first.
func (s *screen) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(stepTimeout)
	defer timer.Stop()
	for !cond() {
		if err := s.chk.firstErr; err != nil {
			t.Fatalf("%v\nwhile waiting for %s; last painted: %q", err, what, tail(string(s.last), 600))
		}
		select {
		case p, ok := <-s.c.out:
			if !ok {
				<-s.c.done
				t.Fatalf("rlogin ended (%v) while waiting for %s; last painted: %q", s.c.err, what, tail(string(s.last), 600))
			}
			s.read(p)
		case <-timer.C:
			t.Errorf("no %s after %v (%d holes since the last marker, %d INT markers, %d bytes painted); last painted: %q",
				what, stepTimeout, s.chk.holes, s.chk.Ints, s.n, tail(string(s.last), 600))
			s.diagnose(t)
			t.FailNow()
		}
	}
}

// diagnose logs the sockets of both ends and rlogin's goroutines (SIGQUIT
// makes it print them on its terminal) when a session is stuck.
func (s *screen) diagnose(t *testing.T) {
	for _, ns := range []*flakylink.Namespace{s.link.Sender, s.link.Receiver} {
		out, _ := exec.Command("ip", "netns", "exec", ns.Name, "ss", "-tnoi").CombinedOutput()
		t.Logf("sockets in %s:\n%s", ns.Name, out)
	}
	if _, err := exec.LookPath("tcpdump"); err == nil { // what still crosses the link
		out, _ := exec.Command("ip", "netns", "exec", s.link.Receiver.Name, "timeout", "2",
			"tcpdump", "-i", "any", "-nn", "-c", "40", "tcp").CombinedOutput()
		t.Logf("segments at the client for 2 s:\n%s", out)
	}
	ps, _ := exec.Command("ps", "-eo", "pid,ppid,stat,wchan:32,args").CombinedOutput()
	for _, line := range strings.Split(string(ps), "\n") {
		if strings.Contains(line, "rlogind") || strings.Contains(line, "e2e.test") || strings.Contains(line, "-bash") {
			t.Logf("ps: %s", line)
		}
	}
	// rlogind's goroutines go to its log, which cleanup prints.
	syscall.Kill(s.rlogind, syscall.SIGQUIT)
	syscall.Kill(s.c.cmd.Process.Pid, syscall.SIGQUIT)
	var dump []byte
	deadline := time.After(2 * time.Second)
	for {
		select {
		case p, ok := <-s.c.out:
			if ok {
				dump = append(dump, p...)
				continue
			}
		case <-deadline:
		}
		break
	}
	if i := bytes.Index(dump, []byte("goroutine ")); i >= 0 {
		dump = dump[i:]
	}
	t.Logf("rlogin's goroutines:\n%s", tail(string(dump), 16<<10))
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// winFor is the k-th window size; 0xFF bytes in it exercise the escaping
// of the in-band window message.
func winFor(k int) pty.Winsize {
	return pty.Winsize{Rows: uint16(24 + k), Cols: uint16(80 + k%100), X: 0xFF, Y: uint16(0xFF00 + k)}
}

var (
	commandRE = regexp.MustCompile(`control command.* sent=(0x[0-9a-f]+)`)
	statsRE   = regexp.MustCompile(`rlogin: stats: urgent (\d+) flushes (\d+) dropped (\d+)(?: holds-timed-out (\d+))?`)
)

func runSession(t *testing.T, w *world, o flakylink.Options) {
	start := time.Now()
	l := flakylink.New(t, o)
	if o.RTOMax > 0 && !l.RTOMaxApplied {
		t.Logf("this kernel cannot cap the retransmission timeout (Linux < 6.15): a long loss chain may stall a step")
	}
	var log syncbuf.Buffer
	pid := w.startRlogind(t, l.Sender, &log)
	c := w.startClient(t, l.Receiver, l.Sender.Addr, "--debug-stats")
	s := &screen{c: c, link: l, rlogind: pid}
	if dir := os.Getenv(dumpEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".screen"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s.dump = f
	}

	// Type only once rlogin has its terminal raw: the session is up.
	s.until(t, "rlogin's raw mode", func() bool {
		tio, err := unix.IoctlGetTermios(int(c.ptmx.Fd()), unix.TCGETS)
		if err == nil && tio.Lflag&unix.ECHO == 0 {
			return true
		}
		select {
		case p, ok := <-c.out:
			if ok {
				s.read(p)
			}
		case <-time.After(10 * time.Millisecond):
		}
		return false
	})
	genlog := ""
	if f := os.Getenv(genLogEnv); f != "" {
		genlog = "KRX_E2E_GENLOG=" + f + " "
	}
	fmt.Fprintf(c.ptmx, "%s%s=1 %s; exit\r", genlog, floodEnv, w.self)
	s.until(t, "the generator's start", func() bool { return s.chk.started })
	setup := time.Since(start)

	var wins []pty.Winsize
	for i := 1; i <= interrupts; i++ {
		if _, err := c.ptmx.Write([]byte{0x03}); err != nil { // ^C
			t.Fatal(err)
		}
		s.until(t, fmt.Sprintf("#INT %d#", i), func() bool { return s.chk.Ints >= i })
		if i%winEvery == 0 {
			ws := winFor(len(wins) + 1)
			if err := pty.Setsize(c.ptmx, &ws); err != nil {
				t.Fatal(err)
			}
			syscall.Kill(c.cmd.Process.Pid, syscall.SIGWINCH)
			wins = append(wins, ws)
			s.until(t, fmt.Sprintf("window change %d (%dx%d)", len(wins), ws.Rows, ws.Cols),
				func() bool { return len(s.chk.Wins) >= len(wins) })
		}
	}
	floodTime := time.Since(start) - setup
	if _, err := c.ptmx.Write([]byte("q\r")); err != nil {
		t.Fatal(err)
	}
	s.until(t, "the generator's end", func() bool { return s.chk.ended })
	// rlogin exits: read what it painted last (the shell's exit, its
	// messages) until its terminal closes.
	exitTimer := time.NewTimer(stepTimeout)
	defer exitTimer.Stop()
	for open := true; open; {
		select {
		case p, ok := <-c.out:
			if ok {
				s.read(p)
			}
			open = ok
		case <-exitTimer.C:
			t.Fatalf("rlogin still running %v after the generator's end; last painted: %q", stepTimeout, tail(string(s.last), 600))
		}
	}
	<-c.done
	if err := s.chk.Err(); err != nil {
		t.Fatalf("%v; last painted: %q", err, tail(string(s.last), 600))
	}
	if c.err != nil {
		t.Errorf("rlogin: %v; last painted: %q", c.err, s.chk.Trail)
	}
	trail := string(s.chk.Trail)
	if !bytes.Contains(s.chk.Trail, []byte("rlogin: connection closed.")) {
		t.Errorf("rlogin did not report the server's close; after the flood: %q", trail)
	}
	if tio, err := unix.IoctlGetTermios(int(c.ptmx.Fd()), unix.TCGETS); err != nil || tio.Lflag&unix.ECHO == 0 || tio.Oflag&unix.OPOST == 0 {
		t.Errorf("terminal not restored after rlogin: %+v, %v", tio, err)
	}

	// Every ^C reached the generator and every window size the remote pty.
	if s.chk.Ints != interrupts || s.chk.EndInts != interrupts {
		t.Errorf("%d INT markers, generator saw %d SIGINTs; want %d", s.chk.Ints, s.chk.EndInts, interrupts)
	}
	for k, ws := range wins {
		if k >= len(s.chk.Wins) {
			t.Errorf("window size %d (%+v) never reached the remote pty", k+1, ws)
			continue
		}
		got := s.chk.Wins[k]
		if want := [4]int{int(ws.Rows), int(ws.Cols), int(ws.X), int(ws.Y)}; got != want {
			t.Errorf("window %d: remote pty has %v, want %v", k+1, got, want)
		}
	}
	if len(s.chk.Wins) != len(wins) {
		t.Errorf("%d window sizes arrived, %d were set", len(s.chk.Wins), len(wins))
	}

	// rlogind sent a flush command for every ^C (-D log) …
	sent, flushes := 0, 0
	for _, m := range commandRE.FindAllStringSubmatch(log.String(), -1) {
		v, _ := strconv.ParseUint(m[1], 0, 8)
		sent++
		if v&0x02 != 0 { // compat.CtlFlushWrite
			flushes++
		}
	}
	if flushes != interrupts {
		t.Errorf("rlogind sent %d flush commands (%d commands) for %d ^C", flushes, sent, interrupts)
	}
	// … and the client acted on each (--debug-stats, when it reports).
	if m := statsRE.FindStringSubmatch(trail); m != nil {
		got, _ := strconv.Atoi(m[2])
		if got != flushes {
			t.Errorf("rlogin acted on %d flushes, rlogind sent %d (%s)", got, flushes, m[0])
		}
		t.Logf("client: %s", m[0])
	} else {
		t.Logf("rlogin -x printed no stats line (--debug-stats not honoured by the krx client)")
	}
	cnt, err := l.Counters()
	if err != nil {
		t.Error(err)
	}
	t.Logf("%d ^C, %d window changes in %v (set-up %v); rlogind sent %d commands, %d flushes; painted %d bytes, %d record bytes verified, %d holes (%d ^C with more than one, at most %d), %d bytes seen cut out, %d positions given up; %d records written; link: lost %d, URG stripped %d",
		interrupts, len(wins), floodTime.Round(time.Millisecond), setup.Round(time.Millisecond), sent, flushes,
		s.n, s.chk.Painted, s.chk.Holes, s.chk.Double, s.chk.MaxHoles, s.chk.Dropped, s.chk.Lost, s.chk.EndRecs, cnt.Lost, cnt.Stripped)
}
