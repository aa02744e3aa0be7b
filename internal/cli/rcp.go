package cli

import "github.com/spf13/cobra"

// NewRcp returns the rcp command.
func NewRcp() *cobra.Command {
	c := newRoot("rcp [flags] source... target",
		"remote file copy, plain or Kerberos-authenticated and encrypted",
		`rcp copies files between hosts. A file name is [[user@]host:]path.`)
	f := c.Flags()
	f.BoolP("recursive", "r", false, "copy directories recursively")
	f.BoolP("preserve", "p", false, "preserve modes and times")
	f.IntP("port", "P", 0, "connect to `port` instead of the service's default")
	f.BoolP("encrypt", "x", false, "Kerberos authentication and encryption (krx)")
	f.BoolP("no-encrypt", "X", false, "do not encrypt")
	f.StringP("realm", "k", "", "ask for tickets in `realm`")
	c.Args = cobra.MinimumNArgs(2)
	c.RunE = func(cmd *cobra.Command, _ []string) error { return notYet(cmd, 3) }
	return c
}
