// Command rsh is the krx rsh; see internal/cli for its flags.
package main

import (
	"fmt"
	"os"

	"github.com/krx-suite/krx/internal/cli"
)

func main() {
	if err := cli.NewRsh().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rsh:", err)
		os.Exit(1)
	}
}
