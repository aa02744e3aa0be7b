// Command rlogin is the krx rlogin; see internal/cli for its flags.
package main

import (
	"fmt"
	"os"

	"github.com/krx-suite/krx/internal/cli"
)

func main() {
	if err := cli.NewRlogin().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rlogin:", err)
		os.Exit(1)
	}
}
