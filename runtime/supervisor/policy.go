package supervisor

import (
	"fmt"
	"math"
	"time"
)

// Policy is the restart policy of one service (the lifecycle section of a
// process.service entry). The zero value is not useful; start from
// DefaultPolicy.
type Policy struct {
	// MaxAttempts is how many restarts are allowed after the first run
	// before the service is marked failed; 0 means unlimited. 3 means the
	// service runs at most four times. A stable run resets the count.
	// Default 0.
	MaxAttempts int

	// InitialDelay is the wait before the first restart. Default 1s.
	InitialDelay time.Duration

	// MaxDelay caps the un-jittered wait before any restart, InitialDelay
	// included. Default 90s. Jitter may take the actual wait up to
	// MaxDelay*(1+Jitter) (see Delay).
	MaxDelay time.Duration

	// BackoffFactor multiplies the wait for each further restart; 1 means
	// a constant wait. Must be >= 1. Default 2.0.
	BackoffFactor float64

	// Jitter spreads each wait uniformly over +-Jitter of its value so that
	// services that failed together do not restart together. 0.1 = +-10 %.
	// Must be in [0, 1]. Default 0.1.
	Jitter float64

	// StableThreshold is how long a run must stay running for its exit to
	// start a fresh restart budget (the attempt counter resets before the
	// decision). 0 disables the reset. Default 5s.
	StableThreshold time.Duration

	// StartTimeout bounds the starting state (chunk loaded and main
	// entered); a start that takes longer counts as a retryable failure.
	// 0 means no limit. Default 10s.
	StartTimeout time.Duration

	// StopTimeout is how long a stopping service gets after CANCEL before
	// the shell terminates it. 0 means no limit (wait forever). Default 10s.
	StopTimeout time.Duration
}

// DefaultPolicy returns the defaults of SPEC section 3.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttempts:     0,
		InitialDelay:    time.Second,
		MaxDelay:        90 * time.Second,
		BackoffFactor:   2.0,
		Jitter:          0.1,
		StableThreshold: 5 * time.Second,
		StartTimeout:    10 * time.Second,
		StopTimeout:     10 * time.Second,
	}
}

// Validate reports the first problem with p, wrapped in ErrInvalidPolicy.
func (p Policy) Validate() error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("%w: max_attempts %d is negative", ErrInvalidPolicy, p.MaxAttempts)
	case p.InitialDelay < 0:
		return fmt.Errorf("%w: initial_delay %s is negative", ErrInvalidPolicy, p.InitialDelay)
	case p.MaxDelay < 0:
		return fmt.Errorf("%w: max_delay %s is negative", ErrInvalidPolicy, p.MaxDelay)
	case math.IsNaN(p.BackoffFactor) || math.IsInf(p.BackoffFactor, 0) || p.BackoffFactor < 1:
		return fmt.Errorf("%w: backoff_factor %v must be a finite number >= 1", ErrInvalidPolicy, p.BackoffFactor)
	case math.IsNaN(p.Jitter) || p.Jitter < 0 || p.Jitter > 1:
		return fmt.Errorf("%w: jitter %v must be in [0, 1]", ErrInvalidPolicy, p.Jitter)
	case p.StableThreshold < 0:
		return fmt.Errorf("%w: stable_threshold %s is negative", ErrInvalidPolicy, p.StableThreshold)
	case p.StartTimeout < 0:
		return fmt.Errorf("%w: start_timeout %s is negative", ErrInvalidPolicy, p.StartTimeout)
	case p.StopTimeout < 0:
		return fmt.Errorf("%w: stop_timeout %s is negative", ErrInvalidPolicy, p.StopTimeout)
	}
	return nil
}

// Delay returns the wait before restart number attempt (1-based) given a
// random number rnd in [0, 1):
//
//	base  = min(MaxDelay, InitialDelay * BackoffFactor^(attempt-1))
//	delay = base * (1 + Jitter*(2*rnd-1))
//
// Jitter is applied after the cap so that services sitting at the cap stay
// spread out; the result therefore lies in [base*(1-Jitter),
// base*(1+Jitter)], never below 0 and never above MaxDelay*(1+Jitter).
// rnd outside [0, 1] is clamped into it and NaN counts as 0.5 (no jitter);
// attempt < 1 counts as 1.
func (p Policy) Delay(attempt int, rnd float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	base := float64(p.MaxDelay)
	// Compare in float64: InitialDelay*factor^k overflows int64 long before
	// the float does, and an infinite product simply means "capped". A zero
	// InitialDelay stays zero: 0*Inf is NaN, which would read as "capped"
	// once the factor's power overflows (attempt 1025 at factor 2).
	if p.InitialDelay <= 0 {
		base = 0
	} else if f := float64(p.InitialDelay) * math.Pow(p.BackoffFactor, float64(attempt-1)); f < base {
		base = f
	}
	switch {
	case math.IsNaN(rnd):
		rnd = 0.5
	case rnd < 0:
		rnd = 0
	case rnd > 1:
		rnd = 1
	}
	d := base * (1 + p.Jitter*(2*rnd-1))
	switch {
	case d <= 0:
		return 0
	case d >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(d)
}
