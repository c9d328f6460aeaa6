package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/wippyd/wippyd/bench"
)

var benchCommand = register(&command{
	name:     "bench",
	synopsis: "wippyd bench [--quick] [--json] [--rounds N] [--only PARTS]",
	help: `Runs the built-in benchmark suite in this process (the cluster figures
with two to nine nodes on the loopback) and prints each figure: the
median of N rounds. BENCHMARKS.md says what each one measures.

flags:
  --quick       small sizes: a fast check, noisier figures
  --json        print a JSON array of {"name", "value", "unit"}
  --rounds N    run each workload N times, report the median (default 3)
  --only PARTS  run only these parts, comma-separated: native, lua,
                cluster, registry, eventual, groups, roles (default: all)
  -h, --help    print this help

exit status:
  0   done
  1   a workload failed
  2   bad flags or arguments
`,
})

func benchCmd(args []string, stdout, stderr io.Writer, runBench func(quick bool, rounds int, parts []string) ([]bench.Result, error)) int {
	c := benchCommand
	fs := c.flags()
	quick := fs.Bool("quick", false, "")
	asJSON := fs.Bool("json", false, "")
	rounds := fs.Int("rounds", 3, "")
	only := fs.String("only", "", "")
	if code := c.parse(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.misuse(stderr, "unexpected argument %q", fs.Arg(0))
	}
	if *rounds < 1 {
		return c.misuse(stderr, "--rounds %d: want at least 1", *rounds)
	}
	var parts []string
	if *only != "" {
		for _, p := range strings.Split(*only, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(bench.Parts(), p) {
				return c.misuse(stderr, "--only: unknown part %q (parts: %s)", p, strings.Join(bench.Parts(), ", "))
			}
			parts = append(parts, p)
		}
	}
	res, err := runBench(*quick, *rounds, parts)
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
