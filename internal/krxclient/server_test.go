package krxclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krbtest"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/krbauth"
	"github.com/krx-suite/krx/oob"
)

// The realm and the built programs are shared by the tests of a run and
// cleaned up by TestMain.
var (
	setupMu  sync.Mutex
	theRealm *krbtest.Realm
	binDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theRealm != nil {
		theRealm.Close()
	}
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// needRoot skips unless root: the tests run the daemon side's shell as
// the authenticated user and bind loopback ports freely.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the in-process krx server runs commands and ptys as root")
	}
}

// realm returns the test realm with a ccache for alice (forwardable).
func realm(t testing.TB) *krbtest.Realm {
	t.Helper()
	setupMu.Lock()
	defer setupMu.Unlock()
	if theRealm != nil {
		return theRealm
	}
	r, err := krbtest.Start("", krbtest.Options{})
	if errors.Is(err, krbtest.ErrNoMIT) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Kinit("alice", "-f"); err != nil {
		r.Close()
		t.Fatal(err)
	}
	theRealm = r
	return r
}

// programs builds rsh, rcp and rlogin once and returns their directory.
func programs(t testing.TB) string {
	t.Helper()
	setupMu.Lock()
	defer setupMu.Unlock()
	if binDir != "" {
		return binDir
	}
	dir, err := os.MkdirTemp("", "krxclient-bin")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", dir,
		"github.com/krx-suite/krx/cmd/rsh", "github.com/krx-suite/krx/cmd/rcp",
		"github.com/krx-suite/krx/cmd/rlogin").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("go build: %v\n%s", err, out)
	}
	binDir = dir
	return dir
}

// env is the environment of a client program: the realm's krb5.conf and
// alice's ccache.
func env(r *krbtest.Realm) []string {
	return append(os.Environ(), "KRB5_CONFIG="+r.Krb5Conf, "KRB5CCNAME=FILE:"+r.CCache("alice"))
}

// server is an in-process krx daemon on 127.0.0.1 built from krxsess's
// server side: shell sessions run "sh -c payload" (PATH starting with the
// built programs), login sessions an interactive sh on a pty.
type server struct {
	ln   *net.TCPListener
	acc  *krbauth.Acceptor
	svc  krxproto.Service
	path string
	wg   sync.WaitGroup
	errs chan error
}

func startServer(t *testing.T, r *krbtest.Realm, svc krxproto.Service) *server {
	t.Helper()
	kt, err := krbauth.LoadKeytab(r.HostKeytab)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := krbauth.OpenReplayCache(filepath.Join(t.TempDir(), "rcache"))
	if err != nil {
		t.Fatal(err)
	}
	lc := net.ListenConfig{Control: oob.Control}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln.(*net.TCPListener), svc: svc, errs: make(chan error, 16),
		acc:  &krbauth.Acceptor{Keytab: kt, RCache: rc, EchoSubkey: true},
		path: programs(t) + ":" + os.Getenv("PATH")}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		s.ln.Close()
		s.wg.Wait()
		rc.Close()
		close(s.errs)
		for err := range s.errs {
			t.Errorf("server: %v", err)
		}
	})
	return s
}

func (s *server) port() string { return strconv.Itoa(s.ln.Addr().(*net.TCPAddr).Port) }

func (s *server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if err := s.session(c); err != nil {
				select {
				case s.errs <- err:
				default:
				}
			}
		}()
	}
}

func (s *server) session(c *net.TCPConn) error {
	a, err := krxsess.Authenticate(c, krxsess.ServerConfig{Acceptor: s.acc, Service: s.svc, Prog: "testd"})
	if err != nil {
		return err
	}
	ss, err := a.Start()
	if err != nil {
		return err
	}
	if ss.Params.ServerUser == "nobody-here" {
		return ss.Refuse("no such user")
	}
	if err := ss.Accept(); err != nil {
		return err
	}
	if s.svc == krxproto.Login {
		return s.login(ss)
	}
	return s.shell(ss)
}

// shell runs the command with stdin from the session, stdout to it and
// stderr to the stderr channel; signal bytes go to its process group.
func (s *server) shell(ss *krxsess.ServerSession) error {
	cmd := exec.Command("/bin/sh", "-c", ss.Params.Payload)
	cmd.Env = append(os.Environ(), "PATH="+s.path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var se *krxsess.ServerStderr
	if ss.StderrPort != 0 {
		var err error
		if se, err = ss.DialStderr(context.Background()); err != nil {
			return err
		}
		defer se.Close()
		cmd.Stderr = se
	} else {
		cmd.Stderr = ss
	}
	cmd.Stdout = ss
	// A blocking pipe, as a daemon's relay gives (Fd sets blocking mode).
	pr, in, err := os.Pipe()
	if err != nil {
		return err
	}
	pr.Fd()
	cmd.Stdin = pr
	if err := cmd.Start(); err != nil {
		pr.Close()
		in.Close()
		return err
	}
	pr.Close()
	go func() { io.Copy(in, ss); in.Close() }()
	if se != nil {
		go func() {
			for {
				sig, err := se.ReadSignal()
				if err != nil {
					return
				}
				syscall.Kill(-cmd.Process.Pid, syscall.Signal(sig))
			}
		}()
	}
	cmd.Wait() // the status is not carried (as rshd)
	if se != nil {
		se.CloseWrite()
	}
	return ss.CloseWrite()
}

// login runs an interactive sh on a pty, asks for window sizes and
// applies them to the pty.
func (s *server) login(ss *krxsess.ServerSession) error {
	cmd := exec.Command("/bin/sh", "-i")
	cmd.Env = append(os.Environ(), "PS1=krx$ ", "PATH="+s.path, "ENV=")
	ptmx, err := pty.Start(cmd)
	if err != nil {
		return err
	}
	defer ptmx.Close()
	// Window sizes wanted, and ^S/^Q to the remote side ("raw" NOSTOP).
	if err := ss.SendControl(compat.CtlWindow); err != nil {
		return err
	}
	if err := ss.SendControl(compat.CtlNoStop); err != nil {
		return err
	}
	go func() {
		in := ss.Input(func(ws compat.WindowSize) {
			pty.Setsize(ptmx, &pty.Winsize{Rows: ws.Rows, Cols: ws.Cols, X: ws.XPixel, Y: ws.YPixel})
		})
		io.Copy(ptmx, bufio.NewReader(in))
		cmd.Process.Signal(syscall.SIGHUP)
	}()
	// The output "KRXDOSTOP" is followed by DOSTOP ("cooked": handle
	// ^S/^Q locally again), so a test can switch it with a command.
	buf := make([]byte, 4096)
	out := ss.Output()
	for {
		n, err := ptmx.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				break
			}
			if bytes.Contains(buf[:n], []byte("KRXDOSTOP")) {
				ss.SendControl(compat.CtlDoStop)
			}
		}
		if err != nil {
			break
		}
	}
	cmd.Wait()
	return nil
}
