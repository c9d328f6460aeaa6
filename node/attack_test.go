package node

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport/tcp"
	"github.com/wippyd/wippyd/transport/transporttest"
)

// twoNodes starts a and b, joined and routing to each other.
func twoNodes(t *testing.T, mod func(*Config)) (a, b *Node) {
	t.Helper()
	a = clusterNodeWith(t, "a", mod)
	b = clusterNodeWith(t, "b", mod, a.MembershipAddr())
	await.Until(t, "a and b route to each other", func() bool {
		return a.cluster.cl.PeerUp("b") && b.cluster.cl.PeerUp("a")
	})
	return a, b
}

// roundTrip sends a ping from a process on b to one on a and waits for the
// pong.
func roundTrip(t *testing.T, a, b *Node) {
	t.Helper()
	recv, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		return c.Send(m.From, "pong", m.Payload)
	}))})
	if err != nil {
		t.Fatal(err)
	}
	pongs := make(chan native.Message, 1)
	if _, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&remoteClient{target: recv, pongs: pongs, events: make(chan native.Event, 1)})}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-pongs:
		if v, _ := m.Payload.AsInt(); v != 7 {
			t.Fatalf("pong %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no round trip between b and a\na: %+v\nb: %+v", a.cluster.ep.Stats(), b.cluster.ep.Stats())
	}
}

func rawTCP(t *testing.T) *tcp.Network {
	t.Helper()
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return nw
}

// A raw hello that claims b's name with a new boot id used to make a take
// it for b's restart: a dropped b's session, and b's real life, now
// "replaced", was never taken back. It is refused: membership does not
// list that boot id for b.
func TestForgedHelloDoesNotCutPeerOff(t *testing.T) {
	a, b := twoNodes(t, func(*Config) {})
	h := transporttest.NewHello(DefaultClusterLabel, "b", "a")
	h["boot"] = b.cluster.boot ^ 0xdead
	h["vmax"] = uint16(2)
	r := transporttest.DialRaw(t, rawTCP(t), a.cluster.ep.Addr())
	if _, rej := r.Handshake(h, nil); rej == nil {
		t.Fatal("a forged hello for b was accepted")
	} else if !strings.Contains(fmt.Sprint(rej["reason"]), "not a cluster member") {
		t.Fatalf("forged hello refused with %v", rej)
	}
	r.Conn.Close()
	roundTrip(t, a, b)
	if !a.cluster.cl.PeerUp("b") {
		t.Fatal("a no longer routes to b")
	}
	for _, p := range a.cluster.ep.Stats().Peers {
		if p.Name == "b" && p.Boot != b.cluster.boot {
			t.Fatalf("a's session with b is with boot %x, b is %x", p.Boot, b.cluster.boot)
		}
	}
}

// Thousands of hellos with made-up names, each asking to be dialed back,
// used to create a peer each (with its own outbound loop dialing, and its
// own metric series). Now they create nothing.
func TestGhostNamesCreateNoPeers(t *testing.T) {
	a, b := twoNodes(t, func(*Config) {})
	const ghosts = 2000
	transporttest.SendHellos(t, rawTCP(t), a.cluster.ep.Addr(), ghosts, func(i int) transporttest.Hello {
		h := transporttest.NewHello(DefaultClusterLabel, fmt.Sprintf("ghost-%d", i), "a")
		h["vmax"] = uint16(2)
		h["addr"] = b.MembershipAddr() // somewhere that answers, not a's internode port
		return h
	})
	var names []string
	for _, p := range a.cluster.ep.Stats().Peers {
		names = append(names, p.Name)
	}
	if len(names) != 1 || names[0] != "b" {
		t.Fatalf("a's transport peers after %d ghost hellos: %d, first %v", ghosts, len(names), names[:min(5, len(names))])
	}
	roundTrip(t, a, b)
}

// A node with the cluster's secret admits a member that has it; a rogue
// node with no secret, or with another one, never becomes a member nor
// gets an internode session, and cannot spawn or send.
func TestRogueNodeKeptOut(t *testing.T) {
	keyed := func(key string) func(*Config) {
		return func(c *Config) { c.Cluster.Membership.SecretKey = key }
	}
	a, b := twoNodes(t, keyed(testKey))
	roundTrip(t, a, b)
	for _, tc := range []struct {
		name, key string
	}{
		{"no key", ""},
		{"wrong key", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="},
	} {
		name := "rogue-" + strings.ReplaceAll(tc.name, " ", "-")
		rogue := clusterNodeWith(t, name, keyed(tc.key), a.MembershipAddr())
		// The rogue's join failed at start; give gossip a moment anyway.
		await.Never(t, time.Second, tc.name+": the rogue node is a member", func() bool {
			return slices.ContainsFunc(a.Status().Members, func(m MemberStatus) bool { return m.Name == name })
		})
		// Even told where a's internode port is, it gets no session.
		rogue.cluster.ep.Connect("a", a.cluster.ep.Addr())
		await.Never(t, time.Second, tc.name+": the rogue has a session with a", func() bool {
			peers := rogue.cluster.ep.Stats().Peers
			return rogue.cluster.cl.PeerUp("a") || len(peers) > 0 && peers[0].Boot != 0
		})
		for _, p := range a.cluster.ep.Stats().Peers {
			if p.Name == name {
				t.Fatalf("%s: a has a transport peer for the rogue", tc.name)
			}
		}
	}
}
