package runtime_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The runtime is a complete single-node runtime: nothing under runtime/
// may import membership, Raft, or this module's cluster, transport,
// registry or node packages (DESIGN.md section 1).
func TestRuntimeImportsNoClusterCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/wippyd/wippyd/runtime/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/hashicorp/memberlist", "github.com/hashicorp/raft",
		"github.com/wippyd/wippyd/cluster", "github.com/wippyd/wippyd/transport",
		"github.com/wippyd/wippyd/registry", "github.com/wippyd/wippyd/node",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too little to be right: %v", deps)
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("runtime/... depends on %s", d)
			}
		}
	}
}
