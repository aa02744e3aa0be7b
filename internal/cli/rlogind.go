package cli

import "github.com/spf13/cobra"

// NewRlogind returns the rlogind daemon command.
func NewRlogind() *cobra.Command {
	c := newRoot("rlogind [flags]",
		"serve plain, legacy-Kerberos and krx-encrypted login and shell",
		`rlogind serves the login (513), shell (514), klogin (543), kshell (544)
and eklogin (2105) services, standalone, from inetd or by systemd socket
activation.`)
	f := c.Flags()
	f.String("listen", "", "serve on `addr:port` instead of the standard ports")
	f.StringP("keytab", "K", "", "keytab `file` (default $KRB5_KTNAME or /etc/krb5.keytab)")
	f.Bool("rhosts", false, "allow .rhosts/hosts.equiv authorisation for the plain services")
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return notYet(cmd, 3) }
	return c
}
