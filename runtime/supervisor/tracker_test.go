package supervisor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	t0      = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	errBoom = errors.New("boom")
	crash   = Exit{Kind: ExitError, Err: errBoom, Retryable: RetryUnknown}
	crashT  = Exit{Kind: ExitError, Err: errBoom, Retryable: RetryTrue}
	crashF  = Exit{Kind: ExitError, Err: errBoom, Retryable: RetryFalse}
	normal  = Exit{Kind: ExitNormal}
	killed  = Exit{Kind: ExitTerminated, Err: errors.New("terminated"), Retryable: RetryFalse}
)

type op uint8

const (
	opStart op = iota
	opRun
	opExit
	opStop
	opRestart
	opStartTimedOut
	opStopTimedOut
)

// step is one event at t0+at and what must come of it.
type step struct {
	at   time.Duration
	op   op
	exit Exit
	rnd  float64

	state   State         // state after the step
	restart bool          // opExit: Decision.Restart
	delay   time.Duration // opExit: Decision.Delay
	attempt int           // opExit: Decision.Attempt
	flag    bool          // opStop: wait; opStartTimedOut/opStopTimedOut: result
	err     error         // error the step must return (errors.Is), nil for none
}

func noJitter() Policy {
	p := DefaultPolicy()
	p.Jitter = 0
	return p
}

func withAttempts(n int) Policy {
	p := noJitter()
	p.MaxAttempts = n
	return p
}

