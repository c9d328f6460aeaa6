// Package benchmark holds the workloads behind `wippyd bench` and the
// go test benchmarks: spawn cost, idle memory, a token ring, fan-in, and
// the same ring written with plain goroutines and channels as a yardstick
// measured in the same run.
//
// Each workload builds its own runtime, runs once, and returns a Result
// (name, value, unit) with the names the issues give, e.g.
// ring_native_msgs_per_s. Workloads are sized by Options so `bench --quick`
// and tests can run them small.
package benchmark
