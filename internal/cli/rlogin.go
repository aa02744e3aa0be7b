package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/krx-suite/krx/internal/rlogin"
)

const rloginLong = `rlogin connects your terminal to host over the plain BSD login
protocol (RFC 1282, TCP 513), as netkit rlogin does.

The terminal is in raw mode during the session and is restored on every
way out (end of session, ~., errors, SIGTERM, SIGHUP, SIGQUIT, a crash).
The server's urgent control bytes are honoured: flush output (^C stops a
flood at once), flow control on/off (^S/^Q handled locally unless -8),
and window-size reports (sent at the server's request and on every
window change).

ESCAPES (only at the beginning of a line)
  ~.  or ~^D   disconnect
  ~^Z          suspend rlogin (and its process group)
  ~^Y          suspend rlogin only
  ~~           send one ~
  -e c or -e \nnn chooses another escape character, -E turns escapes off.

LIMITS OF THE PLAIN PROTOCOL
  A control byte is marked by TCP's single urgent pointer. If the server
  sends two before the first is read (e.g. ^C twice during a flood), the
  older one loses its mark and arrives as an ordinary byte: it cannot be
  told from data and is painted on the screen. krx keeps every byte in
  order (SO_OOBINLINE), so nothing else is lost; the encrypted krx
  protocol (-x, not available yet) does not have this weakness.

ENCRYPTION
  -x (Kerberos authentication and encryption) and -k, -f, -F are not
  available yet: rlogin refuses them rather than log in in the clear.

Root (or CAP_NET_BIND_SERVICE) is needed: the protocol requires a
reserved source port (512-1023).`

// rloginFlags are rlogin's options.
type rloginFlags struct {
	commonFlags
	escape      string
	noEscape    bool
	eightBit    bool
	ignoreFlush bool
	stats       bool
}

// NewRlogin returns the rlogin command.
func NewRlogin() *cobra.Command {
	c := newRoot("rlogin [flags] host",
		"remote login, plain (RFC 1282) or Kerberos-authenticated and encrypted",
		rloginLong)
	var o rloginFlags
	f := c.Flags()
	f.StringVarP(&o.user, "user", "l", "", "log in as `user` on the remote host")
	f.StringVarP(&o.escape, "escape", "e", "~", "escape character (`c` or \\nnn)")
	f.BoolVarP(&o.noEscape, "no-escape", "E", false, "no escape character")
	f.BoolVarP(&o.eightBit, "eight-bit", "8", false, "pass 8-bit data; ^S/^Q are never handled locally")
	f.IntVarP(&o.port, "port", "p", 0, "connect to `port` instead of the login service's 513")
	f.BoolVarP(&o.encrypt, "encrypt", "x", false, "Kerberos authentication and encryption (not available yet)")
	f.BoolVarP(&o.noEncrypt, "no-encrypt", "X", false, "plain protocol, no encryption")
	f.StringVarP(&o.realm, "realm", "k", "", "ask for tickets in `realm` (Kerberos; not available yet)")
	f.BoolVarP(&o.forwardable, "forwardable", "F", false, "forward a TGT that stays forwardable (Kerberos; not available yet)")
	f.BoolVarP(&o.forward, "forward", "f", false, "forward the TGT to the remote host (Kerberos; not available yet)")
	f.BoolVar(&o.ignoreFlush, "debug-ignore-flush", false, "diagnostic: ignore the server's flush requests")
	_ = f.MarkHidden("debug-ignore-flush")
	f.BoolVar(&o.stats, "debug-stats", false, "diagnostic: report urgent control bytes at exit")
	_ = f.MarkHidden("debug-stats")
	// netkit rlogin options accepted and ignored.
	f.BoolVarP(&o.ignoredK, "netkit-K", "K", false, "netkit: no Kerberos (ignored)")
	f.BoolVarP(&o.ignoredD, "netkit-d", "d", false, "netkit: socket debugging (ignored)")
	f.BoolVarP(&o.ignoredL8, "netkit-L", "L", false, "netkit: litout (ignored)")
	for _, n := range []string{"netkit-K", "netkit-d", "netkit-L"} {
		_ = f.MarkHidden(n)
	}
	c.Args = cobra.ExactArgs(1)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cmd.SilenceUsage = true
		if k := o.kerberosRequested(); k != "" {
			return fmt.Errorf("%s: %w", k, errNoKerberos)
		}
		return runRlogin(cmd, o, args[0])
	}
	return c
}

// runRlogin runs a plain rlogin session; rsh without a command comes here
// too.
func runRlogin(cmd *cobra.Command, o rloginFlags, host string) error {
	addr, err := hostPort(host, o.port, loginPort)
	if err != nil {
		return err
	}
	cfg := rlogin.Config{
		Addr:        addr,
		ServerUser:  o.user,
		EightBit:    o.eightBit,
		NoEscape:    o.noEscape,
		IgnoreFlush: o.ignoreFlush,
		Stats:       o.stats,
		In:          os.Stdin,
		Out:         os.Stdout,
		Messages:    os.Stderr,
	}
	if !o.noEscape {
		if cfg.Escape, err = rlogin.ParseEscape(o.escape); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return refusal(cmd.ErrOrStderr(), rlogin.Run(ctx, cfg))
}
