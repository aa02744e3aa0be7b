package kshelld_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"github.com/krx-suite/krx/internal/server"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/klogind/krxdtest"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/kshelld"
	"github.com/krx-suite/krx/internal/server/servertest"
	"github.com/krx-suite/krx/krbauth"
)

func TestMain(m *testing.M) {
	code := m.Run()
	krxdtest.Close()
	os.Exit(code)
}

func startShell(t testing.TB, k5login ...string) (*krxdtest.Realm, string, *servertest.Logs) {
	r := krxdtest.Get(t)
	logs := &servertest.Logs{}
	addr := servertest.Start(t, server.Kshell, kshelld.New(r.Config(t, logs, k5login...)), "127.0.0.1:0")
	return r, addr, logs
}

func dial(t testing.TB, r *krxdtest.Realm, addr, command string, stderr bool) (*krxsess.ClientSession, *krxsess.ClientStderr) {
	t.Helper()
	cs, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: krxproto.Shell,
		ServerUser: "root", ClientUser: "al", Payload: command, Ticket: r.Ticket(t), Stderr: stderr,
		Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	if !stderr {
		return cs, nil
	}
	st, err := cs.AcceptStderr(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cs, st
}

// readAll reads r to its end in a goroutine.
func readAll(r io.Reader) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		ch <- b
	}()
	return ch
}

func wait(t testing.TB, ch <-chan []byte, what string) []byte {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not end", what)
		return nil
	}
}

// TestShellStreams sends 4 MiB of random stdin through cat and gets it
// back byte-identical on stdout, while stderr carries its own 1 MiB on the
// separate channel.
func TestShellStreams(t *testing.T) {
	r, addr, logs := startShell(t, krxdtest.Alice)
	in := make([]byte, 4<<20)
	rand.Read(in)
	cs, st := dial(t, r, addr, "cat; head -c 1048576 /dev/zero | tr '\\0' E >&2", true)
	out, errOut := readAll(cs), readAll(st)
	go func() {
		cs.Write(in)
		cs.CloseWrite()
	}()
	if got := wait(t, out, "stdout"); !bytes.Equal(got, in) {
		t.Errorf("stdout: %d bytes, not the %d sent", len(got), len(in))
	}
	if got := wait(t, errOut, "stderr"); !bytes.Equal(got, bytes.Repeat([]byte("E"), 1<<20)) {
		t.Errorf("stderr: %d bytes %q…", len(got), got[:min(len(got), 40)])
	}
	logs.WaitFor(t, 10*time.Second, "service=kshell", "principal="+krxdtest.Alice, "server-user=root", "decision=accepted")
}

// TestShellMergedStderr: without a stderr channel stderr joins stdout.
func TestShellMergedStderr(t *testing.T) {
	r, addr, _ := startShell(t, krxdtest.Alice)
	cs, _ := dial(t, r, addr, "echo out; echo err >&2", false)
	cs.CloseWrite()
	if got := string(wait(t, readAll(cs), "stdout")); got != "out\nerr\n" {
		t.Errorf("got %q", got)
	}
}

// TestShellStdinIsTheConnection: as with netkit rshd, descriptor 0 is
// writable and reaches the client (netkit's rcp -t/-f writes its replies
// there), and reading it gives what the client sent.
func TestShellStdinIsTheConnection(t *testing.T) {
	r, addr, _ := startShell(t, krxdtest.Alice)
	cs, _ := dial(t, r, addr, "read line; echo \"got $line\" >&0", true)
	out := readAll(cs)
	cs.Write([]byte("hello\n"))
	if got := string(wait(t, out, "stdout")); got != "got hello\n" {
		t.Errorf("got %q", got)
	}
}

// TestShellSignal kills a remote sleep with a signal byte.
func TestShellSignal(t *testing.T) {
	r, addr, _ := startShell(t, krxdtest.Alice)
	cs, st := dial(t, r, addr, "echo ready; sleep 30; echo survived", true)
	buf := make([]byte, 6)
	if _, err := io.ReadFull(cs, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("got %q, %v", buf, err)
	}
	errOut := readAll(st)
	if err := st.SendSignal(compat.Signal(15)); err != nil {
		t.Fatal(err)
	}
	if got := string(wait(t, readAll(cs), "stdout after the signal")); strings.Contains(got, "survived") {
		t.Errorf("the command survived the signal: %q", got)
	}
	wait(t, errOut, "stderr")
}

func TestShellK5loginDeny(t *testing.T) {
	r, addr, logs := startShell(t, "bob@KRX.TEST")
	_, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: krxproto.Shell,
		ServerUser: "root", ClientUser: "al", Payload: "id", Ticket: r.Ticket(t), Stderr: true, Timeout: 20 * time.Second})
	var se *krxproto.StatusError
	if !errors.As(err, &se) || se.Message != "rlogind: "+krbauth.PublicDenial {
		t.Fatalf("got %v, want the refusal %q", err, krbauth.PublicDenial)
	}
	logs.WaitFor(t, 10*time.Second, "service=kshell", "decision=refused", "does not list the principal")
}

