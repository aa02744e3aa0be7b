package rcp

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/krx-suite/krx/compat"
)

// tcpPair returns both ends of a real loopback TCP connection.
func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); ch <- c }()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// startSink runs Sink on one end of a TCP pair and returns the other end
// (as a buffered reader and the conn) and the Sink's result channel.
func startSink(t *testing.T, target string, opt Options) (*bufio.Reader, *net.TCPConn, <-chan error) {
	t.Helper()
	a, b := tcpPair(t)
	a.SetDeadline(time.Now().Add(30 * time.Second))
	res := make(chan error, 1)
	go func() {
		err := Sink(b, b, target, opt)
		b.Close()
		res <- err
	}()
	return bufio.NewReader(a), a, res
}

func wantReply(t *testing.T, r io.Reader, kind compat.ReplyKind, contains string) compat.Reply {
	t.Helper()
	rep, err := compat.ReadReply(r, 0)
	if err != nil || rep.Kind != kind || !strings.Contains(rep.Message, contains) {
		t.Fatalf("reply %+v, %v; want kind %d containing %q", rep, err, kind, contains)
	}
	return rep
}

func writeLine(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

// snapshot lists every path under root with its type, mode, size, mtime
// and content hash-ish (the content itself for small files).
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fi.Mode().String() + " " + fi.ModTime().UTC().Format(time.RFC3339Nano)
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		if rel != "." {
			m[rel] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnap(a, b map[string]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out bytes.Buffer
	for _, k := range keys {
		if a[k] != b[k] {
			av, bv := a[k], b[k]
			if len(av) > 80 {
				av = av[:80]
			}
			if len(bv) > 80 {
				bv = bv[:80]
			}
			out.WriteString(k + ":\n  " + av + "\n  " + bv + "\n")
		}
	}
	return out.String()
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}
