package krxsess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/testutil/syncbuf"
	"github.com/krx-suite/krx/oob"
	"golang.org/x/sys/unix"
)

// step is one piece of a login server's traffic: pty output or a control
// command.
type step struct {
	data  []byte
	ctl   compat.Control
	pause bool // the sender waits a moment, so the reader catches up and paints
}

// creepScript is the traffic both the krx and the legacy tests send. The
// first part (before the reader starts) ends with two flushes back to
// back, so the first one's urgent mark is overtaken before anything is
// read; the flood has ≥ 1000 urgent flushes, every tenth again in a pair,
// and some in-band-only flow-control commands.
func creepScript(seed uint64, floods int) (head, flood []step) {
	rng := rand.New(rand.NewPCG(seed, 7))
	chunk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
			if rng.UintN(16) == 0 {
				b[i] = 0xFF // plenty of bytes that must be escaped
			}
		}
		return b
	}
	head = []step{{data: chunk(3000)}, {ctl: compat.CtlFlushWrite}, {data: chunk(2000)},
		{ctl: compat.CtlFlushWrite}, {ctl: compat.CtlFlushWrite}}
	for i := range floods {
		flood = append(flood, step{data: chunk(1 + rng.IntN(6000))}, step{ctl: compat.CtlFlushWrite})
		if i%10 == 0 {
			flood = append(flood, step{ctl: compat.CtlFlushWrite})
		}
		if i%37 == 0 {
			flood = append(flood, step{data: chunk(100)}, step{ctl: compat.CtlNoStop})
		}
		if i%25 == 0 {
			flood = append(flood, step{data: chunk(3000)}, step{pause: true})
		}
	}
	flood = append(flood, step{data: chunk(20000)})
	return head, flood
}

// slowTerm is a terminal that takes a little time per write, so output
// queues up and flushes have something to drop.
type slowTerm struct{ syncbuf.Buffer }

func (s *slowTerm) Write(p []byte) (int, error) {
	time.Sleep(30 * time.Microsecond)
	return s.Buffer.Write(p)
}

