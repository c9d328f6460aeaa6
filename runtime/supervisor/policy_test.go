package supervisor

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	want := Policy{
		MaxAttempts: 0, InitialDelay: time.Second, MaxDelay: 90 * time.Second,
		BackoffFactor: 2.0, Jitter: 0.1, StableThreshold: 5 * time.Second,
		StartTimeout: 10 * time.Second, StopTimeout: 10 * time.Second,
	}
	if p != want {
		t.Fatalf("DefaultPolicy() = %+v, want %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Policy)
		ok     bool
	}{
		{"default", func(*Policy) {}, true},
		{"zero delays", func(p *Policy) { p.InitialDelay, p.MaxDelay = 0, 0 }, true},
		{"factor one", func(p *Policy) { p.BackoffFactor = 1 }, true},
		{"jitter zero", func(p *Policy) { p.Jitter = 0 }, true},
		{"jitter one", func(p *Policy) { p.Jitter = 1 }, true},
		{"initial above max is capped, not rejected", func(p *Policy) { p.InitialDelay = 2 * p.MaxDelay }, true},
		{"negative attempts", func(p *Policy) { p.MaxAttempts = -1 }, false},
		{"negative initial delay", func(p *Policy) { p.InitialDelay = -time.Second }, false},
		{"negative max delay", func(p *Policy) { p.MaxDelay = -time.Second }, false},
		{"factor below one", func(p *Policy) { p.BackoffFactor = 0.5 }, false},
		{"factor zero", func(p *Policy) { p.BackoffFactor = 0 }, false},
		{"factor nan", func(p *Policy) { p.BackoffFactor = math.NaN() }, false},
		{"factor inf", func(p *Policy) { p.BackoffFactor = math.Inf(1) }, false},
		{"jitter negative", func(p *Policy) { p.Jitter = -0.1 }, false},
		{"jitter above one", func(p *Policy) { p.Jitter = 1.5 }, false},
		{"jitter nan", func(p *Policy) { p.Jitter = math.NaN() }, false},
		{"negative stable threshold", func(p *Policy) { p.StableThreshold = -1 }, false},
		{"negative start timeout", func(p *Policy) { p.StartTimeout = -1 }, false},
		{"negative stop timeout", func(p *Policy) { p.StopTimeout = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.mutate(&p)
			err := p.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			if _, err2 := New(p); (err2 == nil) != tt.ok {
				t.Fatalf("New() = %v, want ok=%v", err2, tt.ok)
			}
		})
	}
}

func TestDelay(t *testing.T) {
	noJitter := DefaultPolicy()
	noJitter.Jitter = 0
	tests := []struct {
		name    string
		p       Policy
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{"first", noJitter, 1, 0.3, time.Second},
		{"second", noJitter, 2, 0.3, 2 * time.Second},
		{"third", noJitter, 3, 0.3, 4 * time.Second},
		{"seventh", noJitter, 7, 0.3, 64 * time.Second},
		{"eighth capped", noJitter, 8, 0.3, 90 * time.Second},
		{"huge attempt capped", noJitter, 1 << 30, 0.3, 90 * time.Second},
		{"attempt zero counts as one", noJitter, 0, 0.3, time.Second},
		{"negative attempt counts as one", noJitter, -5, 0.3, time.Second},
		{"jitter low end", DefaultPolicy(), 1, 0, 900 * time.Millisecond},
		{"jitter middle", DefaultPolicy(), 1, 0.5, time.Second},
		{"jitter high end", DefaultPolicy(), 1, 1, 1100 * time.Millisecond},
		{"jitter above the cap", DefaultPolicy(), 20, 1, 99 * time.Second},
		{"jitter below the cap", DefaultPolicy(), 20, 0, 81 * time.Second},
		{"rnd below range clamps", DefaultPolicy(), 1, -3, 900 * time.Millisecond},
		{"rnd above range clamps", DefaultPolicy(), 1, 7, 1100 * time.Millisecond},
		{"rnd nan means no jitter", DefaultPolicy(), 1, math.NaN(), time.Second},
		{"full jitter can reach zero", Policy{InitialDelay: time.Second, MaxDelay: time.Minute, BackoffFactor: 2, Jitter: 1}, 1, 0, 0},
		{"factor one is constant", Policy{InitialDelay: 3 * time.Second, MaxDelay: time.Minute, BackoffFactor: 1}, 9, 0.5, 3 * time.Second},
		{"initial above max is capped", Policy{InitialDelay: time.Hour, MaxDelay: time.Minute, BackoffFactor: 2}, 1, 0.5, time.Minute},
		{"zero max delay", Policy{InitialDelay: time.Second, MaxDelay: 0, BackoffFactor: 2}, 3, 0.5, 0},
		{"zero initial delay stays zero", Policy{InitialDelay: 0, MaxDelay: 90 * time.Second, BackoffFactor: 2, Jitter: 0.1}, 3, 1, 0},
		// 2^1024 overflows float64: 0*Inf is NaN and must not read as "capped".
		{"zero initial delay past the float overflow", Policy{InitialDelay: 0, MaxDelay: 90 * time.Second, BackoffFactor: 2, Jitter: 0.1}, 10000, 1, 0},
		{"max duration does not overflow", Policy{InitialDelay: time.Second, MaxDelay: math.MaxInt64, BackoffFactor: 2, Jitter: 1}, 200, 1, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.attempt, tt.rnd); got != tt.want {
				t.Fatalf("Delay(%d, %v) = %s, want %s", tt.attempt, tt.rnd, got, tt.want)
			}
		})
	}
}

// TestDelayJitterBounds checks over many rnd in [0, 1) and many attempts
// that the delay stays within +-Jitter of the capped base, never below 0 and
// never above MaxDelay*(1+Jitter).
func TestDelayJitterBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, jitter := range []float64{0, 0.1, 0.5, 1} {
		p := DefaultPolicy()
		p.Jitter = jitter
		for i := 0; i < 20000; i++ {
			attempt := 1 + r.IntN(12)
			rnd := r.Float64()
			base := min(float64(p.MaxDelay), float64(p.InitialDelay)*math.Pow(p.BackoffFactor, float64(attempt-1)))
			lo := time.Duration(base * (1 - jitter))
			hi := time.Duration(base * (1 + jitter))
			got := p.Delay(attempt, rnd)
			// One nanosecond of slack for float rounding at the edges.
			if got < lo-1 || got > hi+1 || got < 0 || float64(got) > float64(p.MaxDelay)*(1+jitter)+1 {
				t.Fatalf("jitter %v attempt %d rnd %v: delay %s outside [%s, %s]", jitter, attempt, rnd, got, lo, hi)
			}
		}
	}
}

// TestDelayMonotonicInRnd: a larger random number never gives a shorter wait,
// so the jitter is a plain linear spread.
func TestDelayMonotonicInRnd(t *testing.T) {
	p := DefaultPolicy()
	for attempt := 1; attempt <= 10; attempt++ {
		prev := time.Duration(-1)
		for i := 0; i <= 100; i++ {
			d := p.Delay(attempt, float64(i)/100)
			if d < prev {
				t.Fatalf("attempt %d: Delay not monotonic at rnd %v: %s < %s", attempt, float64(i)/100, d, prev)
			}
			prev = d
		}
	}
}
