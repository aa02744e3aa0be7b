package krbauth

import (
	"bufio"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
)

// startRealm starts a throwaway MIT realm or skips the test without MIT.
func startRealm(t testing.TB, o krbtest.Options) *krbtest.Realm {
	t.Helper()
	r, err := krbtest.Start("", o)
	if errors.Is(err, krbtest.ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// aliceClient runs kinit alice and loads her cache.
func aliceClient(t testing.TB, r *krbtest.Realm, now func() time.Time, kinitFlags ...string) *Client {
	t.Helper()
	cc, err := r.Kinit("alice", kinitFlags...)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewClient(ClientOptions{Krb5Conf: r.Krb5Conf, CCache: "FILE:" + cc, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// acceptor loads a keytab and opens a replay cache in the test's temp dir.
func acceptor(t testing.TB, keytabPath string) *Acceptor {
	t.Helper()
	kt, err := LoadKeytab("FILE:" + keytabPath)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := OpenReplayCache(filepath.Join(t.TempDir(), "rcache"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return &Acceptor{Keytab: kt, RCache: rc}
}

// kcmdStrings is what a kcmd client sends after the AP-REP.
type kcmdStrings struct{ serverUser, payload, clientUser string }

// serverOutcome is what the server goroutine saw.
type serverOutcome struct {
	acc         *Accepted
	err         error // RecvAuth error
	checksumErr error // VerifyChecksum error
	port        int
}

// loopback runs the client side against RecvAuth over a real TCP
// connection on 127.0.0.1. The server reads the kcmd strings after the
// AP-REP and verifies the checksum over "<its port>:<payload><server-user>".
func loopback(t *testing.T, ac *Acceptor, accept func(string) bool,
	client func(conn net.Conn, port int) (*ClientResult, error), strs kcmdStrings) (*ClientResult, error, serverOutcome) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan serverOutcome, 1)
	go func() {
		var out serverOutcome
		defer func() { done <- out }()
		c, err := ln.Accept()
		if err != nil {
			out.err = err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		out.port = c.LocalAddr().(*net.TCPAddr).Port
		out.acc, out.err = ac.RecvAuth(c, accept)
		if out.err != nil {
			return
		}
		br := bufio.NewReader(c)
		var got [3]string
		for i := range got {
			s, err := br.ReadString(0)
			if err != nil {
				out.err = err
				return
			}
			got[i] = s[:len(s)-1]
		}
		out.checksumErr = out.acc.VerifyChecksum(KcmdChecksumData(out.port, got[1], got[0]))
		if out.checksumErr == nil {
			c.Write([]byte{0})
		} else {
			c.Write([]byte("\x01rlogind: Kerberos authentication failed\n"))
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	port := ln.Addr().(*net.TCPAddr).Port
	res, cerr := client(conn, port)
	if cerr == nil {
		conn.Write([]byte(strs.serverUser + "\x00" + strs.payload + "\x00" + strs.clientUser + "\x00"))
		var status [1]byte
		if _, err := io.ReadFull(conn, status[:]); err != nil || status[0] != 0 {
			cerr = errors.New("server refused after authentication (status " + strconv.Itoa(int(status[0])) + ")")
		}
	} else {
		conn.Close()
	}
	return res, cerr, <-done
}

// sendauthClient is the usual client side: ticket for host/localhost,
// checksum over the kcmd data.
func sendauthClient(cl *Client, app string, kind ChecksumKind, strs kcmdStrings) func(net.Conn, int) (*ClientResult, error) {
	return func(conn net.Conn, port int) (*ClientResult, error) {
		st, err := cl.ServiceTicket("localhost", "")
		if err != nil {
			return nil, err
		}
		return SendAuth(conn, st, SendAuthOptions{
			AppVersion:   app,
			ChecksumData: KcmdChecksumData(port, strs.payload, strs.serverUser),
			Checksum:     kind,
		})
	}
}
