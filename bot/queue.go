package bot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// The announcement queue is a table, so that what is announced while the
// bot is disconnected (or the process restarts) is delivered after
// reconnecting, and rows are marked sent only once the server has
// confirmed it processed them (see deliver), which gives exactly-once
// delivery except for a connection lost in the instant between the server
// relaying a line and its answer to our PING reaching us.

const (
	reasonNew      = "new"      // first announcement of a finding
	reasonRemind   = "remind"   // not acked after EscalateAfter
	reasonEscalate = "escalate" // not acked after 2*EscalateAfter: next person
	reasonExpired  = "expired"  // a silence ran out
	reasonInfo     = "info"     // an informational line (drift summary): nobody pinged, never escalated
)

// Escalation stages of a delivered "new" row.
const (
	stageAwaitRemind = 0
	stageAwaitEscal  = 1
	stageDone        = 2
)

var queueMigrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE bot_announce (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	reason   TEXT NOT NULL,
	kind     TEXT NOT NULL,
	key      TEXT NOT NULL,
	status   TEXT NOT NULL,
	title    TEXT NOT NULL,
	task_url TEXT NOT NULL,
	task_id  TEXT NOT NULL,
	ref      INTEGER NOT NULL DEFAULT 0,  -- the "new" row a reminder is about
	dedupe   TEXT UNIQUE,                 -- one reminder/expiry notice per subject
	created  INTEGER NOT NULL,            -- unix ms
	sent     INTEGER NOT NULL DEFAULT 0,  -- unix ms once delivered or dropped
	sent_to  TEXT NOT NULL DEFAULT '',    -- nick addressed
	dropped  TEXT NOT NULL DEFAULT '',    -- why it was not sent (silenced, acked)
	stage    INTEGER NOT NULL DEFAULT 0   -- escalation stage of a "new" row
);
CREATE INDEX bot_announce_pending ON bot_announce(sent, id);
-- A finding announced again before the first announcement went out is
-- announced once.
CREATE UNIQUE INDEX bot_announce_pending_key ON bot_announce(kind, key) WHERE sent = 0 AND reason = 'new';
CREATE INDEX bot_announce_escalation ON bot_announce(reason, stage, sent);
CREATE INDEX bot_announce_task ON bot_announce(task_id);
`},
	// burst is the id of the first row of the line a row was delivered in,
	// when that line announced several ("ack b12" acks them all).
	{Version: 2, SQL: `
