package compat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const netkitRcp = "/usr/bin/rcp"

// startRcp runs netkit rcp in server mode (-t or -f) on a socket pair, as
// rshd would: its fd 0 and 1 are the connection.
func startRcp(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader, io.Writer, *bytes.Buffer) {
	t.Helper()
	child, ours := socketPair(t)
	cmd := exec.Command(netkitRcp, args...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = child, child, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ours.SetDeadline(time.Now().Add(60 * time.Second))
	return cmd, bufio.NewReader(ours), ours, &stderr
}

func expectOK(t *testing.T, r io.Reader, what string) {
	t.Helper()
	rep, err := ReadReply(r, 0)
	if err != nil || rep.Kind != ReplyOK {
		t.Fatalf("%s: reply %+v, %v", what, rep, err)
	}
}

func send(t *testing.T, w io.Writer, m RcpMessage) {
	t.Helper()
	if err := WriteControl(w, m); err != nil {
		t.Fatal(err)
	}
}

func checkFile(t *testing.T, path string, mode fs.FileMode, content string, mtime time.Time) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() &^ fs.ModeType; got != mode {
		t.Fatalf("%s: mode %v, want %v", path, got, mode)
	}
	if !mtime.IsZero() && !fi.ModTime().Equal(mtime) {
		t.Fatalf("%s: mtime %v, want %v", path, fi.ModTime(), mtime)
	}
	if content != "" {
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("%s: content %q", path, b)
		}
	}
}

// TestNetkitRcpSink: krx's codec as the source, netkit "rcp -r -p -d -t" as
// the sink; the files netkit wrote are checked.
func TestNetkitRcpSink(t *testing.T) {
	needRoot(t, netkitRcp)
	tmp := t.TempDir()
	target := filepath.Join(tmp, "target")
	if err := os.Mkdir(target, 0755); err != nil {
		t.Fatal(err)
	}
	cmd, r, w, stderr := startRcp(t, "-r", "-p", "-d", "-t", target)
	expectOK(t, r, "sink ready")

	mt1, at1 := time.Unix(1500000000, 0), time.Unix(1500000100, 0)
	mt2, at2 := time.Unix(1400000000, 0), time.Unix(1400000100, 0)
	mt3 := time.Unix(1300000000, 0)
	sendFile := func(mode fs.FileMode, name, content string, mt time.Time) {
		send(t, w, &Times{Mtime: mt, Atime: mt})
		expectOK(t, r, "T")
		h := FileHeader{Mode: mode, Size: int64(len(content)), Name: name}
		send(t, w, &h)
		expectOK(t, r, "C "+name)
		if err := SendBody(w, strings.NewReader(content), h, nil); err != nil {
			t.Fatal(err)
		}
		expectOK(t, r, "body "+name)
	}
	sendFile(0640, "a.txt", "alpha\n", mt1)
	sendFile(0755|fs.ModeSetuid, "with space", "", mt3)
	send(t, w, &Times{Mtime: mt2, Atime: at2})
	expectOK(t, r, "T dir")
	send(t, w, &DirHeader{Mode: 0750, Name: "sub"})
	expectOK(t, r, "D")
	sendFile(0600, "b", strings.Repeat("bravo", 10000), at1)
	send(t, w, &EndDir{})
	expectOK(t, r, "E")

	// A file whose read fails mid-way: padded body, error status. netkit
	// writes the padded file and reports nothing more (the error was ours).
	h := FileHeader{Mode: 0644, Size: 8, Name: "short"}
	send(t, w, &h)
	expectOK(t, r, "C short")
	if err := SendBody(w, strings.NewReader("abc"), h, nil); !errors.Is(err, ErrFileRead) {
		t.Fatalf("SendBody of a short file: %v", err)
	}
	expectOK(t, r, "after error status")

	// krx refuses to send a name that is not one path component. Upstream
	// netkit's sink never checked; Debian's (0.17-24) refuses it with an
	// error reply that lacks its '\n', and exits.
	if _, err := (&FileHeader{Mode: 0644, Size: 3, Name: "../escaped"}).AppendLine(nil); !errors.Is(err, ErrBadName) {
		t.Fatalf("../escaped not refused: %v", err)
	}
	io.WriteString(w, "C0644 3 ../escaped\n")
	rep, err := ReadReply(r, 0)
	if rep.Kind != ReplyError || rep.Message != "error: unexpected filename: ../escaped" || (err != nil && !errors.Is(err, ErrUnterminated)) {
		t.Fatalf("../escaped: %+v, %v", rep, err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(tmp, "escaped")); err == nil {
		t.Fatal("netkit wrote outside its target")
	}

	// A bad mode: netkit answers with an error line and exits 1.
	cmd, r, w, stderr = startRcp(t, "-t", target)
	expectOK(t, r, "sink ready")
	io.WriteString(w, "C0x44 1 x\n")
	rep, err = ReadReply(r, 0)
	if err != nil || rep.Kind != ReplyError || rep.Message != "rcp: protocol screwup: bad mode" {
		t.Fatalf("bad mode: %+v, %v", rep, err)
	}
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("netkit rcp exit %d, stderr %q", cmd.ProcessState.ExitCode(), stderr)
	}

	checkFile(t, filepath.Join(target, "a.txt"), 0640, "alpha\n", mt1)
	checkFile(t, filepath.Join(target, "with space"), 0755|fs.ModeSetuid, "", mt3)
	checkFile(t, filepath.Join(target, "sub"), 0750|fs.ModeDir&^fs.ModeType, "", mt2)
	checkFile(t, filepath.Join(target, "sub", "b"), 0600, strings.Repeat("bravo", 10000), at1)
	checkFile(t, filepath.Join(target, "short"), 0644, "abc\x00\x00\x00\x00\x00", time.Time{})
}

