package bench

import "testing"

// The cluster figures of `wippyd bench` run and give sane values.
func TestClusterRuns(t *testing.T) {
	res, err := runFigures(clusterFigures(clusterSizes{msgs: 2_000, rtts: 50}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"remote_msgs_per_s", "remote_msgs_sealed_per_s", "remote_msgs_lua_per_s", "remote_rtt_us", "nodedown_detect_fast_ms"}
	if len(res) != len(want) {
		t.Fatalf("results %v", res)
	}
	for i, r := range res {
		if r.Name != want[i] || !(r.Value > 0) {
			t.Errorf("result %d: %s = %v, want %s > 0", i, r.Name, r.Value, want[i])
		}
	}
}