ALTER TABLE bot_announce ADD COLUMN burst INTEGER NOT NULL DEFAULT 0;
CREATE INDEX bot_announce_burst ON bot_announce(burst) WHERE burst > 0;
CREATE INDEX bot_announce_sent_to ON bot_announce(sent_to, reason);
`},
}

type announcement struct {
	ID      int64
	Reason  string
	Kind    finding.Kind
	Key     string
	Status  string
	Title   string
	TaskURL string
	TaskID  string
	Ref     int64
	Created time.Time
	Sent    time.Time
	SentTo  string
	Dropped string
	Stage   int
	Burst   int64
}

type queue struct{ db *store.DB }

var taskIDRe = regexp.MustCompile(`(?:^|/)(T[0-9]{1,10})(?:[/?#]|$)`)

// taskIDFromURL extracts "T123" from a Phabricator task URL.
func taskIDFromURL(u string) string {
	if m := taskIDRe.FindStringSubmatch(u); m != nil {
		return m[1]
	}
	return ""
}

// enqueue adds a, unless an equivalent row exists (same dedupe key, or a
// pending "new" row for the same finding). added reports which.
func (q *queue) enqueue(ctx context.Context, a announcement, dedupe string) (id int64, added bool, err error) {
	var d any
	if dedupe != "" {
		d = dedupe
	}
	res, err := q.db.ExecContext(ctx, `INSERT INTO bot_announce
		(reason, kind, key, status, title, task_url, task_id, ref, dedupe, created)
		VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
		a.Reason, string(a.Kind), a.Key, a.Status, a.Title, a.TaskURL, a.TaskID, a.Ref, d, store.Millis(a.Created))
	if err != nil {
		return 0, false, fmt.Errorf("bot: enqueue: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, false, nil
	}
	id, err = res.LastInsertId()
	return id, err == nil, err
}

const annCols = `id, reason, kind, key, status, title, task_url, task_id, ref, created, sent, sent_to, dropped, stage, burst`

func scanAnn(r store.Row) (announcement, error) {
	var a announcement
	var kind string
	var created, sent int64
	err := r.Scan(&a.ID, &a.Reason, &kind, &a.Key, &a.Status, &a.Title, &a.TaskURL, &a.TaskID, &a.Ref,
		&created, &sent, &a.SentTo, &a.Dropped, &a.Stage, &a.Burst)
	a.Kind, a.Created, a.Sent = finding.Kind(kind), store.FromMillis(created), store.FromMillis(sent)
	return a, err
}

func (q *queue) list(ctx context.Context, where string, args ...any) ([]announcement, error) {
	out, err := store.Query(ctx, q.db, scanAnn, `SELECT `+annCols+` FROM bot_announce WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("bot: queue: %w", err)
	}
	return out, nil
}

// pending returns undelivered rows, oldest first, at most limit.
func (q *queue) pending(ctx context.Context, limit int) ([]announcement, error) {
	return q.list(ctx, `sent = 0 ORDER BY id LIMIT ?`, limit)
}

func (q *queue) pendingCount(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM bot_announce WHERE sent = 0`).Scan(&n)
	return n, err
}

func (q *queue) get(ctx context.Context, id int64) (announcement, bool, error) {
	a, err := scanAnn(q.db.QueryRowContext(ctx, `SELECT `+annCols+` FROM bot_announce WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return announcement{}, false, nil
	}
	if err != nil {
		return announcement{}, false, fmt.Errorf("bot: queue: %w", err)
	}
	return a, true, nil
}

// markSent records delivery of ids to nick. Rows already marked (by an
// earlier attempt) are left alone.
func (q *queue) markSent(ctx context.Context, ids []int64, to string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return q.db.Tx(ctx, func(tx *sql.Tx) error {
		var burst int64
		if len(ids) > 1 {
			burst = slices.Min(ids)
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE bot_announce SET sent = ?, sent_to = ?, burst = ? WHERE id = ? AND sent = 0`,
				store.Millis(at), to, burst, id); err != nil {
				return fmt.Errorf("bot: mark sent: %w", err)
			}
		}
		return nil
	})
}

// markDropped records that id will not be sent, and why.
func (q *queue) markDropped(ctx context.Context, id int64, why string, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE bot_announce SET sent = ?, dropped = ?, stage = ? WHERE id = ? AND sent = 0`,
		store.Millis(at), why, stageDone, id)
	if err != nil {
		return fmt.Errorf("bot: mark dropped: %w", err)
	}
	return nil
}

// dueEscalations returns delivered "new" rows whose next escalation step is
// due at now.
func (q *queue) dueEscalations(ctx context.Context, now time.Time, after time.Duration) ([]announcement, error) {
	return q.list(ctx, `reason = ? AND dropped = '' AND sent > 0 AND stage < ?
		AND sent + (stage + 1) * ? <= ? ORDER BY id`, reasonNew, stageDone, after.Milliseconds(), store.Millis(now))
}

// setStage moves row id to stage; with follow-up non-nil it also queues
// that follow-up (a reminder or escalation), in the same transaction, so
// that a crash cannot ping twice or skip a step.
func (q *queue) setStage(ctx context.Context, id int64, stage int, followUp *announcement, dedupe string) error {
	return q.db.Tx(ctx, func(tx *sql.Tx) error {
		if followUp != nil {
			a := followUp
			if _, err := tx.ExecContext(ctx, `INSERT INTO bot_announce
				(reason, kind, key, status, title, task_url, task_id, ref, dedupe, created)
				VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
				a.Reason, string(a.Kind), a.Key, a.Status, a.Title, a.TaskURL, a.TaskID, a.Ref, dedupe, store.Millis(a.Created)); err != nil {
				return fmt.Errorf("bot: escalate: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bot_announce SET stage = ? WHERE id = ?`, stage, id); err != nil {
			return fmt.Errorf("bot: escalate: %w", err)
		}
		return nil
	})
}

// findByTask returns the latest "new" row filed under task id.
func (q *queue) findByTask(ctx context.Context, taskID string) (announcement, bool, error) {
	as, err := q.list(ctx, `reason = ? AND task_id = ? ORDER BY id DESC LIMIT 1`, reasonNew, strings.ToUpper(taskID))
	if err != nil || len(as) == 0 {
		return announcement{}, false, err
	}
	return as[0], true, nil
}

// findByKey returns the latest "new" row of finding key.
func (q *queue) findByKey(ctx context.Context, key string) (announcement, bool, error) {
	as, err := q.list(ctx, `reason = ? AND key = ? ORDER BY id DESC LIMIT 1`, reasonNew, key)
	if err != nil || len(as) == 0 {
		return announcement{}, false, err
	}
	return as[0], true, nil
}

// announcedTo returns the delivered findings, reminders and escalations
// addressed to any of nicks.
func (q *queue) announcedTo(ctx context.Context, nicks []string) ([]announcement, error) {
	var out []announcement
	for _, n := range nicks {
		as, err := q.list(ctx, `sent_to = ? COLLATE NOCASE AND sent > 0 AND dropped = '' AND reason IN (?, ?, ?) ORDER BY id`,
			n, reasonNew, reasonRemind, reasonEscalate)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}
