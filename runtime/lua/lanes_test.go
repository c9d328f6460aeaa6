package lua

import (
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/proc"
)

// longStep starts a loop that runs far past a 1 ms slice on an engine with
// one lane, takes that lane first, and returns the process once it waits
// for it, with the channel its Step's status arrives on.
func longStep(t *testing.T) (*harness, *process, <-chan proc.Status) {
	t.Helper()
	h := newHarnessWith(t, func(c *Config) { c.Slice = time.Millisecond; c.Lanes = 1 })
	h.cat.add("t:long", `return {main = function()
  local x = 0
  for i = 1, 2e6 do x = x + 1 end
  for m in string.gmatch(("a"):rep(2e5), "a") do x = x + 1 end
  return x
end}`)
	h.start("t:long")
	h.eng.lanes <- struct{}{} // another long Step holds the only lane
	done := make(chan proc.Status, 1)
	go func() { done <- h.step() }()
	p := h.b.(*process)
	await.Until(t, "the Step to wait for a lane", func() bool { return p.lane.Load() != nil || len(done) > 0 })
	if len(done) > 0 {
		t.Fatalf("the Step ended (%v) without waiting for a lane", <-done)
	}
	return h, p, done
}

// TestLongStepTakesTurns: a Step past its slice runs only on a lane.
func TestLongStepTakesTurns(t *testing.T) {
	h, _, done := longStep(t)
	select {
	case st := <-done:
		t.Fatalf("the Step ran on (%v) while the only lane was taken", st)
	case <-time.After(50 * time.Millisecond):
	}
	<-h.eng.lanes // the other Step's slice is over
	select {
	case st := <-done:
		if v, _ := h.res.Value.AsInt(); st != proc.StatusDone || v != 2e6+2e5 {
			t.Fatalf("%v %v %v", st, h.res.Value, h.res.Err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the Step did not finish once the lane was free")
	}
	if len(h.eng.lanes) != 0 {
		t.Fatal("the lane was not given back at the end of the Step")
	}
}

// TestInterruptWhileWaitingForLane: terminate reaches a Step waiting for a
// lane.
func TestInterruptWhileWaitingForLane(t *testing.T) {
	h, p, done := longStep(t)
	p.Interrupt()
	select {
	case st := <-done:
		if st != proc.StatusDone || h.res.Err == nil || !strings.Contains(h.res.Err.Error(), "interrupted") {
			t.Fatalf("%v %v", st, h.res.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the interrupt did not end the wait")
	}
	<-h.eng.lanes
}
