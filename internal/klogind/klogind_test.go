package klogind_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/krx-suite/krx/internal/server"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/klogind"
	"github.com/krx-suite/krx/internal/klogind/krxdtest"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/server/servertest"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
	"github.com/krx-suite/krx/krbauth"
)

func TestMain(m *testing.M) {
	code := m.Run()
	krxdtest.Close()
	os.Exit(code)
}

// term is a terminal that records what is painted.
type term struct{ syncbuf.Buffer }

// waitFor waits up to 20 s until the terminal shows s after offset from
// and returns the offset past it.
func (w *term) waitFor(t *testing.T, from int, s string) int {
	t.Helper()
	return w.WaitFor(t, from, s, 20*time.Second)
}

type client struct {
	cs      *krxsess.ClientSession
	tty     term
	flushes atomic.Int64
	noStop  atomic.Int64
	doStop  atomic.Int64
	done    chan error
}

func dialLogin(t *testing.T, r *krxdtest.Realm, addr string, ws compat.WindowSize) *client {
	t.Helper()
	cs, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: krxproto.Login,
		ServerUser: "root", ClientUser: "al", Payload: "xterm/38400", Ticket: r.Ticket(t), Host: "localhost",
		Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	c := &client{cs: cs, done: make(chan error, 1)}
	go func() {
		_, err := cs.CopyOutput(krxsess.OutputOptions{Terminal: &c.tty, OnCommand: func(cmd krxproto.Command) error {
			if cmd.Control.FlushWrite() {
				c.flushes.Add(1)
			}
			if cmd.Control.NoStop() {
				c.noStop.Add(1)
			}
			if cmd.Control&compat.CtlDoStop != 0 {
				c.doStop.Add(1)
			}
			if cmd.Control.Window() {
				return cs.SendWindow(ws)
			}
			return nil
		}})
		c.done <- err
	}()
	return c
}

func (c *client) typ(t *testing.T, s string) {
	t.Helper()
	if _, err := c.cs.Input().Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func (c *client) waitEnd(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("client output: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session did not end")
	}
}

func TestLoginSession(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	addr := servertest.Start(t, server.Eklogin, klogind.New(r.Config(t, &logs, krxdtest.Alice)), "127.0.0.1:0")
	c := dialLogin(t, r, addr, compat.WindowSize{Rows: 33, Cols: 111})
	logs.WaitFor(t, 10*time.Second, "service=eklogin", "principal="+krxdtest.Alice, "server-user=root", "decision=accepted", "listed in")

	c.typ(t, "echo x$((6*7))y\n")
	off := c.tty.waitFor(t, 0, "x42y")
	c.typ(t, "stty size; echo TERM=$TERM\n")
	off = c.tty.waitFor(t, off, "33 111")
	off = c.tty.waitFor(t, off, "TERM=xterm")

	// A window change mid-session reaches the pty.
	if err := c.cs.SendWindow(compat.WindowSize{Rows: 50, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	c.typ(t, "stty size\n")
	off = c.tty.waitFor(t, off, "50 132")

	// ^S/^Q handling off and on again: NOSTOP then DOSTOP commands.
	c.typ(t, "stty -ixon; echo m$((0+1))\n")
	off = c.tty.waitFor(t, off, "m1")
	c.typ(t, "stty ixon; echo m$((1+1))\n")
	off = c.tty.waitFor(t, off, "m2")
	if c.noStop.Load() == 0 || c.doStop.Load() == 0 {
		t.Errorf("no-stop commands %d, do-stop commands %d; want both", c.noStop.Load(), c.doStop.Load())
	}

	// A flood, then ^C: the tty flushes its output, a flush command
	// arrives, and the session goes on.
	c.typ(t, "while :; do echo krxflood; done\n")
	off = c.tty.waitFor(t, off, "krxflood\r\nkrxflood\r\nkrxflood")
	c.typ(t, "\x03")
	deadline := time.Now().Add(20 * time.Second)
	for c.flushes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.flushes.Load() == 0 {
		t.Fatal("no flush command after ^C")
	}
	c.typ(t, "echo after$((40+2))\n")
	c.tty.waitFor(t, off, "after42")
	c.typ(t, "exit\n")
	c.waitEnd(t)
}

func TestLoginK5loginDeny(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	addr := servertest.Start(t, server.Eklogin, klogind.New(r.Config(t, &logs, "bob@KRX.TEST")), "127.0.0.1:0")
	_, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: krxproto.Login,
		ServerUser: "root", ClientUser: "al", Payload: "xterm/38400", Ticket: r.Ticket(t), Timeout: 20 * time.Second})
	var se *krxproto.StatusError
	if !errors.As(err, &se) || se.Message != "rlogind: "+krbauth.PublicDenial {
		t.Fatalf("got %v, want the refusal %q", err, krbauth.PublicDenial)
	}
	logs.WaitFor(t, 10*time.Second, "decision=refused", "principal="+krxdtest.Alice, "does not list the principal")
}

