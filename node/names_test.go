package node

import (
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The runtime checks names against its own limit before any plane sees
// them; it must be the cluster registry's.
func TestNameLimitsAgree(t *testing.T) {
	if proc.MaxNameLen != registry.MaxNameLen {
		t.Fatalf("proc.MaxNameLen %d, registry.MaxNameLen %d", proc.MaxNameLen, registry.MaxNameLen)
	}
}
