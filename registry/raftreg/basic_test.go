package raftreg

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestRegisterLookupEverywhere(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	ctx := ctxT(t, 10*time.Second)
	p := ppid(fol[0], 1)
	if err := c.reg(fol[0]).Register(ctx, "svc", p); err != nil {
		t.Fatalf("register on follower: %v", err)
	}
	for _, name := range c.names {
		got, err := c.reg(name).Lookup(ctx, "svc")
		if err != nil || got != p {
			t.Fatalf("lookup on %s: %v %v, want %v", name, got, err, p)
		}
	}
	q := ppid(leader, 2)
	err := c.reg(leader).Register(ctx, "svc", q)
	if !errors.Is(err, registry.ErrAlreadyExists) || proc.AsError(err).Kind != proc.KindAlreadyExists {
		t.Fatalf("second register: %v", err)
	}
	err = c.reg(fol[1]).Unregister(ctx, "svc", q)
	if !errors.Is(err, registry.ErrNotOwner) || proc.AsError(err).Kind != proc.KindPermissionDenied {
		t.Fatalf("unregister by another: %v", err)
	}
	if err := c.reg(fol[1]).Unregister(ctx, "svc", p); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	for _, name := range c.names {
		_, err := c.reg(name).Lookup(ctx, "svc")
		if !errors.Is(err, registry.ErrNotFound) || proc.AsError(err).Kind != proc.KindNotFound {
			t.Fatalf("lookup after unregister on %s: %v", name, err)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	c := startCluster(t, 1, withConfig(func(cfg *Config) { cfg.BootstrapExpect = 1 }))
	r := c.reg("n1")
	ctx := ctxT(t, 5*time.Second)
	long := string(make([]byte, registry.MaxNameLen+1))
	for i, err := range []error{
		r.Register(ctx, "", ppid("n1", 1)),
		r.Register(ctx, long, ppid("n1", 1)),
		r.Register(ctx, "x", ppid("", 1)),
		r.Unregister(ctx, "x", ppid("n1", 0)),
		func() error { _, err := r.Lookup(ctx, ""); return err }(),
	} {
		if e := proc.AsError(err); e.Kind != proc.KindInvalid {
			t.Errorf("%d: %v (%s)", i, err, e.Kind)
		}
	}
}

// A caller told that its change committed sees it counted: the names
// gauge (Stats.Names, the status page's count) is updated before the
// results of the batch are handed over.
func TestNamesCountedOnReturn(t *testing.T) {
	c := startCluster(t, 1, withConfig(func(cfg *Config) { cfg.BootstrapExpect = 1 }))
	r := c.reg("n1")
	ctx := ctxT(t, 30*time.Second)
	p := ppid("n1", 1)
	for i := range 300 {
		name := fmt.Sprint("name", i)
		if err := r.Register(ctx, name, p); err != nil {
			t.Fatal(err)
		}
		if n := r.Stats().Names; n != i+1 {
			t.Fatalf("after register %d: %d names counted", i+1, n)
		}
		if i%2 == 1 {
			if err := r.Unregister(ctx, name, p); err != nil {
				t.Fatal(err)
			}
			if n := r.Stats().Names; n != i {
				t.Fatalf("after unregister: %d names counted, want %d", n, i)
			}
			if err := r.Register(ctx, name, p); err != nil {
				t.Fatal(err)
			}
		}
	}
}
