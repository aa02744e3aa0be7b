package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// ErrNotImplemented is returned by a program whose implementation has not
// landed yet; the command still prints its usage.
var ErrNotImplemented = errors.New("cli: not implemented yet")

// Commands returns every krx program's root command, in a fixed order.
// It is what the man-page generator walks.
func Commands() []*cobra.Command {
	return []*cobra.Command{NewRlogin(), NewRsh(), NewRcp(), NewRlogind()}
}

// notYet prints the usage of cmd and reports that the program is not built yet.
func notYet(cmd *cobra.Command, issue int) error {
	cmd.SilenceUsage = true
	_ = cmd.Usage()
	return fmt.Errorf("%w (tracked in issue %d)", ErrNotImplemented, issue)
}

// newRoot sets the defaults every krx program shares.
func newRoot(use, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:           use,
		Short:         short,
		Long:          long,
		SilenceErrors: true,
		// r-command users expect flags after operands too (rsh host -l user cmd);
		// each program decides; this is the default.
		DisableFlagsInUseLine: false,
		CompletionOptions:     cobra.CompletionOptions{DisableDefaultCmd: true},
	}
}
