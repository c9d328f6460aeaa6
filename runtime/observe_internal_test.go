package runtime

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// pageOf returns what a full sort would, for every page of every size.
func TestPageOfMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 257, 1000} {
		want := make([]uint64, n)
		for i := range want {
			want[i] = uint64(i*3 + 1)
		}
		for _, size := range []int{1, 7, 50, n} {
			for from := 0; from < n; from += max(1, n/13) {
				to := min(n, from+size)
				es := make([]tableEntry, n)
				for i, j := range rng.Perm(n) {
					es[i].seq = want[j]
				}
				var got []uint64
				for _, e := range pageOf(es, from, to) {
					got = append(got, e.seq)
				}
				if !slices.Equal(got, want[from:to]) {
					t.Fatalf("n=%d [%d,%d): got %v, want %v", n, from, to, got, want[from:to])
				}
			}
		}
	}
}
