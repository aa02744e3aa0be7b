package oob

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkHintLatency measures, per urgent byte sent behind 4 MiB of
// output, how long after SendUrgent the watcher's thread got the kernel's
// SIGURG (sigurg-us) and the EPOLLPRI arrival of the byte (epollpri-us),
// with a reader that keeps up and one that drains 16 KiB per millisecond.
// queued-KiB is what sat in the two socket buffers when the byte was sent.
func BenchmarkHintLatency(b *testing.B) {
	for _, slow := range []bool{false, true} {
		b.Run(map[bool]string{false: "fast-reader", true: "slow-reader"}[slow], func(b *testing.B) {
			d, a := tcpPair(b, true)
			var t0, hintAt, arriveAt atomic.Int64
			ww, err := startWatcher(a, func(ev Event) {
				if ev.Time.UnixNano() < t0.Load() {
					return
				}
				if ev.Kind == Hint {
					hintAt.CompareAndSwap(0, ev.Time.UnixNano())
				} else {
					arriveAt.CompareAndSwap(0, ev.Time.UnixNano())
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			w := &Watcher{w: ww}
			defer w.Close()

			marks := make(chan error, 1)
			go func() {
				r := NewReader(a, w)
				buf := make([]byte, 64<<10)
				if slow {
					buf = buf[:16<<10]
				}
				for {
					if _, err := r.Read(buf); err != nil {
						if err == io.EOF {
							err = nil
						}
						marks <- err
						return
					}
					if r.AtMark() {
						// Parked at the mark; let the watcher see the byte
						// arrive (EPOLLPRI is only reported while it is
						// unread) before taking it.
						for wait := time.Now(); arriveAt.Load() == 0 && time.Since(wait) < time.Second; {
							time.Sleep(10 * time.Microsecond)
						}
						if _, err := r.Read(buf[:1]); err != nil {
							marks <- err
							return
						}
						marks <- nil
					}
					if slow {
						time.Sleep(time.Millisecond)
					}
				}
			}()

			out := make([]byte, 4<<20)
			var sumHint, sumPri, sumQueued float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Write(out); err != nil {
					b.Fatal(err)
				}
				hintAt.Store(0)
				arriveAt.Store(0)
				sumQueued += float64(outq(b, d) + inq(b, a))
				start := time.Now()
				t0.Store(start.UnixNano())
				if err := SendUrgent(d, 0x02); err != nil {
					b.Fatal(err)
				}
				if err := <-marks; err != nil {
					b.Fatal(err)
				}
				if _, err := w.Sync(); err != nil {
					b.Fatal(err)
				}
				h, p := hintAt.Load(), arriveAt.Load()
				if h == 0 || p == 0 {
					b.Fatalf("iteration %d: hint at %d, arrival at %d", i, h, p)
				}
				sumHint += float64(h - start.UnixNano())
				sumPri += float64(p - start.UnixNano())
			}
			b.StopTimer()
			d.CloseWrite()
			<-marks
			n := float64(b.N)
			b.ReportMetric(sumHint/n/1e3, "sigurg-us")
			b.ReportMetric(sumPri/n/1e3, "epollpri-us")
			b.ReportMetric(sumQueued/n/1024, "queued-KiB")
		})
	}
}

func outq(b *testing.B, c *net.TCPConn) int {
	var v int
	if err := rawControl(c, func(fd int) (err error) { v, err = unix.IoctlGetInt(fd, unix.SIOCOUTQ); return }); err != nil {
		b.Fatal(err)
	}
	return v
}

func inq(b *testing.B, c *net.TCPConn) int {
	var v int
	if err := rawControl(c, func(fd int) (err error) { v, err = unix.IoctlGetInt(fd, unix.SIOCINQ); return }); err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkReader compares bulk loopback reads through a Reader (a peek and
// SIOCATMARK per read) with plain conn.Read.
func BenchmarkReader(b *testing.B) {
	for _, marks := range []bool{false, true} {
		b.Run(map[bool]string{false: "conn.Read", true: "oob.Reader"}[marks], func(b *testing.B) {
			d, a := tcpPair(b, true)
			const chunk = 64 << 10
			go func() {
				buf := make([]byte, chunk)
				for {
					if _, err := d.Write(buf); err != nil {
						return
					}
				}
			}()
			var r io.Reader = a
			if marks {
				r = NewReader(a, nil)
			}
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			a.Close()
			d.Close()
		})
	}
}
