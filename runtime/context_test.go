package runtime_test

import (
	"slices"
	"testing"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Context values (process.with_context, the ctx module): a child gets its
// parent's with what its spawner adds laid over them; a remote spawn
// carries the merged values; from outside they are as given.
func TestSpawnContext(t *testing.T) {
	r := &captureRouter{}
	rt := newSecRuntime(t, secConfig{router: r})
	ctxOf := func(vals map[string]msg.Value) msg.Value { return msg.StringMap(vals) }
	given := ctxOf(map[string]msg.Value{"request_id": msg.String("r-1"), "user": msg.String("ada")})
	got := make(chan string, 4)
	child := func(c *native.Ctx, _ []msg.Value) error {
		got <- c.Env().Context().String()
		c.Stop(msg.Nil)
		return nil
	}
	err := as(t, rt, proc.SpawnRequest{Context: given}, func(c *native.Ctx) error {
		if s := c.Env().Context().String(); s != given.String() {
			t.Errorf("as given: %s", s)
		}
		if _, err := c.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: child})}); err != nil {
			return err
		}
		over := ctxOf(map[string]msg.Value{"user": msg.String("grace"), "trace": msg.Int(7)})
		if _, err := c.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: child}), Context: over}); err != nil {
			return err
		}
		if _, err := c.Spawn(proc.SpawnRequest{Entry: "app:w", Host: "n2@" + hostProcs, Context: over}); err != nil {
			return err
		}
		_, err := c.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: child}), Context: msg.String("not a map")})
		if proc.AsError(err).Kind != proc.KindInvalid {
			t.Errorf("a context that is not a map: %v", err)
		}
		return nil
	})
	wantAllowed(t, "spawns", err)
	// The two children run concurrently: their reports come in any order.
	merged := `{"request_id": "r-1", "trace": 7, "user": "grace"}`
	reports := []string{<-got, <-got}
	slices.Sort(reports)
	want := []string{given.String(), merged}
	slices.Sort(want)
	if !slices.Equal(reports, want) {
		t.Errorf("children's contexts %q, want the parent's (plain child) and %s (child with context)", reports, merged)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spawns) != 1 || r.spawns[0].Context.String() != merged {
		t.Fatalf("remote spawn carries %+v, want %s", r.spawns, merged)
	}
}

var _ runtime.Router = (*captureRouter)(nil)
