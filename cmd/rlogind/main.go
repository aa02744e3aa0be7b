// Command rlogind is the krx rlogind; its flags and behaviour live in internal/cli.
package main

import (
	"os"

	"github.com/krx-suite/krx/internal/cli"
)

func main() { os.Exit(cli.Run(cli.NewRlogind())) }
