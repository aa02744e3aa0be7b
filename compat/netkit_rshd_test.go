package compat

import (
	"bufio"
	"github.com/krx-suite/krx/internal/testutil/rhoststest"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rshdSession dials the served in.rshd from a reserved port and writes h.
func rshdSession(t *testing.T, addr string, h Handshake) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialReserved(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := WriteHandshake(c, h); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// TestNetkitRshd drives the real netkit in.rshd with our handshake writer and
// reads its status bytes and error lines with our parser.
func TestNetkitRshd(t *testing.T) {
	needRoot(t, "/usr/sbin/in.rshd")
	rhoststest.AuthorizeRoot(t)
	addr := serveInetd(t, "/usr/sbin/in.rshd")

	t.Run("accepted", func(t *testing.T) {
		_, r := rshdSession(t, addr, Handshake{ClientUser: "root", ServerUser: "root", Payload: "echo hello"})
		st, err := ReadStatus(r)
		if err != nil || !st.OK() {
			t.Fatalf("status %+v, %v", st, err)
		}
		out, _ := io.ReadAll(r)
		if string(out) != "hello\n" {
			t.Fatalf("output %q", out)
		}
	})

	t.Run("stderr channel and signal byte", func(t *testing.T) {
		ln, port := listenReserved(t)
		c, r := rshdSession(t, addr, Handshake{StderrPort: port, ClientUser: "root", ServerUser: "root",
			Payload: "echo out; echo err >&2; sleep 30; echo survived"})
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		e, err := ln.Accept()
		if err != nil {
			t.Fatalf("rshd did not connect back: %v", err)
		}
		defer e.Close()
		if rp := e.RemoteAddr().(*net.TCPAddr).Port; !IsReservedPort(rp) {
			t.Fatalf("stderr connection from unreserved port %d", rp)
		}
		st, err := ReadStatus(r)
		if err != nil || !st.OK() {
			t.Fatalf("status %+v, %v", st, err)
		}
		line, _ := r.ReadString('\n')
		er := bufio.NewReader(e)
		eline, _ := er.ReadString('\n')
		if line != "out\n" || eline != "err\n" {
			t.Fatalf("stdout %q, stderr %q", line, eline)
		}
		sig, err := ParseSignal(byte(SigTerm))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := e.Write([]byte{byte(sig)}); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(r)
		if len(rest) != 0 || time.Since(start) > 20*time.Second {
			t.Fatalf("after SIGTERM byte: %q after %v", rest, time.Since(start))
		}
		c.Close()
	})

	t.Run("user name limit", func(t *testing.T) {
		// Debian's rshd takes 15 characters; the 16th is "too long".
		_, r := rshdSession(t, addr, Handshake{ClientUser: strings.Repeat("u", NetkitRshdUserLen+1), ServerUser: "root", Payload: "true"})
		st, err := ReadStatus(r)
		if err != nil || st.Code != StatusRefused || st.Text() != "remuser too long" {
			t.Fatalf("status %+v, %v", st, err)
		}
		_, r = rshdSession(t, addr, Handshake{ClientUser: strings.Repeat("u", NetkitRshdUserLen), ServerUser: "root", Payload: "true"})
		st, err = ReadStatus(r)
		if err != nil || st.Code != StatusRefused || !strings.Contains(st.Text(), "denied") {
			t.Fatalf("14-character user: status %+v, %v", st, err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		_, r := rshdSession(t, addr, Handshake{ClientUser: "nosuchuser", ServerUser: "root", Payload: "true"})
		st, err := ReadStatus(r)
		if err != nil || st.Code != StatusRefused || st.Text() != "Permission denied." || st.Err() == nil {
			t.Fatalf("status %+v, %v", st, err)
		}
	})

	t.Run("closes mid-handshake", func(t *testing.T) {
		// netkit rshd exits silently on a stderr port that is not reserved:
		// our client side sees ErrNoStatus.
		_, r := rshdSession(t, addr, Handshake{StderrPort: 4000, ClientUser: "root", ServerUser: "root", Payload: "true"})
		if _, err := ReadStatus(r); err == nil || !strings.Contains(err.Error(), "closed before status") {
			t.Fatalf("unreserved stderr port: %v", err)
		}
	})
}

// TestNetkitRlogindLimits checks the rlogind limits we quote (31-character
// users, 255-character TERM/speed) against the real Debian in.rlogind, and
// parses its "\1rlogind: … too long.\r\n" refusals.
func TestNetkitRlogindLimits(t *testing.T) {
	needRoot(t, "/usr/sbin/in.rlogind")
	addr := serveInetd(t, "/usr/sbin/in.rlogind")
	for _, tc := range []struct {
		h    Handshake
		want string // "" = accepted
	}{
		{Handshake{ClientUser: strings.Repeat("u", NetkitRlogindUserLen), ServerUser: "nobody", Payload: "vt100/9600"}, ""},
		{Handshake{ClientUser: strings.Repeat("u", NetkitRlogindUserLen+1), ServerUser: "nobody", Payload: "vt100/9600"}, "rlogind: remuser too long."},
		{Handshake{ClientUser: "root", ServerUser: strings.Repeat("u", NetkitRlogindUserLen+1), Payload: "vt100/9600"}, "rlogind: locuser too long."},
		{Handshake{ClientUser: "root", ServerUser: "nobody", Payload: strings.Repeat("t", NetkitRlogindTermLen)}, ""},
		{Handshake{ClientUser: "root", ServerUser: "nobody", Payload: strings.Repeat("t", NetkitRlogindTermLen+1)}, "rlogind: Terminal type too long."},
	} {
		c, r := rshdSession(t, addr, tc.h)
		st, err := ReadStatus(r)
		if err != nil || st.OK() != (tc.want == "") || st.Text() != tc.want {
			t.Fatalf("%d/%d/%d bytes: status %+v, %v; want %q", len(tc.h.ClientUser), len(tc.h.ServerUser), len(tc.h.Payload), st, err, tc.want)
		}
		if !st.OK() && !strings.HasSuffix(st.Message, "\r") {
			t.Fatalf("rlogind message %q does not end in \\r\\n", st.Message)
		}
		c.Close()
	}
}
