package cli

import "github.com/spf13/cobra"

// NewRlogin returns the rlogin command.
func NewRlogin() *cobra.Command {
	c := newRoot("rlogin [flags] host",
		"remote login, plain (RFC 1282) or Kerberos-authenticated and encrypted",
		`rlogin connects your terminal to host. With -x (the default for krx
peers) the session is authenticated with Kerberos V5 and every byte,
including urgent control bytes, is encrypted in one 64-bit CFB stream.`)
	f := c.Flags()
	f.StringP("user", "l", "", "log in as `user` on the remote host")
	f.StringP("escape", "e", "~", "escape character (`c` or \\nnn)")
	f.BoolP("no-escape", "E", false, "no escape character")
	f.BoolP("eight-bit", "8", false, "pass 8-bit data")
	f.IntP("port", "p", 0, "connect to `port` instead of the service's default")
	f.BoolP("encrypt", "x", false, "Kerberos authentication and encryption (krx)")
	f.BoolP("no-encrypt", "X", false, "do not encrypt (never a silent downgrade)")
	f.StringP("realm", "k", "", "ask for tickets in `realm`")
	f.BoolP("forwardable", "F", false, "forward a TGT that stays forwardable")
	f.BoolP("forward", "f", false, "forward the TGT to the remote host")
	c.Args = cobra.MaximumNArgs(1)
	c.RunE = func(cmd *cobra.Command, _ []string) error { return notYet(cmd, 3) }
	return c
}
