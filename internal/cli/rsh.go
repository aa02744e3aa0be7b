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
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/krx-suite/krx/internal/krxclient"
	"github.com/krx-suite/krx/internal/rcmd"
	"github.com/krx-suite/krx/internal/rshc"
)

const rshLong = `rsh runs command on host with its standard input, output and error
connected to rsh's, over the plain BSD shell protocol (TCP 514), as netkit
rsh does, or over the Kerberos-authenticated, encrypted krx protocol (see
ENCRYPTION). With no command it runs rlogin to host instead (same user and
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

ENCRYPTION (krx)
  -x runs the command over the krx protocol (docs/protocol.md): Kerberos
  authentication with your tickets (kinit) and every byte of input, output
  and error output encrypted, on the kshell port 544 unless -p. Error
  output keeps its own (encrypted) channel and ^C, ^\ and SIGTERM are
  forwarded encrypted. -k realm asks for the ticket of host/<host> in
  realm; -f forwards your TGT to the remote host, -F forwards one that
  may be forwarded again.

  Encryption is the default when you have a Kerberos credentials cache
  ($KRB5CCNAME, else /tmp/krb5cc_<uid>): rsh then behaves as with -x.
  Without one, rsh uses the plain protocol (saying so on a terminal). -X
  (--no-encrypt) always uses the plain protocol.

  krx never falls back to the clear by itself: with encryption on, a host
  without a krx service, a legacy Kerberos server (it names the --legacy
  flag, not implemented yet), missing or expired tickets ("run kinit") or
  a refusal end rsh with an error saying so. -X with -x, -k, -f or -F is
  an error.

The plain protocol needs root (or CAP_NET_BIND_SERVICE): it requires
reserved source ports (512-1023). krx does not.`

// shellPort and loginPort are the services' standard ports (/etc/services).
const (
	shellPort = 514
	loginPort = 513
)

// exit ends the process; a variable so that tests can intercept it.
var exit = os.Exit

// commonFlags are the options rsh and rlogin share.
type commonFlags struct {
	user                          string
	port                          int
	encrypt, noEncrypt            bool
	realm                         string
	forward, forwardable          bool
	legacy                        bool
	ignoredK, ignoredD, ignoredL8 bool
}

// ErrPlainAndKerberos: -X together with an option that needs krx.
var ErrPlainAndKerberos = errors.New("-X (plain protocol) cannot be combined with -x, -k, -f or -F")

// ErrNoLegacy: --legacy (KCMDV0.2 framing for legacy Kerberos servers) is
// not implemented; krx refuses rather than use another protocol.
var ErrNoLegacy = errors.New("--legacy: legacy KCMDV0.2 framing is not implemented yet; refusing rather than connect another way")

// kerberosRequested reports the first option given that needs krx, if any.
func (o *commonFlags) kerberosRequested() string {
	switch {
	case o.encrypt:
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

// useKrx decides between krx and the plain protocol: -X plain; -x, -k,
// -f, -F krx; otherwise krx if a Kerberos credentials cache exists, else
// plain, with a one-line notice when stderr is a terminal.
func (o *commonFlags) useKrx(prog string, stderr io.Writer) (bool, error) {
	k := o.kerberosRequested()
	switch {
	case o.legacy:
		return false, ErrNoLegacy
	case o.noEncrypt && k != "":
		return false, fmt.Errorf("%s: %w", k, ErrPlainAndKerberos)
	case o.noEncrypt:
		return false, nil
	case k != "":
		return true, nil
	case krxclient.HaveCCache(""):
		return true, nil
	}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(stderr, "%s: no Kerberos tickets (run kinit for an encrypted session); using the plain, unencrypted protocol\n", prog)
	}
	return false, nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// krxOptions turns the flags into krxclient's options.
func (o *commonFlags) krxOptions(host string) krxclient.Options {
	return krxclient.Options{Host: host, Port: o.port, Realm: o.realm, Forward: o.forward,
		Forwardable: o.forwardable, ServerUser: o.user}
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
	kerberosFlags(f, &o)
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

// kerberosFlags adds -x, -X, -k, -f and -F.
func kerberosFlags(f *pflag.FlagSet, o *commonFlags) {
	f.BoolVarP(&o.encrypt, "encrypt", "x", false, "Kerberos authentication and encryption (krx; the default when you have tickets)")
	f.BoolVarP(&o.noEncrypt, "no-encrypt", "X", false, "plain protocol, no encryption")
	f.StringVarP(&o.realm, "realm", "k", "", "ask for the host's ticket in `realm` (krx)")
	f.BoolVarP(&o.forwardable, "forwardable", "F", false, "forward a TGT that stays forwardable (krx)")
	f.BoolVarP(&o.forward, "forward", "f", false, "forward the TGT to the remote host (krx)")
	f.BoolVar(&o.legacy, "legacy", false, "allow legacy KCMDV0.2 framing with old Kerberos servers (not implemented yet)")
}

func runRsh(cmd *cobra.Command, o commonFlags, host, command string, nullStdin bool) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	krx, err := o.useKrx(cmd.Name(), cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if krx {
		cfg := krxclient.ShellConfig{Options: o.krxOptions(host), Command: command,
			Stdout: os.Stdout, Stderr: os.Stderr, ForwardSignals: true}
		if !nullStdin {
			cfg.Stdin = os.Stdin
		}
		return krxclient.RunShell(ctx, cfg)
	}
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