func TestTracker(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		policy Policy
		steps  []step
	}{
		{
			name:   "crashes three times then runs: 1s 2s 4s",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: 1 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 1 * s, attempt: 1},
				{at: 2 * s, op: opStart, state: Starting},
				{at: 2 * s, op: opRun, state: Running},
				{at: 3 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 2 * s, attempt: 2},
				{at: 5 * s, op: opStart, state: Starting},
				{at: 5 * s, op: opRun, state: Running},
				{at: 6 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 4 * s, attempt: 3},
				{at: 10 * s, op: opStart, state: Starting},
				{at: 10 * s, op: opRun, state: Running},
			},
		},
		{
			name:   "always crashes with max attempts 3: three restarts then failed",
			policy: withAttempts(3),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: 0, op: opExit, exit: crash, state: Restarting, restart: true, delay: 1 * s, attempt: 1},
				{at: 1 * s, op: opStart, state: Starting},
				{at: 1 * s, op: opRun, state: Running},
				{at: 1 * s, op: opExit, exit: crashT, state: Restarting, restart: true, delay: 2 * s, attempt: 2},
				{at: 3 * s, op: opStart, state: Starting},
				{at: 3 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 4 * s, attempt: 3},
				{at: 7 * s, op: opStart, state: Starting},
				{at: 7 * s, op: opRun, state: Running},
				{at: 7 * s, op: opExit, exit: crash, state: Failed, attempt: 3},
				{at: 8 * s, op: opStart, state: Failed, err: ErrIllegalTransition},
			},
		},
		{
			name:   "max attempts 1 allows exactly one restart",
			policy: withAttempts(1),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crash, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: s, op: opStart, state: Starting},
				{at: s, op: opExit, exit: crash, state: Failed, attempt: 1},
			},
		},
		{
			name:   "non-retryable error fails at once",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: s, op: opExit, exit: crashF, state: Failed},
			},
		},
		{
			name:   "explicit termination fails at once",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: s, op: opExit, exit: killed, state: Failed},
			},
		},
		{
			name:   "termination fails even with unlimited budget and a true flag",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: s, op: opExit, exit: Exit{Kind: ExitTerminated, Err: errBoom, Retryable: RetryTrue}, state: Failed},
			},
		},
		{
			name:   "normal return exits without restart",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: s, op: opExit, exit: normal, state: Exited},
				{at: 2 * s, op: opStart, state: Exited, err: ErrIllegalTransition},
				{at: 2 * s, op: opRestart, state: Starting},
			},
		},
		{
			name:   "stable run resets the attempt counter",
			policy: withAttempts(2),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: 1 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 1 * s, attempt: 1},
				{at: 2 * s, op: opStart, state: Starting},
				{at: 2 * s, op: opRun, state: Running},
				{at: 3 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 2 * s, attempt: 2},
				{at: 5 * s, op: opStart, state: Starting},
				{at: 5 * s, op: opRun, state: Running},
				// Ran exactly StableThreshold (5s): fresh budget, first delay again.
				{at: 10 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 1 * s, attempt: 1},
				{at: 11 * s, op: opStart, state: Starting},
				{at: 11 * s, op: opRun, state: Running},
				// 4.999s is not stable.
				{at: 16*s - time.Millisecond, op: opExit, exit: crash, state: Restarting, restart: true, delay: 2 * s, attempt: 2},
				{at: 18 * s, op: opStart, state: Starting},
				{at: 18 * s, op: opRun, state: Running},
				{at: 19 * s, op: opExit, exit: crash, state: Failed, attempt: 2},
			},
		},
		{
			name:   "time spent starting does not count as stable",
			policy: withAttempts(1),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crash, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: s, op: opStart, state: Starting},
				{at: 100 * s, op: opRun, state: Running},
				{at: 101 * s, op: opExit, exit: crash, state: Failed, attempt: 1},
			},
		},
		{
			name: "stable threshold 0 never resets",
			policy: func() Policy {
				p := withAttempts(1)
				p.StableThreshold = 0
				return p
			}(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: s, op: opExit, exit: crash, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: 2 * s, op: opStart, state: Starting},
				{at: 2 * s, op: opRun, state: Running},
				{at: 1000 * s, op: opExit, exit: crash, state: Failed, attempt: 1},
			},
		},
		{
			name: "delay is capped at max delay",
			policy: func() Policy {
				p := noJitter()
				p.MaxDelay = 5 * s
				return p
			}(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crash, state: Restarting, restart: true, delay: 1 * s, attempt: 1},
				{at: 1 * s, op: opStart, state: Starting},
				{at: 1 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 2 * s, attempt: 2},
				{at: 3 * s, op: opStart, state: Starting},
				{at: 3 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 4 * s, attempt: 3},
				{at: 7 * s, op: opStart, state: Starting},
				{at: 7 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 5 * s, attempt: 4},
				{at: 12 * s, op: opStart, state: Starting},
				{at: 12 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: 5 * s, attempt: 5},
			},
		},
		{
			name:   "jitter comes from the caller's random number",
			policy: DefaultPolicy(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crash, rnd: 0, state: Restarting, restart: true, delay: 900 * time.Millisecond, attempt: 1},
				{at: s, op: opStart, state: Starting},
				{at: s, op: opExit, exit: crash, rnd: 0.75, state: Restarting, restart: true, delay: 2100 * time.Millisecond, attempt: 2},
			},
		},
		{
			name:   "start timeout kills and restarts as a retryable failure",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 9 * s, op: opStartTimedOut, state: Starting, flag: false},
				{at: 10 * s, op: opStartTimedOut, state: Starting, flag: true},
				{at: 10 * s, op: opStartTimedOut, state: Starting, flag: true},
				// main is entered while the shell is killing it: refused.
				{at: 10 * s, op: opRun, state: Starting, err: ErrStartTimeout},
				// The kill's own exit (terminated) is decided as the start timeout.
				{at: 10 * s, op: opExit, exit: killed, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: 11 * s, op: opStartTimedOut, state: Restarting, flag: false},
				{at: 11 * s, op: opStart, state: Starting},
				{at: 12 * s, op: opStartTimedOut, state: Starting, flag: false},
				{at: 12 * s, op: opRun, state: Running},
				{at: 100 * s, op: opStartTimedOut, state: Running, flag: false},
			},
		},
		{
			name:   "start timeout spends the budget like a crash",
			policy: withAttempts(1),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 10 * s, op: opStartTimedOut, state: Starting, flag: true},
				{at: 10 * s, op: opExit, exit: killed, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: 11 * s, op: opStart, state: Starting},
				{at: 21 * s, op: opStartTimedOut, state: Starting, flag: true},
				{at: 21 * s, op: opExit, exit: killed, state: Failed, attempt: 1},
			},
		},
		{
			name: "start timeout 0 never fires",
			policy: func() Policy {
				p := noJitter()
				p.StartTimeout = 0
				return p
			}(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 1000000 * s, op: opStartTimedOut, state: Starting, flag: false},
			},
		},
		{
			name:   "stop a running service",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRun, state: Running},
				{at: s, op: opStopTimedOut, state: Running, flag: false},
				{at: s, op: opStop, state: Stopping, flag: true},
				{at: 2 * s, op: opStop, state: Stopping, flag: true},
				{at: 10 * s, op: opStopTimedOut, state: Stopping, flag: false},
				{at: 11 * s, op: opStopTimedOut, state: Stopping, flag: true},
				{at: 11 * s, op: opRun, state: Stopping, err: ErrIllegalTransition},
				// The process ends with whatever error: still just stopped.
				{at: 11 * s, op: opExit, exit: crash, state: Stopped},
				{at: 12 * s, op: opStopTimedOut, state: Stopped, flag: false},
				{at: 12 * s, op: opStop, state: Stopped, flag: false},
				{at: 13 * s, op: opStart, state: Starting},
			},
		},
		{
			name:   "stop while starting",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opStop, state: Stopping, flag: true},
				{at: 0, op: opExit, exit: normal, state: Stopped},
			},
		},
		{
			name:   "stop during back-off needs no wait",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crash, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: 0, op: opStop, state: Stopped, flag: false},
				{at: s, op: opExit, exit: crash, state: Stopped, err: ErrIllegalTransition},
			},
		},
		{
			name:   "stop leaves failed and exited alone",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crashF, state: Failed},
				{at: s, op: opStop, state: Failed, flag: false},
				{at: s, op: opRestart, state: Starting},
				{at: s, op: opExit, exit: normal, state: Exited},
				{at: s, op: opStop, state: Exited, flag: false},
			},
		},
		{
			name:   "operator restart resets the budget",
			policy: withAttempts(1),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opExit, exit: crash, state: Restarting, restart: true, delay: s, attempt: 1},
				{at: s, op: opStart, state: Starting},
				{at: s, op: opExit, exit: crash, state: Failed, attempt: 1},
				{at: 5 * s, op: opRestart, state: Starting},
				{at: 5 * s, op: opExit, exit: crash, state: Restarting, restart: true, delay: s, attempt: 1},
			},
		},
		{
			name:   "operator restart of a live service is refused",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opRestart, state: Starting, err: ErrIllegalTransition},
				{at: 0, op: opRun, state: Running},
				{at: 0, op: opRestart, state: Running, err: ErrIllegalTransition},
				{at: 0, op: opStop, state: Stopping, flag: true},
				{at: 0, op: opRestart, state: Stopping, err: ErrIllegalTransition},
				{at: 0, op: opExit, exit: normal, state: Stopped},
				{at: 0, op: opRestart, state: Starting},
			},
		},
		{
			name:   "events that do not fit the state change nothing",
			policy: noJitter(),
			steps: []step{
				{at: 0, op: opExit, exit: crash, state: Stopped, err: ErrIllegalTransition},
				{at: 0, op: opRun, state: Stopped, err: ErrIllegalTransition},
				{at: 0, op: opStart, state: Starting},
				{at: 0, op: opStart, state: Starting, err: ErrIllegalTransition},
				{at: 0, op: opRun, state: Running},
				{at: 0, op: opRun, state: Running, err: ErrIllegalTransition},
				{at: 0, op: opStart, state: Running, err: ErrIllegalTransition},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				runStep(t, tr, i, st)
			}
		})
	}
}

