package supervisor

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name     string
		services map[string][]string
		want     []string
		err      error
		errText  string
	}{
		{name: "empty", services: map[string][]string{}, want: []string{}},
		{name: "nil", services: nil, want: []string{}},
		{name: "independent sorted by id", services: map[string][]string{"c": nil, "a": nil, "b": nil}, want: []string{"a", "b", "c"}},
		{name: "chain", services: map[string][]string{"app:web": {"app:api"}, "app:api": {"app:db"}, "app:db": nil},
			want: []string{"app:db", "app:api", "app:web"}},
		{name: "diamond", services: map[string][]string{"d": {"b", "c"}, "b": {"a"}, "c": {"a"}, "a": nil},
			want: []string{"a", "b", "c", "d"}},
		// "a" needs "z"; "b" and "z" are free: b < z so b first, then z unlocks a.
		{name: "ties by id when ready", services: map[string][]string{"a": {"z"}, "b": nil, "z": nil},
			want: []string{"b", "z", "a"}},
		{name: "duplicate requirement", services: map[string][]string{"a": {"b", "b"}, "b": nil}, want: []string{"b", "a"}},
		{name: "unknown requirement", services: map[string][]string{"a": {"missing"}},
			err: ErrUnknownService, errText: "supervisor: unknown service: a requires missing"},
		{name: "self cycle", services: map[string][]string{"a": {"a"}},
			err: ErrCycle, errText: "supervisor: dependency cycle: a -> a"},
		{name: "two cycle", services: map[string][]string{"a": {"b"}, "b": {"a"}, "c": nil},
			err: ErrCycle, errText: "supervisor: dependency cycle: a -> b -> a"},
		{name: "cycle behind a tail", services: map[string][]string{"a": {"x"}, "x": {"y"}, "y": {"z"}, "z": {"x"}, "ok": nil},
			err: ErrCycle, errText: "supervisor: dependency cycle: x -> y -> z -> x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Order(tt.services)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Order() error = %v, want %v", err, tt.err)
				}
				if err.Error() != tt.errText {
					t.Fatalf("Order() error text = %q, want %q", err.Error(), tt.errText)
				}
				if got != nil {
					t.Fatalf("Order() = %v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Order() error = %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Order() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOrderDoesNotModifyInput(t *testing.T) {
	in := map[string][]string{"a": {"c", "b", "b"}, "b": nil, "c": nil}
	if _, err := Order(in); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in["a"], []string{"c", "b", "b"}) {
		t.Fatalf("Order modified its input: %v", in["a"])
	}
}

// TestOrderRandomDAGs checks on random acyclic graphs that every service
// comes after what it requires, that each appears once, and that the result
// does not depend on map iteration order.
func TestOrderRandomDAGs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 300; round++ {
		n := 1 + r.IntN(25)
		names := r.Perm(n) // name i is "s<perm[i]>", so id order differs from topo order
		services := map[string][]string{}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("s%02d", names[i])
			var reqs []string
			for j := 0; j < i; j++ {
				if r.IntN(4) == 0 {
					reqs = append(reqs, fmt.Sprintf("s%02d", names[j]))
				}
			}
			services[id] = reqs
		}
		got, err := Order(services)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(got) != n {
			t.Fatalf("round %d: got %d services, want %d", round, len(got), n)
		}
		pos := map[string]int{}
		for i, id := range got {
			if _, dup := pos[id]; dup {
				t.Fatalf("round %d: %s twice", round, id)
			}
			pos[id] = i
		}
		for id, reqs := range services {
			for _, req := range reqs {
				if pos[req] >= pos[id] {
					t.Fatalf("round %d: %s starts before its requirement %s: %v", round, id, req, got)
				}
			}
		}
		again, _ := Order(services)
		if !slices.Equal(got, again) {
			t.Fatalf("round %d: not deterministic: %v vs %v", round, got, again)
		}
		// Closing any back edge must be reported as a cycle through those ids.
		if n >= 2 {
			first, last := got[0], got[n-1]
			services[first] = append(services[first], last)
			if _, err := Order(services); !errors.Is(err, ErrCycle) || !strings.Contains(err.Error(), first) {
				// last may not reach first; only a real cycle is required to be found.
				if reaches(services, last, first) {
					t.Fatalf("round %d: want a cycle through %s, got %v", round, first, err)
				}
			}
		}
	}
}

func reaches(services map[string][]string, from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(s string) bool {
		if s == to {
			return true
		}
		if seen[s] {
			return false
		}
		seen[s] = true
		for _, r := range services[s] {
			if walk(r) {
				return true
			}
		}
		return false
	}
	return walk(from)
}
