package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/krx-suite/krx/internal/rcmd"
	"github.com/krx-suite/krx/internal/rshc"
)

const rshLong = `rsh runs command on host with its standard input, output and error
connected to rsh's, over the plain BSD shell protocol (TCP 514), as netkit
rsh does. With no command it runs rlogin to host instead (same user and
port options).

OPTIONS AND OPERANDS
  Options may come before the host and again after it, up to the first
  operand that is not an option: that and everything after it is the
  command, joined with single spaces (quote shell metacharacters meant for
  the remote shell). "--" ends the options explicitly:
      rsh -l bob host ls -l        rsh host -l bob ls -l
      rsh host -- -weird-command
  (netkit rsh takes options either before or after the host, not both.)

CHANNELS AND SIGNALS
  Standard input goes to the remote command until it ends; then rsh
  half-closes the connection, which is the command's end of input (-n:
  no input at all, as from /dev/null). The command's output comes on the
  main connection, its error output on a second connection that the
  server makes back to rsh from a reserved port. SIGINT (^C), SIGQUIT
  (^\) and SIGTERM are not fatal to rsh: they are sent to the remote
  command (its process group), and rsh runs on until the remote side
  closes both connections.

EXIT STATUS
  The protocol carries no exit status of the remote command. rsh exits
  0 when the remote side closed both connections normally (as netkit rsh
  does) and 1 when it could not connect, was refused (the server's message
  is printed as sent), the second connection could not be set up
  ("protocol failure in circuit setup"), or a connection broke.

ENCRYPTION
  -x (Kerberos authentication and encryption) and the Kerberos options
  -k, -f, -F are not available yet: rsh refuses them rather than run a
  session in the clear. -X asks for the plain protocol explicitly.

Root (or CAP_NET_BIND_SERVICE) is needed: the protocol requires reserved
source ports (512-1023).`

// shellPort and loginPort are the services' standard ports (/etc/services).
const (
	shellPort = 514
	loginPort = 513
)

// errNoKerberos is what -x and the Kerberos options say until the
// Kerberos issue lands: never a silent cleartext session.
var errNoKerberos = errors.New("Kerberos authentication and encryption (-x) are not available in this krx yet; " +
	"refusing to run a session in the clear instead. Use -X (or leave out -x) for a plain, unencrypted session")

// exit ends the process; a variable so that tests can intercept it.
var exit = os.Exit

// commonFlags are the options rsh and rlogin share.
type commonFlags struct {
	user                          string
	port                          int
	encrypt, noEncrypt            bool
	realm                         string
	forward, forwardable          bool
	ignoredK, ignoredD, ignoredL8 bool
}

// kerberosRequested reports the first Kerberos option given, if any.
func (o *commonFlags) kerberosRequested() string {
	switch {
	case o.encrypt && !o.noEncrypt:
		return "-x"
	case o.realm != "":
		return "-k"
	case o.forward:
		return "-f"
	case o.forwardable:
		return "-F"
	}
	return ""
}

// NewRsh returns the rsh command.
func NewRsh() *cobra.Command {
	c := newRoot("rsh [flags] host [flags] [command...]",
		"remote shell, plain or Kerberos-authenticated and encrypted",
		rshLong)
	var o commonFlags
	var nullStdin bool
	f := c.Flags()
	f.StringVarP(&o.user, "user", "l", "", "run as `user` on the remote host")
	f.BoolVarP(&nullStdin, "null-stdin", "n", false, "read stdin from /dev/null")
	f.IntVarP(&o.port, "port", "p", 0, "connect to `port` instead of the service's default (shell 514; login 513 without a command)")
	f.BoolVarP(&o.encrypt, "encrypt", "x", false, "Kerberos authentication and encryption (not available yet)")
	f.BoolVarP(&o.noEncrypt, "no-encrypt", "X", false, "plain protocol, no encryption")
	f.StringVarP(&o.realm, "realm", "k", "", "ask for tickets in `realm` (Kerberos; not available yet)")
	f.BoolVarP(&o.forwardable, "forwardable", "F", false, "forward a TGT that stays forwardable (Kerberos; not available yet)")
	f.BoolVarP(&o.forward, "forward", "f", false, "forward the TGT to the remote host (Kerberos; not available yet)")
	// netkit rsh options accepted and ignored, so scripts keep working.
	f.BoolVarP(&o.ignoredK, "netkit-K", "K", false, "netkit: no Kerberos (ignored)")
	f.BoolVarP(&o.ignoredD, "netkit-d", "d", false, "netkit: socket debugging (ignored)")
	f.BoolVarP(&o.ignoredL8, "netkit-8", "8", false, "netkit: rlogin alias option (ignored)")
	for _, n := range []string{"netkit-K", "netkit-d", "netkit-8"} {
		_ = f.MarkHidden(n)
	}
	f.SetInterspersed(false)
	c.Args = cobra.MinimumNArgs(1)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cmd.SilenceUsage = true
		host := args[0]
		// Options again after the host, up to the command.
		if err := cmd.Flags().Parse(args[1:]); err != nil {
			cmd.SilenceUsage = false
			return err
		}
		command := cmd.Flags().Args()
		if k := o.kerberosRequested(); k != "" {
			return fmt.Errorf("%s: %w", k, errNoKerberos)
		}
		if len(command) == 0 {
			// netkit rsh execs rlogin with the same arguments.
			return runRlogin(cmd, rloginFlags{commonFlags: o, escape: "~"}, host)
		}
		return runRsh(cmd, o, host, rcmd.Command(command), nullStdin)
	}
	return c
}

// hostPort joins host and the port option or the service's default.
func hostPort(host string, port, def int) (string, error) {
	if host == "" {
		return "", errors.New("empty host name")
	}
	if port == 0 {
		port = def
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("port %d out of range 1-65535", port)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func runRsh(cmd *cobra.Command, o commonFlags, host, command string, nullStdin bool) error {
	addr, err := hostPort(host, o.port, shellPort)
	if err != nil {
		return err
	}
	cfg := rshc.Config{
		Addr:           addr,
		ServerUser:     o.user,
		Command:        command,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		ForwardSignals: true,
	}
	if !nullStdin {
		cfg.Stdin = os.Stdin
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	err = rshc.Run(ctx, cfg)
	return refusal(cmd.ErrOrStderr(), err)
}

// refusal prints a server's refusal verbatim, as glibc rcmd() does, and
// exits 1; other errors are returned for the main to print.
func refusal(stderr io.Writer, err error) error {
	var re *rcmd.RefusedError
	if errors.As(err, &re) {
		msg := re.Message
		if len(msg) == 0 || msg[len(msg)-1] != '\n' {
			msg += "\n"
		}
		io.WriteString(stderr, msg)
		exit(1)
	}
	return err
}