// TestNetkitRcpSource: netkit "rcp -r -p -f" as the source, krx's codec as
// the sink. The whole transcript is re-encoded with our writers and must
// equal netkit's bytes exactly.
func TestNetkitRcpSource(t *testing.T) {
	needRoot(t, netkitRcp)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	files := map[string]struct {
		mode    fs.FileMode
		content string
		mtime   time.Time
	}{
		"src":       {0750 | fs.ModeDir, "", time.Unix(1200000000, 0)},
		"src/a":     {0640, "alpha\n", time.Unix(1500000000, 0)},
		"src/empty": {0604 | fs.ModeSticky, "", time.Unix(1500000001, 0)},
		"src/sub":   {0700 | fs.ModeDir, "", time.Unix(1300000000, 0)},
		"src/sub/b": {0600, strings.Repeat("x", 100000), time.Unix(1400000000, 0)},
	}
	for _, name := range []string{"src", "src/a", "src/empty", "src/sub", "src/sub/b"} {
		f := files[name]
		p := filepath.Join(tmp, name)
		if f.mode.IsDir() {
			os.Mkdir(p, 0700)
		} else if err := os.WriteFile(p, []byte(f.content), 0600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	for name, f := range files { // times last: creating entries changes dirs
		os.Chtimes(filepath.Join(tmp, name), f.mtime.Add(time.Hour), f.mtime)
	}

	cmd, r0, w, _ := startRcp(t, "-r", "-p", "-f", src)
	var transcript, expect bytes.Buffer
	r := bufio.NewReader(io.TeeReader(r0, &transcript))
	w.Write([]byte{0}) // sink ready
	var dirs []string
	var times *Times
	seen := map[string]bool{}
	for {
		m, err := ReadControl(r, RcpLimits{MaxSize: 1 << 20})
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadControl: %v (transcript %q)", err, transcript.String())
		}
		b, err := m.AppendLine(nil)
		if err != nil {
			t.Fatal(err)
		}
		expect.Write(b)
		switch m := m.(type) {
		case *Times:
			times = m
		case *DirHeader:
			dirs = append(dirs, m.Name)
			name := strings.Join(dirs, "/")
			f := files[name]
			if m.Mode != f.mode&^fs.ModeDir || times == nil || !times.Mtime.Equal(f.mtime) || !times.Atime.Equal(f.mtime.Add(time.Hour)) {
				t.Fatalf("%s: %+v %+v, want %+v", name, m, times, f)
			}
			seen[name], times = true, nil
		case *FileHeader:
			name := strings.Join(append(dirs, m.Name), "/")
			f := files[name]
			if m.Mode != f.mode || m.Size != int64(len(f.content)) || times == nil || !times.Mtime.Equal(f.mtime) {
				t.Fatalf("%s: %+v %+v, want %+v", name, m, times, f)
			}
			w.Write([]byte{0})
			var body bytes.Buffer
			st, err := ReceiveBody(&body, r, *m, nil)
			if err != nil || st.Kind != ReplyOK || body.String() != f.content {
				t.Fatalf("%s: body %d bytes, status %+v, %v", name, body.Len(), st, err)
			}
			expect.WriteString(f.content + "\x00")
			seen[name], times = true, nil
		case *EndDir:
			dirs = dirs[:len(dirs)-1]
		default:
			t.Fatalf("unexpected %#v", m)
		}
		w.Write([]byte{0})
	}
	cmd.Wait()
	if len(seen) != len(files) || len(dirs) != 0 {
		t.Fatalf("saw %v, open dirs %v", seen, dirs)
	}
	if !bytes.Equal(transcript.Bytes(), expect.Bytes()) {
		t.Fatalf("re-encoded transcript differs:\nnetkit %q\nkrx    %q", transcript.String(), expect.String())
	}
}

// TestNetkitRcpSourceDies: the netkit source is killed mid-file; the sink
// primitive reports ErrSourceDied.
func TestNetkitRcpSourceDies(t *testing.T) {
	needRoot(t, netkitRcp)
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, make([]byte, 64<<20), 0644); err != nil {
		t.Fatal(err)
	}
	cmd, r, w, _ := startRcp(t, "-f", p)
	w.Write([]byte{0})
	m, err := ReadControl(r, RcpLimits{})
	h, ok := m.(*FileHeader)
	if err != nil || !ok || h.Size != 64<<20 {
		t.Fatalf("%#v, %v", m, err)
	}
	w.Write([]byte{0})
	kill := &killAfter{n: 1 << 20, p: cmd.Process}
	_, err = ReceiveBody(kill, r, *h, nil)
	var be *BodyError
	if !errors.Is(err, ErrSourceDied) || !errors.As(err, &be) || be.Received >= h.Size || be.Received < 1<<20 {
		t.Fatalf("source killed: %v", err)
	}
}

type killAfter struct {
	n, seen int
	p       *os.Process
}

func (k *killAfter) Write(b []byte) (int, error) {
	k.seen += len(b)
	if k.seen >= k.n && k.p != nil {
		k.p.Signal(syscall.SIGKILL)
		k.p = nil
	}
	return len(b), nil
}
