package runtime

import (
	"fmt"
	"testing"
	"time"
)

func TestDenyLogThrottles(t *testing.T) {
	var d denyLog
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		from, to string
		at       time.Duration
		want     bool
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
		if got := d.allow(s.from, s.to, t0.Add(s.at), time.Minute); got != s.want {
			t.Errorf("step %d (%s -> %s at %v): %v, want %v", i, s.from, s.to, s.at, got, s.want)
		}
	}
	// The table is bounded: many pairs never grow it past its limit.
	for i := range 3 * denyLogMax {
		d.allow(fmt.Sprint("h", i), "t", t0.Add(2*time.Minute), time.Minute)
	}
	if n := len(d.last); n > denyLogMax {
		t.Fatalf("%d pairs remembered, limit %d", n, denyLogMax)
	}
}
