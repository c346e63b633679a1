package pipeline

import (
	"context"
	"database/sql"
	"time"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
)

// Check consumes a source's events in place of signature grouping, for
// sources whose events need their own state (puppet agent runs per host).
// Observe runs inside the batch's transaction, together with the source's
// Commit, so a crash never half-applies a batch.
type Check interface {
	Observe(ctx context.Context, tx *sql.Tx, evs []event.Event, now time.Time) error
}

// FindingSource produces findings other than signatures: puppet failure
// causes, spikes, drift. The Reporter asks it for pending findings after
// every ingest and hands them to the same filer and bot as signatures.
type FindingSource interface {
	Name() string
	// Pending returns the findings that changed since they were last reported.
	Pending(ctx context.Context, now time.Time) ([]finding.Finding, error)
	// Reported records that f was handed to the actions with result res.
	Reported(ctx context.Context, f finding.Finding, res filer.Result) error
}
