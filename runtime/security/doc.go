// Package security is everything a node knows about permissions (SPEC
// section 8): the actions it checks, the policies that decide them, the
// identities processes run with, and the Guard that answers every
// question. It imports nothing of the runtime but PIDs, so the runtime,
// the Lua library, the test kit and the cluster all use the one copy.
//
// # Declared and compiled policies
//
// A PolicySpec is a policy as declared (a security.policy entry, plain
// data). Compile checks it and returns a *Policy, the only form evaluation
// reads; the zero Policy matches nothing. Resolve turns the policy ids and
// groups a host, service or scope lists into a Scope.
//
// # Evaluation
//
// The pure evaluator answers "may this actor do this action on this
// resource?" over the policies that apply to one call:
//
//	err := security.Check(callerScope, callerHostPolicies, targetHostPolicies,
//		security.Request{
//			Actor:     actor,                    // nil when the process has none
//			Action:    security.ActionSend,
//			Resources: []string{pidText, name, targetHostID},
//			Meta:      map[string]string{"host": callerHost, "node": nodeName},
//		}, strictMode)
//	if errors.Is(err, security.ErrPermissionDenied) { ... }
//
// The rule: any matching deny denies; otherwise any matching allow allows;
// otherwise the outcome is undefined, which is allowed unless strict mode is
// on. A process started with a narrowed context carries a Chain of
// (actor, scope) layers; CheckNarrowed requires every layer to allow, so a
// narrowing can only remove permissions.
//
// # The guard
//
// A Guard holds one node's policy table, hosts and strict mode, and
// decides the calls of its processes (Caller: an Identity and a Host),
// the identity of each child (Child), and what other nodes ask
// (RemoteCaller). Every refusal wraps ErrPermissionDenied and is counted.
//
// # Between nodes
//
// A chain travels as a RemoteChain: every layer, as its actor and the ids
// of its scope's policies (Identity.Remote). The receiving node resolves
// each layer against its own table (an unknown id refuses) and checks
// every one (AuthorizeRemote, AuthorizeRemoteSpawn); the child of a
// remote spawn gets the identity this node derives from the parent's
// chain and the narrowing asked for (RemoteChild), never one the asking
// node states. So a node trusts another with no more than that node
// would grant.
//
// The files: action.go (the action table), spec.go (declared policies),
// policy.go and pattern.go (compiled policies and their patterns, scopes),
// condition.go, field.go and scalar.go (conditions, the fields they read
// and their comparisons), expr.go (expression policies), evaluate.go (the
// evaluator),
// identity.go (actors, chains, identities), guard.go, narrow.go and
// remote.go (the node's checks).
//
// Invariants: evaluation is deterministic and does no I/O, reads no clock
// and keeps no state; deny always wins over allow, whatever the order of
// policies or layers; a field that is absent satisfies only ne. Compiled
// policies, scopes, chains, identities and actors are immutable and safe
// for concurrent use from any number of goroutines, and so is a Guard.
package security
