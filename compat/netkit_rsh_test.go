package compat

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const netnsEnv = "KRX_COMPAT_IN_NETNS"

// TestNetkitRshClient captures the real netkit rsh client, which can only
// connect to the "shell" port 514: the test re-runs itself in a fresh
// network namespace (unshare --net, lo up) where 514 is free, serves the
// shell protocol there with our codec and checks the stderr-port field, the
// handshake, the status, both channels and a forwarded SIGINT byte.
func TestNetkitRshClient(t *testing.T) {
	needRoot(t, "rsh", "unshare", "ip")
	if os.Getenv(netnsEnv) != "1" {
		cmd := exec.Command("unshare", "--net", "sh", "-c",
			`ip link set lo up && exec "$0" -test.run='^TestNetkitRshClient$' -test.v -test.count=1`, os.Args[0])
		cmd.Env = append(os.Environ(), netnsEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNetkitRshClient")) {
			t.Fatalf("in a fresh netns: %v\n%s", err, out)
		}
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:514")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command("rsh", "-l", "bob", "127.0.0.1", "some", "command")
	stdin, _ := cmd.StdinPipe()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if p := c.RemoteAddr().(*net.TCPAddr).Port; !IsReservedPort(p) {
		t.Fatalf("netkit rsh came from port %d", p)
	}
	r := bufio.NewReader(c)

	// The port field arrives alone: glibc sends the strings only after the
	// stderr connection is accepted.
	port, err := ReadStderrPort(r)
	if err != nil || !IsReservedPort(port) {
		t.Fatalf("stderr port %d, %v", port, err)
	}
	if r.Buffered() != 0 {
		t.Fatalf("strings sent before the stderr connection: %d bytes", r.Buffered())
	}
	var e net.Conn
	for lp := ReservedPortMax; lp >= ReservedPortMin; lp-- {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: loopback, Port: lp}}
		if e, err = d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	h := Handshake{StderrPort: port}
	if err := ReadHandshakeStrings(r, ShellLimits, &h); err != nil {
		t.Fatal(err)
	}
	if h.ClientUser != "root" || h.ServerUser != "bob" || h.Payload != "some command" {
		t.Fatalf("handshake %+v", h)
	}
	if err := WriteStatus(c, Status{}); err != nil {
		t.Fatal(err)
	}

	// Channels: stdin → main, main → stdout, stderr channel → stderr.
	io.WriteString(stdin, "input line\n")
	if line, _ := r.ReadString('\n'); line != "input line\n" {
		t.Fatalf("stdin: %q", line)
	}
	io.WriteString(c, "to stdout\n")
	io.WriteString(e, "to stderr\n")
	// A SIGINT to rsh is forwarded as the signal byte 2.
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	e.SetDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(e, b[:]); err != nil {
		t.Fatal(err)
	}
	if sig, err := ParseSignal(b[0]); err != nil || sig != SigInt {
		t.Fatalf("signal byte %d: %v", b[0], err)
	}
	stdin.Close()
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after stdin EOF: %q, %v", rest, err)
	}
	c.Close()
	e.Close()
	cmd.Wait()
	if stdout.String() != "to stdout\n" || !strings.Contains(stderr.String(), "to stderr\n") {
		t.Fatalf("rsh stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
