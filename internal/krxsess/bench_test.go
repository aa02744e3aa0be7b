package krxsess

import (
	"io"
	"testing"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/internal/krxproto"
)

// BenchmarkShellThroughput: client→server bulk data through a shell
// session's CFB-64 stream (AES-256) over loopback TCP, 1 MiB per op; run
// with -benchtime 256x for 256 MiB.
func BenchmarkShellThroughput(b *testing.B) {
	for _, et := range []struct {
		name string
		t    int32
	}{{"aes256", cfbstream.EnctypeAES256CTSHMACSHA196}, {"aes128", cfbstream.EnctypeAES128CTSHMACSHA196}} {
		b.Run(et.name, func(b *testing.B) {
			cs, ss := keyedSessions(b, krxproto.Shell, et.t)
			const op = 1 << 20
			done := make(chan int64, 1)
			go func() {
				n, _ := io.CopyBuffer(io.Discard, ss, make([]byte, 64<<10))
				done <- n
			}()
			buf := make([]byte, 64<<10)
			b.SetBytes(op)
			b.ResetTimer()
			for range b.N {
				for k := 0; k < op; k += len(buf) {
					if _, err := cs.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
			}
			cs.CloseWrite()
			if n := <-done; n != int64(b.N)*op {
				b.Fatalf("server got %d bytes", n)
			}
		})
	}
}

// BenchmarkShellReadFrom: as BenchmarkShellThroughput (AES-256) but
// through the pipelined ClientSession.ReadFrom, 1 MiB per op.
func BenchmarkShellReadFrom(b *testing.B) {
	cs, ss := keyedSessions(b, krxproto.Shell, cfbstream.EnctypeAES256CTSHMACSHA196)
	const op = 1 << 20
	done := make(chan int64, 1)
	go func() {
		n, _ := io.CopyBuffer(io.Discard, ss, make([]byte, 64<<10))
		done <- n
	}()
	b.SetBytes(op)
	b.ResetTimer()
	n, err := cs.ReadFrom(io.LimitReader(zeros{}, int64(b.N)*op))
	if err != nil || n != int64(b.N)*op {
		b.Fatalf("sent %d: %v", n, err)
	}
	cs.CloseWrite()
	if got := <-done; got != n {
		b.Fatalf("server got %d of %d bytes", got, n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// BenchmarkKeystrokeEcho: one keystroke through a login session and back
// (client Input → server Input → server Output → client CopyOutput →
// terminal), no pty; ns/op is the round trip.
func BenchmarkKeystrokeEcho(b *testing.B) {
	cs, ss := keyedSessions(b, krxproto.Login, cfbstream.EnctypeAES256CTSHMACSHA196)
	go func() { // the server echoes
		in, out := ss.Input(nil), ss.Output()
		buf := make([]byte, 64)
		for {
			n, err := in.Read(buf)
			if err != nil {
				ss.Conn.CloseWrite()
				return
			}
			out.Write(buf[:n])
		}
	}()
	echoed := make(chan struct{}, 1)
	outDone := make(chan error, 1)
	go func() {
		_, err := cs.CopyOutput(OutputOptions{Terminal: termFunc(func(p []byte) (int, error) {
			for range p {
				echoed <- struct{}{}
			}
			return len(p), nil
		})})
		outDone <- err
	}()
	key := cs.Input()
	b.ResetTimer()
	for range b.N {
		if _, err := key.Write([]byte{'x'}); err != nil {
			b.Fatal(err)
		}
		<-echoed
	}
	b.StopTimer()
	cs.CloseWrite()
	if err := <-outDone; err != nil {
		b.Fatal(err)
	}
}

type termFunc func([]byte) (int, error)

func (f termFunc) Write(p []byte) (int, error) { return f(p) }