func runStep(t *testing.T, tr *Tracker, i int, st step) {
	t.Helper()
	now := t0.Add(st.at)
	var (
		err  error
		flag bool
		d    Decision
	)
	before := tr.Attempts()
	switch st.op {
	case opStart:
		err = tr.Started(now)
	case opRun:
		err = tr.Running(now)
	case opExit:
		d, err = tr.Exited(now, st.exit, st.rnd)
	case opStop:
		flag, err = tr.Stop(now)
	case opRestart:
		err = tr.Restart(now)
	case opStartTimedOut:
		flag = tr.StartTimedOut(now)
	case opStopTimedOut:
		flag = tr.StopTimedOut(now)
	}
	if st.err == nil && err != nil {
		t.Fatalf("step %d (op %d): unexpected error %v", i, st.op, err)
	}
	if st.err != nil && !errors.Is(err, st.err) {
		t.Fatalf("step %d (op %d): error %v, want %v", i, st.op, err, st.err)
	}
	if got := tr.State(); got != st.state {
		t.Fatalf("step %d (op %d): state %s, want %s", i, st.op, got, st.state)
	}
	if st.err != nil && tr.Attempts() != before {
		t.Fatalf("step %d: a refused event changed attempts %d -> %d", i, before, tr.Attempts())
	}
	switch st.op {
	case opStop, opStartTimedOut, opStopTimedOut:
		if flag != st.flag {
			t.Fatalf("step %d (op %d): got %v, want %v", i, st.op, flag, st.flag)
		}
	case opExit:
		if st.err != nil {
			return
		}
		if d.State != st.state || d.Restart != st.restart || d.Delay != st.delay || d.Attempt != st.attempt {
			t.Fatalf("step %d: decision %+v, want state %s restart %v delay %s attempt %d",
				i, d, st.state, st.restart, st.delay, st.attempt)
		}
		if d.Reason == "" {
			t.Fatalf("step %d: decision without a reason", i)
		}
		if d.Restart {
			at, ok := tr.RestartAt()
			if !ok || !at.Equal(now.Add(d.Delay)) {
				t.Fatalf("step %d: RestartAt() = %v, %v; want %v", i, at, ok, now.Add(d.Delay))
			}
			if tr.Attempts() != d.Attempt {
				t.Fatalf("step %d: Attempts() = %d, want %d", i, tr.Attempts(), d.Attempt)
			}
		} else if _, ok := tr.RestartAt(); ok {
			t.Fatalf("step %d: RestartAt reports a restart in state %s", i, tr.State())
		}
		if d.State == Failed && tr.LastErr() == nil {
			t.Fatalf("step %d: failed without a last error", i)
		}
	}
}

