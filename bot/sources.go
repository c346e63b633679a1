package bot

import (
	"context"
	"time"
)

// The read-only commands answer from the rest of sheriff through these
// small interfaces; any of them may be nil, and the command then says the
// information is not available.

// Subsystem is one part of sheriff as shown by the status command.
type Subsystem struct {
	Name     string
	Healthy  bool
	LastPoll time.Time // zero if not applicable
	Backlog  int       // queued work, if applicable
	Detail   string    // short, e.g. the last error
}

// StatusSource reports the health of each subsystem.
type StatusSource interface {
	Status(ctx context.Context) []Subsystem
}

// Signature is one recently seen error signature.
type Signature struct {
	Key       string
	Title     string
	Status    string // new, known, regressed, ...
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	Task      string // "T123" or a URL; empty if none
}

// RecentSource lists the latest new signatures, newest first.
type RecentSource interface {
	Recent(ctx context.Context, n int) ([]Signature, error)
}

// DriftSummary sums up the last configuration drift run.
type DriftSummary struct {
	When  time.Time
	Real  int    // drift findings that need attention
	Known int    // expected / accepted differences
	Link  string // the full report
	Text  string // optional one-line summary overriding the counts
}

// DriftSource returns the summary of the last drift run; ok is false when
// there has been none.
type DriftSource interface {
	DriftSummary(ctx context.Context) (s DriftSummary, ok bool, err error)
}

// TaskInfo is what sheriff knows about a Phabricator task.
type TaskInfo struct {
	ID       string // T123
	Title    string
	Status   string
	URL      string
	Keys     []string // finding keys filed under it
	Count    int64
	LastSeen time.Time
}

// TaskSource looks tasks up; ok is false for a task sheriff does not know.
type TaskSource interface {
	TaskInfo(ctx context.Context, id string) (t TaskInfo, ok bool, err error)
}

// FindingSource tells whether sheriff knows a finding, so that ack and
// silence refuse targets that do not exist.
type FindingSource interface {
	// LookupFinding finds a finding by its key or by a prefix of it that
	// only one finding has (people type the short ids `recent` shows). ok
	// is false when no finding (or several) match.
	LookupFinding(ctx context.Context, key string) (fullKey, title string, ok bool, err error)
}
