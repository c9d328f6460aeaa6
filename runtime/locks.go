package runtime

import (
	"context"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// ErrNoLocks answers system.lock on a node without a lock service.
var ErrNoLocks = proc.NewError(proc.KindInternal,
	"system.lock is not available on this node: it needs the cluster's Raft registry (cluster.enabled, cluster.raft.enabled)", msg.False)

var _ proc.Locks = (*process)(nil)

// AcquireLock implements proc.Locks: checked with system.lock on the
// name, then taken through the lock service (off the worker: it waits
// for a Raft commit).
func (p *process) AcquireLock(name string) error {
	if err := p.lockCheck(name); err != nil {
		return err
	}
	var err error
	p.Blocking(func() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		err = p.rt.cfg.Locks.AcquireLock(ctx, name, p.pid)
	})
	return err
}

// ReleaseLock implements proc.Locks.
func (p *process) ReleaseLock(name string) (bool, error) {
	if err := p.lockCheck(name); err != nil {
		return false, err
	}
	var (
		ok  bool
		err error
	)
	p.Blocking(func() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		ok, err = p.rt.cfg.Locks.ReleaseLock(ctx, name, p.pid)
	})
	return ok, err
}

func (p *process) lockCheck(name string) error {
	if name == "" || len(name) > proc.MaxLockName {
		return proc.Errorf(proc.KindInvalid, msg.False, "lock name must be 1 to %d bytes", proc.MaxLockName)
	}
	if err := p.authorize(security.ActionSystemLock, name); err != nil {
		return err
	}
	if p.rt.cfg.Locks == nil {
		return ErrNoLocks
	}
	return nil
}
