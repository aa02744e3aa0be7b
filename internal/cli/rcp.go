package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/krxclient"
	"github.com/krx-suite/krx/internal/krxproto"
	"github.com/krx-suite/krx/internal/progress"
	"github.com/krx-suite/krx/internal/rcp"
)

const rcpLong = `rcp copies files between hosts. A file name is [[user@]host:]path: it is
remote if a colon comes before any slash; "host:" alone is the remote home
directory. Copies go local to remote, remote to local, remote to remote (run
on the first host through its shell service) and local to local. With more
than one source the target must be a directory.

ENCRYPTION (krx)
  -x copies over the krx protocol: Kerberos authentication with your
  tickets (kinit) and the remote "rcp -t"/"rcp -f" run through an
  encrypted shell session on the kshell port 544 unless -P. -k realm asks
  for the ticket of host/<host> in realm. Remote-to-remote copies are not
  supported with -x (they would need the first host to hold tickets):
  copy through this host in two steps.

  Encryption is the default when you have a Kerberos credentials cache
  ($KRB5CCNAME, else /tmp/krb5cc_<uid>): rcp then behaves as with -x.
  Without one, rcp copies with the plain protocol (saying so on a
  terminal). -X (--no-encrypt) always uses the plain protocol.

  krx never falls back to the clear by itself: with encryption on, a host
  without a krx service, a legacy Kerberos server (it names the --legacy
  flag, not implemented yet), missing tickets ("run kinit") or a refusal
  fail the copy with an error saying so. -X with -x or -k is an error.

The plain protocol needs root (or CAP_NET_BIND_SERVICE): it requires
reserved source ports (512-1023). krx does not.`

// NewRcp returns the rcp command.
func NewRcp() *cobra.Command {
	c := newRoot("rcp [flags] source... target",
		"remote file copy, plain or Kerberos-authenticated and encrypted",
		rcpLong)
	f := c.Flags()
	f.BoolP("recursive", "r", false, "copy directories recursively")
	f.BoolP("preserve", "p", false, "preserve modes and times")
	f.IntP("port", "P", 0, "connect to `port` instead of the shell service's 514")
	f.BoolP("encrypt", "x", false, "Kerberos authentication and encryption (krx; the default when you have tickets)")
	f.BoolP("no-encrypt", "X", false, "plain protocol, no encryption")
	f.StringP("realm", "k", "", "ask for the hosts' tickets in `realm` (krx)")
	f.Bool("legacy", false, "allow legacy KCMDV0.2 framing with old Kerberos servers (not implemented yet)")
	// Server mode, run by a remote shell (netkit rcp.c: -t sink, -f
	// source, -d target must be a directory).
	f.BoolP("to", "t", false, "server mode: receive files into the target (run by rshd)")
	f.BoolP("from", "f", false, "server mode: send the files (run by rshd)")
	f.BoolP("target-dir", "d", false, "server mode: the target must be a directory")
	f.String("remote-rcp", "", "the rcp `program` the remote shell runs (default rcp)")
	for _, n := range []string{"to", "from", "target-dir", "remote-rcp"} {
		f.MarkHidden(n)
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cmd.SilenceUsage = true
		return runRcp(cmd, args)
	}
	return c
}

