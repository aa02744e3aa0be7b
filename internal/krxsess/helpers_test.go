package krxsess

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/krbauth"
	"github.com/krx-suite/krx/oob"
)

// realms are started once per configuration and closed by TestMain.
var (
	realmMu sync.Mutex
	realms  = map[string]*testRealm{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, r := range realms {
		r.r.Close()
	}
	os.Exit(code)
}

type testRealm struct {
	r      *krbtest.Realm
	cl     *krbauth.Client
	kt     *krbauth.Keytab
	rcache string
}

// realm returns the realm for name (started on first use), or skips.
func realm(t testing.TB, name string) *testRealm {
	t.Helper()
	realmMu.Lock()
	defer realmMu.Unlock()
	if r, ok := realms[name]; ok {
		return r
	}
	var o krbtest.Options
	switch name {
	case "aes256":
		o.Enctypes = []string{"aes256-cts-hmac-sha1-96"}
	case "aes128":
		o.Enctypes = []string{"aes128-cts-hmac-sha1-96"}
	case "aes256-sha384":
		o.Enctypes = []string{"aes256-cts-hmac-sha384-192"}
	case "des3":
		o.Des3, o.Enctypes = true, []string{"des3-cbc-sha1-kd", "aes256-cts-hmac-sha1-96"}
	}
	r, err := krbtest.Start("", o)
	if errors.Is(err, krbtest.ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cc, err := r.Kinit("alice", "-f")
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	cl, err := krbauth.NewClient(krbauth.ClientOptions{Krb5Conf: r.Krb5Conf, CCache: cc})
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	kt, err := krbauth.LoadKeytab(r.HostKeytab)
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	tr := &testRealm{r: r, cl: cl, kt: kt, rcache: filepath.Join(r.Dir, "krx_rcache")}
	realms[name] = tr
	return tr
}

func (tr *testRealm) ticket(t testing.TB) *krbauth.ServiceTicket {
	t.Helper()
	st, err := tr.cl.ServiceTicket("localhost", "")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (tr *testRealm) acceptor(t testing.TB) *krbauth.Acceptor {
	t.Helper()
	rc, err := krbauth.OpenReplayCache(tr.rcache)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	// ChecksumIgnore on purpose: krx must require the binding regardless.
	return &krbauth.Acceptor{Keytab: tr.kt, RCache: rc, Checksum: krbauth.ChecksumIgnore, EchoSubkey: true}
}

// listen returns a loopback listener with SO_OOBINLINE inherited by
// accepted sockets.
func listen(t testing.TB, addr string) *net.TCPListener {
	t.Helper()
	lc := net.ListenConfig{Control: oob.Control}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// acceptOne accepts one connection and runs fn on it in a goroutine; the
// returned channel gives fn's error.
func acceptOne(ln *net.TCPListener, fn func(c *net.TCPConn) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- fn(c)
	}()
	return done
}

// keyedSessions connects a client and a server session over loopback TCP
// with keys derived from a random key of etype, without Kerberos: the data
// phase is the same as after a real envelope.
func keyedSessions(t testing.TB, svc krxproto.Service, etype int32) (*ClientSession, *ServerSession) {
	t.Helper()
	key, err := krbauth.NewRandomKey(etype)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, "127.0.0.1:0")
	d := net.Dialer{Control: oob.Control}
	cc, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	cenc, cdec, err := pair(key, cfbstream.Client, cfbstream.Main)
	if err != nil {
		t.Fatal(err)
	}
	senc, sdec, err := pair(key, cfbstream.Server, cfbstream.Main)
	if err != nil {
		t.Fatal(err)
	}
	cs := &ClientSession{conn: cc.(*net.TCPConn), svc: svc, w: cfbstream.NewWriter(cc, cenc), dec: cdec}
	ss := &ServerSession{Conn: sc, svc: svc, prog: "test", w: cfbstream.NewWriter(sc, senc),
		in: bufio.NewReaderSize(cfbstream.NewReader(sc, sdec), 32<<10), key: key, status: true}
	t.Cleanup(func() { cc.Close(); sc.Close() })
	return cs, ss
}

// proxy is a TCP relay on 127.0.0.2 with the same port as the server on
// 127.0.0.1, so the client's and the server's idea of the server port (the
// binding) agree. It records both directions and may alter bytes.
type proxy struct {
	ln     *net.TCPListener
	target string
	// mutate may change b, the chunk at stream offset off of direction dir
	// (0 client→server, 1 server→client); hist is everything before it.
	mutate func(dir int, off int64, hist, b []byte)

	mu    sync.Mutex
	wire  [2][]byte
	conns []net.Conn
	wg    sync.WaitGroup
}

// close closes every relayed connection and waits for the relays.
func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxyPair returns a server listener on 127.0.0.1:P and a proxy on
// 127.0.0.2:P relaying to it.
func proxyPair(t testing.TB) (*net.TCPListener, *proxy) {
	t.Helper()
	for range 50 {
		pl, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("no 127.0.0.2 on loopback: %v", err)
		}
		port := pl.Addr().(*net.TCPAddr).Port
		lc := net.ListenConfig{Control: oob.Control}
		sl, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			pl.Close()
			continue
		}
		p := &proxy{ln: pl.(*net.TCPListener), target: sl.Addr().String()}
		t.Cleanup(func() { sl.Close(); p.close() })
		go p.serve()
		return sl.(*net.TCPListener), p
	}
	t.Fatal("no free port pair")
	return nil, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.AcceptTCP()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(0, c, s.(*net.TCPConn))
		go p.pipe(1, s.(*net.TCPConn), c)
	}
}

func (p *proxy) pipe(dir int, from, to *net.TCPConn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			p.mu.Lock()
			off := int64(len(p.wire[dir]))
			if p.mutate != nil {
				p.mutate(dir, off, p.wire[dir], buf[:n])
			}
			p.wire[dir] = append(p.wire[dir], buf[:n]...)
			p.mu.Unlock()
			if _, werr := to.Write(buf[:n]); werr != nil {
				from.Close()
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				to.CloseWrite()
			} else {
				to.Close()
			}
			return
		}
	}
}

func (p *proxy) bytes(dir int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.wire[dir]...)
}
