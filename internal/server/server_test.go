package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListenFDs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name  string
		env   map[string]string
		fds   int
		names []string
		err   bool
	}{
		{name: "not activated", env: map[string]string{}},
		{name: "other pid", env: map[string]string{"LISTEN_PID": "1", "LISTEN_FDS": "2"}},
		{name: "two named", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "login:shell"}, fds: 2, names: []string{"login", "shell"}},
		{name: "unnamed", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "1"}, fds: 1, names: []string{""}},
		{name: "bad count", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "x"}, err: true},
		{name: "negative", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "-1"}, err: true},
		{name: "names mismatch", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "login"}, err: true},
	} {
		fds, names, err := listenFDs(env(tc.env), 42)
		if (err != nil) != tc.err || len(fds) != tc.fds {
			t.Errorf("%s: fds %v, err %v", tc.name, fds, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrSystemd) {
			t.Errorf("%s: %v is not ErrSystemd", tc.name, err)
		}
		for i, fd := range fds {
			if fd != 3+i || names[i] != tc.names[i] {
				t.Errorf("%s: fd %d name %q", tc.name, fd, names[i])
			}
		}
	}
}

func TestPickService(t *testing.T) {
	for _, tc := range []struct {
		name     string
		port     int
		fallback Service
		count    int
		want     Service
	}{
		{"login", 9999, "", 2, Login},
		{"rsh", 9999, "", 2, Shell},
		{"rlogind.socket", 513, "", 2, Login},
		{"", 514, Login, 2, Shell},
		{"", 2222, Shell, 1, Shell},
		{"unknown", 2222, Shell, 2, ""},
		{"", 2222, "", 1, ""},
		{"eklogin", 9999, "", 2, Eklogin},
		{"krx-shell", 9999, "", 2, Kshell},
		{"rlogind.socket", 2105, "", 2, Eklogin},
		{"", 544, Login, 2, Kshell},
	} {
		got, err := pickService(tc.name, tc.port, tc.fallback, tc.count)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("pickService(%q, %d, %q, %d) = %q, %v", tc.name, tc.port, tc.fallback, tc.count, got, err)
		}
	}
	if _, err := ParseService("telnet"); !errors.Is(err, ErrUnknownService) {
		t.Errorf("ParseService(telnet): %v", err)
	}
}

func TestPasswdShell(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\nnoshell:x:5:5::/home/n:\nbroken\nzsh:x:6:6::/h:/usr/bin/zsh\n"), 0o644)
	for name, want := range map[string]string{"root": "/bin/bash", "noshell": DefaultShell, "zsh": "/usr/bin/zsh", "ghost": DefaultShell, "broken": DefaultShell} {
		if got := passwdShell(p, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := passwdShell(filepath.Join(t.TempDir(), "none"), "root"); got != DefaultShell {
		t.Errorf("missing file: %q", got)
	}
}

func TestWriteRefusal(t *testing.T) {
	var b strings.Builder
	WriteRefusal(&b, Login, MsgPermissionDenied)
	WriteRefusal(&b, Shell, MsgPermissionDenied)
	if want := "\x01rlogind: Permission denied.\r\n\x01rlogind: Permission denied\n"; b.String() != want {
		t.Fatalf("%q, want %q", b.String(), want)
	}
}

func TestCheckPort(t *testing.T) {
	var c Config
	for port, ok := range map[int]bool{511: false, 512: true, 1023: true, 1024: false, 40000: false} {
		r := c.CheckPort(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if (r == nil) != ok || r != nil && (r.Peer != MsgPermissionDenied || !errors.Is(r, ErrRefused)) {
			t.Errorf("port %d: %v", port, r)
		}
	}
	c.NoReservedPortCheck = true
	if r := c.CheckPort(&net.TCPAddr{Port: 40000}); r != nil {
		t.Errorf("check off: %v", r)
	}
}

// TestServeDispatchAndShutdown: connections reach their service's handler;
// cancelling the context closes the listeners, the handlers see it, and
// Serve returns only after every handler has.
func TestServeDispatchAndShutdown(t *testing.T) {
	started := make(chan Service, 2)
	handler := func(svc Service) Handler {
		return HandlerFunc(func(ctx context.Context, c *net.TCPConn) {
			defer c.Close()
			io.WriteString(c, string(svc))
			started <- svc
			<-ctx.Done() // a session that runs until shutdown
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, " bye")
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ll, err := Listen(ctx, Login, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := Listen(ctx, Shell, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handlers: map[Service]Handler{Login: handler(Login), Shell: handler(Shell)}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ll, ls) }()
	var conns []net.Conn
	for _, l := range []Listener{ll, ls} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		<-started
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	for i, want := range []string{"login bye", "shell bye"} {
		conns[i].SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(conns[i])
		if string(got) != want {
			t.Errorf("connection %d: %q, want %q", i, got, want)
		}
	}
	if _, err := net.Dial("tcp", ll.Addr().String()); err == nil {
		t.Error("listener still accepting after shutdown")
	}
}

func TestServeWithoutHandler(t *testing.T) {
	l, err := Listen(context.Background(), Login, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handlers: map[Service]Handler{}}
	if err := srv.Serve(context.Background(), l); !errors.Is(err, ErrUnknownService) {
		t.Fatalf("%v", err)
	}
}

func FuzzListenFDs(f *testing.F) {
	f.Add("42", "2", "login:shell")
	f.Add("42", "1", "")
	f.Add("42", "3", "a::b")
	f.Add("x", "", "")
	f.Fuzz(func(t *testing.T, pid, n, names string) {
		m := map[string]string{"LISTEN_PID": pid, "LISTEN_FDS": n, "LISTEN_FDNAMES": names}
		fds, got, err := listenFDs(func(k string) string { return m[k] }, 42)
		if err != nil {
			if !errors.Is(err, ErrSystemd) || fds != nil {
				t.Fatalf("error %v with fds %v", err, fds)
			}
			return
		}
		if len(fds) != len(got) && fds != nil || len(fds) > 1024 {
			t.Fatalf("%d fds, %d names", len(fds), len(got))
		}
		for i, fd := range fds {
			if fd != 3+i {
				t.Fatalf("fd %d at %d", fd, i)
			}
		}
	})
}
