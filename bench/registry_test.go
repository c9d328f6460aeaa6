package bench

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
)

// The registry figures of `wippyd bench` run on three real nodes (reduced
// sizes) and give positive values.
func TestRegistryRuns(t *testing.T) {
	res, err := benchRegistry(registrySizes{registers: 50, ops: 1_280, lookups: 50, failovers: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := registryNames
	if len(res) != len(want) {
		t.Fatalf("results %v", res)
	}
	for i, r := range res {
		if r.Name != want[i] || !(r.Value > 0) {
			t.Errorf("result %d: %s = %v, want %s > 0", i, r.Name, r.Value, want[i])
		}
	}
	// memberlist (lan profile here) leaves a probe running after its
	// Shutdown until the probe's ack timer fires, up to several probe
	// intervals: poll for the goroutines to end, with a deadline, so the
	// package's leak check sees none.
	if err := await.NoLeaks(20 * time.Second); err != nil {
		t.Fatalf("goroutines left after the nodes stopped: %v", err)
	}
}

// The EVENTUAL figure runs on five real nodes (few trials) and gives a
// positive value.
func TestEventualRuns(t *testing.T) {
	r, err := eventualConverge(10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != eventualNames[0] || !(r.Value > 0) {
		t.Fatalf("%+v", r)
	}
	if err := await.NoLeaks(20 * time.Second); err != nil {
		t.Fatalf("goroutines left after the nodes stopped: %v", err)
	}
}
