package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/krx-suite/krx/cfbstream"
	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/krbauth"
)

// demoVersion is the application version of this demo exchange (9 bytes
// with its NUL, as kcmd requires); the real krx version comes with the
// encrypted-session work.
const demoVersion = "KRXDEMO1"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	step("starting a throwaway MIT realm on 127.0.0.1")
	realm, err := krbtest.Start("", krbtest.Options{})
	if err != nil {
		return err
	}
	dir := realm.Dir
	defer func() {
		realm.Close()
		step("stopped the KDC and removed " + dir)
	}()
	fmt.Printf("   realm %s, KDC %s, files in %s\n", realm.Name, realm.KDCAddr(), realm.Dir)
	cc, err := realm.Kinit("alice")
	if err != nil {
		return err
	}
	step("MIT kinit gave alice a TGT in " + filepath.Base(cc))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// What the authenticator checksum binds, as kcmd does: port, payload, user.
	bind := krbauth.KcmdChecksumData(port, "demo", "alice")

	tap := &wireTap{}
	srvErr := make(chan error, 1)
	go func() { srvErr <- serve(ln, realm, bind, tap) }()

	cl, err := krbauth.NewClient(krbauth.ClientOptions{Krb5Conf: realm.Krb5Conf, CCache: cc})
	if err != nil {
		return err
	}
	st, err := cl.ServiceTicket("localhost", "")
	if err != nil {
		return err
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := krbauth.SendAuth(conn, st, krbauth.SendAuthOptions{
		AppVersion: demoVersion, ChecksumData: bind, Checksum: krbauth.ChecksumKeyed})
	if err != nil {
		return err
	}
	step(fmt.Sprintf("client: %s authenticated to %s, AP-REP verified, subkey %s",
		res.Client, res.Server, krbauth.EnctypeName(res.Subkey.Type)))

	enc, dec, err := pair(res.Subkey, cfbstream.Client)
	if err != nil {
		return err
	}
	w, r := cfbstream.NewWriter(conn, enc), bufio.NewReader(cfbstream.NewReader(conn, dec))
	lines := []string{"echo hello from krx", "id -un; uname -s", "exit"}
	for _, l := range lines {
		if _, err := w.Write([]byte(l + "\n")); err != nil {
			return err
		}
		reply, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading the reply: %w", err)
		}
		fmt.Printf("   client sent %q, server answered %q\n", l, reply)
	}
	conn.Close()
	if err := <-srvErr; err != nil {
		return err
	}

	wire, plain := tap.bytes()
	fmt.Printf("   first 32 bytes the server received after the AP exchange: %s\n", hex.EncodeToString(wire[:min(32, len(wire))]))
	same := 0
	for i := range wire {
		if wire[i] == plain[i] {
			same++
		}
	}
	fmt.Printf("   %d ciphertext bytes, %d plaintext bytes; equal at the same position: %d (chance alone: about %.1f)\n",
		len(wire), len(plain), same, float64(len(wire))/256)
	for _, l := range lines {
		if bytes.Contains(wire, []byte(l)) {
			return fmt.Errorf("plaintext %q found on the wire", l)
		}
	}
	step("no plaintext line appears on the wire; same length, no padding")
	return nil
}

// serve is the server side: recvauth with the realm's keytab and a replay
// cache, then an encrypted echo of each line, recording the wire bytes.
func serve(ln net.Listener, realm *krbtest.Realm, bind []byte, tap *wireTap) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	kt, err := krbauth.LoadKeytab(realm.HostKeytab)
	if err != nil {
		return err
	}
	rc, err := krbauth.OpenReplayCache(filepath.Join(realm.Dir, "krx_rcache"))
	if err != nil {
		return err
	}
	defer rc.Close()
	ac := &krbauth.Acceptor{Keytab: kt, RCache: rc, Checksum: krbauth.ChecksumRequire}
	acc, err := ac.RecvAuth(c, func(v string) bool { return v == demoVersion })
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := acc.VerifyChecksum(bind); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	step(fmt.Sprintf("server: ticket for %s from %s verified with the keytab, checksum bound to port and user",
		acc.Server, acc.Client))
	enc, dec, err := pair(acc.Subkey, cfbstream.Server)
	if err != nil {
		return err
	}
	tap.r = c
	in := bufio.NewReader(cfbstream.NewReader(tap, dec))
	out := cfbstream.NewWriter(c, enc)
	for n := 1; ; n++ {
		line, err := in.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		tap.plain = append(tap.plain, line...)
		if _, err := out.Write([]byte("line " + strconv.Itoa(n) + ": " + line)); err != nil {
			return err
		}
	}
}

// pair derives one role's encrypter and decrypter for the main channel.
func pair(k krbauth.Key, role cfbstream.Role) (*cfbstream.Encrypter, *cfbstream.Decrypter, error) {
	et, err := k.EType()
	if err != nil {
		return nil, nil, err
	}
	return cfbstream.NewPair(et, k.Value, role, cfbstream.Main)
}

// wireTap records the ciphertext the server reads, to compare with the plaintext.
type wireTap struct {
	mu    sync.Mutex
	r     io.Reader
	wire  []byte
	plain []byte
}

func (t *wireTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.mu.Lock()
	t.wire = append(t.wire, p[:n]...)
	t.mu.Unlock()
	return n, err
}

func (t *wireTap) bytes() (wire, plain []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wire, t.plain
}

func step(s string) { fmt.Println("== " + s) }
