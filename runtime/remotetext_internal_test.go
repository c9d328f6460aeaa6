package runtime

import (
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

// remoteText gives each PID its own text, whatever was asked before.
func TestRemoteText(t *testing.T) {
	rt := &Runtime{}
	pids := []pid.PID{
		{Node: "n2", Host: "app:a", Seq: 1}, {Node: "n2", Host: "app:a", Seq: 1}, {Node: "n2", Host: "app:a", Seq: 2},
		{Node: "n3", Host: "app:a", Seq: 2}, {Node: "n3", Host: "app:b", Seq: 2}, {Node: "n2", Host: "app:a", Seq: 1},
	}
	for i, p := range pids {
		if got := rt.remoteText(p); got != p.String() {
			t.Fatalf("pid %d: %q, want %q", i, got, p.String())
		}
	}
	p := pids[0]
	if a, b := rt.remoteText(p), rt.remoteText(p); testing.AllocsPerRun(100, func() { rt.remoteText(p) }) != 0 || a != b {
		t.Fatal("the same PID twice is formatted again")
	}
}
