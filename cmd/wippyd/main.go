package main

import (
	"fmt"
	"io"
	"os"

	"github.com/wippyd/wippyd/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its I/O and exit status explicit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], os.Stdin, stdout, stderr, os.Environ(), osSignals())
	case "demo":
		return demoCmd(args[1:], os.Stdin, stdout, stderr, os.Environ(), osSignals())
	case "status":
		return statusCmd(args[1:], stdout, stderr, os.Environ())
	case "bench":
		return benchCmd(args[1:], stdout, stderr, bench.RunParts)
	case "version", "--version":
		return versionCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return helpCmd(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "wippyd: unknown command %q\n\n%s", args[0], usage)
	return 2
}
