package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

const sec = time.Second

// TestBackoffThenRunning: a service that crashes three times and then runs
// is restarted after 1s, 2s and 4s (no earlier), reaches running, and every
// restart is logged with the last error.
func TestBackoffThenRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:db"))
		started := h.start()
		h.wantOps("start", "start app:db @0s")
		for i, d := range []time.Duration{1 * sec, 2 * sec, 4 * sec} {
			h.exit("app:db", errBoom)
			h.wantState("app:db", Restarting)
			if i == 0 {
				// Start has its answer once the first run crashed.
				if err, ok := done(started); !ok || err != nil {
					t.Fatalf("Start after the first crash: %v, %v", err, ok)
				}
			}
			h.clock.Advance(d - time.Millisecond)
			if n := len(h.procs.ops("start")); n != i+1 {
				t.Fatalf("restart %d came before its %s delay: %v", i+1, d, h.procs.ops("start"))
			}
			h.clock.Advance(time.Millisecond)
			h.wantState("app:db", Starting)
		}
		h.running("app:db")
		h.wantState("app:db", Running)
		h.wantOps("start", "start app:db @0s", "start app:db @1s", "start app:db @3s", "start app:db @7s")

		st := h.status("app:db")
		if st.Restarts != 3 || st.Attempts != 3 || !errors.Is(st.LastError, errBoom) || st.PID != h.procs.pidOf("app:db") {
			t.Fatalf("status %+v", st)
		}
		if !st.Since.Equal(t0.Add(7 * sec)) {
			t.Fatalf("running since %v, want %v", st.Since, t0.Add(7*sec))
		}
		logs := h.logs.find("service restarting", "app:db")
		if len(logs) != 3 {
			t.Fatalf("%d restart lines, want 3", len(logs))
		}
		for i, l := range logs {
			if l.attrs["error"] != "boom" || l.attrs["attempt"] != int64(i+1) || l.attrs["delay"] != time.Duration(1<<i)*sec {
				t.Fatalf("restart line %d: %v", i, l.attrs)
			}
		}
	})
}

// TestMaxAttemptsFails: a service that always crashes ends failed after
// max_attempts restarts, with its last error logged; the other services and
// the manager keep running.
func TestMaxAttemptsFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := svc("app:bad")
		bad.Policy.MaxAttempts = 3
		h := newHarness(t, bad, svc("app:good"))
		h.start()
		h.running("app:good")
		for i := 0; i < 3; i++ {
			h.exit("app:bad", errors.New("crash "+string(rune('a'+i))))
			h.clock.Advance(time.Duration(1<<i) * sec)
		}
		h.exit("app:bad", errors.New("last crash"))
		h.wantState("app:bad", Failed)
		h.clock.Advance(time.Hour)
		if n := len(h.procs.ops("start")); n != 5 { // 4 runs of bad, 1 of good
			t.Fatalf("%d starts, want 5: %v", n, h.procs.ops("start"))
		}
		st := h.status("app:bad")
		if st.LastError == nil || st.LastError.Error() != "last crash" || st.PID.Seq != 0 || st.Restarts != 3 {
			t.Fatalf("status %+v", st)
		}
		fails := h.logs.find("service failed", "app:bad")
		if len(fails) != 1 || fails[0].attrs["error"] != "last crash" || fails[0].level != slog.LevelError {
			t.Fatalf("failure lines %+v", fails)
		}
		if !strings.Contains(fails[0].attrs["reason"].(string), "budget spent") {
			t.Fatalf("failure reason %v", fails[0].attrs["reason"])
		}
		h.wantState("app:good", Running)
		if err := h.m.Restart("app:nope"); !errors.Is(err, ErrUnknownService) {
			t.Fatalf("Restart(unknown) = %v", err)
		}
	})
}

