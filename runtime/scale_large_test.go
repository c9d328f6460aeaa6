//go:build scale

package runtime_test

// scaleN: run with `go test -tags scale -run NoLeak ./runtime/` (no -race).
const scaleN = 100_000
