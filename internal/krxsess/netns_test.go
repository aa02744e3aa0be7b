package krxsess

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/flakylink"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/oob"
)

// flakyFloods is the number of flood steps of creepScript per run: with
// its doubled flushes 1015 urgent commands and 2.9 MB of data, which
// cross a 25 % lossy link in 1.5–4 s (with flakyRTOMin).
const flakyFloods = 920

// flakyRTOMin shortens retransmission timeouts on the lossy links (see
// flakylink.Options.RTOMin): with Linux's 200 ms minimum the flood took
// 12–19 s at 25 % loss, almost all of it waiting for timeouts.
const flakyRTOMin = 20 * time.Millisecond

// flakyRTOMax caps the backoff of a segment lost again and again
// (flakylink.Options.RTOMax).
const flakyRTOMax = time.Second

// flakyDeadline bounds each connection of these tests: a stuck session
// fails with a timeout instead of hanging make test.
const flakyDeadline = 45 * time.Second

// flakyCases are the links of issue 5 item 5: random loss of the
// server→client segments at 0, 2, 10 and 25 %, and a middlebox that clears
// URG and the urgent pointer. (URG-only loss is left out: during a flood
// with a flush every few KB Linux sets URG on nearly every segment while a
// pointer is pending, so 50 % URG loss is ≈ 50 % loss, which stalled the
// flood past its 45 s deadline.)
var flakyCases = []struct {
	name string
	o    flakylink.Options
}{
	{"loss0", flakylink.Options{}},
	{"loss2", flakylink.Options{LossPercent: 2, RTOMin: flakyRTOMin, RTOMax: flakyRTOMax}},
	{"loss10", flakylink.Options{LossPercent: 10, RTOMin: flakyRTOMin, RTOMax: flakyRTOMax}},
	{"loss25", flakylink.Options{LossPercent: 25, RTOMin: flakyRTOMin, RTOMax: flakyRTOMax}},
	{"stripurg", flakylink.Options{StripURG: true}},
}

// TestCreepInFlakyLink runs a krx login session (real envelope with an MIT
// KDC) between two network namespaces over a lossy or URG-stripping link:
// the server floods output with ≥ 1000 urgent flush commands, the client
// sends window sizes meanwhile. Every command must be recognised in order
// at its exact data offset, the unflushed data must arrive byte-identical,
// and every window size must arrive. Beside it, the same traffic through
// the legacy length-framed, non-inline reader over the same kind of link
// desynchronises.
func TestCreepInFlakyLink(t *testing.T) {
	if err := flakylink.Available(flakylink.Options{}); err != nil {
		t.Skip(err)
	}
	tr := realm(t, "aes256")
	for _, fc := range flakyCases {
		t.Run(fc.name, func(t *testing.T) {
			t.Run("krx", func(t *testing.T) { testKRXFlaky(t, tr, fc.o) })
			t.Run("legacy", func(t *testing.T) { testLegacyFlaky(t, fc.o) })
		})
	}
}

// flakySent is what the server sent: the data stream and every command
// with its data offset.
type flakySent struct {
	data   []byte
	want   []krxproto.Command
	urgent int
}

