package proc

import (
	"strconv"

	"github.com/wippyd/wippyd/runtime/security"
)

// Scope is the consistency guarantee of a registered name (SPEC section
// 9), from the cheapest to the strongest: LOCAL < EVENTUAL < CONSISTENT <
// STRONG. The numbers are the values of Lua's process.registry constants
// and are never renumbered; they are not ordered by strength.
type Scope uint8

// Scopes.
const (
	// ScopeLocal: this node only, no coordination (the default).
	ScopeLocal Scope = 0
	// ScopeConsistent: cluster-wide, one holder, written through Raft.
	ScopeConsistent Scope = 1
	// ScopeEventual: cluster-wide, replicated to every node without
	// coordination; a conflict resolves to one winner on every node.
	ScopeEventual Scope = 2
	// ScopeStrong: CONSISTENT, active only once every live node
	// acknowledged it.
	ScopeStrong Scope = 3
)

// MaxNameLen is the longest name in any scope, in bytes (the cluster
// registry's limit, registry.MaxNameLen, which package node checks equal).
const MaxNameLen = 1024

// Valid reports whether s is one of the four scopes.
func (s Scope) Valid() bool { return s <= ScopeStrong }

// Cluster reports whether s is a cluster-wide scope.
func (s Scope) Cluster() bool { return s != ScopeLocal && s.Valid() }

func (s Scope) String() string {
	switch s {
	case ScopeLocal:
		return "local"
	case ScopeConsistent:
		return "consistent"
	case ScopeEventual:
		return "eventual"
	case ScopeStrong:
		return "strong"
	}
	return "scope(" + strconv.Itoa(int(s)) + ")"
}

// ValidName reports whether name can be registered: 1 to MaxNameLen bytes
// of any content.
func ValidName(name string) bool { return name != "" && len(name) <= MaxNameLen }

// RegisterAction and UnregisterAction are the actions a scope's calls are
// checked as: Wippy's Permissions table, unsuffixed for LOCAL and with the
// scope's suffix for the cluster scopes. s must be valid.
func (s Scope) RegisterAction() security.Action {
	return [...]security.Action{
		ScopeLocal: security.ActionRegister, ScopeConsistent: security.ActionRegisterConsistent,
		ScopeEventual: security.ActionRegisterEventual, ScopeStrong: security.ActionRegisterStrong,
	}[s]
}

// UnregisterAction: see RegisterAction.
func (s Scope) UnregisterAction() security.Action {
	return [...]security.Action{
		ScopeLocal: security.ActionUnregister, ScopeConsistent: security.ActionUnregisterConsistent,
		ScopeEventual: security.ActionUnregisterEventual, ScopeStrong: security.ActionUnregisterStrong,
	}[s]
}
