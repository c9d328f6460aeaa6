package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/bench"
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

// The JSON output is an array of {name, value, unit}.
func TestBenchJSONShape(t *testing.T) {
	fake := func(quick bool, rounds int, parts []string) ([]bench.Result, error) {
		if !quick || rounds != 2 || !slices.Equal(parts, []string{"registry", "groups"}) {
			t.Errorf("flags not passed: quick=%v rounds=%d parts=%q", quick, rounds, parts)
		}
		return []bench.Result{{Name: "spawn_native_ns", Value: 512.5, Unit: "ns"}}, nil
	}
	var out, errb bytes.Buffer
	if code := benchCmd([]string{"--quick", "--json", "--rounds", "2", "--only", "registry,groups"}, &out, &errb, fake); code != 0 {
		t.Fatalf("bench: %d %s", code, errb.String())
	}
	var res []map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(res) != 1 || res[0]["name"] != "spawn_native_ns" || res[0]["value"] != 512.5 || res[0]["unit"] != "ns" || len(res[0]) != 3 {
		t.Fatalf("got %v", res)
	}
}

// The suite reports every figure the issues name.
func TestBenchNames(t *testing.T) {
	have := map[string]bool{}
	for _, n := range bench.Names() {
		have[n] = true
	}
	for _, name := range []string{"spawn_native_ns", "idle_native_bytes", "ring_native_msgs_per_s", "fanin_native_msgs_per_s",
		"baseline_chan_ring_msgs_per_s", "idle_lua_bytes", "spawn_lua_ns", "ring_lua_msgs_per_s", "ring_lua_cold_msgs_per_s",
		"pcall_yield_ns", "spawn_reply_lua_100k_ms", "remote_msgs_per_s", "remote_msgs_sealed_per_s", "remote_msgs_lua_per_s", "remote_rtt_us", "nodedown_detect_ms",
		"registry_register_p50_us", "registry_ops_per_s", "registry_lookup_p50_us", "registry_lookup_ns", "strong_register_p50_us", "registry_failover_ms",
		"eventual_converge_ms_p99", "lock_acquire_p50_us", "pg_broadcast_deliveries_per_s", "pg_converge_ms_p99",
		"voter_replace_ms", "leader_appends_per_s_idle_3", "leader_appends_per_s_idle_9"} {
		if !have[name] {
			t.Errorf("no workload named %s", name)
		}
	}
}
