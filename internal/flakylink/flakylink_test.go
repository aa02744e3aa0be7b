package flakylink

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// connect returns a connected pair: snd in the sender's namespace (the
// accepted side), rcv in the receiver's (the dialling side).
func connect(t *testing.T, l *Link, lc *net.ListenConfig, d *net.Dialer) (snd, rcv *net.TCPConn) {
	t.Helper()
	ln, err := l.Sender.ListenConfig(lc, net.JoinHostPort(l.Sender.Addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rcv, err = l.Receiver.DialWith(d, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	snd, err = ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })
	return snd, rcv
}

// TestNamespacesAndCleanup: the link's ends really are in other
// namespaces (the root namespace has no 10.213.7.1), and cleanup leaves no
// namespace behind.
func TestNamespacesAndCleanup(t *testing.T) {
	var names []string
	t.Run("link", func(t *testing.T) {
		l := New(t, Options{})
		names = []string{l.Sender.Name, l.Receiver.Name}
		if _, err := net.Listen("tcp", net.JoinHostPort(SenderIP, "0")); err == nil {
			t.Fatalf("%s is bound in the root namespace: the link leaked out", SenderIP)
		}
		snd, rcv := connect(t, l, &net.ListenConfig{}, &net.Dialer{})
		if got := rcv.LocalAddr().(*net.TCPAddr).IP.String(); got != ReceiverIP {
			t.Errorf("receiver's address %s, want %s", got, ReceiverIP)
		}
		if _, err := snd.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4)
		if _, err := io.ReadFull(rcv, b); err != nil || string(b) != "ping" {
			t.Fatalf("read %q, %v", b, err)
		}
		if out, err := exec.Command("ip", "netns", "list").Output(); err != nil || !strings.Contains(string(out), l.Receiver.Name) {
			t.Fatalf("ip netns list: %v: %s", err, out)
		}
	})
	if names == nil {
		t.Skip("no link")
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s left behind: %s", n, out)
		}
	}
}

// TestLossyTransfer: at 25 % loss a transfer still completes intact (TCP
// retransmits) and the drop rule counted its drops.
func TestLossyTransfer(t *testing.T) {
	l := New(t, Options{LossPercent: 25, RTOMin: 20 * time.Millisecond, RTOMax: time.Second})
	snd, rcv := connect(t, l, &net.ListenConfig{}, &net.Dialer{})
	data := make([]byte, 256<<10)
	rand.Read(data)
	start := time.Now()
	go func() { snd.Write(data); snd.CloseWrite() }()
	rcv.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(rcv)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("received %d bytes, not the %d sent", len(got), len(data))
	}
	c, err := l.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.Lost == 0 {
		t.Errorf("counters %+v: nothing dropped at 25 %% loss", c)
	}
	t.Logf("%d bytes in %v, %+v", len(data), time.Since(start), c)
}

// urgentMarks sends pattern-urgent-pattern n times from snd and reads it
// inline on rcv, counting the reads that found the receiver at the mark;
// it checks every byte arrived in order.
func urgentMarks(t *testing.T, snd, rcv *net.TCPConn, n int) int {
	t.Helper()
	var want []byte
	go func() {
		raw, _ := snd.SyscallConn()
		for range n {
			snd.Write([]byte("abcd"))
			raw.Control(func(fd uintptr) { unix.Sendto(int(fd), []byte{'U'}, unix.MSG_OOB, nil) })
			time.Sleep(time.Millisecond)
		}
		snd.CloseWrite()
	}()
	for range n {
		want = append(want, "abcdU"...)
	}
	raw, err := rcv.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetReadDeadline(time.Now().Add(30 * time.Second))
	marks := 0
	var got []byte
	buf := make([]byte, 3)
	for {
		var at int
		var ioErr error
		raw.Control(func(fd uintptr) { at, ioErr = unix.IoctlGetInt(int(fd), unix.SIOCATMARK) })
		if ioErr != nil {
			t.Fatal(ioErr)
		}
		if at != 0 {
			marks++
		}
		k, err := rcv.Read(buf)
		got = append(got, buf[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("inline stream differs: got %d bytes %q…, want %d", len(got), got[:min(len(got), 40)], len(want))
	}
	return marks
}

// inline is a Dialer Control that sets SO_OOBINLINE.
func inline(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE, 1) })
	if err != nil {
		return err
	}
	return serr
}

