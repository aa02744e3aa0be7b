package krxclient

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnePort: rlogind --krx-addr serves rsh -x (with its stderr channel),
// rcp -x both ways and rlogin -x on one port, and logs each connection
// under the service its client bound.
func TestOnePort(t *testing.T) {
	needRoot(t)
	r := realm(t)
	d := startRlogindOnePort(t, r)
	port := d.login

	in := randomBytes(t, 1<<20)
	out, serr, err := run(t, r, in, "rsh", "-x", "-p", port, "-l", "root", "localhost", "cat; echo to-stderr >&2")
	if err != nil || !bytes.Equal(out, in) || string(serr) != "to-stderr\n" {
		t.Errorf("rsh -x on the one port: %v; stdout %d bytes equal %v; stderr %q", err, len(out), bytes.Equal(out, in), serr)
	}
	// A command that looks like a login's "term/speed" is still a command
	// (rsh has no exit status: the shell's complaint is the proof).
	out, serr, err = run(t, r, nil, "rsh", "-x", "-n", "-p", port, "localhost", "xterm/38400")
	if err != nil || !strings.Contains(string(serr), "xterm/38400: No such file or directory") {
		t.Errorf("rsh -x xterm/38400: %v; stdout %q stderr %q (want the shell's not-found)", err, out, serr)
	}

	dir := t.TempDir()
	data := randomBytes(t, 2<<20+3)
	src, remote, back := filepath.Join(dir, "src"), filepath.Join(dir, "remote"), filepath.Join(dir, "back")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rr := "--remote-rcp=" + filepath.Join(programs(t), "rcp")
	if _, serr, err := run(t, r, nil, "rcp", "-x", rr, "-P", port, src, "root@localhost:"+remote); err != nil {
		t.Errorf("rcp -x to the one port: %v; %s", err, serr)
	}
	if _, serr, err := run(t, r, nil, "rcp", "-x", rr, "-P", port, "localhost:"+remote, back); err != nil {
		t.Errorf("rcp -x from the one port: %v; %s", err, serr)
	} else if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Errorf("rcp -x round trip: %d bytes, want %d equal", len(got), len(data))
	}

	ptmx, tty := openPty(t)
	c := startOnPty(t, r, ptmx, tty, []string{"rlogin", "-x", "-p", port, "localhost"})
	ptmx.Write([]byte("stty size; echo one''port\r"))
	at := c.scr.waitFor(t, 0, "oneport")
	ptmx.Write([]byte("exit\r"))
	c.waitExit(t, "exit")
	c.scr.waitFor(t, at, "connection closed.")

	log := d.log.String()
	for _, want := range []string{"service=kshell", "service=eklogin", "decision=accepted"} {
		if !strings.Contains(log, want) {
			t.Errorf("rlogind's log has no %q:\n%s", want, log)
		}
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "service=krx ") && strings.Contains(l, "decision=accepted") {
			t.Errorf("an accepted connection logged without its service: %s", l)
		}
	}
}