// TestExitClassification: what each kind of exit leads to.
func TestExitClassification(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     State
		restarts bool
	}{
		{"normal return exits", nil, Exited, false},
		{"terminated fails", proc.ErrTerminated, Failed, false},
		{"not retryable fails", proc.NewError(proc.KindInvalid, "bad config", msg.False), Failed, false},
		{"no process fails", proc.ErrNoProcess, Failed, false},
		{"retryable restarts", proc.ErrNoConnection, Restarting, true},
		{"unknown flag restarts", proc.NewError(proc.KindUnknown, "lua error", msg.Unknown), Restarting, true},
		{"link down restarts", proc.LinkDown(pid.PID{Node: "n1", Host: "app:processes", Seq: 99}), Restarting, true},
		{"plain Go error restarts", errBoom, Restarting, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, svc("app:svc"))
				h.start()
				h.running("app:svc")
				h.exit("app:svc", tt.err)
				h.wantState("app:svc", tt.want)
				h.clock.Advance(time.Hour)
				n := len(h.procs.ops("start"))
				if tt.restarts != (n > 1) {
					t.Fatalf("%d starts; restart wanted: %v", n, tt.restarts)
				}
				if tt.want == Failed && len(h.logs.find("service failed", "app:svc")) != 1 {
					t.Fatal("failure not logged")
				}
			})
		})
	}
}

// TestStableThresholdResets: a run that stayed running for the stable
// threshold starts a fresh budget.
func TestStableThresholdResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.MaxAttempts = 1
		h := newHarness(t, spec)
		h.start()
		h.running("app:svc")
		h.exit("app:svc", errBoom) // restart 1 of 1
		h.clock.Advance(sec)
		h.running("app:svc")
		h.clock.Advance(5 * sec) // stable
		h.exit("app:svc", errBoom)
		h.wantState("app:svc", Restarting)
		if st := h.status("app:svc"); st.Attempts != 1 {
			t.Fatalf("attempts %d after a stable run, want 1", st.Attempts)
		}
		h.clock.Advance(sec) // the first delay again, not 2s
		h.wantState("app:svc", Starting)
		h.clock.Advance(4 * sec) // not stable this time
		h.running("app:svc")
		h.exit("app:svc", errBoom)
		h.wantState("app:svc", Failed)
	})
}

// TestStartTimeout: a start that does not reach running within
// start_timeout is terminated and counts as a retryable failure.
func TestStartTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:slow")
		spec.Policy.StartTimeout = 3 * sec
		h := newHarness(t, spec)
		h.start()
		h.clock.Advance(3*sec - time.Millisecond)
		h.wantOps("terminate")
		h.clock.Advance(time.Millisecond)
		h.wantOps("terminate", "terminate app:slow @3s")
		h.wantState("app:slow", Restarting)
		if st := h.status("app:slow"); !errors.Is(st.LastError, ErrStartTimeout) {
			t.Fatalf("last error %v, want the start timeout", st.LastError)
		}
		h.clock.Advance(sec)
		h.running("app:slow")
		h.clock.Advance(time.Minute) // running: no start timeout any more
		h.wantState("app:slow", Running)
		h.wantOps("terminate", "terminate app:slow @3s")
	})
}

// TestStartError: a Processes.Start error is decided like an exit.
func TestStartError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:full"), svc("app:missing"))
		h.procs.set(func(f *fakeProcs) {
			f.startErr["app:full"] = proc.NewError(proc.KindUnavailable, "host is full", msg.True)
			f.startErr["app:missing"] = proc.NewError(proc.KindNotFound, "unknown entry", msg.False)
		})
		h.start()
		h.wantState("app:missing", Failed)
		h.wantState("app:full", Restarting)
		h.clock.Advance(3 * sec)
		h.wantOps("start", "start app:full @0s", "start app:missing @0s", "start app:full @1s", "start app:full @3s")
		h.procs.set(func(f *fakeProcs) { delete(f.startErr, "app:full") })
		h.clock.Advance(4 * sec)
		h.running("app:full")
		h.wantState("app:full", Running)
	})
}

