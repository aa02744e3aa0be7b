package shelld

import (
	"bytes"
	"crypto/rand"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/server/servertest"
)

func TestNonReservedPortRefused(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true}, "127.0.0.1:0")
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	refusal(t, c, "rlogind: Permission denied")
	logs.WaitFor(t, 5*time.Second, "service=shell", "decision=refused", "not reserved")
}

func TestRhostsOffRefused(t *testing.T) {
	addr, logs := newServer(t, server.Config{NoReservedPortCheck: true}, "127.0.0.1:0")
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "\x00alice\x00bob\x00id\x00")
	refusal(t, c, "rlogind: .rhosts authentication disabled (start with --rhosts)")
	logs.WaitFor(t, 5*time.Second, "decision=refused", "client-user=alice", "server-user=bob")
}

func TestBadHandshakes(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true}, "127.0.0.1:0")
	for _, tc := range []struct{ send, peer, log string }{
		{"\x00" + strings.Repeat("a", 300) + "\x00", "client-user too long", "client-user"},
		{"\x00alice\x00" + strings.Repeat("b", 300) + "\x00", "server-user too long", "server-user"},
		{"\x00alice\x00bob\x00" + strings.Repeat("x", 140000) + "\x00", "payload too long", "payload"},
		{"1o22\x00", "bad stderr port", "port"},
		{"99999\x00", "bad stderr port", "port"},
	} {
		c := servertest.DialAny(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		go io.WriteString(c, tc.send) // the server stops reading at the limit
		refusal(t, c, "rlogind: "+tc.peer)
		logs.WaitFor(t, 5*time.Second, "decision=failed", tc.log)
	}
}

func TestUnterminatedHandshakeTimesOut(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true, HandshakeTimeout: time.Second}, "127.0.0.1:0")
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "\x00alice\x00bob\x00ech")
	refusal(t, c, "rlogind: timeout reading the handshake")
	logs.WaitFor(t, 5*time.Second, "decision=failed", "no complete handshake within 1s")
}

func TestPeerClosesMidHandshake(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true}, "127.0.0.1:0")
	c := servertest.DialAny(t, addr)
	c.Close()
	logs.WaitFor(t, 5*time.Second, "decision=failed", "peer closed")
	fds, gs := servertest.FDCount(t), runtime.NumGoroutine()
	for _, s := range []string{"", "10", "\x00alice", "\x00alice\x00bob\x00echo hi"} {
		c := servertest.DialAny(t, addr)
		io.WriteString(c, s)
		c.Close()
	}
	servertest.Settle(t, fds, gs, 0, 10*time.Second)
	waitLines(t, logs, 5, "decision=failed", "peer closed the connection during the handshake")
}

func TestConnectBackRefused(t *testing.T) {
	addr, logs := newServer(t, server.Config{Rhosts: true, NoReservedPortCheck: true}, "127.0.0.1:0")
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	port := servertest.FreePort(t)
	io.WriteString(c, strconv.Itoa(port)+"\x00")
	refusal(t, c, "rlogind: "+MsgStderrConnect)
	logs.WaitFor(t, 5*time.Second, "decision=failed", "connecting back to stderr port "+strconv.Itoa(port), "connection refused")
}

func TestStderrPortNotReserved(t *testing.T) {
	servertest.NeedRoot(t)
	addr, logs := newServer(t, server.Config{Rhosts: true}, "127.0.0.1:0")
	c := servertest.DialReserved(t, addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "5000\x00")
	refusal(t, c, "rlogind: "+MsgStderrNotReserved)
	logs.WaitFor(t, 5*time.Second, "decision=refused", "stderr port 5000 is not reserved")
}

func TestChannelsSeparated(t *testing.T) {
	addr, logs := shServer(t)
	r := dialRsh(t, addr, "cat; echo err >&2", true)
	logs.WaitFor(t, 5*time.Second, "decision=accepted", "client-user="+rawUser, "127.0.0.1 "+rawUser)
	in := make([]byte, 4<<20)
	rand.Read(in)
	var stderr []byte
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.c.Write(in)
		r.c.CloseWrite() // the command's end of input
	}()
	go func() { defer wg.Done(); stderr = servertest.ReadAll(t, r.errc, 30*time.Second) }()
	out := servertest.ReadAll(t, r.c, 30*time.Second)
	wg.Wait()
	if !bytes.Equal(out, in) {
		t.Fatalf("stdout: %d bytes, want the %d bytes sent", len(out), len(in))
	}
	if string(stderr) != "err\n" {
		t.Fatalf("stderr %q", stderr)
	}
	logs.WaitFor(t, 5*time.Second, "command ended", "exit status 0")
}

