package ptyx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const helperEnv = "KRX_PTYX_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role))
	}
	os.Exit(m.Run())
}

// runHelper runs in a re-executed test binary on the pty slave.
func runHelper(role string) int {
	switch role {
	case "tcflush":
		// tcflush(1, TCOFLUSH) then tcflush(0, TCIFLUSH), each followed by a
		// marker written after it (a flush discards output written before).
		if err := unix.IoctlSetInt(1, unix.TCFLSH, unix.TCOFLUSH); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Print("after-oflush\n")
		if err := unix.IoctlSetInt(0, unix.TCFLSH, unix.TCIFLUSH); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Print("after-iflush\n")
		return 0
	}
	return 3
}

// session collects the packets of a running pty session.
type session struct {
	t     *testing.T
	pkts  chan Packet
	err   error
	flags byte   // OR of every control packet seen
	ctrl  []byte // control headers in order
	data  strings.Builder
}

func reader(t *testing.T, p *Pty) *session {
	s := &session{t: t, pkts: make(chan Packet, 64)}
	go func() {
		defer close(s.pkts)
		pr := NewPacketReader(p, 0)
		for {
			pk, err := pr.Next()
			if err != nil {
				s.err = err
				return
			}
			pk.Data = append([]byte(nil), pk.Data...)
			s.pkts <- pk
		}
	}()
	return s
}

// until consumes packets until cond holds; it fails the test if the
// session ends first or nothing happens for 15 s.
func (s *session) until(what string, cond func(s *session) bool) {
	s.t.Helper()
	timeout := time.After(15 * time.Second)
	for !cond(s) {
		select {
		case pk, ok := <-s.pkts:
			if !ok {
				s.t.Fatalf("session ended (%v) before %s; data %q, flags %#x", s.err, what, s.data.String(), s.flags)
			}
			if pk.IsControl() {
				s.flags |= pk.Flags
				s.ctrl = append(s.ctrl, pk.Flags)
			} else {
				s.data.Write(pk.Data)
			}
		case <-timeout:
			s.t.Fatalf("timed out waiting for %s; data %q, flags %#x", what, s.data.String(), s.flags)
		}
	}
}

// toEOF consumes the rest of the session, which must end in io.EOF.
func (s *session) toEOF() {
	s.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case pk, ok := <-s.pkts:
			if !ok {
				if s.err != io.EOF {
					s.t.Fatalf("session ended with %v, want io.EOF", s.err)
				}
				return
			}
			if pk.IsControl() {
				s.flags |= pk.Flags
				s.ctrl = append(s.ctrl, pk.Flags)
			} else {
				s.data.Write(pk.Data)
			}
		case <-timeout:
			s.t.Fatalf("no EOF; data %q", s.data.String())
		}
	}
}

func hasData(sub string) func(*session) bool {
	return func(s *session) bool { return strings.Contains(s.data.String(), sub) }
}

func openPacket(t *testing.T) *Pty {
	t.Helper()
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.SetPacketMode(true); err != nil {
		t.Fatal(err)
	}
	return p
}

