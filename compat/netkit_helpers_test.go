package compat

// Helpers for the transcript tests against the real netkit programs
// (Debian rsh-server, rsh-client). Test-only: the package itself never
// imports net.

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needRoot skips unless running as root with the named programs installed.
func needRoot(t *testing.T, programs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: netkit servers and clients require reserved ports (512-1023)")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (Debian rsh-server/rsh-client): %v", p, err)
		}
	}
}

var loopback = net.IPv4(127, 0, 0, 1)

// dialReserved connects to addr from a reserved source port, counting down
// from 1023 like glibc rresvport().
func dialReserved(t *testing.T, addr string) net.Conn {
	t.Helper()
	for p := ReservedPortMax; p >= ReservedPortMin; p-- {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: loopback, Port: p}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EADDRNOTAVAIL) {
			t.Fatalf("dial %s from port %d: %v", addr, p, err)
		}
	}
	t.Fatal("no free reserved port")
	return nil
}

// listenReserved listens on a free reserved port on 127.0.0.1.
func listenReserved(t *testing.T) (net.Listener, int) {
	t.Helper()
	for p := ReservedPortMax; p >= ReservedPortMin; p-- {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: loopback, Port: p})
		if err == nil {
			t.Cleanup(func() { ln.Close() })
			return ln, p
		}
	}
	t.Fatal("no free reserved port to listen on")
	return nil, 0
}

// serveInetd accepts connections on a fresh loopback port and runs prog
// for each with the socket as fds 0, 1 and 2, as inetd (or socat
// "EXEC:…,nofork,stderr") does. Cleanup closes the listener and reaps every
// child, killing any that linger.
func serveInetd(t *testing.T, prog string, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cmds []*exec.Cmd
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f, err := c.(*net.TCPConn).File()
			c.Close()
			if err != nil {
				t.Errorf("socket file: %v", err)
				continue
			}
			cmd := exec.Command(prog, args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
			err = cmd.Start()
			f.Close()
			if err != nil {
				t.Errorf("start %s: %v", prog, err)
				continue
			}
			mu.Lock()
			cmds = append(cmds, cmd)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); cmd.Wait() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		time.AfterFunc(5*time.Second, func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range cmds {
				c.Process.Kill()
			}
		})
		wg.Wait()
	})
	return ln.Addr().String()
}

// socketPair returns a connected AF_UNIX stream pair: the child's end as an
// *os.File (netkit rcp writes its replies to fd 0, so a pipe will not do)
// and ours as a net.Conn.
func socketPair(t *testing.T) (child *os.File, ours net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	child = os.NewFile(uintptr(fds[0]), "child")
	f := os.NewFile(uintptr(fds[1]), "ours")
	ours, err = net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Close(); ours.Close() })
	return child, ours
}