// TestRequiresOrder: services start once what they require runs, and stop
// in the reverse order, each after its dependents ended.
func TestRequiresOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// c requires b requires a; d is independent.
		h := newHarness(t, svc("c", "b"), svc("b", "a"), svc("a"), svc("d"))
		started := h.start()
		h.wantOps("start", "start a @0s", "start d @0s")
		h.running("d")
		h.clock.Advance(sec)
		h.running("a")
		h.wantOps("start", "start a @0s", "start d @0s", "start b @1s")
		h.wantState("c", Stopped)
		if w := h.status("c").Waiting; !slices.Equal(w, []string{"b"}) {
			t.Fatalf("c waits for %v, want [b]", w)
		}
		if _, ok := done(started); ok {
			t.Fatal("Start returned before c started")
		}
		h.running("b")
		h.running("c")
		if err, ok := done(started); !ok || err != nil {
			t.Fatalf("Start: %v, %v", err, ok)
		}
		if err := h.m.Start(context.Background()); !errors.Is(err, ErrStarted) {
			t.Fatalf("second Start = %v", err)
		}

		for _, id := range []string{"a", "b", "c"} {
			h.procs.set(func(f *fakeProcs) { f.stubborn[id] = true })
		}
		stopped := h.stop(context.Background())
		h.wantOps("cancel", "cancel d @1s", "cancel c @1s")
		h.exit("c", nil)
		h.wantOps("cancel", "cancel d @1s", "cancel c @1s", "cancel b @1s")
		h.wantState("a", Running)
		h.exit("b", errBoom) // any exit of a stopping service is a stop
		h.wantOps("cancel", "cancel d @1s", "cancel c @1s", "cancel b @1s", "cancel a @1s")
		if _, ok := done(stopped); ok {
			t.Fatal("Stop returned before a stopped")
		}
		h.exit("a", nil)
		if err, ok := done(stopped); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
		for _, st := range h.m.Status() {
			if st.State != Stopped || st.LastError != nil {
				t.Fatalf("after Stop: %+v", st)
			}
		}
		if err := h.m.Restart("a"); !errors.Is(err, ErrStopped) {
			t.Fatalf("Restart after Stop = %v", err)
		}
	})
}

// TestRequirementStartedForDependent: a requirement that is not
// auto_start is started for its auto_start dependent; an unrelated service
// that is not auto_start stays stopped. (depends_on is mapped to requires
// by the entry loader; TestSpecsOf covers it.)
func TestRequirementStartedForDependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := svc("app:db")
		db.AutoStart = false
		idle := svc("app:idle")
		idle.AutoStart = false
		h := newHarness(t, db, svc("app:api", "app:db"), idle)
		h.start()
		h.wantOps("start", "start app:db @0s")
		h.running("app:db")
		h.wantOps("start", "start app:db @0s", "start app:api @0s")
		h.wantState("app:idle", Stopped)
	})
}

// TestStopTimeoutEscalates: a service that ignores CANCEL is terminated
// stop_timeout later.
func TestStopTimeoutEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.StopTimeout = 2 * sec
		h := newHarness(t, spec)
		h.start()
		h.running("app:svc")
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:svc"] = true })
		stopped := h.stop(context.Background())
		h.wantState("app:svc", Stopping)
		h.clock.Advance(2*sec - time.Millisecond)
		h.wantOps("terminate")
		h.clock.Advance(time.Millisecond)
		h.wantOps("", "start app:svc @0s", "cancel app:svc @0s", "terminate app:svc @2s")
		if err, ok := done(stopped); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
		if st := h.m.Status()[0]; st.State != Stopped || st.LastError != nil {
			t.Fatalf("after Stop: %+v", st)
		}
		if len(h.logs.find("service did not stop in time: terminating it", "app:svc")) != 1 {
			t.Fatal("escalation not logged")
		}
	})
}

// TestStopContextEnds: when Stop's context ends first, every remaining
// process is terminated and Stop says so.
func TestStopContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.StopTimeout = 0 // wait forever
		h := newHarness(t, spec)
		h.start()
		h.running("app:svc")
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:svc"] = true })
		ctx, cancel := context.WithCancel(context.Background())
		stopped := h.stop(ctx)
		h.clock.Advance(time.Hour)
		if _, ok := done(stopped); ok {
			t.Fatal("Stop returned while the service runs")
		}
		cancel()
		synctest.Wait()
		err, ok := done(stopped)
		if !ok || !errors.Is(err, ErrStopTimeout) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "app:svc") {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
		h.wantOps("terminate", "terminate app:svc @1h0m0s")
		if err2 := h.m.Stop(context.Background()); err2 != err {
			t.Fatalf("second Stop = %v, want the first result", err2)
		}
	})
}

