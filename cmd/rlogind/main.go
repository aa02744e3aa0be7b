// Command rlogind is the krx rlogind; see internal/cli for its flags.
package main

import (
	"fmt"
	"os"

	"github.com/krx-suite/krx/internal/cli"
)

func main() {
	if err := cli.NewRlogind().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rlogind:", err)
		os.Exit(1)
	}
}
