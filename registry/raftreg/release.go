package raftreg

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
)

// jobKind is a change the registry makes on its own and retries until it
// commits.
type jobKind uint8

const (
	jobReleasePID        jobKind = iota + 1 // a process ended
	jobUnregisterIfOwned                    // after a register of unknown outcome
	jobReleaseNode                          // a node died or left; leader only
	jobAbort                                // a STRONG reservation not acknowledged or expired
	jobLockRelease                          // a lock of a dead node, after the grace (locks.go)
)

// jobKey identifies a job; adding a job already queued does nothing.
type jobKey struct {
	kind jobKind
	name string
	node string
	pid  pid.PID
}

func (k jobKey) command() fsm.Command {
	switch k.kind {
	case jobReleasePID:
		return fsm.ReleasePID{PID: k.pid}
	case jobUnregisterIfOwned:
		return fsm.UnregisterIfOwned{Name: k.name, Owner: k.pid}
	case jobAbort:
		return fsm.Abort{Name: k.name, PID: k.pid}
	case jobLockRelease:
		return fsm.LockRelease{Name: k.name, Owner: k.pid}
	}
	return fsm.ReleaseNode{Node: k.node}
}

type job struct {
	key       jobKey
	attempts  int
	due       time.Time
	running   bool
	cancelled bool          // drop after the running attempt
	done      chan struct{} // closed when the running attempt ends
}

// releaser runs the jobs: up to ReleaseParallel at once, each retried with
// a doubling backoff (ReleaseBackoffMin up to ReleaseBackoffMax) until it
// commits. The queue grows with the releases that cannot commit (a
// minority partition where processes keep ending): one small entry per
// job, visible as Stats.ReleasesPending. A scan of the queue runs per wake
// up, so it is meant for thousands of jobs, not millions.
type releaser struct {
	r    *Registry
	mu   sync.Mutex
	jobs map[jobKey]*job
	busy int
	wake chan struct{}
}

func (q *releaser) init(r *Registry) {
	q.r = r
	q.jobs = make(map[jobKey]*job)
	q.wake = make(chan struct{}, 1)
}

func (q *releaser) add(k jobKey) { q.addAt(k, time.Time{}) }

// addAt adds job k, due at due (at once for the zero time); a job k
// already queued keeps its own.
func (q *releaser) addAt(k jobKey, due time.Time) {
	q.mu.Lock()
	if _, ok := q.jobs[k]; !ok {
		q.jobs[k] = &job{key: k, due: due}
	}
	q.mu.Unlock()
	signal(q.wake)
}

// cancel drops the job k. If an attempt is running, the job goes when it
// ends, and the returned channel closes then; nil otherwise.
func (q *releaser) cancel(k jobKey) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.jobs[k]
	switch {
	case j == nil:
		return nil
	case j.running:
		j.cancelled = true
		return j.done
	}
	delete(q.jobs, k)
	return nil
}

func (q *releaser) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

func (q *releaser) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := q.startDue(time.Now())
		if next > 0 {
			t.Reset(next)
		}
		select {
		case <-q.wake:
		case <-t.C:
		case <-q.r.stopping:
			return
		}
	}
}

// startDue starts the jobs that are due, while there is room, and returns
// the wait until the next one is due (0: none waiting on time).
func (q *releaser) startDue(now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	var next time.Duration
	for _, j := range q.jobs {
		if j.running {
			continue
		}
		if wait := j.due.Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		if q.busy >= q.r.cfg.ReleaseParallel {
			break
		}
		j.running = true
		j.done = make(chan struct{})
		q.busy++
		if !q.r.track.start(func() { q.attempt(j) }) {
			j.running = false
			close(j.done)
			q.busy--
			return 0
		}
	}
	return next
}

func (q *releaser) attempt(j *job) {
	done := q.r.runJob(j.key)
	q.mu.Lock()
	q.busy--
	j.running = false
	close(j.done)
	if done || j.cancelled {
		delete(q.jobs, j.key)
	} else {
		j.attempts++
		j.due = time.Now().Add(q.backoff(j.attempts))
	}
	q.mu.Unlock()
	signal(q.wake)
}

func (q *releaser) backoff(attempts int) time.Duration {
	d := q.r.cfg.ReleaseBackoffMin
	for i := 1; i < attempts && d < q.r.cfg.ReleaseBackoffMax; i++ {
		d *= 2
	}
	return min(d, q.r.cfg.ReleaseBackoffMax)
}

// runJob makes one attempt and reports whether the job is finished:
// committed, or pointless (a node release on a node that no longer leads:
// the next leader reconciles).
func (r *Registry) runJob(k jobKey) bool {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ApplyTimeout)
	defer cancel()
	if k.kind == jobReleaseNode {
		e := r.lead.Load()
		if e == nil {
			return true
		}
		data, err := fsm.EncodeCommand(k.command())
		if err != nil {
			return true
		}
		res, err := r.proposeLocal(ctx, e, data)
		if err == nil {
			r.log.Info("released the names of a node", "node", k.node, "index", res.index)
		}
		return err == nil
	}
	_, err := r.change(ctx, k.command(), true)
	switch {
	case err == nil:
		return true
	case errors.Is(err, registry.ErrClosed):
		return true
	}
	return false
}
