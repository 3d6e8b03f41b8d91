package feed

import (
	"math/rand/v2"
	"time"
)

// Backoff is the reconnect policy. Zero fields take the defaults. Every wait is jittered
// ±20 % so that many monitors restarted together do not reconnect in step.
type Backoff struct {
	// Min and Max: after a failed attempt or a short-lived link, Min doubling to Max
	// (1 s → 30 s).
	Min, Max time.Duration
	// Replaced is the first wait after Zoom closed a healthy link cleanly (another consumer
	// took the subscription), doubling to ReplacedMax (30 s → 5 min; zero = 10 × Replaced):
	// two monitors on one subscription must not fight over it.
	Replaced, ReplacedMax time.Duration
	// AuthFailed is the first wait after the token endpoint rejected the credentials while
	// running (a rotated secret), doubling to AuthFailedMax (1 min → 10 min; zero = 10 ×
	// AuthFailed): nothing will change until someone fixes the configuration.
	AuthFailed, AuthFailedMax time.Duration
	// StableAfter: a link live this long resets the Min and AuthFailed sequences (2 min).
	StableAfter time.Duration
	// DropResetAfter: a link that was live this long before it failed restarts the Min
	// sequence (10 s). Such links are no reconnect storm, and every second of waiting is
	// events Zoom never redelivers: with drops every 20 s the wait grew to 30 s and more
	// than half of the events were lost.
	DropResetAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&b.Min, time.Second)
	def(&b.Max, max(30*time.Second, b.Min))
	def(&b.Replaced, 30*time.Second)
	def(&b.ReplacedMax, 10*b.Replaced)
	def(&b.AuthFailed, time.Minute)
	def(&b.AuthFailedMax, 10*b.AuthFailed)
	def(&b.StableAfter, 2*time.Minute)
	def(&b.DropResetAfter, min(10*time.Second, b.StableAfter))
	return b
}

// retryPolicy turns how links ended into waits. Each kind of trouble has its own sequence:
// a drop between two evictions must not shorten the wait that keeps two consumers apart.
type retryPolicy struct {
	b                            Backoff
	failures, replaced, rejected int // consecutive waits of each sequence so far
}

// next returns the wait after a link that ended as k, having been live for liveFor (0 if
// it never went live).
func (p *retryPolicy) next(k endKind, liveFor time.Duration) time.Duration {
	switch {
	case liveFor >= 2*p.b.ReplacedMax:
		// Live far longer than a competing consumer would wait: it has gone.
		p.failures, p.replaced, p.rejected = 0, 0, 0
	case liveFor >= p.b.StableAfter:
		// Not replaced: a fight with another consumer has long live periods too.
		p.failures, p.rejected = 0, 0
	case liveFor >= p.b.DropResetAfter && k == endFailed:
		p.failures = 0
	}
	var d time.Duration
	switch k {
	case endReplaced:
		d = grow(p.b.Replaced, p.b.ReplacedMax, p.replaced)
		p.replaced++
	case endRejected:
		d = grow(p.b.AuthFailed, p.b.AuthFailedMax, p.rejected)
		p.rejected++
	default:
		d = grow(p.b.Min, p.b.Max, p.failures)
		p.failures++
	}
	return jitter(d)
}

// grow doubles base n times, up to limit.
func grow(base, limit time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// jitter spreads d uniformly over ±20 %.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
