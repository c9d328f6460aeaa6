// Package host is where a node's hosts live: named pools of processes, each
// with its own capabilities and security policy (SPEC section 8). So far it
// holds the pure part, the policy evaluator; the host runtime that uses it
// comes on top.
//
// The evaluator answers "may this actor do this action on this resource?".
// Policies (security.policy entries) are compiled once with NewPolicy, which
// validates them and compiles their patterns and regexps; Resolve turns the
// policy ids and groups a host, service or scope lists into a Scope.
// A call is decided by Check over the policies that apply to it:
//
//	err := host.Check(callerScope, callerHostPolicies, targetHostPolicies,
//		host.Request{
//			Actor:     actor,                    // nil when the process has none
//			Action:    "process.send",
//			Resources: []string{pidString, name, targetHostID},
//			Meta:      map[string]string{"host": callerHost, "node": nodeName},
//		}, strictMode)
//	if errors.Is(err, host.ErrPermissionDenied) { ... }
//
// The rule: any matching deny denies; otherwise any matching allow allows;
// otherwise the outcome is undefined, which is allowed unless strict mode is
// on. A process started with a narrowed context carries a Chain of
// (actor, scope) layers; CheckNarrowed requires every layer to allow, so a
// narrowing can only remove permissions.
//
// Invariants: evaluation is deterministic and does no I/O, reads no clock
// and keeps no state; deny always wins over allow, whatever the order of
// policies or layers; a field that is absent satisfies only ne. Built
// policies, scopes, chains and actors are immutable and safe for
// concurrent use from any number of goroutines; a Policy not made by
// NewPolicy makes evaluation panic rather than be ignored.
package host
