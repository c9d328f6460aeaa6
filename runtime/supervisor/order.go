package supervisor

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"
)

// Order returns the start order of services, where services maps each
// service id to the ids it requires: every service comes after all it
// requires. Among services that are ready at the same time the smaller id
// goes first, so the order is deterministic. The stop order is the reverse.
//
// A required id missing from the map is an error wrapping
// ErrUnknownService; services that require each other (a service requiring
// itself included) are an error wrapping ErrCycle that names one cycle as
// "a -> b -> a" (a requires b requires a). Duplicate requirements are
// harmless.
func Order(services map[string][]string) ([]string, error) {
	ids := make([]string, 0, len(services))
	for id := range services {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	pending := make(map[string]int, len(services))    // unstarted requirements
	dependents := make(map[string][]string, len(ids)) // requirement -> services needing it
	for _, id := range ids {
		reqs := slices.Clone(services[id])
		slices.Sort(reqs)
		reqs = slices.Compact(reqs)
		for _, r := range reqs {
			if _, ok := services[r]; !ok {
				return nil, fmt.Errorf("%w: %s requires %s", ErrUnknownService, id, r)
			}
			dependents[r] = append(dependents[r], id)
		}
		pending[id] = len(reqs)
	}

	ready := &idHeap{}
	for _, id := range ids {
		if pending[id] == 0 {
			ready.ids = append(ready.ids, id)
		}
	}
	heap.Init(ready)
	order := make([]string, 0, len(ids))
	for ready.Len() > 0 {
		id := heap.Pop(ready).(string)
		order = append(order, id)
		for _, dep := range dependents[id] {
			if pending[dep]--; pending[dep] == 0 {
				heap.Push(ready, dep)
			}
		}
	}
	if len(order) < len(ids) {
		return nil, fmt.Errorf("%w: %s", ErrCycle, strings.Join(findCycle(ids, services, pending), " -> "))
	}
	return order, nil
}

// findCycle walks from the smallest unstarted service along its smallest
// unstarted requirement until a service repeats. Every unstarted service
// has at least one unstarted requirement, so the walk cannot stop early.
func findCycle(ids []string, services map[string][]string, pending map[string]int) []string {
	var start string
	for _, id := range ids {
		if pending[id] > 0 {
			start = id
			break
		}
	}
	seen := map[string]int{}
	var path []string
	for cur := start; ; {
		if i, ok := seen[cur]; ok {
			return append(path[i:], cur)
		}
		seen[cur] = len(path)
		path = append(path, cur)
		next := ""
		for _, r := range services[cur] {
			if pending[r] > 0 && (next == "" || r < next) {
				next = r
			}
		}
		cur = next
	}
}

type idHeap struct{ ids []string }

func (h *idHeap) Len() int           { return len(h.ids) }
func (h *idHeap) Less(i, j int) bool { return h.ids[i] < h.ids[j] }
func (h *idHeap) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *idHeap) Push(x any)         { h.ids = append(h.ids, x.(string)) }
func (h *idHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}
