package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/wippyd/wippyd/bench"
	"github.com/wippyd/wippyd/node"
)

const usage = `usage:
  wippyd run     [--src DIR] [--config FILE] [--set KEY=VALUE]... [-x ENTRY [--host HOST]] [ARGS...]
  wippyd bench   [--quick] [--json] [--rounds N]   built-in benchmark suite
  wippyd status  [--addr HOST:PORT] [--config FILE] [--token-file FILE]
                                                    summary of a running node's /v1/status
  wippyd version
`

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
	case "version", "--version":
		fmt.Fprintf(stdout, "wippyd %s\n", node.Version)
		return 0
	case "bench":
		return benchCmd(args[1:], stdout, stderr, bench.Run)
	case "status":
		return statusCmd(args[1:], stdout, stderr, os.Environ())
	case "run":
		return runCmd(args[1:], os.Stdin, stdout, stderr, os.Environ(), osSignals())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "wippyd: unknown command %q\n%s", args[0], usage)
	return 2
}

func benchCmd(args []string, stdout, stderr io.Writer, runBench func(quick bool, rounds int) ([]bench.Result, error)) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "small sizes: a fast check, noisier figures")
	asJSON := fs.Bool("json", false, `print a JSON array of {"name","value","unit"}`)
	rounds := fs.Int("rounds", 3, "run each workload this many times and report the median")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *rounds < 1 {
		fmt.Fprintf(stderr, "wippyd bench: unexpected arguments\n%s", usage)
		return 2
	}
	res, err := runBench(*quick, *rounds)
	if err != nil {
		fmt.Fprintf(stderr, "wippyd bench: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "wippyd bench: %v\n", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tvalue\tunit\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t\n", r.Name, r.Value, r.Unit)
	}
	tw.Flush()
	return 0
}
