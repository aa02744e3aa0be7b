package shelld

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/server"
	"golang.org/x/sys/unix"
)

// stderrBufSize is the stderr relay's buffer (a pipe holds 64 KiB).
const stderrBufSize = 64 << 10

// job is one running command.
type job struct {
	cmd    *exec.Cmd
	errc   *net.TCPConn // stderr channel, nil without one
	stderr *os.File     // read end of the command's stderr pipe, nil without a channel
	waited chan struct{}
}

// start writes the status "\0" on c and runs "$SHELL -c command" as acct
// with c as its stdin and stdout. Its stderr is a pipe when errc is set,
// else c too.
func start(acct *server.Account, command string, c, errc *net.TCPConn) (*job, error) {
	sock, err := c.File() // a duplicate: exec makes it blocking for the command
	if err != nil {
		return nil, err
	}
	defer sock.Close()
	shell := acct.Shell
	cmd := &exec.Cmd{
		Path:   shell,
		Args:   []string{filepath.Base(shell), "-c", command},
		Env:    acct.Env(),
		Dir:    acct.Dir(),
		Stdin:  sock,
		Stdout: sock,
		Stderr: sock,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true, // own session and process group: killpg target
			Credential: acct.Credential(),
		},
	}
	j := &job{cmd: cmd, errc: errc, waited: make(chan struct{})}
	var pw *os.File
	if errc != nil {
		if j.stderr, pw, err = os.Pipe(); err != nil {
			return nil, err
		}
		cmd.Stderr = pw
	}
	closePipes := func() {
		if pw != nil {
			pw.Close()
			j.stderr.Close()
		}
	}
	// netkit rshd writes "\0" just before it execs the shell.
	if _, err := c.Write([]byte{compat.StatusOK}); err != nil {
		closePipes()
		return nil, err
	}
	server.DefaultChildSignals()
	if err := cmd.Start(); err != nil {
		closePipes()
		// The status has been sent: tell the user on the error channel.
		w := io.Writer(c)
		if errc != nil {
			w = errc
		}
		io.WriteString(w, "rlogind: "+shell+": "+errText(err)+"\n")
		return nil, err
	}
	if pw != nil {
		pw.Close()
	}
	go func() {
		cmd.Wait()
		close(j.waited)
	}()
	return j, nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// run relays stderr and signals until the command and its stderr are
// done, or ctx ends.
func (j *job) run(ctx context.Context, grace time.Duration, log *slog.Logger, cl *server.ConnLog) {
	relayDone := make(chan struct{})
	sigDone := make(chan struct{})
	if j.errc != nil {
		go func() { defer close(relayDone); j.relayStderr() }()
		go func() { defer close(sigDone); j.signals(log, cl) }()
	} else {
		close(relayDone)
		close(sigDone)
	}
	select {
	case <-j.waited:
		select {
		case <-relayDone: // stderr closed by everyone: netkit's end
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		j.kill(grace)
	}
	if j.stderr != nil {
		j.stderr.Close() // ends a relay still held open by background jobs
	}
	<-relayDone
	if j.errc != nil {
		j.errc.Close()
	}
	<-sigDone
	<-j.waited
	state := "unknown"
	if ps := j.cmd.ProcessState; ps != nil {
		state = ps.String()
	}
	log.Debug("command ended", "service", "shell", "peer", server.AddrString(cl.Peer), "user", cl.ServerUser, "status", state)
}

// kill hangs the command's process group up, then kills it after grace.
func (j *job) kill(grace time.Duration) { server.HangUp(j.cmd, j.waited, grace) }

// relayStderr copies the command's stderr to the stderr channel; at its
// end it shuts the channel down both ways (netkit rshd: shutdown(s, 2)),
// which also ends signals(). If the client stops taking stderr, the rest
// is drained so that the command never blocks on a full pipe.
func (j *job) relayStderr() {
	buf := make([]byte, stderrBufSize)
	var werr error
	for {
		n, err := j.stderr.Read(buf)
		if n > 0 && werr == nil {
			_, werr = j.errc.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	if rc, err := j.errc.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
}

// signals reads signal bytes from the stderr channel and sends each to
// the command's process group (netkit rshd: killpg). Bytes that are no
// signal number are logged and ignored.
func (j *job) signals(log *slog.Logger, cl *server.ConnLog) {
	buf := make([]byte, 64)
	for {
		n, err := j.errc.Read(buf)
		for _, b := range buf[:n] {
			sig, perr := compat.ParseSignal(b)
			if perr != nil {
				log.Warn("ignored a bad signal byte on the stderr channel", "service", "shell",
					"peer", server.AddrString(cl.Peer), "user", cl.ServerUser, "byte", int(b), "err", perr)
				continue
			}
			select {
			case <-j.waited: // reaped: the pid may be reused
			default:
				syscall.Kill(-j.cmd.Process.Pid, syscall.Signal(sig))
				log.Debug("signal from client", "service", "shell", "peer", server.AddrString(cl.Peer), "signal", sig.String())
			}
		}
		if err != nil {
			return
		}
	}
}
