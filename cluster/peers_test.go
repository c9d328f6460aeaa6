package cluster

import (
	"reflect"
	"testing"
)

// TestPeerTable walks the table through event sequences and checks the
// effects of each step.
func TestPeerTable(t *testing.T) {
	type step struct {
		ev   string // "up", "failed", "sup" (session up), "slost", "sabandoned"
		boot uint64
		addr string
		want []effect
	}
	up := func(b uint64) effect { return effect{kind: effUp, node: "b", boot: b} }
	down := func(b uint64) effect { return effect{kind: effDown, node: "b", boot: b} }
	known := effect{kind: effKnown, node: "b"}
	abandon := effect{kind: effAbandon, node: "b"}
	connect := func(a string) effect { return effect{kind: effConnect, node: "b", addr: a} }
	cases := []struct {
		name  string
		steps []step
	}{
		{"member up, then failed: one down", []step{
			{ev: "up", boot: 1, addr: "b:1", want: []effect{known, connect("b:1"), up(1)}},
			{ev: "up", boot: 1, addr: "b:1"},
			{ev: "failed", boot: 1, want: []effect{down(1), abandon}},
			{ev: "failed", boot: 1},
			{ev: "slost", boot: 1},
			{ev: "sabandoned", boot: 1},
		}},
		{"session first, membership agrees", []step{
			{ev: "sup", boot: 7, want: []effect{known, up(7)}},
			{ev: "up", boot: 7, addr: "b:1", want: []effect{connect("b:1")}},
			{ev: "sup", boot: 7},
		}},
		{"restart seen by membership", []step{
			{ev: "up", boot: 1, addr: "b:1", want: []effect{known, connect("b:1"), up(1)}},
			{ev: "up", boot: 2, addr: "b:1", want: []effect{down(1), abandon, up(2)}},
			// The transport reports the old life lost after: stale.
			{ev: "slost", boot: 1},
			{ev: "sup", boot: 2},
			{ev: "failed", boot: 1}, // about the old life
			{ev: "failed", boot: 2, want: []effect{down(2), abandon}},
		}},
		{"restart seen by the transport", []step{
			{ev: "up", boot: 1, addr: "b:1", want: []effect{known, connect("b:1"), up(1)}},
			{ev: "slost", boot: 1, want: []effect{down(1)}},
			{ev: "sup", boot: 2, want: []effect{up(2)}},
			{ev: "up", boot: 2, addr: "b:1"},
		}},
		{"restart: new session before the old one's loss", []step{
			{ev: "sup", boot: 1, want: []effect{known, up(1)}},
			{ev: "sup", boot: 2, want: []effect{down(1), up(2)}},
			{ev: "slost", boot: 1},
		}},
		{"membership down is not revived by a session", []step{
			{ev: "up", boot: 1, addr: "b:1", want: []effect{known, connect("b:1"), up(1)}},
			{ev: "failed", boot: 1, want: []effect{down(1), abandon}},
			{ev: "sup", boot: 1},
			{ev: "up", boot: 1, addr: "b:1", want: []effect{up(1)}}, // refuted
		}},
		{"transport down is revived by a session", []step{
			{ev: "sup", boot: 1, want: []effect{known, up(1)}},
			{ev: "slost", boot: 1, want: []effect{down(1)}},
			{ev: "sup", boot: 1, want: []effect{up(1)}},
			{ev: "slost", boot: 0, want: []effect{down(1)}}, // queue overflow before the session came up
		}},
		{"member failed then transport: down once", []step{
			{ev: "sup", boot: 3, want: []effect{known, up(3)}},
			{ev: "failed", boot: 0, want: []effect{down(3), abandon}},
			{ev: "slost", boot: 3},
		}},
		{"failed before ever seen: known, down", []step{
			{ev: "failed", boot: 4, want: []effect{known}},
			{ev: "sup", boot: 4},
			{ev: "sup", boot: 5, want: []effect{up(5)}},
		}},
		{"stale session up of the old life after membership saw the new one", []step{
			{ev: "up", boot: 1, addr: "b:1", want: []effect{known, connect("b:1"), up(1)}},
			{ev: "up", boot: 2, addr: "b:1", want: []effect{down(1), abandon, up(2)}},
			{ev: "sup", boot: 1}, // queued by the transport before the restart
			{ev: "sup", boot: 2},
			{ev: "up", boot: 1, addr: "b:1"}, // membership lagging behind
			{ev: "failed", boot: 2, want: []effect{down(2), abandon}},
			{ev: "sup", boot: 1},
			{ev: "up", boot: 3, addr: "b:1", want: []effect{up(3)}},
		}},
		{"stale member up of the old life after the transport saw the new one", []step{
			{ev: "sup", boot: 1, want: []effect{known, up(1)}},
			{ev: "sup", boot: 2, want: []effect{down(1), up(2)}},
			{ev: "up", boot: 1, addr: "b:1"},
			{ev: "up", boot: 2, addr: "b:1", want: []effect{connect("b:1")}},
		}},
		{"our own abandon is ignored", []step{
			{ev: "sup", boot: 1, want: []effect{known, up(1)}},
			{ev: "sabandoned", boot: 1},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := newPeerTable("a")
			for i, s := range tc.steps {
				var got []effect
				switch s.ev {
				case "up":
					got = tb.memberUp("b", s.addr, s.boot)
				case "failed":
					got = tb.memberDown("b", s.boot)
				case "sup":
					got = tb.sessionUp("b", s.boot)
				case "slost":
					got = tb.sessionLost("b", s.boot, false)
				case "sabandoned":
					got = tb.sessionLost("b", s.boot, true)
				}
				if !reflect.DeepEqual(got, s.want) {
					t.Fatalf("step %d (%s boot %d): effects %+v, want %+v", i, s.ev, s.boot, got, s.want)
				}
			}
		})
	}
}

func TestPeerTableIgnoresSelf(t *testing.T) {
	tb := newPeerTable("a")
	if e := tb.memberUp("a", "x", 1); e != nil {
		t.Fatal(e)
	}
	if e := tb.sessionUp("a", 1); e != nil {
		t.Fatal(e)
	}
	if e := tb.memberDown("a", 1); e != nil {
		t.Fatal(e)
	}
	if known, _, _ := tb.state("a"); known {
		t.Fatal("self is a peer")
	}
}
