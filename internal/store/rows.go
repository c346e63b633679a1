package store

import (
	"context"
)

// Row is what a scan function reads one row from: *sql.Row and *sql.Rows
// both are, so one function serves a single-row lookup and a list.
type Row interface{ Scan(dest ...any) error }

// Query runs query on db and returns every row read by scan, in order. The
// error is returned unwrapped: callers add their own context.
func Query[T any](ctx context.Context, db *DB, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
