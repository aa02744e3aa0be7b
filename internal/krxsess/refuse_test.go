package krxsess

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
)

func loginConfig(tr *testRealm, t *testing.T) ClientConfig {
	return ClientConfig{Service: krxproto.Login, ServerUser: "alice", ClientUser: "alice",
		Payload: "xterm/38400", Ticket: tr.ticket(t), Host: "localhost", Timeout: 10 * time.Second}
}

// TestBindingMismatch: strings other than the ones the checksum binds are
// refused with a log line, and the client gets the encrypted refusal.
func TestBindingMismatch(t *testing.T) {
	tr := realm(t, "aes256")
	for _, tamper := range []func(*krxproto.Params){
		func(p *krxproto.Params) { p.ServerUser = "root" },
		func(p *krxproto.Params) { p.Payload = "xterm/9600" },
		func(p *krxproto.Params) { p.ClientUser = "mallory" },
	} {
		ln := listen(t, "127.0.0.1:0")
		var logs []string
		var mu sync.Mutex
		done := acceptOne(ln, func(c *net.TCPConn) error {
			a, err := Authenticate(c, ServerConfig{Acceptor: tr.acceptor(t), Service: krxproto.Login, Prog: "rlogind",
				Logf: func(f string, args ...any) { mu.Lock(); logs = append(logs, f); mu.Unlock() }})
			if err != nil {
				return err
			}
			_, err = a.Start()
			return err
		})
		cfg := loginConfig(tr, t)
		cfg.tamperParams = tamper
		_, err := Dial(context.Background(), ln.Addr().String(), cfg)
		var se *krxproto.StatusError
		if !errors.As(err, &se) || !strings.Contains(se.Message, "rlogind: connection parameters refused") {
			t.Errorf("client: %v", err)
		}
		serr := <-done
		var be *BindingError
		if !errors.As(serr, &be) || !errors.Is(serr, ErrBinding) || !errors.Is(serr, krbauth.ErrBadChecksum) || be.Client != "alice@KRX.TEST" {
			t.Errorf("server: %v", serr)
		}
		mu.Lock()
		if len(logs) != 1 {
			t.Errorf("%d log lines", len(logs))
		}
		mu.Unlock()
	}
}

// TestLegacyServers: every way a legacy kcmd server can answer the krx
// version ends in a *LegacyServerError naming --legacy, never in a session.
func TestLegacyServers(t *testing.T) {
	tr := realm(t, "aes256")
	cases := []struct {
		name   string
		server func(c *net.TCPConn) error
		reason string
		text   string
	}{
		{"answer 02 (Heimdal)", func(c *net.TCPConn) error {
			compat.ReadStderrPort(c)
			krbauth.ReadVersions(c)
			return krbauth.WriteVersionAnswer(c, true, false)
		}, "answer 02", ""},
		{"close at the version", func(c *net.TCPConn) error {
			compat.ReadStderrPort(c)
			_, err := krbauth.ReadVersions(c)
			return err
		}, "closed the connection at the application version", ""},
		{"clear refusal after the AP exchange (MIT klogind)", func(c *net.TCPConn) error {
			if _, err := compat.ReadStderrPort(c); err != nil {
				return err
			}
			if _, err := tr.acceptor(t).RecvAuth(c, nil); err != nil {
				return err
			}
			_, err := c.Write([]byte("\x01klogind: Unrecognized KCMD protocol\r\n"))
			return err
		}, "clear status byte 01", "klogind: Unrecognized KCMD protocol"},
		{"KCMDV0.2 clear status and banner", func(c *net.TCPConn) error {
			compat.ReadStderrPort(c)
			if _, err := tr.acceptor(t).RecvAuth(c, nil); err != nil {
				return err
			}
			_, err := c.Write([]byte("\x00\x00\x00\x00\x3cThis rlogin session is encrypting all data transmissions.\r\n"))
			time.Sleep(100 * time.Millisecond)
			return err
		}, "clear status byte 00", ""},
		{"close after the AP exchange", func(c *net.TCPConn) error {
			compat.ReadStderrPort(c)
			_, err := tr.acceptor(t).RecvAuth(c, nil)
			return err
		}, "closed the connection after the AP exchange", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t, "127.0.0.1:0")
			done := acceptOne(ln, tc.server)
			_, err := Dial(context.Background(), ln.Addr().String(), loginConfig(tr, t))
			var le *LegacyServerError
			if !errors.As(err, &le) || !errors.Is(err, ErrLegacyServer) {
				t.Fatalf("got %v", err)
			}
			if !strings.Contains(le.Reason, tc.reason) || le.Text != tc.text || !strings.Contains(err.Error(), "--legacy") ||
				!strings.Contains(err.Error(), "not implemented yet") || !strings.HasPrefix(err.Error(), "localhost speaks only legacy") {
				t.Errorf("%q (reason %q, text %q)", err, le.Reason, le.Text)
			}
			if err := <-done; err != nil {
				t.Logf("fake server: %v", err)
			}
		})
	}
}

