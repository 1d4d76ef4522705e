// Command fromgit prints the version of the checkout it is run in, by the
// rule every stamped build follows (see version.Derive):
//
//	go run ./internal/version/fromgit
//
// The Makefile and install.sh stamp what it prints; the packager calls
// version.FromGit itself. It fails, exit 1, outside a git checkout.
package main

import (
	"fmt"
	"os"

	"github.com/chatd/chatd/internal/version"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	g, err := version.FromGit(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fromgit:", err)
		os.Exit(1)
	}
	fmt.Println(g.Version)
}
