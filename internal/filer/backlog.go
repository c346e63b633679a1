package filer

import (
	"context"
	"fmt"
	"time"
)

// Backlog describes the findings handed to Sync that have no task yet.
type Backlog struct {
	Count     int
	Oldest    time.Time // when the oldest one first failed to be filed
	LastError string    // the last error of the oldest one (redacted)
}

// Age is how long the oldest unfiled finding has waited at now.
func (b Backlog) Age(now time.Time) time.Duration {
	if b.Count == 0 || b.Oldest.IsZero() {
		return 0
	}
	return now.Sub(b.Oldest)
}

// Backlog reports the unfiled findings, for /healthz and metrics.
func (f *Filer) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	var oldest, lastErr string
	err := f.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(since), '') FROM filer_backlog WHERE backend=?`, f.bid).
		Scan(&b.Count, &oldest)
	if err != nil {
		return b, fmt.Errorf("filer: read backlog: %w", err)
	}
	b.Oldest = parseTime(oldest)
	if b.Count > 0 {
		if err := f.db.QueryRowContext(ctx, `SELECT last_error FROM filer_backlog WHERE backend=? ORDER BY since LIMIT 1`, f.bid).
			Scan(&lastErr); err != nil {
			return b, fmt.Errorf("filer: read backlog: %w", err)
		}
		b.LastError = lastErr
	}
	return b, nil
}

// noteBacklog records the outcome of one Sync: findings whose result says
// their task exists (or their silencing is recorded) leave the backlog; the
// others (pending, or failed without a result) enter it or stay.
func (f *Filer) noteBacklog(ctx context.Context, items []*item, results []Result, failure error) error {
	done := map[string]bool{}
	for _, r := range results {
		if r.Action != ActionPending {
			done[Marker(r.Kind, r.Key)] = true
		}
	}
	msg := ""
	if failure != nil {
		msg = f.redact(failure.Error())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
	}
	now := fmtTime(f.now())
	for _, it := range items {
		var err error
		if done[it.marker] {
			_, err = f.db.ExecContext(ctx, `DELETE FROM filer_backlog WHERE backend=? AND marker=?`, f.bid, it.marker)
		} else {
			_, err = f.db.ExecContext(ctx, `INSERT INTO filer_backlog(backend, marker, kind, key, since, attempts, last_error)
				VALUES(?,?,?,?,?,1,?) ON CONFLICT(backend, marker) DO UPDATE SET attempts=attempts+1, last_error=excluded.last_error`,
				f.bid, it.marker, string(it.f.Kind), it.f.Key, now, msg)
		}
		if err != nil {
			return fmt.Errorf("filer: record backlog: %w", err)
		}
	}
	return nil
}
