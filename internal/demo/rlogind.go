package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is the rlogind the demo started.
type daemon struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

// startRlogind starts bin/rlogind serving only the krx services, on
// serverIP at the given ports, with the realm's keytab and environment, and
// waits until both ports listen. Its log goes to logPath.
func startRlogind(bin string, env []string, keytab, rcache, logPath string, loginPort, shellPort int) (*daemon, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "rlogind"), "-D",
		"--login-addr", "off", "--shell-addr", "off",
		"--eklogin-addr", net.JoinHostPort(serverIP, strconv.Itoa(loginPort)),
		"--kshell-addr", net.JoinHostPort(serverIP, strconv.Itoa(shellPort)),
		"-K", keytab, "--rcache", rcache)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a ^C at the terminal reaches the demo
	// (which stops rlogind in order) and not rlogind directly; SIGTERM if
	// the demo dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	d := &daemon{cmd: cmd, done: make(chan error, 1), log: logPath}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the thread that started the child: keep that
		// thread alive (locked) until rlogind is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting rlogind: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-d.done:
			d.done <- err
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("rlogind exited at once (%v): %s", err, strings.TrimSpace(string(out)))
		default:
		}
		if listening(serverIP, loginPort) && listening(serverIP, shellPort) {
			return d, nil
		}
		if time.Now().After(deadline) {
			d.stop()
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("rlogind did not listen on ports %d and %d within 10s: %s", loginPort, shellPort, strings.TrimSpace(string(out)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is rlogind's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM (rlogind hangs up its sessions and exits), waits, and
// kills the process group after 10 s. It returns rlogind's exit error.
func (d *daemon) stop() error {
	if d == nil {
		return nil
	}
	_ = syscall.Kill(d.pid(), syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-d.pid(), syscall.SIGKILL)
		err := <-d.done
		d.done <- err
		return fmt.Errorf("rlogind did not stop within 10s of SIGTERM; killed")
	}
}

// listening reports whether a TCP socket listens on ip:port, from
// /proc/net/tcp, so waiting for rlogind makes no connections it would log.
func listening(ip string, port int) bool {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return false
	}
	defer f.Close()
	a := net.ParseIP(ip).To4()
	// /proc/net/tcp writes the address as a native-endian (little on
	// every Linux the demo runs on) hex word.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// sl local_address rem_address st ...; st 0A is TCP_LISTEN.
		if len(fs) > 3 && fs[1] == want && fs[3] == "0A" {
			return true
		}
	}
	return false
}
