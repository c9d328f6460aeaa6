package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// DefaultStopGrace is Config.StopGrace's default.
const DefaultStopGrace = time.Second

const (
	// killWait is how long Stop waits for terminated processes to end
	// before it gives up on them: a Go-native callback that never returns
	// cannot be forced, and must not hold the node's stop.
	killWait = 2 * time.Second
	// schedWait bounds the wait for the schedulers' goroutines once every
	// process has ended: they only have to notice the stop, so reaching
	// it means something is wrong; stuckWait is the wait when processes
	// were given up on, whose goroutines will not return.
	schedWait = 10 * time.Second
	stuckWait = 500 * time.Millisecond
	// drainTick is how often Stop looks again at the processes still
	// running; a process's end wakes it sooner.
	drainTick = 20 * time.Millisecond
)

// ErrStuck: Stop terminated processes that did not end, or left worker
// goroutines running process code (a Go-native callback that never
// returns). The node can still exit; those goroutines are abandoned.
var ErrStuck = errors.New("runtime: processes stuck at stop")

// Stop ends the runtime. New spawns are refused; every process gets CANCEL
// ("runtime stopping") and is terminated if it has not ended its host's
// cancel_timeout later (Config.StopGrace on a host without one). The
// node's own processes (SpawnRequest.System) get theirs only once every
// other process has ended, so that a watcher sees what it watches end.
// When ctx ends first, every process left is terminated at once. Then the
// schedulers stop. Stop never waits more than a few seconds past ctx or
// the graces for processes that do not end when terminated: it gives up on
// them and returns ErrStuck. It returns nil for a stop where every process
// ended by its grace, an error wrapping ctx's when ctx ended first.
// Stop is idempotent; later calls return nil.
func (rt *Runtime) Stop(ctx context.Context) error {
	var err error
	rt.stopOnce.Do(func() {
		rt.stopping.Store(true)
		err = rt.stopProcesses(ctx)
		wait := schedWait
		if errors.Is(err, ErrStuck) {
			wait = stuckWait
		}
		if stuck := rt.stopSchedulers(wait); stuck > 0 && !errors.Is(err, ErrStuck) {
			err = errors.Join(err, fmt.Errorf("%w: %d worker goroutines abandoned in process code", ErrStuck, stuck))
		}
	})
	return err
}

// stopProcesses cancels and drains the processes, the node's own last.
func (rt *Runtime) stopProcesses(ctx context.Context) error {
	var errs []error
	for _, system := range []bool{false, true} {
		rt.procs.each(func(p *process) {
			if p.internal() == system {
				rt.cancel(nil, pid.PID{}, p.pid, "runtime stopping", nil)
			}
		})
		err := rt.drain(ctx, system)
		if ctx.Err() != nil {
			return rt.killRest(ctx)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// graceOf is how long a process of h has to end after the CANCEL of a stop.
func (rt *Runtime) graceOf(h *host) time.Duration {
	if d := h.cfg.CancelTimeout; d > 0 {
		return d
	}
	return rt.cfg.StopGrace
}

// drain waits for the processes of one kind (the node's own or the
// others) to end, terminating each once its grace has passed. It returns
// ctx's error if ctx ends first, ErrStuck if every process left has been
// terminated killWait ago and some are still running.
func (rt *Runtime) drain(ctx context.Context, system bool) error {
	start := time.Now()
	tick := time.NewTicker(drainTick)
	defer tick.Stop()
	var allKilled time.Time // since when every process left has been terminated
	for {
		now := time.Now()
		left, waiting := 0, 0
		rt.procs.each(func(p *process) {
			if p.internal() != system {
				return
			}
			left++
			if p.kill.Load() != nil {
				return
			}
			if now.Sub(start) < rt.graceOf(p.host) {
				waiting++
				return
			}
			rt.cancelKill(p, nil)
		})
		switch {
		case left == 0:
			return nil
		case waiting > 0:
			allKilled = time.Time{}
		case allKilled.IsZero():
			allKilled = now
		case now.Sub(allKilled) >= killWait:
			return fmt.Errorf("%w: %d terminated processes did not end (abandoned)", ErrStuck, left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rt.exited:
		case <-tick.C:
		}
	}
}

// killRest terminates every process left once ctx has ended and waits a
// little for them.
func (rt *Runtime) killRest(ctx context.Context) error {
	n := 0
	rt.procs.each(func(p *process) {
		n++
		rt.kill(p, proc.ErrTerminated, nil)
	})
	wctx, cancel := context.WithTimeout(context.Background(), killWait)
	defer cancel()
	if !rt.waitEmpty(wctx) {
		left := rt.procs.len()
		return fmt.Errorf("runtime: %d processes outlived the stop: %w; %w: %d did not end", n, ctx.Err(), ErrStuck, left)
	}
	return fmt.Errorf("runtime: %d processes outlived the stop and were terminated: %w", n, ctx.Err())
}

// stopSchedulers stops the node pool and the hosts' own pools, waiting at
// most wait for their goroutines; it returns how many it left behind.
func (rt *Runtime) stopSchedulers(wait time.Duration) int {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stuck := rt.sched.StopWithin(ctx)
	for _, s := range rt.pools {
		stuck += s.StopWithin(ctx)
	}
	return stuck
}

// waitEmpty waits until the process table is empty or ctx is done.
func (rt *Runtime) waitEmpty(ctx context.Context) bool {
	for rt.procs.len() > 0 {
		select {
		case <-rt.exited:
		case <-ctx.Done():
			return rt.procs.len() == 0
		case <-time.After(50 * time.Millisecond):
			// re-check: the exited signal is a hint, coalesced
		}
	}
	return true
}

// internal reports whether p is one of the node's own processes
// (SpawnRequest.System): it never counts against its host's limits and
// stops last.
func (p *process) internal() bool { return p.sec.System() }
