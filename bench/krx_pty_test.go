package bench

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession is an interactive client (rlogin -x, ssh -tt) on a pty whose
// master the benchmark holds, as a terminal would.
type ptySession struct {
	name string
	ptmx *os.File
	cmd  *exec.Cmd
	out  chan []byte // what the client painted, chunk by chunk
	seen bytes.Buffer
	echo int // bytes read by roundTrip
}

// startPty starts cmd on a new pty; b.Cleanup kills it and closes the pty.
func startPty(b *testing.B, name string, cmd *exec.Cmd) *ptySession {
	b.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80})
	cmd.Env = append(cmd.Env, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		ptmx.Close()
		tty.Close()
		b.Fatal(err)
	}
	tty.Close()
	s := &ptySession{name: name, ptmx: ptmx, cmd: cmd, out: make(chan []byte, 1<<16)}
	go func() {
		defer close(s.out)
		for {
			buf := make([]byte, 32<<10)
			n, err := ptmx.Read(buf)
			if n > 0 {
				s.out <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		ptmx.Close()
	})
	return s
}

// waitFor reads until marker has been painted; it fails b after timeout.
func (s *ptySession) waitFor(b *testing.B, marker string, timeout time.Duration) {
	b.Helper()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !bytes.Contains(s.seen.Bytes(), []byte(marker)) {
		select {
		case c, ok := <-s.out:
			if !ok {
				b.Fatalf("%s ended before %q; screen %q", s.name, marker, s.seen.String())
			}
			s.seen.Write(c)
		case <-t.C:
			b.Fatalf("%s: no %q after %v; screen %q", s.name, marker, timeout, s.seen.String())
		}
	}
}

// drain reads until quiet has passed without output; it returns the
// bytes read and the time from the call to the last byte.
func (s *ptySession) drain(quiet time.Duration) (n int, last time.Duration) {
	start := time.Now()
	for {
		select {
		case c, ok := <-s.out:
			if !ok {
				return n, last
			}
			n += len(c)
			last = time.Since(start)
		case <-time.After(quiet):
			return n, last
		}
	}
}

// rawCat turns the remote shell into an echo: the remote tty raw without
// echo, then cat, so every byte typed comes straight back from cat.
func (s *ptySession) rawCat(b *testing.B) {
	b.Helper()
	s.ptmx.Write([]byte("stty raw -echo; echo RE''ADY; exec cat\r"))
	s.waitFor(b, "READY", 30*time.Second)
	s.drain(300 * time.Millisecond)
}

// roundTrip writes one byte and waits for its echo.
func (s *ptySession) roundTrip(b *testing.B) time.Duration {
	b.Helper()
	start := time.Now()
	if _, err := s.ptmx.Write([]byte{'x'}); err != nil {
		b.Fatal(err)
	}
	select {
	case c, ok := <-s.out:
		d := time.Since(start)
		if !ok || len(c) == 0 {
			b.Fatalf("%s ended", s.name)
		}
		s.echo += len(c)
		return d
	case <-time.After(10 * time.Second):
		b.Fatalf("%s: no echo in 10 s", s.name)
	}
	return 0
}

// BenchmarkEchoRTT: keystroke echo round trip through "rlogin -x" and
// "ssh -tt" on a pty, each remote shell replaced by "stty raw -echo; cat":
// a byte written on the pty master comes back through client, connection,
// daemon, remote pty and cat. Rounds of 50 round trips alternate between
// the two sessions (500 each per op); p50 and p99 in µs. Target: p50
// krx/ssh ≤ 0.4. A third pty running the same "stty raw -echo; cat"
// locally (two pty hops, no client, network or daemon) gives the floor;
// twice the floor bounds any remote echo from below (bound/ssh-p50).
func BenchmarkEchoRTT(b *testing.B) {
	needNetns(b)
	ssh := startSSHD(b)
	k := startKrx(b)
	k.serveLoopback(b)
	kc := k.command("rlogin", "-x", "-p", k.Login, krxHost)
	kc.Env = append([]string(nil), kc.Env...)
	krx := startPty(b, "rlogin -x", kc)
	sc := exec.Command("ssh", ssh.Args("-p", "-tt", sshHost)...)
	sc.Env = os.Environ()
	sshs := startPty(b, "ssh -tt", sc)
	// The floor: the same cat on a second pty, locally, no network.
	floor := startPty(b, "local sh", exec.Command("sh"))
	all := []*ptySession{krx, sshs, floor}
	for _, s := range all {
		s.rawCat(b)
	}
	for range 20 { // warm up every path
		for _, s := range all {
			s.roundTrip(b)
		}
	}
	var tk, ts, tf []time.Duration
	b.ResetTimer()
	for range b.N {
		for range 10 {
			for range 50 {
				tk = append(tk, krx.roundTrip(b))
			}
			for range 50 {
				ts = append(ts, sshs.roundTrip(b))
			}
			for range 50 {
				tf = append(tf, floor.roundTrip(b))
			}
		}
	}
	b.StopTimer()
	// Every byte must come back once, from the remote cat: a local echo
	// (the client leaving the pty cooked) would double the count.
	for _, s := range all {
		n, _ := s.drain(200 * time.Millisecond)
		if want := 20 + 500*b.N; s.echo+n != want {
			b.Fatalf("%s: %d bytes echoed for %d typed", s.name, s.echo+n, want)
		}
	}
	k50, s50 := quantile(tk, 0.5), quantile(ts, 0.5)
	b.ReportMetric(k50, "krx-p50-µs")
	b.ReportMetric(quantile(tk, 0.99), "krx-p99-µs")
	b.ReportMetric(s50, "ssh-p50-µs")
	b.ReportMetric(quantile(ts, 0.99), "ssh-p99-µs")
	b.ReportMetric(k50/s50, "krx/ssh-p50")
	f50 := quantile(tf, 0.5)
	b.ReportMetric(f50, "pty-cat-floor-p50-µs")
	// Any remote echo crosses two pty pairs (the client's terminal and the
	// remote's), each twice, as the floor crosses one: 2·floor is a lower
	// bound for both, and bound/ssh-p50 > 0.4 means the target is below
	// what the ptys alone cost. What is left above the bound is each
	// client/daemon/network path's own share.
	bound := 2 * f50
	b.ReportMetric(bound/s50, "bound/ssh-p50")
	b.ReportMetric((k50-bound)/(s50-bound), "krx/ssh-p50-above-bound")
}
