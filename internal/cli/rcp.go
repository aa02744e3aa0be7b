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

	"github.com/krx-suite/krx/compat"
	"github.com/krx-suite/krx/internal/progress"
	"github.com/krx-suite/krx/internal/rcp"
)

// ErrNoEncryptedRcp: -x was given, and encrypted rcp is not built yet.
var ErrNoEncryptedRcp = errors.New("-x: encrypted rcp is not available yet; refusing to copy in the clear (use -X or leave out -x for a plain copy)")

// NewRcp returns the rcp command.
func NewRcp() *cobra.Command {
	c := newRoot("rcp [flags] source... target",
		"remote file copy, plain or Kerberos-authenticated and encrypted",
		`rcp copies files between hosts. A file name is [[user@]host:]path: it is
remote if a colon comes before any slash; "host:" alone is the remote home
directory. Copies go local to remote, remote to local, remote to remote (run
on the first host through its shell service) and local to local. With more
than one source the target must be a directory.`)
	f := c.Flags()
	f.BoolP("recursive", "r", false, "copy directories recursively")
	f.BoolP("preserve", "p", false, "preserve modes and times")
	f.IntP("port", "P", 0, "connect to `port` instead of the shell service's 514")
	f.BoolP("encrypt", "x", false, "Kerberos authentication and encryption (krx)")
	f.BoolP("no-encrypt", "X", false, "do not encrypt")
	f.StringP("realm", "k", "", "ask for tickets in `realm`")
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
	if flag("encrypt") && !flag("no-encrypt") {
		return ErrNoEncryptedRcp
	}
	port, _ := f.GetInt("port")
	if port < 0 || port > 65535 {
		return fmt.Errorf("-P %d: not a port", port)
	}
	remote, _ := f.GetString("remote-rcp")
	cl := &rcp.Client{
		Recursive: flag("recursive"),
		Preserve:  flag("preserve"),
		Port:      port,
		RemoteRcp: remote,
		Umask:     rcp.ProcessUmask(),
	}
	if bar := progress.New(os.Stderr); bar != nil {
		cl.Progress = bar
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cl.Copy(ctx, args[:len(args)-1], args[len(args)-1])
	var fl *rcp.Failures
	if errors.As(err, &fl) {
		// Each message was printed, as netkit does; only the status is left.
		return &ExitError{Code: 1}
	}
	return err
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
// sockets (so bodies move with sendfile/splice-friendly calls).
func serverStreams() (r io.Reader, w io.Writer) {
	r, w = os.Stdin, os.Stdout
	if c, err := net.FileConn(os.Stdin); err == nil {
		r = c
	}
	if c, err := net.FileConn(os.Stdout); err == nil {
		w = c
	}
	return r, w
}
