// Command rlogin is the krx rlogin; its flags and behaviour live in internal/cli.
package main

import (
	"os"

	"github.com/krx-suite/krx/internal/cli"
)

func main() { os.Exit(cli.Run(cli.NewRlogin())) }