func start(t *testing.T, p *Pty, cmd *exec.Cmd, cred *syscall.Credential) {
	t.Helper()
	if err := p.Start(cmd, cred); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

func TestConstantsMatchKernelHeaders(t *testing.T) {
	for _, c := range []struct{ ours, sys int }{
		{PktData, unix.TIOCPKT_DATA}, {PktFlushRead, unix.TIOCPKT_FLUSHREAD},
		{PktFlushWrite, unix.TIOCPKT_FLUSHWRITE}, {PktStop, unix.TIOCPKT_STOP},
		{PktStart, unix.TIOCPKT_START}, {PktNoStop, unix.TIOCPKT_NOSTOP},
		{PktDoStop, unix.TIOCPKT_DOSTOP}, {PktIoctl, unix.TIOCPKT_IOCTL},
	} {
		if c.ours != c.sys {
			t.Errorf("constant %#x != x/sys %#x", c.ours, c.sys)
		}
	}
}

func TestShellSeesTermSizeAndTty(t *testing.T) {
	p := openPacket(t)
	if err := p.SetSize(Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	if ws, err := p.Size(); err != nil || ws != (Winsize{Rows: 33, Cols: 101}) {
		t.Fatalf("Size = %+v, %v", ws, err)
	}
	cmd := exec.Command("/bin/sh", "-c", `stty -a >/dev/null; echo "size=$(stty size) term=$TERM tty=$(tty)"; test -t 0 && echo ctty-ok`)
	cmd.Env = []string{"TERM=vt220-krx", "PATH=/usr/bin:/bin"}
	start(t, p, cmd, nil)
	if p.Slave() != nil {
		t.Error("Start kept the daemon's copy of the slave")
	}
	s := reader(t, p)
	s.toEOF()
	want := fmt.Sprintf("size=33 101 term=vt220-krx tty=%s\r\nctty-ok\r\n", p.SlaveName())
	if got := s.data.String(); got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// A second Start must be refused.
	if err := p.Start(exec.Command("/bin/true"), nil); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
}

func TestFlowControlPackets(t *testing.T) {
	p := openPacket(t)
	cmd := exec.Command("/bin/sh", "-c", `stty -ixon; echo A; read x; stty ixon; echo B; read x; echo C`)
	start(t, p, cmd, nil)
	s := reader(t, p)
	s.until("NOSTOP and A", func(s *session) bool { return s.flags&PktNoStop != 0 && hasData("A\r\n")(s) })
	if s.flags&PktDoStop != 0 {
		t.Fatalf("DOSTOP before stty ixon (flags %#x)", s.flags)
	}
	p.Write([]byte("\n"))
	s.until("DOSTOP and B", func(s *session) bool { return s.flags&PktDoStop != 0 && hasData("B\r\n")(s) })
	p.Write([]byte("\n"))
	s.toEOF()
	if !hasData("C\r\n")(s) {
		t.Fatalf("data %q", s.data.String())
	}
}

func TestStopStartPackets(t *testing.T) {
	p := openPacket(t)
	cmd := exec.Command("/bin/sh", "-c", `echo ready; read x; echo done`)
	start(t, p, cmd, nil)
	s := reader(t, p)
	s.until("ready", hasData("ready"))
	p.Write([]byte{0x13}) // ^S
	s.until("STOP", func(s *session) bool { return s.flags&PktStop != 0 })
	p.Write([]byte{0x11}) // ^Q
	s.until("START", func(s *session) bool { return s.flags&PktStart != 0 })
	p.Write([]byte("\n"))
	s.toEOF()
}

func TestFlushPacketsFromTcflush(t *testing.T) {
	p := openPacket(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=tcflush")
	start(t, p, cmd, nil)
	s := reader(t, p)
	s.toEOF()
	if s.flags&PktFlushWrite == 0 || s.flags&PktFlushRead == 0 {
		t.Fatalf("control flags %#x (%v), want FLUSHWRITE and FLUSHREAD", s.flags, s.ctrl)
	}
	if got := s.data.String(); got != "after-oflush\r\nafter-iflush\r\n" {
		t.Fatalf("data %q", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}

// TestInterruptFlushes is rlogin's ^C: the line discipline sends SIGINT
// and flushes, which the daemon sees as a FLUSHWRITE packet.
func TestInterruptFlushes(t *testing.T) {
	p := openPacket(t)
	cmd := exec.Command("/bin/sh", "-c", `echo ready; exec sleep 30`)
	start(t, p, cmd, nil)
	s := reader(t, p)
	s.until("ready", hasData("ready"))
	p.Write([]byte{0x03})
	s.until("FLUSHWRITE", func(s *session) bool { return s.flags&PktFlushWrite != 0 })
	s.toEOF()
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("sleep ended with %v, want SIGINT", err)
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	p := openPacket(t)
	cmd := exec.Command("/bin/sleep", "30")
	start(t, p, cmd, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 64))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the reader block (no data ever comes)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("blocked Read returned %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	// Closing the master hangs the session up: sleep dies of SIGHUP.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
			t.Errorf("child ended %v, want SIGHUP", cmd.ProcessState)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child survived the hang-up")
	}
}

func TestReadDeadline(t *testing.T) {
	p := openPacket(t)
	if err := p.Master().SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("master is not pollable: %v", err)
	}
	_, err := p.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want deadline exceeded", err)
	}
}

func TestStartAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts the session as nobody")
	}
	p := openPacket(t)
	if err := p.SetOwner(65534, 5); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(p.SlaveName(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 5 || st.Mode&0o777 != 0o620 {
		t.Errorf("slave owner %d:%d mode %#o", st.Uid, st.Gid, st.Mode&0o777)
	}
	cmd := exec.Command("/bin/sh", "-c", `echo "ids=$(id -u):$(id -g):$(id -G)"`)
	start(t, p, cmd, &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534}})
	s := reader(t, p)
	s.toEOF()
	if got := s.data.String(); got != "ids=65534:65534:65534\r\n" {
		t.Fatalf("output %q", got)
	}
}

func TestParsePacket(t *testing.T) {
	cases := []struct {
		in    string
		flags byte
		data  string
		err   bool
	}{
		{"\x00hello", PktData, "hello", false},
		{"\x00", PktData, "", false},
		{"\x02", PktFlushWrite, "", false},
		{"\x30", PktNoStop | PktDoStop, "", false},
		{"", 0, "", true},
		{"\x02junk", 0, "", true},
	}
	for _, c := range cases {
		pk, err := ParsePacket([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("ParsePacket(%q) error %v", c.in, err)
			continue
		}
		if err == nil && (pk.Flags != c.flags || string(pk.Data) != c.data) {
			t.Errorf("ParsePacket(%q) = %v %q", c.in, pk.Flags, pk.Data)
		}
	}
	var pe *PacketError
	if _, err := ParsePacket([]byte("\x02ab")); !errors.As(err, &pe) || pe.Len != 2 {
		t.Errorf("PacketError = %v", err)
	}
	if s := (Packet{Flags: PktFlushWrite | PktDoStop}).String(); s != "FLUSHWRITE|DOSTOP" {
		t.Errorf("String = %q", s)
	}
}

// zeroReader returns 0, nil for ever.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestPacketReaderNoProgress(t *testing.T) {
	if _, err := NewPacketReader(zeroReader{}, 0).Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("Next = %v, want io.ErrNoProgress", err)
	}
}

func FuzzParsePacket(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x00data", "\x02", "\x10", "\x20", "\x02x", "\xff\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := ParsePacket(b)
		if err != nil {
			if len(b) != 0 && (b[0] == 0 || len(b) == 1) {
				t.Fatalf("valid packet %q refused: %v", b, err)
			}
			return
		}
		if pk.Flags != b[0] || len(pk.Data) != len(b)-1 {
			t.Fatalf("ParsePacket(%q) = %+v", b, pk)
		}
		if pk.IsControl() && len(pk.Data) != 0 {
			t.Fatalf("control packet with data: %q", b)
		}
		_ = pk.String()
	})
}
