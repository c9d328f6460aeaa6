package bench

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
)

// Result is one figure.
type Result struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Run runs the whole suite (quick: small sizes): the runtime core with
// Go-native processes, Lua processes, then two clustered nodes in this
// process over loopback, then the cluster-wide name registry on three
// nodes with Raft, then EVENTUAL names on five nodes, then process groups
// on three and five nodes, then the bounded-Raft roles on 3 to 9 nodes. Each runtime workload runs once untimed, then `rounds`
// times; the median is reported.
func Run(quick bool, rounds int) ([]Result, error) {
	return RunParts(quick, rounds, nil)
}

// Parts names the parts of the suite, in the order Run runs them.
func Parts() []string {
	return []string{"native", "lua", "cluster", "registry", "eventual", "groups", "roles"}
}

// RunParts runs the named parts of the suite (see Parts), in the suite's
// order whatever the order of parts; nil or empty runs them all. An
// unknown part is an error before anything runs.
func RunParts(quick bool, rounds int, parts []string) ([]Result, error) {
	o, lo := Full(), FullLua()
	if quick {
		o, lo = Quick(), QuickLua()
	}
	runs := map[string]func() ([]Result, error){
		"native":   func() ([]Result, error) { return RunAll(Native, o, rounds) },
		"lua":      func() ([]Result, error) { return RunLua(Lua, lo, rounds) },
		"cluster":  func() ([]Result, error) { return Cluster(quick) },
		"registry": func() ([]Result, error) { return Registry(quick) },
		"eventual": func() ([]Result, error) { return Eventual(quick) },
		"groups":   func() ([]Result, error) { return Groups(quick) },
		"roles":    func() ([]Result, error) { return Roles(quick) },
	}
	want := map[string]bool{}
	for _, p := range parts {
		if runs[p] == nil {
			return nil, fmt.Errorf("unknown part %q (parts: %s)", p, strings.Join(Parts(), ", "))
		}
		want[p] = true
	}
	var out []Result
	for _, p := range Parts() {
		if len(want) > 0 && !want[p] {
			continue
		}
		res, err := runs[p]()
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// Names lists the figures Run reports, in order (a quick run leaves out
// nodedown_detect_ms).
func Names() []string {
	var names []string
	for _, w := range Native {
		names = append(names, w.Name)
	}
	for _, w := range Lua {
		names = append(names, w.Name)
	}
	for _, f := range clusterFigures(clusterSizes{lan: true}) {
		names = append(names, f.name)
	}
	return slices.Concat(names, registryNames, eventualNames, groupNames, rolesNames)
}

// Workload is one named benchmark.
type Workload struct {
	Name string
	Run  func(Options) (Result, error)
}

// RunAll runs workloads `rounds` times each (interleaved, so noise hits them
// alike) and reports each one's median.
func RunAll(ws []Workload, o Options, rounds int) ([]Result, error) {
	if rounds < 1 {
		rounds = 1
	}
	// One untimed round first: the first run in a fresh process pays for
	// heap growth and GC pacing, not for the runtime.
	for _, w := range ws {
		if _, err := w.Run(o); err != nil {
			return nil, fmt.Errorf("%s (warm-up): %w", w.Name, err)
		}
	}
	vals := make([][]float64, len(ws))
	units := make([]string, len(ws))
	for r := 0; r < rounds; r++ {
		for i, w := range ws {
			res, err := w.Run(o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.Name, err)
			}
			vals[i] = append(vals[i], res.Value)
			units[i] = res.Unit
		}
	}
	out := make([]Result, len(ws))
	for i, w := range ws {
		out[i] = Result{Name: w.Name, Value: median(vals[i]), Unit: units[i]}
	}
	return out, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// discard is the logger of the suite's runtimes and nodes.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