// TestLegacyClientRefused plays a KCMDV0.2 client: after its AP exchange
// it is told in clear that legacy framing is not served.
func TestLegacyClientRefused(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	addr := servertest.Start(t, server.Eklogin, klogind.New(r.Config(t, &logs, krxdtest.Alice)), "127.0.0.1:0")
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	port := c.RemoteAddr().(*net.TCPAddr).Port
	if _, err := krbauth.SendAuth(c, r.Ticket(t), krbauth.SendAuthOptions{AppVersion: krbauth.AppVersionKCMD02,
		ChecksumData: krbauth.KcmdChecksumData(port, "xterm/38400", "root")}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "root\x00xterm/38400\x00al\x00")
	got, _ := io.ReadAll(c)
	want := "\x01rlogind: legacy KCMDV0.2 framing is not supported"
	if !strings.HasPrefix(string(got), want) {
		t.Fatalf("got %q, want a clear refusal starting %q", got, want)
	}
	logs.WaitFor(t, 10*time.Second, "decision=refused", "KCMDV0.2", "legacy framing is not implemented")
}

// TestNoLeaks runs many short sessions and checks that descriptors and
// goroutines come back.
func TestNoLeaks(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	addr := servertest.Start(t, server.Eklogin, klogind.New(r.Config(t, &logs, krxdtest.Alice)), "127.0.0.1:0")
	// One session first: lazily started runtime pieces are not leaks.
	run := func() {
		c := dialLogin(t, r, addr, compat.WindowSize{Rows: 24, Cols: 80})
		c.typ(t, "echo x$((6*7))y; exit\n")
		c.waitEnd(t)
		if !strings.Contains(c.tty.String(), "x42y") {
			t.Fatalf("terminal %q", c.tty.String())
		}
		c.cs.Close()
	}
	run()
	logs.WaitFor(t, 10*time.Second, "session ended")
	fds, gs := servertest.FDCount(t), runtime.NumGoroutine()
	const n = 15
	for range n {
		run()
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(logs.String(), "session ended") < n+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	servertest.Settle(t, fds, gs, 2, 10*time.Second)
}

// TestBadEnvelope: a client that sends no envelope, or a broken one, is
// logged as failed with the reason and the connection closed; nothing hangs.
func TestBadEnvelope(t *testing.T) {
	r := krxdtest.Get(t)
	for _, tc := range []struct{ name, send, log string }{
		{"bad port field", "hello\x00", "bad secondary port"},
		{"stderr port on login", "1234\x00", "stderr port 1234 on the login service"},
		{"huge sendauth length", "\x00\xff\xff\xff\xff", "envelope: krbauth"},
		{"silent", "", "no complete envelope within 500ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs servertest.Logs
			cfg := r.Config(t, &logs, krxdtest.Alice)
			cfg.Server.HandshakeTimeout = 500 * time.Millisecond
			addr := servertest.Start(t, server.Eklogin, klogind.New(cfg), "127.0.0.1:0")
			c := servertest.DialAny(t, addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tc.send)
			io.ReadAll(c)
			t.Log(logs.WaitFor(t, 10*time.Second, "decision=failed", tc.log))
		})
	}
}

