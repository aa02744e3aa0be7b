package krxsess

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/krx-suite/krx/internal/krxproto"
)

// TestDataPhaseTampering documents CFB-64's known property in the data
// phase (docs/protocol.md §9): a flipped ciphertext bit flips exactly that
// plaintext bit, garbles the next one (3DES, 64-bit register) or two (AES,
// 128-bit register) 8-byte segments, and everything after is intact. It is
// NOT detected: integrity is future work.
func TestDataPhaseTampering(t *testing.T) {
	for _, tc := range []struct {
		realm   string
		garbled int // segments garbled after the tampered one
	}{{"aes256", 2}, {"des3", 1}} {
		t.Run(tc.realm, func(t *testing.T) {
			tr := realm(t, tc.realm)
			const at, mask = 1000, 0x10 // data index and bit flipped
			want := make([]byte, 4096)
			for i := range want {
				want[i] = byte(i*7 + i/256)
			}
			sl, px := proxyPair(t)
			px.mutate = func(dir int, off int64, hist, b []byte) {
				full := append(append([]byte(nil), hist...), b...)
				if dir != 1 || len(full) < 9 {
					return
				}
				// S→C: answer 00, u32 0, u32 len + AP-REP, status, data.
				target := 9 + int64(binary.BigEndian.Uint32(full[5:9])) + int64(krxproto.StatusLen+at)
				if target >= off && target < off+int64(len(b)) {
					b[target-off] ^= mask
				}
			}
			done := acceptOne(sl, func(c *net.TCPConn) error {
				a, err := Authenticate(c, ServerConfig{Acceptor: tr.acceptor(t), Service: krxproto.Shell})
				if err != nil {
					return err
				}
				s, err := a.Start()
				if err != nil {
					return err
				}
				s.Accept()
				_, err = s.Write(want)
				return err
			})
			cfg := loginConfig(tr, t)
			cfg.Service, cfg.Payload = krxproto.Shell, "cat big"
			cs, err := Dial(context.Background(), px.addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			got := make([]byte, len(want))
			if _, err := io.ReadFull(cs, got); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			// The status's StatusLen bytes precede the data in the cipher stream.
			seg := func(i int) int { return (i + krxproto.StatusLen) / 8 }
			changed := 0
			for i := range want {
				d := got[i] ^ want[i]
				switch {
				case i == at:
					if d != mask {
						t.Errorf("tampered byte %d: difference %#02x, want exactly the flipped bit %#02x", i, d, mask)
					}
				case seg(i) > seg(at) && seg(i) <= seg(at)+tc.garbled:
					if d != 0 {
						changed++
					}
				case d != 0:
					t.Errorf("byte %d (segment %d, tampered segment %d) changed", i, seg(i), seg(at))
				}
			}
			if changed == 0 {
				t.Errorf("the %d segments after the tampered one are intact; CFB should garble them", tc.garbled)
			}
			if bytes.Equal(got, want) {
				t.Fatal("nothing was tampered")
			}
			t.Logf("%s: bit flipped at byte %d, %d of the next %d bytes garbled, the rest intact, nothing detected",
				tc.realm, at, changed, 8*tc.garbled)
		})
	}
}
