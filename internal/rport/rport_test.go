package rport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/privdrop"
)

const helperEnv = "KRX_RPORT_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "unprivileged" {
		os.Exit(unprivilegedHelper())
	}
	os.Exit(m.Run())
}

// unprivilegedHelper drops to nobody, then tries to dial from and listen
// on a reserved port, printing the two errors for the parent to check.
func unprivilegedHelper() int {
	t, err := privdrop.Lookup("nobody")
	if err == nil {
		err = privdrop.Drop(t)
	}
	if err != nil {
		fmt.Println("drop:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d Dialer
	c, err := d.DialContext(ctx, "tcp4", os.Getenv("KRX_RPORT_ADDR"))
	if c != nil {
		c.Close()
	}
	fmt.Printf("dial=%v\n", err)
	ln, _, err := Listen(ctx, "tcp4", "")
	if ln != nil {
		ln.Close()
	}
	fmt.Printf("listen=%v\n", err)
	return 0
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: binding ports 512-1023")
	}
}

func TestReserved(t *testing.T) {
	for port, want := range map[int]bool{
		0: false, 1: false, 511: false, 512: true, 513: true, 1022: true, 1023: true,
		1024: false, 65535: false, -1: false,
	} {
		if got := Reserved(port); got != want {
			t.Errorf("Reserved(%d) = %v, want %v", port, got, want)
		}
	}
}

func TestNotTCP(t *testing.T) {
	if _, err := Dial("udp", "127.0.0.1:9"); err == nil || !strings.Contains(err.Error(), "not TCP") {
		t.Errorf("Dial udp = %v", err)
	}
	if _, _, err := Listen(context.Background(), "unix", ""); err == nil || !strings.Contains(err.Error(), "not TCP") {
		t.Errorf("Listen unix = %v", err)
	}
}

// server listens on an ephemeral loopback port and reports the remote
// port of every accepted connection.
func server(t *testing.T) (addr string, ports <-chan int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan int, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- c.RemoteAddr().(*net.TCPAddr).Port
			c.Close()
		}
	}()
	return ln.Addr().String(), ch
}

func localPort(c net.Conn) int { return c.LocalAddr().(*net.TCPAddr).Port }

func TestDialFromReservedPort(t *testing.T) {
	needRoot(t)
	addr, ports := server(t)
	c, err := Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lp := localPort(c)
	if !Reserved(lp) {
		t.Fatalf("local port %d not reserved", lp)
	}
	if sp := <-ports; sp != lp {
		t.Fatalf("server saw port %d, client bound %d", sp, lp)
	}
}

func TestDialSkipsBusyPort(t *testing.T) {
	needRoot(t)
	addr, ports := server(t)
	// Occupy the highest free reserved port (1023 unless something else
	// on the machine holds it); the dial must fall back below it.
	busy, p, err := Listen(context.Background(), "tcp4", "")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var d Dialer
	d.Base.Timeout = 10 * time.Second
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lp := localPort(c)
	if lp >= p || !Reserved(lp) {
		t.Fatalf("with %d occupied the dial used %d, want a reserved port below it", p, lp)
	}
	<-ports
	t.Logf("occupied %d, dial fell back to %d", p, lp)
}

func TestListenAcceptsReservedPeer(t *testing.T) {
	needRoot(t)
	// The rsh stderr channel: the client listens on a reserved port, the
	// server connects back from another reserved port.
	ln, p, err := Listen(context.Background(), "tcp4", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !Reserved(p) || ln.Addr().(*net.TCPAddr).Port != p {
		t.Fatalf("listener port %d / %v", p, ln.Addr())
	}
	done := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		done <- c
	}()
	c, err := Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-done
	if s == nil {
		t.Fatal("accept failed")
	}
	defer s.Close()
	if rp := s.RemoteAddr().(*net.TCPAddr).Port; !Reserved(rp) || rp == p {
		t.Fatalf("peer port %d (listener %d)", rp, p)
	}
}

func TestUnprivilegedGetsClearError(t *testing.T) {
	needRoot(t)
	addr, _ := server(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=unprivileged", "KRX_RPORT_ADDR="+addr)
	// If this network namespace lets anyone bind low ports, run the child
	// in a fresh one, where the kernel default (1024) applies.
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n <= High {
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	want := "dial=" + ErrNeedPrivilege.Error() + "\nlisten=" + ErrNeedPrivilege.Error() + "\n"
	if string(out) != want {
		t.Fatalf("child output:\n%s\nwant:\n%s", out, want)
	}
}

func TestClassify(t *testing.T) {
	mk := func(call string, e syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(call, e)}
	}
	cases := []struct {
		err  error
		want errClass
	}{
		{mk("bind", syscall.EADDRINUSE), portBusy},
		{mk("bind", syscall.EACCES), noPrivilege},
		{mk("connect", syscall.EADDRNOTAVAIL), portBusy},
		{mk("connect", syscall.EADDRINUSE), portBusy},
		{mk("connect", syscall.ECONNREFUSED), otherError},
		{mk("bind", syscall.EADDRNOTAVAIL), otherError},
		{errors.New("x"), otherError},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestNotRootInProcess covers the same error when the whole test run is
// unprivileged (then the re-exec test above skips).
func TestNotRootInProcess(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: covered by TestUnprivilegedGetsClearError")
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || n <= High {
		t.Skip("reserved ports are open to everyone in this network namespace")
	}
	if _, err := Dial("tcp4", "127.0.0.1:9"); !errors.Is(err, ErrNeedPrivilege) {
		t.Fatalf("Dial = %v, want ErrNeedPrivilege", err)
	}
	if _, _, err := Listen(context.Background(), "tcp4", "127.0.0.1"); !errors.Is(err, ErrNeedPrivilege) {
		t.Fatalf("Listen = %v, want ErrNeedPrivilege", err)
	}
}