// TestServerVersionChoice: a daemon accepts KCMDV0.x only when it says so,
// and then Start refuses to treat it as krx.
func TestServerVersionChoice(t *testing.T) {
	tr := realm(t, "aes256")
	for _, accept := range []bool{false, true} {
		ln := listen(t, "127.0.0.1:0")
		done := acceptOne(ln, func(c *net.TCPConn) error {
			a, err := Authenticate(c, ServerConfig{Acceptor: tr.acceptor(t), Service: krxproto.Login,
				AcceptVersion: func(v string) bool { return accept && v == "KCMDV0.2" }})
			if err != nil {
				return err
			}
			if a.IsKRX() || a.Accepted.AppVersion != "KCMDV0.2" {
				return errors.New("KCMDV0.2 taken for krx")
			}
			_, err = a.Start()
			return err
		})
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte{0})
		_, err = krbauth.SendAuth(c, tr.ticket(t), krbauth.SendAuthOptions{AppVersion: "KCMDV0.2"})
		c.Close()
		serr := <-done
		if !accept {
			if !errors.Is(err, krbauth.ErrAppVersionRejected) || !errors.Is(serr, krbauth.ErrAppVersionRejected) {
				t.Errorf("not accepted: client %v, server %v", err, serr)
			}
		} else if err != nil || !errors.Is(serr, ErrNotKRX) {
			t.Errorf("accepted: client %v, server %v", err, serr)
		}
	}
}

