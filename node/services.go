package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

// services runs an app's process.service entries under supervision.
type services struct {
	mgr     *supervisor.Manager
	watcher *supervisor.Watcher
}

// newServices builds the supervisor for app's services (nil when none).
func newServices(n *Node, app *entry.Registry, catalog runtime.Catalog) (*services, error) {
	specs, err := supervisor.SpecsOf(app.Services())
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	w, err := supervisor.NewWatcher(supervisor.WatcherConfig{
		Runtime: n.rt, Catalog: catalog, Host: n.workHost(), Logger: n.log,
		// The watcher is the node's own process: it spawns every service
		// and must not narrow them under an identity of its own.
		Self:    func(req *proc.SpawnRequest) { req.System = true },
		Prepare: serviceIdentity(n.policies),
	})
	if err != nil {
		return nil, err
	}
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Services: specs, Processes: w, Logger: n.log})
	if err != nil {
		return nil, err
	}
	return &services{mgr: m, watcher: w}, nil
}

// start starts the services with auto_start, in dependency order. It
// returns once each is running, has failed or keeps restarting.
func (s *services) start(ctx context.Context) error {
	if err := s.watcher.Run(s.mgr); err != nil {
		return err
	}
	return s.mgr.Start(ctx)
}

// stop stops the services in reverse dependency order (CANCEL, then
// terminate after stop_timeout), then the watcher.
func (s *services) stop(ctx context.Context) error {
	err := s.mgr.Stop(ctx)
	if werr := s.watcher.Close(); werr != nil && err == nil {
		err = werr
	}
	return err
}

func (s *services) restart(id string) error {
	err := s.mgr.Restart(id)
	if errors.Is(err, supervisor.ErrUnknownService) {
		return fmt.Errorf("%w: %s", ErrUnknownService, id)
	}
	return err
}

func (s *services) status(st *Status) {
	for _, v := range s.mgr.Status() {
		ss := ServiceStatus{ID: v.ID, State: v.State.String(), Attempts: v.Attempts, Restarts: v.Restarts}
		if !v.PID.IsZero() {
			ss.PID = v.PID.String()
		}
		if v.LastError != nil {
			ss.LastError = v.LastError.Error()
		}
		st.Services = append(st.Services, ss)
	}
}

func (s *services) collect(c *collector, ch chan<- prometheus.Metric) {
	for _, v := range s.mgr.Status() {
		ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(v.Restarts), v.ID)
	}
}
