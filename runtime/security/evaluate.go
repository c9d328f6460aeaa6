package security

import (
	"fmt"
	"strings"
)

// Request is one permission question: may Actor do Action on Resources?
type Request struct {
	// Actor is the caller's identity; nil when the process has none.
	Actor *Actor
	// Action is the action asked for, e.g. ActionSend.
	Action Action
	// Resources are the names the resource goes by; a policy matches when
	// any of them matches. A target-directed action lists the target PID
	// string, the name used (if any) and the target's host id. An empty
	// list is evaluated as the single resource "".
	Resources []string
	// Meta holds request facts for meta.<key> fields: "host" and "node"
	// are the caller's host and node.
	Meta map[string]any
}

// Outcome is the raw result of evaluating policies.
type Outcome uint8

// Outcomes.
const (
	Undefined Outcome = iota // no policy matched
	Allowed                  // an allow matched and no deny did
	Denied                   // a deny matched
)

var outcomeNames = [...]string{"undefined", "allowed", "denied"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Decision is the result of Evaluate.
type Decision struct {
	Outcome Outcome
	// Permitted is the final answer: Allowed, or Undefined outside strict
	// mode.
	Permitted bool
	// Policy is the id of the deciding policy: the first matching deny, or
	// the first matching allow; "" when Undefined.
	Policy string
	// Resource is the resource the deciding policy matched.
	Resource string
}

// Evaluate decides req against policies (SPEC section 8): any matching deny
// gives Denied; otherwise any matching allow gives Allowed; otherwise
// Undefined, which is permitted unless strict. Nil entries are skipped.
func Evaluate(policies []*Policy, req Request, strict bool) Decision {
	var e evaluation
	e.add(policies, &req, req.Resources)
	return e.decision(strict)
}

// evaluation accumulates one decision over several policy lists without
// concatenating them.
type evaluation struct {
	deny, allow   *Policy
	denyResource  string
	allowResource string
}

// add evaluates req against policies. resources are the request's: they
// come apart from req because conditions may keep what they read from req
// (req.Resources is not read), so a caller that builds its resources on
// its stack keeps them there.
func (e *evaluation) add(policies []*Policy, req *Request, resources []string) {
	if e.deny != nil {
		return
	}
	if len(resources) == 0 {
		resources = noResource[:]
	}
	for _, p := range policies {
		if p == nil {
			continue
		}
		if p.spec.Effect == Allow && e.allow != nil {
			continue // one allow is enough; only a deny can change the outcome now
		}
		r, ok := p.matches(req, resources)
		if !ok {
			continue
		}
		if p.spec.Effect == Deny {
			e.deny, e.denyResource = p, r
			return
		}
		e.allow, e.allowResource = p, r
	}
}

var noResource = [1]string{""}

func (e *evaluation) decision(strict bool) Decision {
	switch {
	case e.deny != nil:
		return Decision{Outcome: Denied, Policy: e.deny.ID(), Resource: e.denyResource}
	case e.allow != nil:
		return Decision{Outcome: Allowed, Permitted: true, Policy: e.allow.ID(), Resource: e.allowResource}
	}
	return Decision{Outcome: Undefined, Permitted: !strict}
}

// DeniedError is the error of a denied check. It wraps ErrPermissionDenied.
type DeniedError struct {
	Action Action
	// Resource is the resource the deny matched; for an undefined outcome
	// in strict mode, all the request's resources joined with ", ".
	Resource string
	// Policy is the denying policy's id; "" when nothing allowed the
	// action in strict mode.
	Policy string
	// Actor is the id of the actor that was refused ("" for none); with
	// narrowing it is the actor of the layer that refused.
	Actor string
	// Reason, when set, says why instead of Policy (a refusal no policy
	// made, such as a release the holder's host does not allow).
	Reason string
}

func (e *DeniedError) Error() string {
	why := "no policy allows it (strict mode)"
	switch {
	case e.Reason != "":
		why = e.Reason
	case e.Policy != "":
		why = "denied by " + e.Policy
	}
	return fmt.Sprintf("%s: %s on %s: %s", ErrPermissionDenied, e.Action, e.Resource, why)
}

// Unwrap returns ErrPermissionDenied.
func (e *DeniedError) Unwrap() error { return ErrPermissionDenied }

// Check decides one call against the policies that apply to it: the
// caller's scope, the caller's host's policies and, for an action aimed at
// a process, the target host's policies (nil otherwise). It returns nil when
// permitted and a *DeniedError otherwise.
func Check(callerScope, callerHost, targetHost []*Policy, req Request, strict bool) error {
	res := req.Resources
	req.Resources = nil
	return check(callerScope, callerHost, targetHost, &req, res, strict)
}

// check is Check with the request's resources apart (see evaluation.add).
func check(callerScope, callerHost, targetHost []*Policy, req *Request, resources []string, strict bool) error {
	var e evaluation
	e.add(callerScope, req, resources)
	e.add(callerHost, req, resources)
	e.add(targetHost, req, resources)
	d := e.decision(strict)
	if d.Permitted {
		return nil
	}
	actor := ""
	if req.Actor != nil {
		actor = req.Actor.ID
	}
	res := d.Resource
	if d.Outcome == Undefined {
		res = strings.Join(resources, ", ")
	}
	return &DeniedError{Action: req.Action, Resource: res, Policy: d.Policy, Actor: actor}
}

// CheckNarrowed checks req for every layer of chain, each with its own actor
// (req.Actor is replaced) and scope plus the same host policies, and
// returns the first refusal. An empty chain is checked as one layer with
// req.Actor and an empty scope.
func CheckNarrowed(chain Chain, callerHost, targetHost []*Policy, req Request, strict bool) error {
	res := req.Resources
	req.Resources = nil
	return checkNarrowed(chain, callerHost, targetHost, &req, res, strict)
}

// checkNarrowed is CheckNarrowed with the request's resources apart (see
// evaluation.add); it sets req.Actor.
func checkNarrowed(chain Chain, callerHost, targetHost []*Policy, req *Request, resources []string, strict bool) error {
	if len(chain) == 0 {
		return check(nil, callerHost, targetHost, req, resources, strict)
	}
	for _, l := range chain {
		req.Actor = l.Actor
		if err := check(l.Scope, callerHost, targetHost, req, resources, strict); err != nil {
			return err
		}
	}
	return nil
}