func TestDecisionDetails(t *testing.T) {
	tests := []struct {
		name       string
		policy     Policy
		runs       int // crashes before the exit under test
		exit       Exit
		wantState  State
		wantErr    error
		wantReason string
	}{
		{"normal", noJitter(), 0, normal, Exited, nil, "exited normally"},
		{"terminated", noJitter(), 0, killed, Failed, killed.Err, "terminated"},
		{"not retryable", noJitter(), 0, crashF, Failed, errBoom, "not retryable"},
		{"unknown restarts", noJitter(), 0, crash, Restarting, errBoom, "restart 1 after error"},
		{"true restarts", noJitter(), 0, crashT, Restarting, errBoom, "restart 1 after error"},
		{"budget spent keeps the last error", withAttempts(2), 2, crashT, Failed, errBoom, "restart budget spent (2 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := New(tt.policy)
			now := t0
			if err := tr.Started(now); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tt.runs; i++ {
				d, err := tr.Exited(now, crash, 0.5)
				if err != nil || !d.Restart {
					t.Fatalf("setup crash %d: %+v %v", i, d, err)
				}
				now = now.Add(d.Delay)
				if err := tr.Started(now); err != nil {
					t.Fatal(err)
				}
			}
			d, err := tr.Exited(now, tt.exit, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			if d.State != tt.wantState || !errors.Is(d.Err, tt.wantErr) || (tt.wantErr == nil && d.Err != nil) {
				t.Fatalf("decision %+v, want state %s err %v", d, tt.wantState, tt.wantErr)
			}
			if !strings.Contains(d.Reason, tt.wantReason) {
				t.Fatalf("reason %q, want it to contain %q", d.Reason, tt.wantReason)
			}
			if tt.wantErr != nil && !errors.Is(tr.LastErr(), tt.wantErr) {
				t.Fatalf("LastErr() = %v, want %v", tr.LastErr(), tt.wantErr)
			}
		})
	}
}

