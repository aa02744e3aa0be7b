package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/krx-suite/krx/internal/krxclient"
	"github.com/krx-suite/krx/internal/rlogin"
)

const rloginLong = `rlogin connects your terminal to host over the plain BSD login
protocol (RFC 1282, TCP 513), as netkit rlogin does, or over the
Kerberos-authenticated, encrypted krx protocol (see ENCRYPTION).

The terminal is in raw mode during the session and is restored on every
way out (end of session, ~., errors, SIGTERM, SIGHUP, SIGQUIT, a crash).
The server's urgent control bytes are honoured: flush output (^C stops a
flood at once), flow control on/off (^S/^Q handled locally unless -8),
and window-size reports (sent at the server's request and on every
window change).

When you type your interrupt, quit or suspend character (^C, ^\, ^Z by
your terminal's settings), rlogin stops painting at once and waits for
the server's flush, as telnet's autoflush does, so that nothing still on
its way over a slow link is shown; without a flush (the remote program
has the terminal raw) painting resumes after about two round trips plus
a quarter second, and nothing is lost. After the server reports a raw
remote terminal (flow control off) typed characters hold nothing.

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
  protocol (-x) does not have this weakness: its control commands are
  in-band and every one is found however many are sent.

ENCRYPTION (krx)
  -x logs in over the krx protocol (docs/protocol.md): Kerberos
  authentication with your tickets (kinit) and every byte encrypted, on
  the eklogin port 2105 unless -p. Escapes, flush, flow control and window
  sizes work as above. -k realm asks for the ticket of host/<host> in
  realm; -f forwards your TGT to the remote host, -F forwards one that may
  be forwarded again.

  Encryption is the default when you have a Kerberos credentials cache
  ($KRB5CCNAME, else /tmp/krb5cc_<uid>): rlogin then behaves as with -x.
  Without one, rlogin uses the plain protocol (saying so on a terminal).
  -X (--no-encrypt) always uses the plain protocol.

  krx never falls back to the clear by itself: with encryption on, a host
  without a krx service, a legacy Kerberos server (it names the --legacy
  flag, not implemented yet), missing or expired tickets ("run kinit") or
  a refusal end rlogin with an error saying so. -X with -x, -k, -f or -F
  is an error.

The plain protocol needs root (or CAP_NET_BIND_SERVICE): it requires a
reserved source port (512-1023). krx does not.`

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
	kerberosFlags(f, &o.commonFlags)
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
		return runRlogin(cmd, o, args[0])
	}
	return c
}

// runRlogin runs an rlogin session, krx or plain (commonFlags.useKrx);
// rsh without a command comes here too.
func runRlogin(cmd *cobra.Command, o rloginFlags, host string) error {
	krx, err := o.useKrx("rlogin", cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	var esc byte
	if !o.noEscape {
		if esc, err = rlogin.ParseEscape(o.escape); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if krx {
		return krxclient.RunLogin(ctx, krxclient.LoginConfig{Options: o.krxOptions(host),
			EightBit: o.eightBit, Escape: esc, NoEscape: o.noEscape,
			In: os.Stdin, Out: os.Stdout, Messages: os.Stderr,
			IgnoreFlush: o.ignoreFlush, Stats: o.stats})
	}
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
		Escape:      esc,
	}
	return refusal(cmd.ErrOrStderr(), rlogin.Run(ctx, cfg))
}
