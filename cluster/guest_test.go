package cluster_test

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// A message that readies its receiver on an idle node may be run by the
// connection's reader itself. When that process then blocks its turn (a
// registry call, a lock), the reader hands its reading on: the sending
// node's next messages still arrive, and are answered, while the turn
// blocks.
func TestBlockedTurnDoesNotStopThePeer(t *testing.T) {
	a, c := tcpPair(t, nil)
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	blocker, err := c.rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		blocked <- struct{}{}
		ctx.Env().Blocking(func() { <-release })
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	server, err := c.rt.Spawn(proc.SpawnRequest{Behavior: native.New(echo{})})
	if err != nil {
		t.Fatal(err)
	}
	pongs := make(chan struct{}, 1)
	client, err := a.rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		switch m.Topic {
		case "go":
			return ctx.Send(server, "ping", msg.Nil)
		case "re:ping":
			pongs <- struct{}{}
		}
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatal(what)
		}
	}
	// The blocking turn must have run on a reader for the test to mean
	// anything: the node may have had no parked worker at that moment (a
	// loaded machine), so it tries a few times.
	for try := 0; c.ep.Stats().ReadersDetached == 0; try++ {
		if try == 20 {
			t.Fatal("no blocking turn ran on a connection's reader in 20 tries")
		}
		if err := a.rt.Send(pid.PID{}, blocker, "block", msg.Nil); err != nil {
			t.Fatal(err)
		}
		wait(blocked, "the blocker never ran")
		if c.ep.Stats().ReadersDetached == 0 {
			release <- struct{}{}
			continue
		}
		for i := 0; i < 3; i++ {
			a.rt.Send(pid.PID{}, client, "go", msg.Nil)
			wait(pongs, "no reply from the blocked process's node while its turn blocks")
		}
	}
	close(release)
}