// TestStripURG: through a URG-stripping link an urgent byte arrives inline
// with SIOCATMARK never true, while the same traffic over a plain link
// does reach marks (so the check can fail).
func TestStripURG(t *testing.T) {
	const n = 50
	d := &net.Dialer{Control: inline}
	t.Run("plain", func(t *testing.T) {
		l := New(t, Options{})
		snd, rcv := connect(t, l, &net.ListenConfig{}, d)
		if m := urgentMarks(t, snd, rcv, n); m == 0 {
			t.Fatalf("no read found the mark on a plain link: the check cannot see urgent data")
		} else {
			t.Logf("plain link: %d of %d urgent bytes seen at the mark", m, n)
		}
	})
	t.Run("strip", func(t *testing.T) {
		l := New(t, Options{StripURG: true})
		snd, rcv := connect(t, l, &net.ListenConfig{}, d)
		if m := urgentMarks(t, snd, rcv, n); m != 0 {
			t.Fatalf("%d reads at an urgent mark through a URG-stripping link", m)
		}
		c, err := l.Counters()
		if err != nil {
			t.Fatal(err)
		}
		if c.Stripped < n {
			t.Errorf("counters %+v: fewer than %d segments stripped", c, n)
		}
		t.Logf("%d urgent bytes, counters %+v", n, c)
	})
}

// TestURGLoss: segments carrying URG are dropped at random and
// retransmitted; the inline stream still arrives intact.
//
// A retransmission of an urgent segment carries URG again, so each loss
// doubles the sender's backoff. At 50 % the expected wait per segment is
// unbounded (Σ 2^-k · 2^k): one run in a few dozen took over 30 s. At
// 25 % it is about 10 ms per segment (rto_min 20 ms). 100 urgent bytes
// go out in about 60 URG segments (some coalesce), so the chance that
// none is dropped, and the check below fails, is about 0.75^60 ≈ 3·10^-8.
func TestURGLoss(t *testing.T) {
	l := New(t, Options{URGLossPercent: 25, RTOMin: 20 * time.Millisecond, RTOMax: time.Second})
	snd, rcv := connect(t, l, &net.ListenConfig{}, &net.Dialer{Control: inline})
	urgentMarks(t, snd, rcv, 100)
	c, err := l.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.URGLost == 0 || c.Lost != 0 {
		t.Errorf("counters %+v: want only URG segments lost", c)
	}
	t.Logf("counters %+v", c)
}

// TestRTOMin: the option reaches the link's route in both namespaces.
func TestRTOMin(t *testing.T) {
	l := New(t, Options{RTOMin: 20 * time.Millisecond})
	for _, ns := range []*Namespace{l.Sender, l.Receiver} {
		out, err := exec.Command("ip", "-n", ns.Name, "route", "show", netPrefix).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !strings.Contains(string(out), "rto_min lock 20ms") {
			t.Errorf("%s: route %q has no rto_min 20ms", ns.Name, out)
		}
	}
}

// TestRTOMax: the cap (and the raised retry limit that goes with it)
// reaches the sysctls of both namespaces and only theirs.
func TestRTOMax(t *testing.T) {
	l := New(t, Options{RTOMax: time.Second})
	if !l.RTOMaxApplied {
		t.Skipf("this kernel has no %s (Linux < 6.15)", rtoMaxSysctl)
	}
	host, err := os.ReadFile(rtoMaxSysctl)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []*Namespace{l.Sender, l.Receiver} {
		out, err := exec.Command("ip", "netns", "exec", ns.Name, "cat", rtoMaxSysctl, retriesSysctl).CombinedOutput()
		if err != nil || strings.Join(strings.Fields(string(out)), " ") != "1000 255" {
			t.Errorf("%s: tcp_rto_max_ms, tcp_retries2 %q, %v; want 1000 255", ns.Name, out, err)
		}
	}
	if strings.TrimSpace(string(host)) == "1000" {
		t.Errorf("the host's own tcp_rto_max_ms is 1000 too: the cap leaked or the check proves nothing")
	}
}

// TestRate: RateMbit puts a token bucket on the sender's veth, and data
// still crosses it intact.
func TestRate(t *testing.T) {
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("tc not installed")
	}
	l := New(t, Options{RateMbit: 10})
	out, err := exec.Command("ip", "netns", "exec", l.Sender.Name, "tc", "qdisc", "show", "dev", l.Sender.Dev).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "tbf") || !strings.Contains(string(out), "rate 10Mbit") {
		t.Fatalf("qdisc: %s", out)
	}
	snd, rcv := connect(t, l, &net.ListenConfig{}, &net.Dialer{})
	data := make([]byte, 64<<10)
	rand.Read(data)
	go func() { snd.Write(data); snd.CloseWrite() }()
	rcv.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(rcv)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received %d of %d bytes intact: %v", len(got), len(data), err)
	}
}
