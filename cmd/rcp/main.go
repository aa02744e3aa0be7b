// Command rcp is the krx rcp; see internal/cli for its flags.
package main

import (
	"fmt"
	"os"

	"github.com/krx-suite/krx/internal/cli"
)

func main() {
	if err := cli.NewRcp().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rcp:", err)
		os.Exit(1)
	}
}
