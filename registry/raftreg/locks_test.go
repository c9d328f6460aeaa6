package raftreg

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

func TestLockBasics(t *testing.T) {
	c := startCluster(t, 3)
	a, b := ppid("n1", 1), ppid("n2", 1)
	ctx := ctxT(t, 10*time.Second)
	if err := c.reg("n2").AcquireLock(ctx, "job", a); err != nil {
		t.Fatal(err)
	}
	if err := c.reg("n1").AcquireLock(ctx, "job", a); err != nil {
		t.Fatalf("the holder again: %v", err)
	}
	if err := c.reg("n3").AcquireLock(ctx, "job", b); !errors.Is(err, registry.ErrAlreadyExists) {
		t.Fatalf("another: %v", err)
	}
	if ok, err := c.reg("n3").ReleaseLock(ctx, "job", b); ok || err != nil {
		t.Fatalf("release by another: %v %v", ok, err)
	}
	if ok, err := c.reg("n1").ReleaseLock(ctx, "job", a); !ok || err != nil {
		t.Fatalf("release: %v %v", ok, err)
	}
	if ok, err := c.reg("n1").ReleaseLock(ctx, "job", a); ok || err != nil {
		t.Fatalf("release twice: %v %v", ok, err)
	}
	// A process that ends releases its locks.
	if err := c.reg("n2").AcquireLock(ctx, "job", b); err != nil {
		t.Fatal(err)
	}
	c.reg("n2").ReleasePID(b)
	await.Until(t, "the lock free again", func() bool { _, held := c.reg("n3").LockHolder("job"); return !held })
	for _, bad := range []string{"", string(make([]byte, registry.MaxNameLen+1))} {
		if err := c.reg("n1").AcquireLock(ctx, bad, a); !errors.Is(err, registry.ErrInvalidName) {
			t.Fatalf("lock name of %d bytes: %v", len(bad), err)
		}
	}
}

// holding is one interval during which a process believed it held the
// lock: from AcquireLock's success to the call of ReleaseLock, or to the
// moment its node fenced it (or was killed).
type holding struct {
	who        pid.PID
	start, end time.Time
}

// lockRun is the contenders of TestLockExclusion and what they logged.
type lockRun struct {
	c    *cluster
	mu   sync.Mutex
	log  []holding
	open map[pid.PID]time.Time // holding now, since
	lost map[pid.PID]chan struct{}
	dead map[string]bool // nodes killed: their contenders stop
	acq  atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func (lr *lockRun) enter(p pid.PID) chan struct{} {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.open[p] = time.Now()
	ch := make(chan struct{})
	lr.lost[p] = ch
	lr.acq.Add(1)
	return ch
}

// leave closes p's interval now, once.
func (lr *lockRun) leave(p pid.PID) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if start, ok := lr.open[p]; ok {
		lr.log = append(lr.log, holding{who: p, start: start, end: time.Now()})
		delete(lr.open, p)
		close(lr.lost[p])
		delete(lr.lost, p)
	}
}

// killNode ends the intervals of node's processes: they die with it.
func (lr *lockRun) killNode(node string) {
	lr.mu.Lock()
	lr.dead[node] = true
	var victims []pid.PID
	for p := range lr.open {
		if p.Node == node {
			victims = append(victims, p)
		}
	}
	lr.mu.Unlock()
	for _, p := range victims {
		lr.leave(p)
	}
	lr.c.kill(node)
}

func (lr *lockRun) alive(node string) bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return !lr.dead[node]
}

// contend acquires and releases lock "L" as p on node until stop.
func (lr *lockRun) contend(node string, p pid.PID, seed uint64) {
	defer lr.wg.Done()
	rng := rand.New(rand.NewPCG(seed, 7))
	for {
		select {
		case <-lr.stop:
			return
		default:
		}
		if !lr.alive(node) {
			return
		}
		r := lr.c.node(node).reg
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := r.AcquireLock(ctx, "L", p)
		cancel()
		switch {
		case err == nil:
			lost := lr.enter(p)
			select {
			case <-time.After(time.Duration(2+rng.IntN(20)) * time.Millisecond):
			case <-lost: // fenced, or its node killed: it is dead
				return
			case <-lr.stop:
			}
			lr.leave(p)
		case errors.Is(err, registry.ErrUnknownOutcome):
			// It may hold the lock without knowing: give it back.
		}
		if !lr.alive(node) {
			return
		}
		ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, _ = r.ReleaseLock(ctx, "L", p)
		cancel()
		select {
		case <-time.After(time.Duration(rng.IntN(5)) * time.Millisecond):
		case <-lr.stop:
			return
		}
	}
}

// check fails on any two intervals that overlap.
func (lr *lockRun) check(t *testing.T) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	log := slices.Clone(lr.log)
	for p, start := range lr.open {
		log = append(log, holding{who: p, start: start, end: time.Now()})
	}
	slices.SortFunc(log, func(a, b holding) int { return a.start.Compare(b.start) })
	for i := 1; i < len(log); i++ {
		if prev, cur := log[i-1], log[i]; cur.start.Before(prev.end) {
			t.Fatalf("%v held the lock from %v while %v held it until %v (%v of overlap)",
				cur.who, cur.start.Format("15:04:05.000"), prev.who, prev.end.Format("15:04:05.000"), prev.end.Sub(cur.start))
		}
	}
	t.Logf("%d holding intervals, none overlapping", len(log))
}