func TestNoStderrChannel(t *testing.T) {
	addr, _ := shServer(t)
	r := dialRsh(t, addr, "echo out; echo err >&2; echo out2", false)
	if out := servertest.ReadAll(t, r.c, 20*time.Second); string(out) != "out\nerr\nout2\n" {
		t.Fatalf("merged output %q", out)
	}
}

func TestSignalBytes(t *testing.T) {
	addr, logs := shServer(t)
	r := dialRsh(t, addr, "echo started; sleep 30; echo finished", true)
	var b [8]byte
	if n, err := io.ReadAtLeast(r.c, b[:], 8); err != nil || string(b[:n]) != "started\n" {
		t.Fatalf("%q, %v", b[:n], err)
	}
	// Garbage is logged and ignored: the command keeps running.
	r.errc.Write([]byte{0, 200})
	waitLines(t, logs, 2, "ignored a bad signal byte")
	r.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := r.c.Read(b[:]); n != 0 || !isTimeout(err) {
		t.Fatalf("after garbage signal bytes: %q, %v", b[:n], err)
	}
	// SIGINT kills the process group, sleep included.
	r.errc.Write([]byte{2})
	if out := servertest.ReadAll(t, r.c, 10*time.Second); len(out) != 0 {
		t.Fatalf("after SIGINT: %q", out)
	}
	logs.WaitFor(t, 5*time.Second, "signal from client", "signal=SIGINT")
	logs.WaitFor(t, 5*time.Second, "command ended", "signal: interrupt")
}

func isTimeout(err error) bool {
	te, ok := err.(interface{ Timeout() bool })
	return ok && te.Timeout()
}

func TestCommandsDoNotLeak(t *testing.T) {
	addr, logs := shServer(t)
	one := func(i int) {
		r := dialRsh(t, addr, "echo $((40+2)); echo e >&2", i%2 == 0)
		if out := servertest.ReadAll(t, r.c, 20*time.Second); string(out) != map[bool]string{true: "42\n", false: "42\ne\n"}[r.errc != nil] {
			t.Fatalf("output %q", out)
		}
		if r.errc != nil {
			servertest.ReadAll(t, r.errc, 20*time.Second)
			r.errc.Close()
		}
		r.c.Close()
	}
	one(0)
	one(1)
	waitLines(t, logs, 2, "command ended")
	fds, gs := servertest.FDCount(t), runtime.NumGoroutine()
	const n = 20
	for i := range n {
		one(i)
	}
	waitLines(t, logs, n+2, "command ended")
	servertest.Settle(t, fds, gs, 0, 10*time.Second)
}

// TestShutdownHangsUp: at daemon shutdown a running command's process
// group gets SIGHUP and the server returns once it is gone.
func TestShutdownHangsUp(t *testing.T) {
	servertest.NeedRoot(t)
	home := servertest.RhostsHome(t, "127.0.0.1 "+rawUser)
	logs := &servertest.Logs{}
	cfg := server.Config{Rhosts: true, Log: logs.Logger(), HangupGrace: 2 * time.Second, Lookup: servertest.RootWithHome(home, "/bin/sh")}
	addr, stop := servertest.StartStoppable(t, server.Shell, New(&cfg), "127.0.0.1:0")
	r := dialRsh(t, addr, "echo started; sleep 60", true)
	var b [8]byte
	if _, err := io.ReadFull(r.c, b[:]); err != nil {
		t.Fatal(err)
	}
	stop()
	if out := servertest.ReadAll(t, r.c, 5*time.Second); len(out) != 0 {
		t.Fatalf("after shutdown: %q", out)
	}
	logs.WaitFor(t, time.Second, "command ended", "signal: hangup")
}