// TestEnvelopeTampering: a flipped bit in the AP-REQ or in the encrypted
// strings ends the connection before a session starts.
func TestEnvelopeTampering(t *testing.T) {
	tr := realm(t, "aes256")
	// C→S: 00, 4+19 sendauth version, 4+9 app version, then u32 len, AP-REQ.
	const apreqAt = 1 + 23 + 13 + 4
	for _, tc := range []struct {
		name   string
		target func(hist []byte) int64 // -1: not known yet
	}{
		{"AP-REQ", func([]byte) int64 { return apreqAt + 150 }},
		// The first byte of the encrypted credentials length: its segment is
		// the last one sent, so only that bit changes (CFB garbles only
		// later segments) and the server sees a length of 2^26.
		{"encrypted credentials length", func(h []byte) int64 {
			if len(h) < apreqAt {
				return -1
			}
			return apreqAt + int64(binary.BigEndian.Uint32(h[apreqAt-4:])) + int64(len("alice\x00xterm/38400\x00alice\x00"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sl, px := proxyPair(t)
			px.mutate = func(dir int, off int64, hist, b []byte) {
				full := append(append([]byte(nil), hist...), b...)
				if at := tc.target(full); dir == 0 && at >= off && at < off+int64(len(b)) {
					b[at-off] ^= 0x04
				}
			}
			done := acceptOne(sl, func(c *net.TCPConn) error {
				a, err := Authenticate(c, ServerConfig{Acceptor: tr.acceptor(t), Service: krxproto.Login})
				if err != nil {
					return err
				}
				s, err := a.Start()
				if err != nil {
					return err
				}
				return s.Accept()
			})
			_, err := Dial(context.Background(), px.addr(), loginConfig(tr, t))
			serr := <-done
			if tc.name != "AP-REQ" && (!errors.Is(serr, krxproto.ErrCredTooLong) || !errors.As(err, new(*krxproto.StatusError))) {
				t.Errorf("want a refused credentials length: client %v, server %v", err, serr)
			}
			if err == nil || serr == nil {
				t.Fatalf("tampering not detected: client %v, server %v", err, serr)
			}
			t.Logf("client: %v; server: %v", err, serr)
		})
	}
}

// TestKeysByConstruction: no session exposes a cipher stream; the two
// directions and two channels have different keystreams; two sessions
// with the same plaintext give different ciphertext.
func TestKeysByConstruction(t *testing.T) {
	encT := reflect.TypeOf((*cfbstream.Encrypter)(nil))
	decT := reflect.TypeOf((*cfbstream.Decrypter)(nil))
	for _, v := range []any{&ClientSession{}, &ServerSession{}, &ClientStderr{}, &ServerStderr{}} {
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumMethod(); i++ {
			m := rt.Method(i).Type
			for j := 0; j < m.NumOut(); j++ {
				if o := m.Out(j); o == encT || o == decT || o.Kind() == reflect.Interface && o.NumMethod() == 1 && o.Method(0).Name == "XORKeyStream" {
					t.Errorf("%v.%s returns a cipher stream", rt, rt.Method(i).Name)
				}
			}
		}
		for i := 0; i < rt.Elem().NumField(); i++ {
			if f := rt.Elem().Field(i); f.IsExported() && (f.Type == encT || f.Type == decT) {
				t.Errorf("%v has exported field %s", rt, f.Name)
			}
		}
	}

	key, _ := krbauth.NewRandomKey(cfbstream.EnctypeAES256CTSHMACSHA196)
	plain := bytes.Repeat([]byte("same plaintext! "), 4)
	cenc, cdec, _ := pair(key, cfbstream.Client, cfbstream.Main)
	senc, sdec, _ := pair(key, cfbstream.Server, cfbstream.Main)
	eenc, _, _ := pair(key, cfbstream.Client, cfbstream.Stderr)
	c2s, s2c, c2sErr := make([]byte, len(plain)), make([]byte, len(plain)), make([]byte, len(plain))
	cenc.XORKeyStream(c2s, plain)
	senc.XORKeyStream(s2c, plain)
	eenc.XORKeyStream(c2sErr, plain)
	if bytes.Equal(c2s, s2c) || bytes.Equal(c2s, c2sErr) {
		t.Fatal("two streams of one session share a keystream")
	}
	own := append([]byte(nil), c2s...)
	cdec.XORKeyStream(own, own) // the client's only decrypter is for the other direction
	if bytes.Equal(own, plain) {
		t.Fatal("the client decrypted its own direction")
	}
	sdec.XORKeyStream(c2s, c2s)
	if !bytes.Equal(c2s, plain) {
		t.Fatal("the server could not decrypt the client's direction")
	}

	// Two real sessions, same plaintext both ways: different ciphertext.
	tr := realm(t, "aes256")
	var wires [2][2][]byte
	for i := range 2 {
		sl, px := proxyPair(t)
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
			_, err = s.Write(plain)
			return err
		})
		cfg := loginConfig(tr, t)
		cfg.Service, cfg.Payload = krxproto.Shell, "true"
		cs, err := Dial(context.Background(), px.addr(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		cs.Write(plain)
		got := make([]byte, len(plain))
		if _, err := cs.Read(got); err != nil || !bytes.Equal(got[:len(plain)], plain) {
			// a short read is fine for the comparison below; only a wrong byte is not
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		cs.Close()
		time.Sleep(20 * time.Millisecond)
		for dir := range 2 {
			w := px.bytes(dir)
			wires[i][dir] = w[len(w)-len(plain):]
		}
	}
	for dir := range 2 {
		if bytes.Equal(wires[0][dir], wires[1][dir]) {
			t.Errorf("direction %d: two sessions gave the same ciphertext for the same plaintext", dir)
		}
		if bytes.Contains(wires[0][dir], plain[:16]) {
			t.Errorf("direction %d: plaintext on the wire", dir)
		}
	}
}
