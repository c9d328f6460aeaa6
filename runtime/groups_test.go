package runtime_test

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Reserved topics (a '@' first) are the node's own: Notify delivers one
// from the zero PID, and a peer's envelope with one is dropped as denied.
func TestReservedTopics(t *testing.T) {
	rt := newRuntime(t, nil)
	pr := newProbe()
	p := pr.spawn(t, rt)
	rt.Notify(p, proc.TopicGroupEvent, msg.Int(7))
	if m := recv[native.Message](t, pr.ch); m.Topic != proc.TopicGroupEvent || !m.From.IsZero() {
		t.Fatalf("notify: %+v", m)
	}
	before := rt.Counters().Dropped[runtime.DropPolicy]
	remote := pid.PID{Node: "n2", Host: "app:processes", Seq: 3}
	rt.Deliver(&runtime.Envelope{Kind: runtime.SigMessage, From: remote, To: p, Topic: proc.TopicGroupEvent, Payload: msg.Int(1)})
	rt.Deliver(&runtime.Envelope{Kind: runtime.SigMessage, To: p, Topic: "@x"})
	expectNothing(t, pr.ch, 30*time.Millisecond)
	await.Until(t, "both counted", func() bool { return rt.Counters().Dropped[runtime.DropPolicy] == before+2 })
	rt.Notify(p, "plain", msg.Nil) // only reserved topics
	expectNothing(t, pr.ch, 30*time.Millisecond)
}
