package membership

import (
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"
)

var measure = flag.Bool("measure", false, "run TestMeasureDetection (slow: tens of seconds)")

// TestMeasureDetection measures, per profile and cluster size, the time
// from killing one node (Shutdown without Leave) to the last survivor
// reporting EventFailed. Results go to BENCHMARKS.md.
//
//	go test -run TestMeasureDetection -v ./cluster/membership/ -args -measure
func TestMeasureDetection(t *testing.T) {
	if !*measure {
		t.Skip("run with -measure")
	}
	const rounds = 3
	for _, p := range []Profile{ProfileFast, ProfileLocal, ProfileLAN} {
		for _, size := range []int{3, 5} {
			var times []time.Duration
			for r := range rounds {
				times = append(times, detectOnce(t, p, size, r))
			}
			slices.Sort(times)
			t.Logf("profile %-5s %d nodes: min %v median %v max %v", p, size,
				times[0].Round(10*time.Millisecond), times[len(times)/2].Round(10*time.Millisecond),
				times[len(times)-1].Round(10*time.Millisecond))
		}
	}
}

func detectOnce(t *testing.T, p Profile, size, round int) time.Duration {
	var d time.Duration
	t.Run(fmt.Sprintf("%s-%d-%d", p, size, round), func(t *testing.T) {
		var names []string
		for i := range size {
			names = append(names, fmt.Sprintf("n%d", i+1))
		}
		nodes := cluster(t, names, func(c *Config) { c.Profile = p })
		victim := nodes[size-1]
		start := time.Now()
		if err := victim.Shutdown(); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes[:size-1] {
			n.rec.wait(t, 60*time.Second, 0, "failure", is(EventFailed, victim.cfg.Name))
		}
		d = time.Since(start)
	})
	return d
}