func TestShellNoLeaks(t *testing.T) {
	r, addr, logs := startShell(t, krxdtest.Alice)
	run := func() {
		cs, st := dial(t, r, addr, "echo x$((6*7)); echo e >&2", true)
		cs.CloseWrite()
		errOut := readAll(st)
		if got := string(wait(t, readAll(cs), "stdout")); got != "x42\n" {
			t.Fatalf("stdout %q", got)
		}
		if got := string(wait(t, errOut, "stderr")); got != "e\n" {
			t.Fatalf("stderr %q", got)
		}
		cs.Close()
		st.Close()
	}
	run()
	logs.WaitFor(t, 10*time.Second, "command ended")
	fds, gs := servertest.FDCount(t), runtime.NumGoroutine()
	const n = 15
	for range n {
		run()
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(logs.String(), "command ended") < n+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	servertest.Settle(t, fds, gs, 2, 10*time.Second)
}

// BenchmarkShellCat measures bulk stdin throughput: 64 MiB through
// rsh -x's path into "cat >/dev/null".
func BenchmarkShellCat(b *testing.B) {
	r, addr, _ := startShell(b, krxdtest.Alice)
	chunk := make([]byte, 64<<10)
	rand.Read(chunk)
	const total = 64 << 20
	b.SetBytes(total)
	for b.Loop() {
		cs, _ := dial(b, r, addr, "cat >/dev/null", false)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := cs.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		cs.CloseWrite()
		io.Copy(io.Discard, cs)
		cs.Close()
	}
}

// BenchmarkShellOut measures bulk stdout throughput: 64 MiB from
// "head -c 64M /dev/zero".
func BenchmarkShellOut(b *testing.B) {
	r, addr, _ := startShell(b, krxdtest.Alice)
	b.SetBytes(64 << 20)
	for b.Loop() {
		cs, _ := dial(b, r, addr, "head -c 67108864 /dev/zero", false)
		cs.CloseWrite()
		n, _ := io.Copy(io.Discard, cs)
		if n != 64<<20 {
			b.Fatalf("got %d bytes", n)
		}
		cs.Close()
	}
}

// TestShellForwardedCreds forwards alice's TGT: the command finds it in
// KRB5CCNAME (a file owned by the user), and it is gone after the session.
func TestShellForwardedCreds(t *testing.T) {
	if _, err := exec.LookPath("klist"); err != nil {
		t.Skip("klist (krb5-user) not installed")
	}
	r := krxdtest.Get(t)
	logs := &servertest.Logs{}
	cfg := r.Config(t, logs, krxdtest.Alice)
	addr := servertest.Start(t, server.Kshell, kshelld.New(cfg), "127.0.0.1:0")
	cs, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: krxproto.Shell,
		ServerUser: "root", ClientUser: "al", Payload: "echo cc=$KRB5CCNAME; klist", Ticket: r.Ticket(t),
		Forward: &krbauth.ForwardOptions{Krb5Conf: r.R.Krb5Conf, CCache: r.Cl.CCachePath()}, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	cs.CloseWrite()
	got := string(wait(t, readAll(cs), "stdout"))
	if !strings.Contains(got, "cc=FILE:"+cfg.CCacheDir+"/krb5cc_0_") || !strings.Contains(got, "Default principal: "+krxdtest.Alice) ||
		!strings.Contains(got, "krbtgt/KRX.TEST@KRX.TEST") {
		t.Fatalf("command output:\n%s", got)
	}
	logs.WaitFor(t, 10*time.Second, "command ended")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(cfg.CCacheDir)
		if len(ents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ccache left behind: %v", ents)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShellShutdown: stopping the daemon hangs a running command up and
// the client sees the end of its output.
func TestShellShutdown(t *testing.T) {
	r := krxdtest.Get(t)
	logs := &servertest.Logs{}
	addr, stop := servertest.StartStoppable(t, server.Kshell, kshelld.New(r.Config(t, logs, krxdtest.Alice)), "127.0.0.1:0")
	cs, _ := dial(t, r, addr, "echo ready; sleep 30; echo survived", false)
	buf := make([]byte, 6)
	if _, err := io.ReadFull(cs, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("got %q, %v", buf, err)
	}
	out := readAll(cs)
	stop()
	if got := string(wait(t, out, "stdout after shutdown")); strings.Contains(got, "survived") {
		t.Errorf("the command survived the shutdown: %q", got)
	}
}

// TestShellStdinNotRead: a command that closes its descriptors and goes
// on without reading does not keep the session (and the stdin relay stuck
// on a full socket) alive. (Descriptors 0 and 1 are one socket, as with
// netkit rshd: a command that keeps descriptor 0 open keeps its output
// open too.)
func TestShellStdinNotRead(t *testing.T) {
	r := krxdtest.Get(t)
	logs := &servertest.Logs{}
	cfg := r.Config(t, logs, krxdtest.Alice)
	cfg.Server.HangupGrace = 300 * time.Millisecond
	addr := servertest.Start(t, server.Kshell, kshelld.New(cfg), "127.0.0.1:0")
	cs, _ := dial(t, r, addr, "echo bye; exec <&- >&- 2>&- sleep 30", false)
	go cs.Write(make([]byte, 64<<20)) // more than the relay, socket and TCP buffers hold
	if got := string(wait(t, readAll(cs), "stdout")); got != "bye\n" {
		t.Fatalf("stdout %q", got)
	}
	logs.WaitFor(t, 20*time.Second, "command ended", "signal: ")
}
