package bot

import (
	"context"
	"time"

	"github.com/wikimedia/sheriff/internal/rota"
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

// Sent is one IRC line the bot queued about a finding, for the dashboard's
// audit trail.
type Sent struct {
	ID      int64     `json:"id"`
	Reason  string    `json:"reason"` // new, remind, escalate
	Queued  time.Time `json:"queued"`
	Sent    time.Time `json:"sent,omitzero"`
	To      string    `json:"to,omitempty"`
	Dropped string    `json:"dropped,omitempty"` // why it was not sent
	Burst   int64     `json:"burst,omitempty"`
}

// Trail returns what the bot announced about finding key, oldest first:
// its announcements and their reminders and escalations.
func (b *Bot) Trail(ctx context.Context, key string) ([]Sent, error) {
	rows, err := b.q.list(ctx, `key = ? AND reason IN (?, ?, ?) ORDER BY id LIMIT 200`, key, reasonNew, reasonRemind, reasonEscalate)
	if err != nil {
		return nil, err
	}
	out := make([]Sent, 0, len(rows))
	for _, a := range rows {
		out = append(out, Sent{ID: a.ID, Reason: a.Reason, Queued: a.Created, Sent: a.Sent, To: a.SentTo, Dropped: a.Dropped, Burst: a.Burst})
	}
	return out, nil
}

// Rota is the bot's rota.
func (b *Bot) Rota() *rota.Rota { return b.rota }