// TestStopDuringBackoff: a pending restart is dropped by Stop.
func TestStopDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:svc"))
		h.start()
		h.exit("app:svc", errBoom)
		stopped := h.stop(context.Background())
		if err, ok := done(stopped); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
		h.clock.Advance(time.Minute)
		h.wantOps("start", "start app:svc @0s")
		if n := h.clock.armed(); n != 0 {
			t.Fatalf("%d timers left armed", n)
		}
	})
}

// TestOperatorRestart: a failed service stays failed until Restart, which
// gives it a fresh budget and clears its last error.
func TestOperatorRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.MaxAttempts = 1
		h := newHarness(t, spec)
		h.start()
		h.exit("app:svc", errBoom)
		h.clock.Advance(sec)
		h.exit("app:svc", errBoom)
		h.wantState("app:svc", Failed)
		h.clock.Advance(time.Hour)
		h.wantState("app:svc", Failed)
		if err := h.m.Restart("app:svc"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.wantState("app:svc", Starting)
		if st := h.status("app:svc"); st.Attempts != 0 || st.LastError != nil || st.Restarts != 1 {
			t.Fatalf("after Restart: %+v", st)
		}
		h.running("app:svc")
		h.exit("app:svc", errBoom) // a fresh budget: restarted again
		h.wantState("app:svc", Restarting)
	})
}

// TestOperatorRestartLive: Restart of a running service stops it and
// starts it again; of one in back-off, starts it at once.
func TestOperatorRestartLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:svc"))
		h.start()
		h.running("app:svc")
		if err := h.m.Restart("app:svc"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.wantOps("", "start app:svc @0s", "cancel app:svc @0s", "start app:svc @0s")
		h.running("app:svc")
		h.exit("app:svc", errBoom)
		h.exit("app:svc", errBoom) // stale: the pid of this run is gone
		h.clock.Advance(sec)
		h.exit("app:svc", errBoom)
		h.wantState("app:svc", Restarting)
		if st := h.status("app:svc"); st.Attempts != 2 {
			t.Fatalf("attempts %d, want 2", st.Attempts)
		}
		if err := h.m.Restart("app:svc"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.wantState("app:svc", Starting)
		if st := h.status("app:svc"); st.Attempts != 0 {
			t.Fatalf("attempts %d after Restart, want 0", st.Attempts)
		}
		h.running("app:svc")
		h.clock.Advance(time.Minute) // the dropped back-off timer does not start another run
		if n := len(h.procs.ops("start")); n != 4 {
			t.Fatalf("%d starts, want 4: %v", n, h.procs.ops("start"))
		}
	})
}

// TestDependentsKeepRunning: when a service fails, its dependents keep
// running and the failure names them.
func TestDependentsKeepRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:db"), svc("app:api", "app:db"), svc("app:web", "app:api"), svc("app:other"))
		h.start()
		h.running("app:db")
		h.running("app:api")
		h.running("app:web")
		h.running("app:other")
		h.exit("app:db", proc.NewError(proc.KindInvalid, "bad dsn", msg.False))
		h.wantState("app:db", Failed)
		h.wantState("app:api", Running)
		h.wantState("app:web", Running)
		h.wantOps("cancel")
		h.wantOps("terminate")
		fails := h.logs.find("service failed", "app:db")
		if len(fails) != 1 || !slices.Equal(fails[0].attrs["dependents"].([]string), []string{"app:api", "app:web"}) || fails[0].attrs["error"] != "bad dsn" {
			t.Fatalf("failure lines %+v", fails)
		}
	})
}

