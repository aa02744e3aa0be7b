// Package rshdtest starts the real netkit in.rshd for tests and
// benchmarks: served by socat on a free 127.0.0.1 port (TESTBED.md
// "netkit peers"), with root authorised by a line in /root/.rhosts that
// this package adds and removes exactly.
package rshdtest

import (
	"bytes"
	"fmt"
	"github.com/krx-suite/krx/internal/testutil/rhoststest"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rshd is the netkit shell daemon, /usr/sbin/in.rshd (Debian rsh-server).
const Rshd = "/usr/sbin/in.rshd"

// NeedRoot skips tb unless it runs as root with socat, in.rshd and the
// named programs installed.
func NeedRoot(tb testing.TB, programs ...string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: rcmd uses reserved ports (512-1023) and in.rshd authorises root by /root/.rhosts")
	}
	for _, p := range append([]string{"socat", Rshd}, programs...) {
		if _, err := exec.LookPath(p); err != nil {
			tb.Skipf("%s not installed (Debian socat, rsh-server, rsh-client): %v", p, err)
		}
	}
}

// Start serves in.rshd on 127.0.0.1 with socat (a free port, or port if
// non-zero) and returns the address. Cleanup stops socat and the daemons
// it started.
func Start(tb testing.TB, port int) string {
	tb.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		p := port
		if p == 0 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				tb.Fatal(err)
			}
			p = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		cmd := exec.Command("socat",
			"TCP-LISTEN:"+strconv.Itoa(p)+",bind=127.0.0.1,reuseaddr,fork",
			"EXEC:"+Rshd+",nofork,stderr")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		// Its own process group, so cleanup reaches in.rshd's children too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			tb.Fatalf("socat: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if waitListening(p, done) {
			tb.Cleanup(func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
				}
			})
			return addr
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if port != 0 {
			tb.Fatalf("socat on port %d did not start: %s", port, stderr.String())
		}
	}
	tb.Fatal("socat: no free port found")
	return ""
}

// waitListening polls the kernel's table of listening sockets (no probe
// connection, which would start an in.rshd) until port is listened on or
// socat exits.
func waitListening(port int, exited <-chan struct{}) bool {
	want := fmt.Sprintf(":%04X ", port)
	for i := 0; i < 500; i++ {
		select {
		case <-exited:
			return false
		default:
		}
		b, _ := os.ReadFile("/proc/net/tcp")
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			// local_address is field 1 ("0100007F:1F90"), state 0A = LISTEN.
			if len(f) > 3 && f[3] == "0A" && strings.HasSuffix(f[1]+" ", want) {
				return true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// AuthorizeRoot lets root@127.0.0.1 and root@localhost in by .rhosts for
// the rest of tb (see internal/testutil/rhoststest).
func AuthorizeRoot(tb testing.TB) {
	tb.Helper()
	rhoststest.AuthorizeRoot(tb)
}
