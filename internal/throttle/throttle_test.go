package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestPairs(t *testing.T) {
	var p Pairs
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		a, b string
		at   time.Duration
		want bool
	}{
		{"n2@app:a", "app:b", 0, true},
		{"n2@app:a", "app:b", 30 * time.Second, false},
		{"n2@app:a", "app:c", 30 * time.Second, true},
		{"n3@app:a", "app:b", 30 * time.Second, true},
		{"n2@app:a", "app:b", 59 * time.Second, false},
		{"n2@app:a", "app:b", 60 * time.Second, true},
		{"n2@app:a", "app:b", 61 * time.Second, false},
	}
	for i, s := range steps {
		if got := p.Allow(s.a, s.b, t0.Add(s.at), time.Minute); got != s.want {
			t.Errorf("step %d (%s, %s at %v): %v, want %v", i, s.a, s.b, s.at, got, s.want)
		}
	}
	// Bounded: many keys never grow it past Max.
	for i := range 3 * Max {
		p.Allow(fmt.Sprint("h", i), "t", t0.Add(2*time.Minute), time.Minute)
	}
	if n := p.Len(); n > Max {
		t.Fatalf("%d keys remembered, limit %d", n, Max)
	}
}