// TestBindingAndReplay sends a client through a relay on another port, so
// the server port it bound into the checksum is not the daemon's: the
// daemon refuses the parameters. The recorded client bytes, replayed
// directly to the daemon, are refused as a replay.
func TestBindingAndReplay(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	addr := servertest.Start(t, server.Eklogin, klogind.New(r.Config(t, &logs, krxdtest.Alice)), "127.0.0.1:0")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	recorded := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			recorded <- nil
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp4", addr)
		if err != nil {
			recorded <- nil
			return
		}
		defer s.Close()
		go io.Copy(c, s)
		var rec bytes.Buffer
		io.Copy(io.MultiWriter(s, &rec), c)
		recorded <- rec.Bytes()
	}()
	_, err = krxsess.Dial(context.Background(), ln.Addr().String(), krxsess.ClientConfig{Service: krxproto.Login,
		ServerUser: "root", ClientUser: "al", Payload: "xterm/38400", Ticket: r.Ticket(t), Timeout: 20 * time.Second})
	var se *krxproto.StatusError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "connection parameters refused") {
		t.Fatalf("through the relay: %v, want a parameters refusal", err)
	}
	logs.WaitFor(t, 10*time.Second, "decision=refused", "principal="+krxdtest.Alice, "do not match the authenticator checksum")
	var rec []byte
	select {
	case rec = <-recorded:
	case <-time.After(20 * time.Second):
		t.Fatal("relay did not finish")
	}
	if len(rec) == 0 {
		t.Fatal("nothing recorded")
	}
	c := servertest.DialAny(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(rec)
	io.ReadAll(c)
	logs.WaitFor(t, 10*time.Second, "decision=refused", "replay")
}

// TestLoginForwardedCreds: a forwarded TGT is in KRB5CCNAME in the login
// shell and removed when the session ends.
func TestLoginForwardedCreds(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	cfg := r.Config(t, &logs, krxdtest.Alice)
	addr := servertest.Start(t, server.Eklogin, klogind.New(cfg), "127.0.0.1:0")
	cs, err := krxsess.Dial(context.Background(), addr, krxsess.ClientConfig{Service: krxproto.Login,
		ServerUser: "root", ClientUser: "al", Payload: "xterm/38400", Ticket: r.Ticket(t), Timeout: 20 * time.Second,
		Forward: &krbauth.ForwardOptions{Krb5Conf: r.R.Krb5Conf, CCache: r.Cl.CCachePath()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var tty term
	done := make(chan error, 1)
	go func() {
		_, err := cs.CopyOutput(krxsess.OutputOptions{Terminal: &tty})
		done <- err
	}()
	cs.Input().Write([]byte("test -s ${KRB5CCNAME#FILE:} && echo cc=$KRB5CCNAME; exit\n"))
	tty.waitFor(t, 0, "cc=FILE:"+cfg.CCacheDir+"/krb5cc_0_")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cs.Close() // as rlogin does at the end of the stream
	logs.WaitFor(t, 10*time.Second, "decision=accepted", "forwarded credentials stored")
	logs.WaitFor(t, 10*time.Second, "session ended")
	if ents, _ := os.ReadDir(cfg.CCacheDir); len(ents) != 0 {
		t.Errorf("ccache left behind: %v", ents)
	}
}

// TestLoginShutdown: stopping the daemon hangs the session up; the client
// sees the end of the stream.
func TestLoginShutdown(t *testing.T) {
	r := krxdtest.Get(t)
	var logs servertest.Logs
	addr, stop := servertest.StartStoppable(t, server.Eklogin, klogind.New(r.Config(t, &logs, krxdtest.Alice)), "127.0.0.1:0")
	c := dialLogin(t, r, addr, compat.WindowSize{Rows: 24, Cols: 80})
	c.typ(t, "echo x$((6*7))y\n")
	c.tty.waitFor(t, 0, "x42y")
	stop()
	c.waitEnd(t)
	logs.WaitFor(t, 10*time.Second, "session ended", "signal: hangup")
}