// send writes steps through a login session's Output and SendControl.
func (f *flakySent) send(ss *ServerSession, steps []step) error {
	for _, s := range steps {
		if s.pause {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if s.data != nil {
			if _, err := ss.Output().Write(s.data); err != nil {
				return err
			}
			f.data = append(f.data, s.data...)
			continue
		}
		if err := ss.SendControl(s.ctl); err != nil {
			return err
		}
		if s.ctl.FlushWrite() {
			f.urgent++
		}
		f.want = append(f.want, krxproto.Command{Control: s.ctl, DataOffset: int64(len(f.data))})
	}
	return nil
}

// flakyWindows are the window sizes the client sends during the flood;
// 0xFF bytes in them exercise the escaping.
func flakyWindows(n int) []compat.WindowSize {
	ws := make([]compat.WindowSize, n)
	for i := range ws {
		ws[i] = compat.WindowSize{Rows: uint16(24 + i), Cols: uint16(80 + i%200), XPixel: 0xFF, YPixel: uint16(0xFF00 + i)}
	}
	return ws
}

func testKRXFlaky(t *testing.T, tr *testRealm, o flakylink.Options) {
	l := flakylink.New(t, o)
	ln, err := l.Sender.ListenConfig(&net.ListenConfig{Control: oob.Control}, net.JoinHostPort(l.Sender.Addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	start := time.Now()
	head, flood := creepScript(11, flakyFloods)
	windows := flakyWindows(200)
	var sent flakySent
	var gotWS []compat.WindowSize
	floodNow := make(chan struct{})
	srvDone := acceptOne(ln, func(c *net.TCPConn) error {
		c.SetDeadline(time.Now().Add(flakyDeadline))
		a, err := Authenticate(c, ServerConfig{Acceptor: tr.acceptor(t), Service: krxproto.Login, Prog: "rlogind"})
		if err != nil {
			return err
		}
		ss, err := a.Start()
		if err != nil {
			return err
		}
		if err := ss.Accept(); err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(flakyDeadline))
		inDone := make(chan error, 1)
		go func() { // the keystroke side: window sizes only, then EOF
			_, err := io.Copy(io.Discard, ss.Input(func(w compat.WindowSize) { gotWS = append(gotWS, w) }))
			inDone <- err
		}()
		if err := sent.send(ss, head); err != nil {
			return err
		}
		<-floodNow
		if err := sent.send(ss, flood); err != nil {
			return err
		}
		if err := ss.CloseWrite(); err != nil {
			return err
		}
		return <-inDone
	})
	conn, err := l.Receiver.DialWith(&net.Dialer{Control: oob.Control}, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(flakyDeadline))
	cs, err := Handshake(conn, ClientConfig{Service: krxproto.Login, ServerUser: "alice", ClientUser: "alice",
		Payload: "xterm/38400", Ticket: tr.ticket(t), Host: "localhost", Timeout: flakyDeadline})
	if err != nil {
		t.Fatal("handshake:", err)
	}
	setup := time.Since(start)
	time.Sleep(100 * time.Millisecond) // the head's back-to-back flushes have arrived: one mark overtaken
	close(floodNow)
	var wg sync.WaitGroup
	wg.Add(1)
	winErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		for _, w := range windows {
			if err := cs.SendWindow(w); err != nil {
				winErr <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		winErr <- nil
	}()
	term := &slowTerm{}
	var got []krxproto.Command
	st, err := cs.CopyOutput(OutputOptions{Terminal: term, OnCommand: func(c krxproto.Command) error {
		got = append(got, c)
		return nil
	}})
	wg.Wait()
	if err != nil {
		t.Fatal("client output:", err)
	}
	if err := <-winErr; err != nil {
		t.Fatal("window sizes:", err)
	}
	cs.CloseWrite()
	if err := <-srvDone; err != nil {
		t.Fatal("server:", err)
	}
	took := time.Since(start)

	if sent.urgent < 1000 {
		t.Fatalf("only %d urgent commands", sent.urgent)
	}
	if len(got) != len(sent.want) {
		t.Fatalf("%d commands recognised, %d sent", len(got), len(sent.want))
	}
	var flushes []int64
	for i, w := range sent.want {
		if got[i].Control != w.Control || got[i].DataOffset != w.DataOffset {
			t.Fatalf("command %d: got %#02x at %d, sent %#02x at %d", i, got[i].Control, got[i].DataOffset, w.Control, w.DataOffset)
		}
		if w.Control.FlushWrite() {
			flushes = append(flushes, w.DataOffset)
		}
	}
	checkFlushed(t, term.Bytes(), sent.data, flushes)
	if st.Chain.Pushed != int64(len(sent.data)) || st.Chain.Written+st.Chain.Dropped != int64(len(sent.data)) || st.Chain.Written != int64(term.Len()) {
		t.Errorf("chain %+v, data %d, terminal %d", st.Chain, len(sent.data), term.Len())
	}
	if len(gotWS) != len(windows) {
		t.Fatalf("%d window sizes arrived, %d sent", len(gotWS), len(windows))
	}
	for i := range windows {
		if gotWS[i] != windows[i] {
			t.Fatalf("window size %d: got %+v, sent %+v", i, gotWS[i], windows[i])
		}
	}
	if st.Marks >= int64(sent.urgent) {
		t.Errorf("%d marks for %d urgent bytes: no mark was overtaken, creep-in not exercised", st.Marks, sent.urgent)
	}
	if o.StripURG && (st.Marks != 0 || st.Watch.Hints != 0) {
		t.Errorf("%d marks, %d hints through a URG-stripping link", st.Marks, st.Watch.Hints)
	}
	if st.Chain.Dropped == 0 {
		t.Error("no flush dropped anything")
	}
	cnt, err := l.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if o.LossPercent > 0 && cnt.Lost == 0 || o.URGLossPercent > 0 && cnt.URGLost == 0 {
		t.Errorf("counters %+v: the link lost nothing", cnt)
	}
	if o.StripURG && cnt.Stripped == 0 {
		t.Errorf("counters %+v: the link stripped nothing", cnt)
	}
	t.Logf("%d commands sent, %d recognised (%d urgent flushes), %d marks reached (%d overtaken), %d hints; %d data bytes: %d painted, %d flushed; %d window sizes; link %+v; set-up %v, total %v",
		len(sent.want), len(got), sent.urgent, st.Marks, int64(sent.urgent)-st.Marks, st.Watch.Hints, len(sent.data),
		st.Chain.Written, st.Chain.Dropped, len(gotWS), cnt, setup.Round(time.Millisecond), took.Round(time.Millisecond))
}

// legacySend writes steps the KCMDV0.1 krlogind way: data as u32-length
// records of at most 3840 bytes in clear, each control byte alone as an
// urgent byte between records.
func legacySend(w *net.TCPConn, steps []step) error {
	for _, s := range steps {
		if s.pause {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if s.data == nil {
			if err := oob.SendUrgent(w, byte(s.ctl)); err != nil {
				return err
			}
			continue
		}
		for d := s.data; len(d) > 0; {
			n := min(len(d), 3840)
			rec := binary.BigEndian.AppendUint32(nil, uint32(n))
			if _, err := w.Write(append(rec, d[:n]...)); err != nil {
				return err
			}
			d = d[n:]
		}
	}
	return nil
}

// testLegacyFlaky sends the same flood (without the head's pre-arranged
// overtaken mark) through legacyRead, the non-inline length-framed reader,
// over the same kind of link, and requires the desync on every link: the
// flood's back-to-back flushes overtake a mark within the first records
// even without loss (60 of 60 runs desynced within 8 records, loss0
// included), loss and URG stripping only add ways to fail.
func testLegacyFlaky(t *testing.T, o flakylink.Options) {
	l := flakylink.New(t, o)
	ln, err := l.Sender.Listen(net.JoinHostPort(l.Sender.Addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reader, err := l.Receiver.Dial(ln.Addr().String()) // no SO_OOBINLINE
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	writer, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	reader.SetDeadline(time.Now().Add(flakyDeadline))
	writer.SetDeadline(time.Now().Add(flakyDeadline))
	start := time.Now()
	_, flood := creepScript(11, flakyFloods)
	sendDone := make(chan error, 1)
	go func() {
		err := legacySend(writer, flood)
		writer.CloseWrite()
		sendDone <- err
	}()
	records, oobs, err := legacyRead(reader)
	reader.Close() // the sender may be blocked on a full window
	<-sendDone
	cnt, cerr := l.Counters()
	if cerr != nil {
		t.Fatal(cerr)
	}
	var de *desyncError
	if !errors.As(err, &de) {
		t.Fatalf("the legacy reader survived (%d records, %d urgent bytes, link %+v): %v", records, oobs, cnt, err)
	}
	t.Logf("legacy reader: %v after %d records and %d urgent bytes (first length byte %#02x); link %+v; %v",
		err, records, oobs, de.length>>24, cnt, time.Since(start).Round(time.Millisecond))
}

// exactFlushed is matchFlushed without its 16-byte window: it checks that
// term is data with ranges [x, F) left out, each F a flush offset, in
// order, and the end of data reached — by running the nondeterministic
// automaton whose states are data positions (consume the next data byte,
// or jump ahead to a flush offset). matchFlushed reports a false error when
// fewer than 16 bytes are painted between two flushes (seen through a
// URG-stripping link, where nothing holds the chain early); this one has
// no such blind spot.
func exactFlushed(term, data []byte, flushes []int64) error {
	byByte := [256][]int{} // flush offsets F by data[F], ascending
	for _, f := range flushes {
		if int(f) < len(data) && (len(byByte[data[f]]) == 0 || byByte[data[f]][len(byByte[data[f]])-1] != int(f)) {
			byByte[data[f]] = append(byByte[data[f]], int(f))
		}
	}
	states := map[int]bool{0: true}
	next := map[int]bool{}
	for t, b := range term {
		minP := len(data)
		for p := range states {
			minP = min(minP, p)
			if p < len(data) && data[p] == b {
				next[p+1] = true
			}
		}
		for _, f := range byByte[b] {
			if f > minP {
				next[f+1] = true
			}
		}
		if len(next) == 0 {
			return fmt.Errorf("terminal byte %d (%#02x) continues no valid flushed copy of the data (data positions %v)", t, b, keys(states))
		}
		states, next = next, states
		clear(next)
	}
	if !states[len(data)] {
		return fmt.Errorf("terminal (%d bytes) ends before the data's end (%d): unflushed data lost", len(term), len(data))
	}
	return nil
}

func keys(m map[int]bool) []int {
	var k []int
	for p := range m {
		if len(k) == 8 {
			break
		}
		k = append(k, p)
	}
	return k
}

// TestExactFlushed: exactFlushed accepts a few bytes painted between two
// flushes (which matchFlushed refuses) and rejects what matchFlushed
// rejects.
func TestExactFlushed(t *testing.T) {
	_, flood := creepScript(3, 3)
	var data []byte
	for _, s := range flood {
		data = append(data, s.data...)
	}
	flushes := []int64{1000, 1005, 2000}
	short := append(append(append([]byte(nil), data[:500]...), data[1000:1003]...), data[1005:]...)
	if err := exactFlushed(short, data, flushes); err != nil {
		t.Fatalf("3 bytes between flushes refused: %v", err)
	}
	if matchFlushed(short, data, flushes) == nil {
		t.Log("matchFlushed now accepts short paints too")
	}
	if err := exactFlushed(data, data, flushes); err != nil {
		t.Fatalf("unflushed data refused: %v", err)
	}
	withCmd := append(append(append([]byte(nil), data[:500]...), 0xFF, 'C', 0x02), data[2000:]...)
	badGap := append(append([]byte(nil), data[:500]...), data[1500:]...)
	lostTail := append([]byte(nil), data[:len(data)-1]...)
	extra := append(append([]byte(nil), data...), data[len(data)-1])
	backwards := append(append([]byte(nil), data[:1500]...), data[1000:]...)
	for name, term := range map[string][]byte{"command bytes": withCmd, "gap not at a flush": badGap,
		"lost tail": lostTail, "extra byte": extra, "repeated data": backwards} {
		if err := exactFlushed(term, data, flushes); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
