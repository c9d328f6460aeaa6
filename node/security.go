package node

import (
	"errors"
	"fmt"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/host"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

// policyTable builds the app's security.policy entries, by entry id.
func policyTable(app *entry.Registry) (map[string]*host.Policy, error) {
	table := map[string]*host.Policy{}
	var errs []error
	for _, e := range app.ByKind(entry.KindPolicy) {
		p := e.Policy
		spec := host.Policy{ID: e.ID, Actions: p.Actions, Resources: p.Resources, Effect: host.Effect(p.Effect), Groups: p.Groups}
		for _, c := range p.Conditions {
			spec.Conditions = append(spec.Conditions, host.Condition{
				Field: c.Field, Operator: host.Operator(c.Operator), Value: plainValue(c.Value), ValueFrom: c.ValueFrom,
			})
		}
		pol, err := host.NewPolicy(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %w", e.File, e.Line, e.ID, err))
			continue
		}
		table[e.ID] = pol
	}
	return table, errors.Join(errs...)
}

// plainValue turns a payload value into the Go scalar or list a policy
// condition compares with.
func plainValue(v msg.Value) any {
	switch v.Kind() {
	case msg.KindBool:
		b, _ := v.AsBool()
		return b
	case msg.KindInt:
		i, _ := v.AsInt()
		return i
	case msg.KindFloat:
		f, _ := v.AsFloat()
		return f
	case msg.KindString:
		s, _ := v.AsString()
		return s
	case msg.KindList:
		var out []any
		for _, it := range v.Items() {
			out = append(out, plainValue(it))
		}
		return out
	case msg.KindNil:
		return nil
	}
	return v.String()
}

// applyHostPolicies gives each host its resolved policies.
func applyHostPolicies(app *entry.Registry, hosts []runtime.HostConfig, table map[string]*host.Policy) error {
	for i := range hosts {
		e, ok := app.Get(hosts[i].ID)
		if !ok || e.Host == nil {
			continue
		}
		scope, err := host.Resolve(e.Host.Security.Policies, e.Host.Security.Groups, table)
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
func serviceIdentity(table map[string]*host.Policy) func(supervisor.ServiceSpec, *proc.SpawnRequest) error {
	return func(svc supervisor.ServiceSpec, req *proc.SpawnRequest) error {
		if svc.Entry == nil || svc.Entry.Service == nil {
			return nil
		}
		s := svc.Entry.Service
		if s.Actor != nil {
			meta := map[string]any{}
			for k, v := range s.Actor.Meta {
				meta[k] = plainValue(v)
			}
			req.Actor = &host.Actor{ID: s.Actor.ID, Meta: meta}
		}
		scope, err := host.Resolve(s.Security.Policies, s.Security.Groups, table)
		if err != nil {
			return fmt.Errorf("service %s: %w", svc.ID, err)
		}
		req.Scope = scope
		return nil
	}
}