// TestLockExclusion: two contenders on each of three nodes take and give
// back one lock while a node is cut off (and declared dead, then back)
// and the leader is killed. No two holding intervals ever overlap: a
// holder cut off is fenced before its lock is given to another, and a
// lock held by the killed leader's process becomes free.
func TestLockExclusion(t *testing.T) {
	c := newCluster(t, 3, withConfig(func(cfg *Config) {
		cfg.LockFence = 300 * time.Millisecond
		cfg.LockGrace = 900 * time.Millisecond
		cfg.ReconcileInterval = 100 * time.Millisecond
	}))
	lr := &lockRun{c: c, open: map[pid.PID]time.Time{}, lost: map[pid.PID]chan struct{}{}, dead: map[string]bool{}, stop: make(chan struct{})}
	c.prep = func(r *Registry) {
		r.OnLockLost(func(_ string, p pid.PID) { lr.leave(p) })
	}
	for _, name := range c.names {
		c.start(name)
	}
	leader := c.waitLeader(c.names...)
	for i, node := range c.names {
		for k := range 2 {
			lr.wg.Add(1)
			go lr.contend(node, ppid(node, uint64(k+1)), uint64(i*2+k))
		}
	}
	defer func() {
		close(lr.stop)
		lr.wg.Wait()
	}()
	progress := func(what string) {
		t.Helper()
		n := lr.acq.Load()
		await.Within(t, 20*time.Second, what, func() bool { return lr.acq.Load() > n+20 })
	}
	progress("contenders take turns")

	// A follower's process holds the lock (and would forever); the
	// follower is cut off and declared dead; the others go on, once it
	// has fenced its holder. Then it comes back.
	cut := c.followers(leader)[0]
	rest := slices.DeleteFunc(slices.Clone(c.names), func(n string) bool { return n == cut })
	sticky := ppid(cut, 98)
	await.NoError(t, "the follower's process takes the lock", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.reg(cut).AcquireLock(ctx, "L", sticky)
	})
	lr.enter(sticky)
	c.partition([]string{cut}, rest)
	c.peers.set(cut, true, MemberDead)
	progress("the majority goes on without " + cut)
	c.heal([]string{cut}, rest)
	c.peers.set(cut, true, MemberAlive)
	progress("after the heal")

	// The leader holds the lock, and is killed. The cut-off node, declared
	// dead and silent past the debounce, stays a voter (of three, nothing
	// replaces it), so the survivors are two voters of three and elect a
	// leader; the check below says so before the kill.
	leader = c.waitLeader(c.running()...)
	await.Within(t, 20*time.Second, "three voters again", func() bool {
		l := c.waitLeader(c.running()...)
		return countVoters(c.servers(l)) == 3
	})
	leader = c.waitLeader(c.running()...)
	holder := ppid(leader, 99)
	await.NoError(t, "the leader's process takes the lock", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.reg(leader).AcquireLock(ctx, "L", holder)
	})
	lr.enter(holder)
	lr.killNode(leader)
	c.peers.set(leader, true, MemberDead)
	survivors := c.running()
	c.waitLeader(survivors...)
	progress("a lock held by the killed leader's process became free")
	lr.check(t)
}

// TestLockFencedWhenDeclaredDead: a node declared dead while it still
// hears the leader fences its holders (when its replica applies the
// release of its names, or when the leader, having removed it from the
// configuration, stops reaching it) before the lock's grace ends, and the
// lock is free after the grace.
func TestLockFencedWhenDeclaredDead(t *testing.T) {
	c := newCluster(t, 3, withConfig(func(cfg *Config) {
		cfg.LockFence = time.Second
		cfg.LockGrace = 3 * time.Second
		cfg.ReconcileInterval = 100 * time.Millisecond
	}))
	fenced := make(chan pid.PID, 4)
	c.prep = func(r *Registry) { r.OnLockLost(func(_ string, p pid.PID) { fenced <- p }) }
	for _, name := range c.names {
		c.start(name)
	}
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	holder := ppid(f, 1)
	if err := c.reg(f).AcquireLock(ctxT(t, 5*time.Second), "L", holder); err != nil {
		t.Fatal(err)
	}
	// Names of its make the release of its names an entry to apply.
	if err := c.reg(f).Register(ctxT(t, 5*time.Second), "svc", holder); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.peers.set(f, true, MemberDead)
	select {
	case p := <-fenced:
		if p != holder {
			t.Fatalf("fenced %v", p)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the holder was not fenced")
	}
	if p, held := c.reg(leader).LockHolder("L"); !held || p != holder {
		t.Fatalf("the lock was given up before its holder was fenced: %v %v", p, held)
	}
	await.Within(t, 10*time.Second, "the lock free after its grace", func() bool {
		_, held := c.reg(leader).LockHolder("L")
		return !held
	})
	if d := time.Since(start); d < 3*time.Second {
		t.Fatalf("the lock was free %v after the node was declared dead, before its grace", d)
	}
}
