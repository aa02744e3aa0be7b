package oob_test

import (
	"io"
	"net"

	"github.com/krx-suite/krx/oob"
)

// A plain rlogin client's output path: read the socket, paint through the
// chain, and on FLUSHWRITE (0x02, netkit rlogin.c) drop everything up to
// the urgent mark. conn must have SO_OOBINLINE on (oob.Control on the
// Dialer); term is the terminal.
func Example() {
	copyWithFlush := func(conn *net.TCPConn, term io.Writer) error {
		w, err := oob.Watch(conn)
		if err != nil {
			return err
		}
		defer w.Close()
		ch := oob.NewChain(term, 0)
		defer ch.Close()
		go func() { // the early hint: stop painting now
			for ev := range w.Events() {
				ch.Hold(ev.Seq)
			}
		}()
		r := oob.NewReader(conn, w)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if perr := ch.Push(buf[:n]); perr != nil {
				return perr
			}
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if !r.AtMark() {
				continue
			}
			seq, err := w.Sync() // every hint so far is answered by this mark
			if err != nil {
				return err
			}
			mark := ch.Pushed()
			if _, err := r.Read(buf[:1]); err != nil { // the urgent byte itself
				return err
			}
			if buf[0]&0x02 != 0 {
				ch.FlushTo(mark)
			}
			ch.Release(seq)
			// 0x10, 0x20 and 0x80 would be handled here.
		}
	}
	_ = copyWithFlush
}
