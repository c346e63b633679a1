package tracker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
)

// Rate is the bucketed event counts of one signature, with the state a
// rate-based check needs to decide whether a change matters.
type Rate struct {
	Kind      finding.Kind
	ID        string
	FirstSeen time.Time
	LastSeen  time.Time
	Status    finding.Status
	TaskID    int
	Buckets   map[int64]int64 // bucket start (unix ms) -> count
}

// Rates returns, in one query, the rate buckets since t0 of every signature
// (of the given kinds; all kinds when none is given) that has at least one
// bucket in that range, ordered by kind and id. Signatures without events
// since t0 are not listed.
func (t *Tracker) Rates(ctx context.Context, since time.Time, kinds ...finding.Kind) ([]Rate, error) {
	q := `SELECT b.kind, b.id, b.bucket, b.count, s.first_seen, s.last_seen, s.status, s.task_id
		FROM core_buckets b JOIN core_signatures s ON s.kind = b.kind AND s.id = b.id
		WHERE b.bucket >= ?`
	args := []any{since.UnixMilli()}
	if len(kinds) > 0 {
		q += ` AND b.kind IN (?` + strings.Repeat(`,?`, len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	q += ` ORDER BY b.kind, b.id`
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("tracker: rates: %w", err)
	}
	defer rows.Close()
	var out []Rate
	for rows.Next() {
		var kind, id, status string
		var bucket, n, first, last int64
		var task int
		if err := rows.Scan(&kind, &id, &bucket, &n, &first, &last, &status, &task); err != nil {
			return nil, fmt.Errorf("tracker: rates: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id || string(out[len(out)-1].Kind) != kind {
			out = append(out, Rate{
				Kind: finding.Kind(kind), ID: id, Status: finding.Status(status), TaskID: task,
				FirstSeen: time.UnixMilli(first).UTC(), LastSeen: time.UnixMilli(last).UTC(),
				Buckets: map[int64]int64{},
			})
		}
		out[len(out)-1].Buckets[bucket] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tracker: rates: %w", err)
	}
	return out, nil
}