func TestStartTimeoutDecision(t *testing.T) {
	tr, _ := New(noJitter())
	_ = tr.Started(t0)
	if !tr.StartTimedOut(t0.Add(time.Minute)) {
		t.Fatal("start did not time out")
	}
	d, err := tr.Exited(t0.Add(time.Minute), killed, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(d.Err, ErrStartTimeout) || !errors.Is(tr.LastErr(), ErrStartTimeout) {
		t.Fatalf("decision err %v, last %v; want ErrStartTimeout", d.Err, tr.LastErr())
	}
	if !strings.Contains(d.Reason, "start timeout") {
		t.Fatalf("reason %q does not mention the start timeout", d.Reason)
	}
}

func TestCrashWithoutErrorStillHasAnError(t *testing.T) {
	tr, _ := New(withAttempts(0))
	_ = tr.Started(t0)
	d, err := tr.Exited(t0, Exit{Kind: ExitTerminated}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != Failed || d.Err == nil || tr.LastErr() == nil {
		t.Fatalf("decision %+v, last %v: a failed service needs an error", d, tr.LastErr())
	}
}

func TestStopDoesNotRecordAnError(t *testing.T) {
	tr, _ := New(noJitter())
	_ = tr.Started(t0)
	_ = tr.Running(t0)
	if wait, err := tr.Stop(t0); !wait || err != nil {
		t.Fatalf("Stop() = %v, %v", wait, err)
	}
	d, err := tr.Exited(t0.Add(time.Minute), killed, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != Stopped || d.Restart || d.Err != killed.Err {
		t.Fatalf("decision %+v, want stopped carrying the exit error", d)
	}
	if tr.LastErr() != nil {
		t.Fatalf("LastErr() = %v after a stop, want nil", tr.LastErr())
	}
}

func TestRestartClearsLastError(t *testing.T) {
	tr, _ := New(noJitter())
	_ = tr.Started(t0)
	if _, err := tr.Exited(t0, crashF, 0); err != nil {
		t.Fatal(err)
	}
	if tr.LastErr() == nil {
		t.Fatal("no last error after a failure")
	}
	if err := tr.Restart(t0); err != nil {
		t.Fatal(err)
	}
	if tr.LastErr() != nil || tr.Attempts() != 0 {
		t.Fatalf("after Restart: last %v attempts %d", tr.LastErr(), tr.Attempts())
	}
}

// TestUnlimitedNeverFails: with MaxAttempts 0 a crashing service restarts
// forever and its delay settles at MaxDelay.
func TestUnlimitedNeverFails(t *testing.T) {
	tr, _ := New(noJitter())
	now := t0
	_ = tr.Started(now)
	var d Decision
	for i := 1; i <= 200; i++ {
		var err error
		d, err = tr.Exited(now, crash, 0.5)
		if err != nil || !d.Restart || d.Attempt != i {
			t.Fatalf("crash %d: %+v %v", i, d, err)
		}
		now = now.Add(d.Delay)
		_ = tr.Started(now)
	}
	if d.Delay != 90*time.Second {
		t.Fatalf("delay after 200 crashes = %s, want the 90s cap", d.Delay)
	}
}

func TestExitKindString(t *testing.T) {
	for k, want := range map[ExitKind]string{ExitNormal: "normal", ExitTerminated: "terminated", ExitError: "error", 9: "exit(9)"} {
		if k.String() != want {
			t.Errorf("ExitKind(%d) = %q, want %q", uint8(k), k.String(), want)
		}
	}
}