// TestBlockedRequirement: a dependent whose requirement failed before it
// started waits (Start still returns), and starts once an operator
// restarted the requirement.
func TestBlockedRequirement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:db"), svc("app:api", "app:db"), svc("app:web", "app:api"))
		started := h.start()
		h.exit("app:db", proc.NewError(proc.KindInvalid, "bad dsn", msg.False))
		if err, ok := done(started); !ok || err != nil {
			t.Fatalf("Start: %v, %v", err, ok)
		}
		h.wantState("app:api", Stopped)
		if w := h.status("app:api").Waiting; !slices.Equal(w, []string{"app:db"}) {
			t.Fatalf("api waits for %v", w)
		}
		if len(h.logs.find("service cannot start: a requirement is down", "app:api")) != 1 {
			t.Fatal("blocked dependent not logged")
		}
		if err := h.m.Restart("app:db"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.running("app:db")
		h.running("app:api")
		h.running("app:web")
		h.wantOps("start", "start app:db @0s", "start app:db @0s", "start app:api @0s", "start app:web @0s")
	})
}

// TestStartSettlesOnCrashLoop: Start does not wait for a service that
// keeps crashing; its dependents count as settled.
func TestStartSettlesOnCrashLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:db"), svc("app:api", "app:db"))
		started := h.start()
		if _, ok := done(started); ok {
			t.Fatal("Start returned before db ran")
		}
		h.exit("app:db", errBoom)
		if err, ok := done(started); !ok || err != nil {
			t.Fatalf("Start: %v, %v", err, ok)
		}
		h.clock.Advance(sec)
		h.running("app:db")
		h.wantState("app:api", Starting)
	})
}

func TestNewManagerErrors(t *testing.T) {
	bad := svc("x")
	bad.Policy.Jitter = 2
	tests := []struct {
		name  string
		cfg   ManagerConfig
		err   error
		text  string
		procs bool
	}{
		{"no processes", ManagerConfig{}, ErrInvalidConfig, "supervisor: invalid config: no Processes", false},
		{"empty id", ManagerConfig{Services: []ServiceSpec{{}}}, ErrInvalidConfig, "supervisor: invalid config: service with an empty id", true},
		{"duplicate", ManagerConfig{Services: []ServiceSpec{svc("a"), svc("a")}}, ErrInvalidConfig, "supervisor: invalid config: service a given twice", true},
		{"bad policy", ManagerConfig{Services: []ServiceSpec{bad}}, ErrInvalidPolicy, "service x: supervisor: invalid policy: jitter 2 must be in [0, 1]", true},
		{"unknown requirement", ManagerConfig{Services: []ServiceSpec{svc("a", "zz")}}, ErrUnknownService, "supervisor: unknown service: a requires zz", true},
		{"cycle", ManagerConfig{Services: []ServiceSpec{svc("a", "b"), svc("b", "c"), svc("c", "a")}}, ErrCycle, "supervisor: dependency cycle: a -> b -> c -> a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.procs {
				tt.cfg.Processes = newFakeProcs(newFakeClock())
			}
			m, err := NewManager(tt.cfg)
			if m != nil || !errors.Is(err, tt.err) || err.Error() != tt.text {
				t.Fatalf("NewManager = %v, %v; want %q", m, err, tt.text)
			}
		})
	}
}

// TestStatusAfterStop: the final snapshot stays readable.
func TestStatusAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.MaxAttempts = 0
		h := newHarness(t, spec)
		h.start()
		h.exit("app:svc", errBoom)
		if err := h.m.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := h.m.Status()
		if len(st) != 1 || st[0].State != Stopped || st[0].Restarts != 1 || !errors.Is(st[0].LastError, errBoom) {
			t.Fatalf("final status %+v", st)
		}
		if err := h.m.Start(context.Background()); !errors.Is(err, ErrStopped) {
			t.Fatalf("Start after Stop = %v", err)
		}
	})
}

