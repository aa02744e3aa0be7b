package oob

import (
	"bytes"
	"testing"
	"time"
)

// A flood of output with a flush in the middle, through the whole client
// path: Reader → Chain → a slow terminal, with the Watcher's hint holding
// the chain (or not). What the terminal got must be a prefix of the data
// before the mark followed by exactly everything from the mark on.
func TestFloodWithFlushInTheMiddle(t *testing.T) {
	for _, hold := range []bool{false, true} {
		t.Run(map[bool]string{false: "no-hold", true: "hold-on-hint"}[hold], func(t *testing.T) {
			before := pattern(0, 4<<20)
			after := pattern(1<<40, 1<<20)
			d, a := tcpPair(t, true)
			w, err := Watch(a)
			w = watch(t, a, w, err)
			term := &recWriter{delay: 100 * time.Microsecond}
			ch := NewChain(term, 64<<10)
			if hold {
				go func() {
					for ev := range w.Events() {
						ch.Hold(ev.Seq)
					}
				}()
			}
			errc := make(chan error, 1)
			go func() {
				if _, err := d.Write(before); err != nil {
					errc <- err
					return
				}
				if err := SendUrgent(d, 0x02); err != nil {
					errc <- err
					return
				}
				if _, err := d.Write(after); err != nil {
					errc <- err
					return
				}
				errc <- d.CloseWrite()
			}()

			r := NewReader(a, w)
			buf := make([]byte, 32<<10)
			marks := 0
			a.SetReadDeadline(time.Now().Add(2 * time.Minute))
			for {
				n, err := r.Read(buf)
				if perr := ch.Push(buf[:n]); perr != nil {
					t.Fatal(perr)
				}
				if err != nil {
					break
				}
				if r.AtMark() {
					marks++
					seq, err := w.Sync()
					if err != nil {
						t.Fatal(err)
					}
					mark := ch.Pushed()
					if mark != int64(len(before)) || r.Offset() != mark {
						t.Fatalf("mark at chain offset %d, stream offset %d; want %d", mark, r.Offset(), len(before))
					}
					ch.FlushTo(mark)
					ch.Release(seq)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if err := ch.Close(); err != nil {
				t.Fatal(err)
			}
			got := term.Bytes()
			tail := append([]byte{0x02}, after...)
			k := len(got) - len(tail)
			if marks != 1 || k < 0 || !bytes.Equal(got[:k], before[:k]) || !bytes.Equal(got[k:], tail) {
				t.Fatalf("%d marks; terminal got %d bytes, not a prefix of the %d before the mark plus the %d from it",
					marks, len(got), len(before), len(tail))
			}
			st := ch.Stats()
			t.Logf("painted %d of %d bytes before the mark, dropped %d; watcher %+v", k, len(before), st.Dropped, w.Stats())
			if k == len(before) || st.Dropped != int64(len(before)-k) || st.Written != int64(len(got)) {
				t.Fatalf("nothing flushed or counts wrong: stats %+v, painted %d before the mark", st, k)
			}
		})
	}
}
