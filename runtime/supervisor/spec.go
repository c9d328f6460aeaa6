package supervisor

import (
	"fmt"
	"slices"

	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/msg"
)

// ServiceSpec is one service as the Manager sees it: what to run, where,
// when, and under which restart policy.
type ServiceSpec struct {
	// ID is the service's entry id (namespace:name); unique in a Manager.
	ID string
	// Process is the entry id of the process to run (a process.lua entry,
	// or a Go-native one the Processes implementation knows).
	Process string
	// Host is the host id to run it on; "" = the Processes default.
	Host string
	// Input are the arguments to the process's main.
	Input []msg.Value
	// AutoStart starts the service with Manager.Start.
	AutoStart bool
	// Requires are the ids of services that must be running before this
	// one starts, and that stop only after it stopped.
	Requires []string
	// Policy is the restart policy with the start, stop and stable
	// timeouts.
	Policy Policy
	// Entry is the process.service entry the spec was made from (nil when
	// built by hand). The manager does not read it; it is there for a
	// Processes implementation that needs more of the entry (security).
	Entry *entry.Entry
}

// SpecOf converts a loaded process.service entry into a ServiceSpec. The
// entry's defaults (SPEC section 3) are already applied by the loader.
func SpecOf(e *entry.Entry) (ServiceSpec, error) {
	if e == nil || e.Service == nil {
		return ServiceSpec{}, fmt.Errorf("%w: entry is not a process.service", ErrInvalidConfig)
	}
	s := e.Service
	spec := ServiceSpec{
		ID:        e.ID,
		Process:   s.Process,
		Host:      s.Host,
		Input:     slices.Clone(s.Input),
		AutoStart: s.AutoStart,
		Requires:  slices.Clone(s.Requires),
		Policy: Policy{
			MaxAttempts:     s.Restart.MaxAttempts,
			InitialDelay:    s.Restart.InitialDelay,
			MaxDelay:        s.Restart.MaxDelay,
			BackoffFactor:   s.Restart.BackoffFactor,
			Jitter:          s.Restart.Jitter,
			StableThreshold: s.StableThreshold,
			StartTimeout:    s.StartTimeout,
			StopTimeout:     s.StopTimeout,
		},
		Entry: e,
	}
	if err := spec.Policy.Validate(); err != nil {
		return ServiceSpec{}, fmt.Errorf("%s: %w", e.ID, err)
	}
	return spec, nil
}

// SpecsOf converts every process.service entry of a registry (pass
// Registry.Services()), stopping at the first error.
func SpecsOf(services []*entry.Entry) ([]ServiceSpec, error) {
	specs := make([]ServiceSpec, 0, len(services))
	for _, e := range services {
		s, err := SpecOf(e)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}