// TestCrashDuringStop: a service that crashes while the node stops is not
// restarted, and the stop goes on.
func TestCrashDuringStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:db"), svc("app:api", "app:db"))
		h.start()
		h.running("app:db")
		h.running("app:api")
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:api"] = true })
		stopped := h.stop(context.Background())
		h.wantOps("cancel", "cancel app:api @0s")
		h.exit("app:db", errBoom) // db crashes before its turn to stop
		h.wantState("app:db", Stopped)
		h.exit("app:api", nil)
		if err, ok := done(stopped); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
		h.clock.Advance(time.Hour)
		h.wantOps("start", "start app:db @0s", "start app:api @0s")
		if len(h.logs.find("service crashed while stopping", "app:db")) != 1 {
			t.Fatal("crash during stop not logged")
		}
	})
}

// TestStopWhileStarting: Stop of a starting service cancels it; a late
// Running report changes nothing; Start returns ErrStopped.
func TestStopWhileStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:svc"))
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:svc"] = true })
		started := h.start()
		stopped := h.stop(context.Background())
		if err, ok := done(started); !ok || !errors.Is(err, ErrStopped) {
			t.Fatalf("Start: %v, %v", err, ok)
		}
		h.wantState("app:svc", Stopping)
		h.running("app:svc")
		h.wantState("app:svc", Stopping)
		h.exit("app:svc", nil)
		if err, ok := done(stopped); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
	})
}

// TestLateRunningAfterStartTimeout: a Running report that arrives
// after the start timeout fired does not make the run running.
func TestLateRunningAfterStartTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.StartTimeout = sec
		h := newHarness(t, spec)
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:svc"] = true })
		h.start()
		p := h.procs.pidOf("app:svc")
		h.procs.set(func(f *fakeProcs) { f.holdTerminate = true })
		h.clock.Advance(sec)
		h.wantOps("terminate", "terminate app:svc @1s")
		h.m.Running(p)
		synctest.Wait()
		h.wantState("app:svc", Starting)
		h.exit("app:svc", proc.ErrTerminated)
		h.wantState("app:svc", Restarting)
		if st := h.status("app:svc"); !errors.Is(st.LastError, ErrStartTimeout) {
			t.Fatalf("last error %v", st.LastError)
		}
	})
}

// TestOperatorRestartWhileStopping: a second Restart while the first one
// waits for the process to stop changes nothing; the service starts once.
func TestOperatorRestartWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, svc("app:svc"))
		h.start()
		h.running("app:svc")
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:svc"] = true })
		for i := 0; i < 2; i++ {
			if err := h.m.Restart("app:svc"); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			h.wantState("app:svc", Stopping)
		}
		h.exit("app:svc", nil)
		h.wantState("app:svc", Starting)
		h.wantOps("", "start app:svc @0s", "cancel app:svc @0s", "start app:svc @0s")
	})
}

// TestStopAbandonsAServiceThatDoesNotEnd: during the node's stop, a
// service terminated at its stop_timeout whose process still does not end
// (a Go-native callback that never returns) is given up on abandonWait
// later, so the stop goes on; until now it held the stop until its
// context ended.
func TestStopAbandonsAServiceThatDoesNotEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := svc("app:svc")
		spec.Policy.StopTimeout = 2 * sec
		h := newHarness(t, spec)
		h.start()
		h.running("app:svc")
		p := h.procs.pidOf("app:svc")
		h.procs.set(func(f *fakeProcs) { f.stubborn["app:svc"], f.holdTerminate = true, true })
		stopped := h.stop(context.Background())
		h.clock.Advance(2*sec + abandonWait - time.Millisecond)
		if _, ok := done(stopped); ok {
			t.Fatal("Stop gave up before abandonWait")
		}
		h.clock.Advance(time.Millisecond)
		if err, ok := done(stopped); !ok || err != nil {
			t.Fatalf("Stop: %v, %v", err, ok)
		}
		if len(h.logs.find("service did not end when terminated: abandoning it", "app:svc")) != 1 {
			t.Fatal("abandon not logged")
		}
		h.procs.end(p, proc.ErrTerminated) // the late exit is ignored
		synctest.Wait()
		if st := h.m.Status()[0]; st.State != Stopped {
			t.Fatalf("after Stop: %+v", st)
		}
	})
}
