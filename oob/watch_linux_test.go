package oob

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// busy keeps all but one P spinning in loops without preemption points, so
// the runtime preempts them with SIGURG (sysmon every 10 ms, GC stack scans).
// With kill it also sends the watcher's own thread a runtime-style SIGURG
// (tgkill, SI_TKILL) every 100 µs. The returned func stops it all and
// returns how many were sent.
func busy(t testing.TB, w *Watcher, kill bool) (stop func() int) {
	var quit atomic.Bool
	var wg sync.WaitGroup
	kills := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for kill && !quit.Load() {
			if err := unix.Tgkill(unix.Getpid(), w.w.tid, unix.SIGURG); err != nil {
				t.Error(err)
				return
			}
			kills++
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for i := 0; i < max(1, runtime.GOMAXPROCS(0)-1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for !quit.Load() {
				x++
			}
			_ = x
		}()
	}
	return func() int { quit.Store(true); wg.Wait(); return kills }
}

func watch(t testing.TB, c interface{ Close() error }, w *Watcher, err error) *Watcher {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// waitStats polls until cond holds for the Watcher's counters.
func waitStats(t testing.TB, w *Watcher, what string, cond func(WatchStats) bool) WatchStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, st)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatcherReportsHintAndArrival(t *testing.T) {
	d, a := tcpPair(t, true)
	w, err := Watch(a)
	w = watch(t, a, w, err)
	mustWrite(t, d, "data")
	mustUrgent(t, d, 0x02)
	st := waitStats(t, w, "one urgent byte", func(s WatchStats) bool { return s.Hints >= 1 && s.Arrivals >= 1 })
	if st.Hints != 1 || st.Arrivals != 1 {
		t.Fatalf("stats %+v, want exactly one hint and one arrival", st)
	}
	select {
	case ev := <-w.Events():
		if ev.Seq != 1 || (ev.Kind != Hint && ev.Kind != Arrived) || ev.Time.IsZero() {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	if seq, err := w.Sync(); err != nil || seq != 1 {
		t.Fatalf("Sync = %d, %v", seq, err)
	}
}

// The runtime preempts goroutines with thread-directed SIGURG (tgkill,
// SI_TKILL); none of those may count as urgent data, under load or when
// aimed straight at the watcher's own thread.
func TestWatcherIgnoresRuntimeSIGURG(t *testing.T) {
	d, a := tcpPair(t, true)
	w, err := Watch(a)
	w = watch(t, a, w, err)
	stop := busy(t, w, true)
	buf := make([]byte, 4096)
	for i := 0; i < 200; i++ {
		mustWrite(t, d, "no urgent data here")
		a.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := a.Read(buf); err != nil {
			stop()
			t.Fatal(err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	kills := stop()
	st := waitStats(t, w, "tgkill SIGURGs", func(s WatchStats) bool { return s.Ignored > 0 })
	t.Logf("%d runtime-style SIGURGs sent, stats %+v", kills, st)
	if st.Hints != 0 || st.Arrivals != 0 {
		t.Fatalf("stats %+v: runtime SIGURGs were reported as urgent data", st)
	}
	select {
	case ev := <-w.Events():
		t.Fatalf("event %+v without urgent data", ev)
	default:
	}
}

// 2000 urgent bytes under load: every one is found at its mark, and the
// notifier reports at most one hint each. With only CPU-heavy goroutines
// (the runtime preempting them with SIGURG) nearly every byte gets its hint.
// With a flood of runtime-style SIGURGs aimed at the watcher's own thread,
// a pending one swallows the kernel's (one pending instance per standard
// signal); the hint is then recovered unless the reader had already reached
// the mark, where a hint is of no use any more.
func Test2000UrgentBytesUnderLoad(t *testing.T) {
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "busy", true: "busy+tgkill"}[kill], func(t *testing.T) {
			const N = 2000
			marks, kills, st := urgentRounds(t, N, kill)
			t.Logf("marks %d, %d runtime-style SIGURGs sent, stats %+v", marks, kills, st)
			if marks != N {
				t.Fatalf("found %d marks, want %d", marks, N)
			}
			if st.Hints > N || st.Arrivals > N {
				t.Fatalf("%d hints, %d arrivals for %d urgent bytes", st.Hints, st.Arrivals, N)
			}
			if st.Arrivals < N-N/100 {
				t.Fatalf("%d arrivals for %d urgent bytes", st.Arrivals, N)
			}
			minHints := uint64(N - N/100)
			if kill {
				minHints = N / 2
				if st.Ignored == 0 {
					t.Fatal("no runtime-style SIGURG reached the watcher: the filter was not tested")
				}
			}
			if st.Hints < minHints {
				t.Fatalf("%d hints for %d urgent bytes, want at least %d", st.Hints, N, minHints)
			}
		})
	}
}

// urgentRounds sends n rounds of output plus one urgent byte, each after the
// reader has passed the previous mark, and returns the marks found, the
// tgkill signals sent and the watcher's stats.
func urgentRounds(t *testing.T, n int, kill bool) (marks, kills int, st WatchStats) {
	d, a := tcpPair(t, true)
	w, err := Watch(a)
	w = watch(t, a, w, err)
	stop := busy(t, w, kill)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	acks := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		payload := []byte("some output before the control byte\r\n")
		for i := 0; i < n; i++ {
			if _, err := d.Write(payload); err != nil {
				errc <- err
				return
			}
			if err := SendUrgent(d, byte(i)|0x80); err != nil {
				errc <- err
				return
			}
			select {
			case <-acks:
			case <-time.After(30 * time.Second):
				errc <- errors.New("reader stalled")
				d.Close()
				return
			}
		}
		errc <- d.CloseWrite()
	}()

	r := NewReader(a, w)
	buf := make([]byte, 4096)
	var lastSeq uint64
	a.SetReadDeadline(time.Now().Add(5 * time.Minute))
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
		if !r.AtMark() {
			continue
		}
		seq, err := w.Sync()
		if err != nil {
			t.Fatal(err)
		}
		if seq < lastSeq {
			t.Fatalf("Sync went back from %d to %d", lastSeq, seq)
		}
		lastSeq = seq
		marks++
		// The next read starts with the urgent byte.
		k, err := r.Read(buf[:1])
		if err != nil || k != 1 || buf[0] != byte(marks-1)|0x80 {
			t.Fatalf("mark %d: byte %x, %v", marks, buf[:k], err)
		}
		acks <- struct{}{}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	kills = stop()
	stopped = true
	st = waitStats(t, w, "after the rounds", func(WatchStats) bool { return true })
	return marks, kills, st
}

// Two sockets, two watchers: a hint goes only to the socket that got it.
func TestWatchersTellSocketsApart(t *testing.T) {
	d1, a1 := tcpPair(t, true)
	_, a2 := tcpPair(t, true)
	w1, err := Watch(a1)
	w1 = watch(t, a1, w1, err)
	w2, err := Watch(a2)
	w2 = watch(t, a2, w2, err)
	mustUrgent(t, d1, 1)
	waitStats(t, w1, "urgent on socket 1", func(s WatchStats) bool { return s.Hints == 1 && s.Arrivals == 1 })
	if st := waitStats(t, w2, "socket 2", func(WatchStats) bool { return true }); st.Hints != 0 || st.Arrivals != 0 {
		t.Fatalf("socket 2 got %+v for urgent data sent on socket 1", st)
	}
}

// With GOMAXPROCS(1) a goroutine spinning without preemption points only
// lets the test continue if asynchronous preemption (SIGURG) still works
// while watchers hold SIGURG blocked on their own threads.
func TestRuntimePreemptionStillWorks(t *testing.T) {
	_, a := tcpPair(t, true)
	w, err := Watch(a)
	watch(t, a, w, err)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var quit atomic.Bool
	done := make(chan struct{})
	go func() {
		x := 0
		for !quit.Load() {
			x++
		}
		_ = x
		close(done)
	}()
	time.Sleep(50 * time.Millisecond) // only returns if the spinner is preempted
	quit.Store(true)
	<-done
}

func countDir(t testing.TB, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestWatcherCloseLeaksNothing(t *testing.T) {
	d, a := tcpPair(t, true)
	// Warm up: the first Watch may start runtime helpers.
	w, err := Watch(a)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	fds, threads := countDir(t, "/proc/self/fd"), countDir(t, "/proc/self/task")
	for i := 0; i < 20; i++ {
		w, err := Watch(a)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			mustUrgent(t, d, byte(i))
			waitStats(t, w, "urgent", func(s WatchStats) bool { return s.Hints >= 1 })
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := w.Sync(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Sync after Close = %v", err)
		}
		if _, ok := <-w.Events(); ok {
			// drain the last event; the channel must then be closed
			if _, ok := <-w.Events(); ok {
				t.Fatal("Events not closed by Close")
			}
		}
	}
	if got := countDir(t, "/proc/self/fd"); got != fds {
		t.Fatalf("%d open fds after 20 Watch/Close, %d before", got, fds)
	}
	deadline := time.Now().Add(10 * time.Second)
	for got := countDir(t, "/proc/self/task"); got > threads+2; got = countDir(t, "/proc/self/task") {
		if time.Now().After(deadline) {
			t.Fatalf("%d threads after 20 Watch/Close, %d before", got, threads)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Ownership was given back: the socket has no owner any more.
	var owner int
	if err := rawControl(a, func(fd int) (err error) { owner, err = unix.FcntlInt(uintptr(fd), unix.F_GETOWN, 0); return }); err != nil || owner != 0 {
		t.Fatalf("socket owner %d, %v after Close", owner, err)
	}
}

// The Watcher holds no dup of the socket: closing the connection sends the
// FIN at once, even while the Watcher is still open.
func TestWatcherDoesNotKeepClosedConnOpen(t *testing.T) {
	d, a := tcpPair(t, true)
	w, err := Watch(a)
	w = watch(t, a, w, err)
	a.Close()
	d.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := d.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("peer read %d, %v after close with a live Watcher; want EOF", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
