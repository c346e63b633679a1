package checks

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/store"
)

// NDJSON is a Source over recorded events, one JSON document per line: the
// bundled demo sample, or a file given to `sheriff replay`. Its position is a
// byte offset, committed like any other cursor, so a restart resumes where
// the last committed batch ended.
type NDJSON struct {
	name      string
	data      []byte
	db        *store.DB
	batchSize int
}

var ndjsonMigrations = []store.Migration{
	{Version: 1, SQL: `CREATE TABLE checks_file_cursor (
		source TEXT PRIMARY KEY,
		offset INTEGER NOT NULL,
		updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))`},
}

// maxLine is counted as malformed.
func NewNDJSON(ctx context.Context, db *store.DB, name string, data []byte, batchSize int) (*NDJSON, error) {
	if err := db.Migrate(ctx, "checks-file", ndjsonMigrations); err != nil {
		return nil, err
	}
	if batchSize <= 0 {
		batchSize = 500
	}
	return &NDJSON{name: name, data: data, db: db, batchSize: batchSize}, nil
}

// Name implements Source.
func (s *NDJSON) Name() string { return s.name }

// Poll implements Source.
func (s *NDJSON) Poll(ctx context.Context) (Batch, error) {
	var off int64
	err := s.db.QueryRowContext(ctx, `SELECT offset FROM checks_file_cursor WHERE source=?`, s.name).Scan(&off)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Batch{}, fmt.Errorf("%s: read cursor: %w", s.name, err)
	}
	if off > int64(len(s.data)) {
		return Batch{}, fmt.Errorf("%s: cursor offset %d beyond end of data (%d bytes): was the file replaced?", s.name, off, len(s.data))
	}
	var b Batch
	pos := off
	for pos < int64(len(s.data)) && len(b.Events) < s.batchSize {
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		rest := s.data[pos:]
		end := bytes.IndexByte(rest, '\n')
		line := rest
		next := int64(len(s.data))
		if end >= 0 {
			line = rest[:end]
			next = pos + int64(end) + 1
		}
		lineStart := pos
		pos = next
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ev, err := event.Decode(line)
		if err != nil {
			b.Malformed++
			continue
		}
		if ev.ID == "" {
			// A recorded line has no _id; its offset identifies it uniquely.
			ev.ID = s.name + "@" + strconv.FormatInt(lineStart, 10)
		}
		b.Events = append(b.Events, ev)
	}
	b.More = pos < int64(len(s.data))
	b.Cursor.Offset = pos
	return b, nil
}

// Commit implements Source.
func (s *NDJSON) Commit(ctx context.Context, tx *sql.Tx, b Batch) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO checks_file_cursor(source, offset) VALUES(?,?)
		ON CONFLICT(source) DO UPDATE SET offset=excluded.offset, updated_at=strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
		s.name, b.Cursor.Offset)
	if err != nil {
		return fmt.Errorf("%s: commit cursor: %w", s.name, err)
	}
	return nil
}
