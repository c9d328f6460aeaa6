// Package bench is the suite behind `wippyd bench` and the go test
// benchmarks of whole workloads: the runtime core with Go-native processes
// (spawn cost, idle memory, a token ring, fan-in, and the same ring written
// with plain goroutines and channels as a yardstick measured in the same
// run), Lua processes, two clustered nodes in one process over loopback
// TCP, and the cluster-wide name registry on three nodes with Raft.
//
// Each workload builds its own runtime or nodes through their public API,
// runs, and returns a Result (name, value, unit) with the names the issues
// give, e.g. ring_native_msgs_per_s. Workloads are sized by options so
// `bench --quick` and tests can run them small. Run runs the suite; Names
// lists its figures.
//
// The ring, its channel yardstick and fan-in follow the patterns of the
// bench-peers harness that compares wippyd with other actor frameworks
// (steady state: counted over Dur after a Warm-up; fan-in windowed by
// acks; the channel ring without select), so their ratios agree with it.
//
// The package sits above node and runtime and nothing in the product
// imports it (a layering test checks), so no production package carries
// benchmark code.
package bench
