// Command genman writes the krx man pages (section 1 for the clients,
// section 8 for rlogind) into the directory given as its only argument.
package main

import (
	"fmt"
	"os"

	"github.com/krx-suite/krx/internal/cli"
	"github.com/spf13/cobra/doc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genman DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
	for _, c := range cli.Commands() {
		section := "1"
		if c.Name() == "rlogind" {
			section = "8"
		}
		c.DisableAutoGenTag = true
		h := &doc.GenManHeader{Title: c.Name(), Section: section, Source: "krx"}
		if err := doc.GenManTree(c, h, dir); err != nil {
			fmt.Fprintln(os.Stderr, "genman:", err)
			os.Exit(1)
		}
	}
}
