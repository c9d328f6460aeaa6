//go:build !scale

package runtime_test

// scaleN is the -race twin of the 100,000-process test (build tag "scale").
const scaleN = 10_000
