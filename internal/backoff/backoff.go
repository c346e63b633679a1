// Package backoff computes retry delays: exponential, capped, with full
// jitter so that many clients do not retry in lockstep.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff policy. The zero value is usable.
type Policy struct {
	Base time.Duration // first delay; default 1s
	Max  time.Duration // cap; default 5m
}

// Delay returns the delay before retry attempt n (0-based): a random value in
// [d/2, d] where d = min(Max, Base*2^n).
func (p Policy) Delay(n int) time.Duration {
	base, max := p.Base, p.Max
	if base <= 0 {
		base = time.Second
	}
	if max <= 0 {
		max = 5 * time.Minute
	}
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Sleep waits for d or until ctx is done, returning ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
