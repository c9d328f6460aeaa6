package bench

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
)

// The process group figures run and give sane values.
func TestGroupsRun(t *testing.T) {
	b, err := groupBroadcast(2, 20, 300)
	if err != nil {
		t.Fatal(err)
	}
	c, err := groupConverge(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != groupNames[0] || !(b.Value > 0) || c.Name != groupNames[1] || !(c.Value > 0) {
		t.Fatalf("results %v %v", b, c)
	}
	// memberlist leaves a probe running after Shutdown (see
	// TestRegistryRuns).
	if err := await.NoLeaks(20 * time.Second); err != nil {
		t.Fatalf("goroutines left after the nodes stopped: %v", err)
	}
}
