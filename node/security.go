package node

import (
	"fmt"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

// policyTable returns the app's security.policy and security.policy.expr
// entries (compiled when they were loaded), by entry id.
func policyTable(app *entry.Registry) map[string]*security.Policy {
	table := map[string]*security.Policy{}
	for _, kind := range []string{entry.KindPolicy, entry.KindPolicyExpr} {
		for _, e := range app.ByKind(kind) {
			table[e.ID] = e.Policy
		}
	}
	return table
}

// applyHostPolicies gives each host its resolved policies.
func applyHostPolicies(app *entry.Registry, hosts []runtime.HostConfig, table map[string]*security.Policy) error {
	for i := range hosts {
		e, ok := app.Get(hosts[i].ID)
		if !ok || e.Host == nil {
			continue
		}
		scope, err := security.Resolve(e.Host.Security.Policies, e.Host.Security.Groups, table)
		if err != nil {
			return fmt.Errorf("host %s: %w", e.ID, err)
		}
		hosts[i].Policies = scope
	}
	return nil
}

// serviceIdentity completes a service's spawn request with the actor and
// policies of its lifecycle.security section (none: the service runs with
// no actor and no scope of its own).
func serviceIdentity(table map[string]*security.Policy) func(supervisor.ServiceSpec, *proc.SpawnRequest) error {
	return func(svc supervisor.ServiceSpec, req *proc.SpawnRequest) error {
		if svc.Entry == nil || svc.Entry.Service == nil {
			return nil
		}
		s := svc.Entry.Service
		req.Actor = s.Actor
		scope, err := security.Resolve(s.Security.Policies, s.Security.Groups, table)
		if err != nil {
			return fmt.Errorf("service %s: %w", svc.ID, err)
		}
		req.Scope = scope
		return nil
	}
}
