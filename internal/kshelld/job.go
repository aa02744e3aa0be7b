package kshelld

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
	"github.com/krx-suite/krx/internal/krxsess"
	"github.com/krx-suite/krx/internal/server"
	"golang.org/x/sys/unix"
)

// RelayBufSize is the size of each relay's buffer (stdin, stdout, stderr):
// a pipe holds 64 KiB, and the CFB writer encrypts in place per write.
const RelayBufSize = 64 << 10

// job is one running command and its relays.
type job struct {
	ks   *krxsess.ServerSession
	errc *krxsess.ServerStderr // nil without a stderr channel
	acct *server.Account
	log  *slog.Logger
	cl   *server.ConnLog
	// cleanup, if set, runs when the command is over, before its end is
	// logged (the forwarded ccache goes).
	cleanup func()

	cmd    *exec.Cmd
	stdio  *net.UnixConn // our end of the command's stdin+stdout socket
	stderr *os.File      // read end of its stderr pipe (nil: merged into stdio)
	waited chan struct{}
}

// start runs "$SHELL -c command" as the account. Like netkit rshd, which
// hands the command the socket, its stdin and stdout are one bidirectional
// socket (one end of a socketpair; stderr too without a stderr channel):
// programs such as netkit's rcp -t/-f write their replies to descriptor 0.
// stderr goes to a pipe when there is a stderr channel.
func (j *job) start(command string, env []string) (err error) {
	var files []*os.File
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socketpair", err)
	}
	growSocketBuf(fds[0]) // the command's stdout
	growSocketBuf(fds[1]) // its stdin
	theirs, ours := os.NewFile(uintptr(fds[0]), "stdio"), os.NewFile(uintptr(fds[1]), "stdio-relay")
	files = append(files, theirs, ours)
	errW := theirs
	var errR *os.File
	if j.errc != nil {
		if errR, errW, err = os.Pipe(); err != nil {
			return err
		}
		files = append(files, errR, errW)
	}
	shell := j.acct.Shell
	j.cmd = &exec.Cmd{
		Path:   shell,
		Args:   []string{filepath.Base(shell), "-c", command},
		Env:    j.acct.Env(env...),
		Dir:    j.acct.Dir(),
		Stdin:  theirs,
		Stdout: theirs,
		Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true, // own session and process group: killpg target
			Credential: j.acct.Credential(),
		},
	}
	server.DefaultChildSignals()
	if err := j.cmd.Start(); err != nil {
		return err
	}
	// The command has its copies; ours of its ends must go so that EOF
	// arrives when it (and whatever it started) is done.
	theirs.Close()
	if errR != nil {
		errW.Close()
	}
	fc, err := net.FileConn(ours) // a dup, on Go's poller
	ours.Close()
	if err != nil {
		j.cmd.Process.Kill()
		j.cmd.Wait()
		return err
	}
	j.stdio, j.stderr = fc.(*net.UnixConn), errR
	j.waited = make(chan struct{})
	go func() {
		j.cmd.Wait()
		close(j.waited)
	}()
	return nil
}

// run relays until the command's output has ended (all holders of its
// stdout and stderr are gone) or ctx ends, then closes everything.
func (j *job) run(ctx context.Context, grace time.Duration) {
	outDone := make(chan struct{})
	errDone := make(chan struct{})
	inDone := make(chan struct{})
	sigDone := make(chan struct{})
	go func() { defer close(inDone); j.relayStdin() }()
	go func() { defer close(outDone); j.relayStdout() }()
	if j.errc != nil {
		go func() { defer close(errDone); j.relayStderr() }()
		go func() { defer close(sigDone); j.signals() }()
	} else {
		close(errDone)
		close(sigDone)
	}
	allOut := make(chan struct{})
	go func() { <-outDone; <-errDone; close(allOut) }()
	select {
	case <-allOut:
	case <-ctx.Done():
		j.kill(grace)
		j.stdio.Close() // ends relays held open by background jobs
		if j.stderr != nil {
			j.stderr.Close()
		}
		<-allOut
	}
	// Output is over: read what the client still sends until it closes
	// (bounded), so the close does not reset the connection.
	drain := server.CloseDrain
	if ctx.Err() != nil {
		drain = server.ShutdownDrain // the daemon is going away: do not wait for clients
	}
	j.ks.Conn.SetReadDeadline(time.Now().Add(drain))
	select {
	case <-inDone:
	case <-time.After(drain + time.Second):
		// The relay is stuck writing to a stdin that something holds
		// without reading: the command's input is over.
		j.stdio.Close()
		<-inDone
	}
	j.stdio.Close()
	j.ks.Close()
	if j.errc != nil {
		j.errc.Close()
	}
	<-sigDone
	if ctx.Err() == nil {
		select {
		case <-j.waited:
		case <-time.After(grace):
			// Output closed but the command lingers (it closed its
			// descriptors): hang it up as at shutdown.
			j.kill(grace)
		}
	}
	<-j.waited
	if j.cleanup != nil {
		j.cleanup()
	}
	state := "unknown"
	if ps := j.cmd.ProcessState; ps != nil {
		state = ps.String()
	}
	j.log.Debug("command ended", "service", string(server.Kshell), "peer", server.AddrString(j.cl.Peer), "user", j.acct.Name, "status", state)
}

// kill hangs the command's process group up, then kills it after grace.
func (j *job) kill(grace time.Duration) { server.HangUp(j.cmd, j.waited, grace) }

// relayStdin copies the client's input to the command; the client's
// half-close is the command's end of input. After the command stops
// reading, the rest is read and dropped until the client closes.
func (j *job) relayStdin() {
	// Pipelined (relayCopy): reading and decrypting the client's input
	// overlaps writing it to the command.
	_, werr := relayCopy(j.stdio, j.ks, func(error) { j.stdio.CloseWrite() })
	if werr == nil {
		j.stdio.CloseWrite() // the command reads EOF on descriptor 0
	}
}

// relayStdout copies the command's stdout (and merged stderr) to the main
// channel and half-closes it at the end. If the client stops taking it,
// the rest is drained so that the command never blocks on a full pipe.
func (j *job) relayStdout() {
	// Pipelined: reading the command's output, encrypting and sending
	// overlap. On a write error the rest is drained.
	if _, err := j.ks.ReadFrom(j.stdio); err != nil {
		copyDrain(io.Discard, j.stdio)
	}
	j.ks.CloseWrite()
}

// relayStderr copies the command's stderr to the stderr channel and
// half-closes it at the end.
func (j *job) relayStderr() {
	copyDrain(j.errc, j.stderr)
	j.stderr.Close()
	j.errc.CloseWrite()
}

func copyDrain(w io.Writer, r io.Reader) {
	buf := make([]byte, RelayBufSize)
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 && werr == nil {
			_, werr = w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// signals reads encrypted signal bytes from the stderr channel and sends
// each to the command's process group (netkit rshd: killpg). A byte that
// is no signal number is logged and ignored.
func (j *job) signals() {
	for {
		sig, err := j.errc.ReadSignal()
		if errors.Is(err, compat.ErrBadSignal) {
			j.log.Warn("ignored a bad signal byte on the stderr channel", "service", string(server.Kshell),
				"peer", server.AddrString(j.cl.Peer), "principal", j.cl.Principal, "err", err)
			continue
		}
		if err != nil {
			return
		}
		select {
		case <-j.waited: // reaped: the pid may be reused
		default:
			syscall.Kill(-j.cmd.Process.Pid, syscall.Signal(sig))
			j.log.Debug("signal from client", "service", string(server.Kshell), "peer", server.AddrString(j.cl.Peer), "signal", sig.String())
		}
	}
}
