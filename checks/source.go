// Package checks holds sheriff's sources of events (logstash, recorded NDJSON
// files) and the checks that turn them into findings.
//
// A source hands out events in batches. The caller processes a batch and then
// calls Commit inside the same database transaction that records the results,
// so that a crash at any point either keeps both or neither: no event is lost
// and none is counted twice.
package checks

import (
	"context"
	"database/sql"

	"github.com/wikimedia/sheriff/internal/event"
)

// Batch is what one poll of a source returned.
type Batch struct {
	Events    []event.Event
	Malformed int  // documents that could not be decoded and were skipped
	More      bool // the source has more events ready; poll again without waiting
	// Cursor is opaque to callers; Commit persists it.
	Cursor Cursor
}

// Cursor is a source's persisted position.
type Cursor struct {
	// Timestamp and TieBreak are the sort values of the last event consumed.
	Timestamp int64 // unix milliseconds
	TieBreak  string
	// Offset is used by file sources: the byte offset consumed so far.
	Offset int64
	// SeenIDs are document keys consumed in this batch, remembered for the
	// overlap window so that late or re-read documents are not counted twice.
	SeenIDs []SeenID
}

// SeenID identifies one consumed document.
type SeenID struct {
	Key       string // index/_id
	Timestamp int64  // unix milliseconds of the event, for pruning
}

// Source is a stream of events with a durable position.
type Source interface {
	// Name is the stable identifier of the source (its checkpoint key).
	Name() string
	// Poll returns the next batch after the committed position. It does not
	// advance the position; Commit does.
	Poll(ctx context.Context) (Batch, error)
	// Commit records the batch as consumed within tx.
	Commit(ctx context.Context, tx *sql.Tx, b Batch) error
}