// TestCreepInLoopback sends ≥ 1000 urgent flush commands through a krx
// login session on loopback, some of them back to back so that marks are
// overtaken, and checks that every command is recognised in order at its
// exact data offset, that the terminal shows only data bytes, and that
// everything not flushed arrives byte-identical.
func TestCreepInLoopback(t *testing.T) {
	cs, ss := keyedSessions(t, krxproto.Login, cfbstream.EnctypeAES256CTSHMACSHA196)
	head, flood := creepScript(1, 1100)
	var data []byte
	var want []krxproto.Command
	urgent := 0
	send := func(steps []step) error {
		for _, s := range steps {
			if s.pause {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			if s.data != nil {
				if _, err := ss.Output().Write(s.data); err != nil {
					return err
				}
				data = append(data, s.data...)
				continue
			}
			if err := ss.SendControl(s.ctl); err != nil {
				return err
			}
			if s.ctl.FlushWrite() {
				urgent++
			}
			want = append(want, krxproto.Command{Control: s.ctl, DataOffset: int64(len(data))})
		}
		return nil
	}
	if err := send(head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // both urgent pointers of the pair have arrived
	srvDone := make(chan error, 1)
	go func() {
		err := send(flood)
		ss.Conn.CloseWrite()
		srvDone <- err
	}()
	term := &slowTerm{}
	var got []krxproto.Command
	st, err := cs.CopyOutput(OutputOptions{Terminal: term, OnCommand: func(c krxproto.Command) error {
		got = append(got, c)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-srvDone; err != nil {
		t.Fatal(err)
	}
	if urgent < 1000 {
		t.Fatalf("only %d urgent commands", urgent)
	}
	if len(got) != len(want) {
		t.Fatalf("%d commands recognised, %d sent", len(got), len(want))
	}
	var flushes []int64
	for i := range want {
		if got[i].Control != want[i].Control || got[i].DataOffset != want[i].DataOffset {
			t.Fatalf("command %d: got %#02x at %d, sent %#02x at %d", i, got[i].Control, got[i].DataOffset, want[i].Control, want[i].DataOffset)
		}
		if want[i].Control.FlushWrite() {
			flushes = append(flushes, want[i].DataOffset)
		}
	}
	checkFlushed(t, term.Bytes(), data, flushes)
	if st.Chain.Pushed != int64(len(data)) || st.Chain.Written+st.Chain.Dropped != int64(len(data)) || st.Chain.Written != int64(term.Len()) {
		t.Errorf("chain %+v, data %d, terminal %d", st.Chain, len(data), term.Len())
	}
	if st.Marks >= int64(urgent) {
		t.Errorf("%d marks for %d urgent bytes: no mark was overtaken, creep-in not exercised", st.Marks, urgent)
	}
	if st.Chain.Dropped == 0 {
		t.Error("no flush dropped anything")
	}
	if tail := int64(len(flood[len(flood)-1].data)); st.Chain.Written <= 2*tail {
		t.Errorf("only %d bytes painted: the reader never caught up between flushes", st.Chain.Written)
	}
	t.Logf("%d commands (%d urgent flushes), %d marks reached, %d hints; %d data bytes: %d painted, %d flushed",
		len(got), urgent, st.Marks, st.Watch.Hints, len(data), st.Chain.Written, st.Chain.Dropped)
}

// checkFlushed fails t unless term is data with flushed ranges left out:
// matchFlushed first (fast), and exactFlushed (netns_test.go) when it
// objects, because matchFlushed cannot see fewer than 16 bytes painted
// between two flushes.
func checkFlushed(t *testing.T, term, data []byte, flushes []int64) {
	t.Helper()
	if err := matchFlushed(term, data, flushes); err != nil {
		if xerr := exactFlushed(term, data, flushes); xerr != nil {
			t.Fatal(xerr)
		}
		t.Logf("matchFlushed: %v — a false alarm: exactFlushed accepts the terminal", err)
	}
}

// matchFlushed checks that the terminal output is the data with some
// ranges left out, each ending exactly at a flush offset, and that the
// data after the last flush is all there. 16-byte windows of random data
// make an accidental match practically impossible.
func matchFlushed(term, data []byte, flushes []int64) error {
	const w = 16
	window := func(b []byte, i int) []byte { return b[i:min(i+w, len(b))] }
	byPrefix := map[string][]int{}
	for _, f := range flushes {
		if int(f)+w <= len(data) {
			k := string(data[f : f+w])
			byPrefix[k] = append(byPrefix[k], int(f))
		}
	}
	p, t := 0, 0
	for t < len(term) {
		if p < len(data) && bytes.Equal(window(term, t), window(data, p)) {
			t++
			p++
			continue
		}
		// A jump lies within the next w bytes: find j and a flush offset F
		// with term[t:t+j] == data[p:p+j] and term[t+j:] continuing at F.
		found := false
		for j := 0; j < w && t+j+w <= len(term) && !found; j++ {
			if p+j > len(data) || !bytes.Equal(term[t:t+j], data[p:p+j]) {
				break
			}
			for _, f := range byPrefix[string(term[t+j:t+j+w])] {
				if f > p+j {
					t, p, found = t+j, f, true
					break
				}
			}
		}
		if !found {
			return fmt.Errorf("terminal byte %d (data position %d) is neither the next data byte nor the start of a flush offset", t, p)
		}
	}
	if p != len(data) {
		return fmt.Errorf("terminal ends at data position %d of %d: unflushed data lost", p, len(data))
	}
	return nil
}

// TestLegacyFramingDesyncs sends the same traffic the legacy way —
// u32-length records in clear, each control byte as a clear urgent byte
// between records (KCMDV0.1 krlogind), read without SO_OOBINLINE by a
// reader that takes urgent bytes with recv(MSG_OOB) — and shows the reader
// take a crept-in control byte for the first byte of a length.
func TestLegacyFramingDesyncs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // no SO_OOBINLINE
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reader, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	wc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	writer := wc.(*net.TCPConn)
	head, flood := creepScript(1, 1100)
	send := func(steps []step) error {
		for _, s := range steps {
			if s.pause {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			if s.data == nil {
				if err := oob.SendUrgent(writer, byte(s.ctl)); err != nil {
					return err
				}
				continue
			}
			for d := s.data; len(d) > 0; {
				n := min(len(d), 3840) // Solaris-style record size
				rec := binary.BigEndian.AppendUint32(nil, uint32(n))
				if _, err := writer.Write(append(rec, d[:n]...)); err != nil {
					return err
				}
				d = d[n:]
			}
		}
		return nil
	}
	if err := send(head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	go func() { send(flood); writer.CloseWrite() }()

	records, oobs, err := legacyRead(reader.(*net.TCPConn))
	var de *desyncError
	if !errors.As(err, &de) {
		t.Fatalf("the legacy reader survived (%d records, %d urgent bytes): %v", records, oobs, err)
	}
	if de.length>>24 != uint32(compat.CtlFlushWrite) {
		t.Errorf("length %#08x: its first byte is not the crept-in control byte", de.length)
	}
	t.Logf("legacy reader: %v after %d records and %d urgent bytes", err, records, oobs)
}

type desyncError struct{ length uint32 }

func (e *desyncError) Error() string {
	return fmt.Sprintf("record length %#08x (%d): stream out of sync", e.length, e.length)
}

// legacyRead is a minimal KCMDV0.1-style reader: header, body, and after
// every record a non-blocking recv(MSG_OOB) for a pending urgent byte.
func legacyRead(c *net.TCPConn) (records, oobs int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	body := make([]byte, 16<<10)
	for {
		var h [4]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			if err == io.EOF {
				return records, oobs, nil
			}
			return records, oobs, err
		}
		n := binary.BigEndian.Uint32(h[:])
		if n > uint32(len(body)) { // MIT: "preposterous length" → EIO
			return records, oobs, &desyncError{length: n}
		}
		if _, err := io.ReadFull(c, body[:n]); err != nil {
			return records, oobs, err
		}
		records++
		raw.Control(func(fd uintptr) {
			var b [1]byte
			if k, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_OOB|unix.MSG_DONTWAIT); err == nil && k == 1 {
				oobs++
			}
		})
	}
}

// TestMatchFlushedCatchesErrors: the checker above rejects a command byte
// on the terminal, a gap that does not end at a flush, and a lost tail.
func TestMatchFlushedCatchesErrors(t *testing.T) {
	_, flood := creepScript(3, 3)
	var data []byte
	for _, s := range flood {
		data = append(data, s.data...)
	}
	flushes := []int64{1000, 2000}
	good := append(append([]byte(nil), data[:500]...), data[2000:]...)
	if err := matchFlushed(good, data, flushes); err != nil {
		t.Fatalf("good output refused: %v", err)
	}
	withCmd := append(append(append([]byte(nil), data[:500]...), 0xFF, 'C', 0x02), data[2000:]...)
	badGap := append(append([]byte(nil), data[:500]...), data[1500:]...)
	lostTail := append([]byte(nil), data[:len(data)-1]...)
	for name, term := range map[string][]byte{"command bytes": withCmd, "gap not at a flush": badGap, "lost tail": lostTail} {
		if err := matchFlushed(term, data, flushes); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
