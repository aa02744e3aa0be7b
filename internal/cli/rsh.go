package cli

import "github.com/spf13/cobra"

// NewRsh returns the rsh command.
func NewRsh() *cobra.Command {
	c := newRoot("rsh [flags] host [command...]",
		"remote shell, plain or Kerberos-authenticated and encrypted",
		`rsh runs command on host with stdin, stdout and stderr connected.
With no command it runs rlogin. With -x the session is encrypted.`)
	f := c.Flags()
	f.StringP("user", "l", "", "run as `user` on the remote host")
	f.BoolP("null-stdin", "n", false, "read stdin from /dev/null")
	f.IntP("port", "p", 0, "connect to `port` instead of the service's default")
	f.BoolP("encrypt", "x", false, "Kerberos authentication and encryption (krx)")
	f.BoolP("no-encrypt", "X", false, "do not encrypt")
	f.StringP("realm", "k", "", "ask for tickets in `realm`")
	f.BoolP("forwardable", "F", false, "forward a TGT that stays forwardable")
	f.BoolP("forward", "f", false, "forward the TGT to the remote host")
	c.Flags().SetInterspersed(false)
	c.RunE = func(cmd *cobra.Command, _ []string) error { return notYet(cmd, 3) }
	return c
}
