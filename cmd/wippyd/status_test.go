package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/node"
)

func TestPrintStatus(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, node.Status{
		Node: "n1", Version: "v", Ready: true, UptimeS: 61, Processes: 3,
		Messages: node.MessageStatus{SentLocal: 5, Dropped: map[string]uint64{"noproc": 2, "unread": 0}},
		Hosts:    []node.HostStatus{{ID: "app:processes", Processes: 3, ByState: map[string]int{"idle": 2, "ready": 1, "running": 0}}},
		Services: []node.ServiceStatus{{ID: "app:svc", State: "failed", Restarts: 4, LastError: "boom"}},
		Raft: &node.RaftStatus{State: "leader", Leader: "n1", CommitIndex: 9,
			Names: []node.NameStatus{{Name: "coordinator", PID: "{n2@app:processes|0x00007}"}}},
	})
	out := b.String()
	for _, want := range []string{"node n1 (wippyd v), ready, up 1m1s", "dropped: noproc=2\n", "idle=2 ready=1\n",
		"app:svc", "failed", "boom", "raft: leader, leader n1, commit index 9",
		"CONSISTENT NAME  OWNER\ncoordinator      {n2@app:processes|0x00007}\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "unread") || strings.Contains(out, "running=") || strings.Contains(out, "listed up to") {
		t.Errorf("zero counts printed:\n%s", out)
	}
}

func TestPrintStatusNamesOmitted(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, node.Status{Node: "n1", Raft: &node.RaftStatus{State: "follower", NamesOmitted: 250}})
	out := b.String()
	if want := "250 consistent names (listed up to 100)\n"; !strings.Contains(out, want) {
		t.Errorf("status output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "CONSISTENT NAME") {
		t.Errorf("empty name table printed:\n%s", out)
	}
}
