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

// ExitError ends a program with Code after everything worth saying has
// already been printed (rcp's per-file messages, a remote's status text):
// Run prints nothing more for it.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Run executes a program's root command and returns its exit status:
// 0 on success, ExitError's code, or 1 after printing "prog: err".
func Run(cmd *cobra.Command) int {
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", cmd.Name(), err)
	return 1
}
