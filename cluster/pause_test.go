package cluster_test

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/cluster/clustertest"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

// TestPauseResume: a node paused long enough to be declared dead (its
// traffic held back, not lost, as SIGSTOP does), then resumed with the
// same life, is reachable again both ways as soon as membership says it
// is up, round after round, with traffic in flight at every pause.
func TestPauseResume(t *testing.T) {
	const rounds, burst = 6, 200
	c := clustertest.New(t, 3)
	rt0, rt1 := c.Node(0).Runtime, c.Node(1).Runtime
	echo1, err := rt1.Spawn(proc.SpawnRequest{Behavior: native.New(echo{})})
	if err != nil {
		t.Fatal(err)
	}
	echo0, err := rt0.Spawn(proc.SpawnRequest{Behavior: native.New(echo{})})
	if err != nil {
		t.Fatal(err)
	}
	p0, p1 := newProbe(), newProbe()
	at0, at1 := p0.spawnReady(t, rt0), p1.spawnReady(t, rt1)
	// reaches sends pings from a probe to an echo until one comes back:
	// what got lost while a session was abandoned is not asked for.
	reaches := func(round int, what string, send func(i int64) error, ch chan any) {
		t.Helper()
		var i int64
		await.Within(t, 10*time.Second, what, func() bool {
			for len(ch) > 0 {
				if m, ok := (<-ch).(native.Message); ok && m.Topic == "re:ping" {
					if got, _ := m.Payload.AsInt(); got == int64(round) {
						return true
					}
				}
			}
			i++
			if i%20 == 1 { // every ~20 polls, another ping
				send(int64(round))
			}
			return false
		})
	}
	for round := range rounds {
		// In flight at the pause: a burst from n0 to n1 and back.
		for i := range burst {
			rt0.Send(at0, echo1, "burst", msg.Int(int64(i)))
		}
		c.Pause(1)
		await.Until(t, "n0 and n2 see n1 down", func() bool {
			return !c.Node(0).Cluster.PeerUp("n1") && !c.Node(2).Cluster.PeerUp("n1")
		})
		c.Resume(1)
		reaches(round, "n0 reaches n1 after resume", func(v int64) error { return rt0.Send(at0, echo1, "ping", msg.Int(v)) }, p0.ch)
		reaches(round, "n1 reaches n0 after resume", func(v int64) error { return rt1.Send(at1, echo0, "ping", msg.Int(v)) }, p1.ch)
	}
}
