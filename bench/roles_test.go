package bench

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
)

// The bounded-Raft figures run on 3 to 9 real nodes and give positive
// values, under their names.
func TestRolesRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("nine nodes, twice")
	}
	res, err := Roles(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(rolesNames) {
		t.Fatalf("results %v", res)
	}
	for i, r := range res {
		if r.Name != rolesNames[i] || !(r.Value > 0) {
			t.Errorf("result %d: %s = %v, want %s > 0", i, r.Name, r.Value, rolesNames[i])
		}
	}
	t.Logf("%v", res)
	if err := await.NoLeaks(20 * time.Second); err != nil {
		t.Fatalf("goroutines left after the nodes stopped: %v", err)
	}
}