func runRcp(cmd *cobra.Command, args []string) error {
	f := cmd.Flags()
	flag := func(n string) bool { v, _ := f.GetBool(n); return v }
	to, from := flag("to"), flag("from")
	if to || from {
		return rcpServer(to, from, flag("recursive"), flag("preserve"), flag("target-dir"), args)
	}
	if len(args) < 2 {
		cmd.SilenceUsage = false
		return errors.New("need a source and a target")
	}
	port, _ := f.GetInt("port")
	if port < 0 || port > 65535 {
		return fmt.Errorf("-P %d: not a port", port)
	}
	realm, _ := f.GetString("realm")
	cf := commonFlags{encrypt: flag("encrypt"), noEncrypt: flag("no-encrypt"), realm: realm, port: port, legacy: flag("legacy")}
	krx, err := cf.useKrx("rcp", cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	remote, _ := f.GetString("remote-rcp")
	cl := &rcp.Client{
		Recursive: flag("recursive"),
		Preserve:  flag("preserve"),
		Port:      port,
		RemoteRcp: remote,
		Umask:     rcp.ProcessUmask(),
	}
	if krx {
		cl.Transport = rcpTransport(cf)
	}
	if bar := progress.New(os.Stderr); bar != nil {
		cl.Progress = bar
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = cl.Copy(ctx, args[:len(args)-1], args[len(args)-1])
	var fl *rcp.Failures
	if errors.As(err, &fl) {
		// Each message was printed, as netkit does; only the status is left.
		return &ExitError{Code: 1}
	}
	return err
}

// rcpTransport runs the remote rcp over a krx shell session (rcp -x),
// without a stderr channel, as plain rcp does.
func rcpTransport(cf commonFlags) func(ctx context.Context, host, user, command string) (io.ReadWriteCloser, error) {
	return func(ctx context.Context, host, user, command string) (io.ReadWriteCloser, error) {
		o := cf.krxOptions(host)
		o.ServerUser = user
		return krxclient.Dial(ctx, o, krxproto.Shell, command, false)
	}
}

// rcpServer is "rcp [-r] [-p] [-d] -t target" / "-f path…", run by a
// remote shell with the connection on stdin/stdout. Nothing may be written
// to stderr: without a stderr channel it is the same connection.
func rcpServer(to, from, recursive, preserve, targetDir bool, args []string) error {
	// Before the protocol starts, errors go to the peer as an rcp error
	// line (netkit error() with iamremote).
	refuse := func(err error) error {
		compat.WriteReply(os.Stdout, compat.Reply{Kind: compat.ReplyError, Message: "rcp: " + err.Error()})
		os.Exit(1)
		return err
	}
	if to && from {
		return refuse(errors.New("-t and -f together"))
	}
	dir := compat.RcpTo
	if from {
		dir = compat.RcpFrom
	}
	// The same checks as a command line parsed by compat (-t: one target).
	rc := compat.RcpCommand{Recursive: recursive, Preserve: preserve, TargetDir: targetDir, Direction: dir, Paths: args}
	if _, err := compat.ParseRcpArgs(append(rcpFlags(rc), args...)); err != nil {
		return refuse(err)
	}
	r, w := serverStreams()
	opt := rcp.Options{Recursive: recursive, Preserve: preserve, TargetDir: targetDir, Remote: true, Umask: rcp.ProcessUmask()}
	var err error
	if to {
		err = rcp.Sink(r, w, args[0], opt)
	} else {
		err = rcp.Source(r, w, args, opt)
	}
	if err != nil {
		os.Exit(1) // the peer has been told; stderr may be the connection
	}
	return nil
}

func rcpFlags(c compat.RcpCommand) []string {
	a := []string{"-" + string(rune(c.Direction))}
	if c.Recursive {
		a = append(a, "-r")
	}
	if c.Preserve {
		a = append(a, "-p")
	}
	if c.TargetDir {
		a = append(a, "-d")
	}
	return append(a, "--")
}

// serverStreams returns stdin and stdout, as net.Conns when they are
// sockets (so bodies move with sendfile/splice-friendly calls). Only a
// socket is given to net.FileConn: it sets O_NONBLOCK on the shared file
// description before it checks, which would leave a pipe from a krx
// daemon's relay non-blocking under os.Stdin (reads fail with EAGAIN).
func serverStreams() (r io.Reader, w io.Writer) {
	r, w = os.Stdin, os.Stdout
	if isSocket(os.Stdin) {
		if c, err := net.FileConn(os.Stdin); err == nil {
			r = c
		}
	}
	if isSocket(os.Stdout) {
		if c, err := net.FileConn(os.Stdout); err == nil {
			w = c
		}
	}
	return r, w
}

// isSocket reports whether f is a socket.
func isSocket(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
}
