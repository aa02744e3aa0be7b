package bench

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/flakylink"
)

// floodBytes is how much of the flood the terminal paints before ^C.
const floodBytes = 256 << 10

// floodsPerOp is how many floods each client gets per op, alternately
// (the urgent hint races the data, so one flood is a poor sample).
const floodsPerOp = 3

// quietAfterFlush is the silence that ends the count after ^C (TESTBED.md).
const quietAfterFlush = 500 * time.Millisecond

// BenchmarkFlush: bytes painted on the client's terminal after ^C during
// an output flood ("od -v /dev/zero"), until 0.5 s of quiet, through
// "rlogin -x" (rlogind flushes with an urgent mark inside the encrypted
// stream) and "ssh -tt" (no flush: what is in flight is painted), on a
// slow link as in TESTBED.md: the daemons in one network namespace, the
// clients in another, joined by a veth with "tbf rate 10mbit burst 16kb
// latency 50ms" on the server's side. Means per flood, and krx's worst.
// Target: krx/ssh ≤ 1/50.
func BenchmarkFlush(b *testing.B) {
	needNetns(b)
	if err := flakylink.Available(flakylink.Options{RateMbit: 10}); err != nil {
		b.Skip(err)
	}
	if _, err := exec.LookPath("kvno"); err != nil {
		b.Skipf("kvno not installed (Debian krb5-user): %v", err)
	}
	l := flakylink.New(b, flakylink.Options{RateMbit: 10})
	srv, cli := l.Sender, l.Receiver
	dial := func(addr string) error {
		c, err := cli.Dial(addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	ssh := startSSHDOn(b, srv.Addr, dial, "ip", "netns", "exec", srv.Name)
	k := startKrx(b)
	// The client reaches the server by address: give rlogind a key for
	// host/<address> and put that ticket in alice's ccache now, as the
	// client's namespace cannot reach the KDC on this one's loopback.
	princ := "host/" + srv.Addr
	for _, q := range []string{"addprinc -randkey " + princ, "ktadd -k " + k.Realm.HostKeytab + " " + princ} {
		if err := k.Realm.Kadmin(q); err != nil {
			b.Fatal(err)
		}
	}
	kvno := exec.Command("kvno", princ)
	kvno.Env = k.Env
	if out, err := kvno.CombinedOutput(); err != nil {
		b.Fatalf("kvno %s: %v: %s", princ, err, out)
	}
	k.Login, k.Shell = freeTCPPort(b), freeTCPPort(b)
	d := k.daemon(net.JoinHostPort(srv.Addr, k.Login), net.JoinHostPort(srv.Addr, k.Shell), "ip", "netns", "exec", srv.Name)
	if err := d.Start(); err != nil {
		b.Fatal(err)
	}
	stopByPid(b, d, "rlogind", &k.log)
	waitDial(b, net.JoinHostPort(srv.Addr, k.Login), dial)

	inCli := []string{"ip", "netns", "exec", cli.Name}
	kc := exec.Command(inCli[0], append(inCli[1:], k.Bin+"/rlogin", "-x", "-p", k.Login, srv.Addr)...)
	kc.Env = append([]string(nil), k.Env...)
	krx := startPty(b, "rlogin -x", kc)
	sc := exec.Command(inCli[0], append(append(inCli[1:], "ssh"), ssh.Args("-p", "-tt", "root@"+srv.Addr)...)...)
	sc.Env = os.Environ()
	sshs := startPty(b, "ssh -tt", sc)
	var nk, ns, worst int
	var qk, qs time.Duration
	b.ResetTimer()
	for range b.N {
		for range floodsPerOp {
			n, q := krx.flood(b)
			nk, qk, worst = nk+n, qk+q, max(worst, n)
			n2, q2 := sshs.flood(b)
			ns, qs = ns+n2, qs+q2
			b.Logf("flood: rlogin -x painted %d bytes, quiet after %v; ssh -tt %d bytes, %v", n, q, n2, q2)
		}
	}
	b.StopTimer()
	ops := float64(b.N * floodsPerOp)
	b.ReportMetric(float64(worst)/1e3, "krx-worst-painted-KB")
	b.ReportMetric(float64(nk)/ops/1e3, "krx-painted-KB")
	b.ReportMetric(float64(ns)/ops/1e3, "ssh-painted-KB")
	b.ReportMetric(float64(nk)/float64(max(ns, 1)), "krx/ssh")
	b.ReportMetric(float64(qk.Milliseconds())/ops, "krx-quiet-ms")
	b.ReportMetric(float64(qs.Milliseconds())/ops, "ssh-quiet-ms")
}

// flood runs "od -v /dev/zero" in s's shell, sends ^C once floodBytes have
// been painted, and returns what was painted after the ^C until
// quietAfterFlush of silence and the time to the last byte.
func (s *ptySession) flood(b *testing.B) (int, time.Duration) {
	b.Helper()
	s.ptmx.Write([]byte("echo RE''ADY\r"))
	s.waitFor(b, "READY", 30*time.Second)
	s.drain(300 * time.Millisecond)
	s.seen.Reset()
	s.ptmx.Write([]byte("od -v /dev/zero\r"))
	painted := 0
	timeout := time.After(30 * time.Second)
	for painted < floodBytes {
		select {
		case c, ok := <-s.out:
			if !ok {
				b.Fatalf("%s ended during the flood", s.name)
			}
			painted += len(c)
		case <-timeout:
			b.Fatalf("%s: only %d bytes of flood in 30 s", s.name, painted)
		}
	}
	if _, err := s.ptmx.Write([]byte{0x03}); err != nil { // ^C, the remote tty's VINTR
		b.Fatal(err)
	}
	// Count until quiet, noting how much was painted by each mark: the
	// timeline tells a late hold (bytes painted steadily for a while) from
	// a late tail (a few bytes, the prompt, long after).
	marks := []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	by := make([]int, len(marks))
	start := time.Now()
	n, last := 0, time.Duration(0)
	for {
		select {
		case c, ok := <-s.out:
			if !ok {
				b.Fatalf("%s ended after ^C", s.name)
			}
			n, last = n+len(c), time.Since(start)
			for i, m := range marks {
				if last <= m {
					by[i] += len(c)
				}
			}
			continue
		case <-time.After(quietAfterFlush):
		}
		break
	}
	b.Logf("%s after ^C: %d bytes by 10 ms, %d by 50, %d by 100, %d by 200, %d in all (last at %v)",
		s.name, by[0], by[1], by[2], by[3], n, last.Round(time.Millisecond))
	return n, last
}
