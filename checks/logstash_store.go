package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/wikimedia/sheriff/internal/store"
)

// Tables of the "checks" component, used by the logstash watcher.
//
// checks_cursor holds one row per source: the sort position (timestamp and
// tie-breaker) of the last consumed event; horizon_ms, the timestamp above
// which checks_seen is complete (rows below it have been pruned, so the
// watcher never re-reads below it); and generation, bumped by every Commit,
// which lets a watcher tell whether the state it polled against is still the
// committed one.
//
// checks_seen holds the keys (index/_id) of consumed documents whose
// timestamp is recent enough to be read again by the overlapping window.
var logstashMigrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE checks_cursor (
	source     TEXT PRIMARY KEY,
	ts_ms      INTEGER NOT NULL,
	tiebreak   TEXT NOT NULL DEFAULT '',
	horizon_ms INTEGER NOT NULL DEFAULT 0,
	generation INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TABLE checks_seen (
	source TEXT NOT NULL,
	key    TEXT NOT NULL,
	ts_ms  INTEGER NOT NULL,
	PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX checks_seen_ts ON checks_seen(source, ts_ms);
`},
}

// lsCursor is a source's committed state.
type lsCursor struct {
	ts, horizon, gen int64
	tb               string
}

// lsQuerier is satisfied by *sql.DB, *sql.Tx and *store.DB.
type lsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// lsInitCursor records where a new source starts, once: a restart before the
// first commit must not move the start (and skip what lies between).
func lsInitCursor(ctx context.Context, q lsQuerier, source string, startMs int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO checks_cursor(source, ts_ms, horizon_ms) VALUES(?,?,?)
		ON CONFLICT(source) DO NOTHING`, source, startMs, startMs)
	return err
}

func lsLoadCursor(ctx context.Context, q lsQuerier, source string) (lsCursor, error) {
	var c lsCursor
	err := q.QueryRowContext(ctx, `SELECT ts_ms, tiebreak, horizon_ms, generation FROM checks_cursor WHERE source=?`,
		source).Scan(&c.ts, &c.tb, &c.horizon, &c.gen)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("no checkpoint row for source %q", source)
	}
	return c, err
}

// lsSeenChunk bounds the number of SQL parameters per statement.
const lsSeenChunk = 300

// lsSeenAmong returns which of keys are in the persisted seen set.
func lsSeenAmong(ctx context.Context, q lsQuerier, source string, keys []string) (map[string]bool, error) {
	seen := map[string]bool{}
	for len(keys) > 0 {
		n := min(len(keys), lsSeenChunk)
		chunk := keys[:n]
		keys = keys[n:]
		args := make([]any, 0, n+1)
		args = append(args, source)
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := q.QueryContext(ctx, `SELECT key FROM checks_seen WHERE source=? AND key IN (?`+
			strings.Repeat(",?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, err
			}
			seen[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// lsInsertSeen adds ids to the seen set and returns how many were new.
func lsInsertSeen(ctx context.Context, q lsQuerier, source string, ids []SeenID) (int64, error) {
	var added int64
	for len(ids) > 0 {
		n := min(len(ids), lsSeenChunk)
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, 0, 3*n)
		for _, s := range chunk {
			args = append(args, source, s.Key, s.Timestamp)
		}
		res, err := q.ExecContext(ctx, `INSERT INTO checks_seen(source, key, ts_ms) VALUES (?,?,?)`+
			strings.Repeat(",(?,?,?)", n-1)+` ON CONFLICT(source, key) DO NOTHING`, args...)
		if err != nil {
			return added, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return added, err
		}
		added += k
	}
	return added, nil
}
