package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "wippyd ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Fatalf("no args: %d", code)
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown: %d %q", code, errb.String())
	}
	if code := run([]string{"bench", "--rounds", "0"}, &out, &errb); code != 2 {
		t.Fatalf("bad rounds: %d", code)
	}
}

// The JSON output is an array of {name, value, unit} with the names.
func TestBenchJSONShape(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick benchmark suite")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "--quick", "--json", "--rounds", "1"}, &out, &errb); code != 0 {
		t.Fatalf("bench: %d %s", code, errb.String())
	}
	var res []struct {
		Name  string  `json:"name"`
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	want := map[string]bool{"spawn_native_ns": true, "idle_native_bytes": true, "ring_native_msgs_per_s": true,
		"fanin_native_msgs_per_s": true, "baseline_chan_ring_msgs_per_s": true}
	for _, r := range res {
		if !(r.Value > 0) || r.Unit == "" {
			t.Errorf("%s = %v %q", r.Name, r.Value, r.Unit)
		}
		delete(want, r.Name)
	}
	if len(want) > 0 {
		t.Fatalf("missing figures: %v", want)
	}
}
