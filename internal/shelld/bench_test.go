package shelld

import (
	"github.com/krx-suite/krx/internal/testutil/rhoststest"
	"io"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
)

// benchPayload is what one iteration pushes through "cat > /dev/null".
const benchPayload = 256 << 20

// BenchmarkShellStdin measures the shell service's stdin throughput
// (rsh host 'cat >/dev/null' < data) for krx and, in the same run, for
// netkit's in.rshd served inetd-style: the command reads the socket
// directly in both, so the ratio should be about 1.
func BenchmarkShellStdin(b *testing.B) {
	servertest.NeedRoot(b)
	// Both run root's real shell with root's real .rhosts, so both pay the
	// same shell start-up per connection.
	rhoststest.Authorize(b, rawUser)
	b.Run("krx", func(b *testing.B) {
		addr, _ := newServer(b, server.Config{Rhosts: true}, "127.0.0.1:0")
		benchCat(b, addr)
	})
	b.Run("netkit", func(b *testing.B) {
		if _, err := exec.LookPath("/usr/sbin/in.rshd"); err != nil {
			b.Skip("netkit in.rshd not installed (Debian rsh-server)")
		}
		benchCat(b, serveInetd(b, "/usr/sbin/in.rshd"))
	})
}

func benchCat(b *testing.B, addr string) {
	buf := make([]byte, 1<<20)
	b.SetBytes(benchPayload)
	b.ResetTimer()
	for range b.N {
		r := dialRsh(b, addr, "cat > /dev/null", false)
		r.c.SetDeadline(time.Now().Add(5 * time.Minute))
		for sent := 0; sent < benchPayload; sent += len(buf) {
			if _, err := r.c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		r.c.CloseWrite()
		if rest, err := io.ReadAll(r.c); err != nil || len(rest) != 0 {
			b.Fatalf("%q, %v", rest, err)
		}
		r.c.Close()
	}
}

// serveInetd runs prog for every connection to a loopback port with the
// socket as descriptors 0–2, as inetd does.
func serveInetd(b *testing.B, prog string) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f, err := c.(*net.TCPConn).File()
			c.Close()
			if err != nil {
				continue
			}
			cmd := exec.Command(prog)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
			err = cmd.Start()
			f.Close()
			if err == nil {
				wg.Add(1)
				go func() { defer wg.Done(); cmd.Wait() }()
			}
		}
	}()
	b.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}
