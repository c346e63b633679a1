// Package store opens sheriff's SQLite database and applies schema migrations.
//
// Each package that keeps state owns its tables and its list of migrations,
// registered under a component name ("core", "filer", "bot", ...), so that
// packages evolve their schema independently and in one place.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is sheriff's database handle. It is safe for concurrent use.
type DB struct {
	*sql.DB
	Path string
}

// Migration is one forward-only schema step of a component.
// Versions start at 1 and never change once released.
type Migration struct {
	Version int
	SQL     string
}

// Open opens (creating if needed) the database at path. ":memory:" is not
// supported because every connection would see a different database; tests use
// a file under t.TempDir().
//
// The database runs in WAL mode with synchronous=FULL so that a crash of the
// process or of the machine loses no committed transaction, and with
// immediate transactions so that concurrent writers queue on busy_timeout
// instead of failing with SQLITE_BUSY on lock upgrade.
func Open(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create directory: %w", err)
		}
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(15000)&_pragma=foreign_keys(ON)&_pragma=cache_size(-32768)"
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{DB: sdb, Path: path}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version   INTEGER NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
		PRIMARY KEY (component, version))`); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("store: init migrations: %w", err)
	}
	return db, nil
}

// Migrate applies, in order and each in its own transaction, the migrations of
// component that are not yet recorded. It is idempotent and safe to call at
// every start-up.
func (db *DB) Migrate(ctx context.Context, component string, ms []Migration) error {
	for i, m := range ms {
		if m.Version != i+1 {
			return fmt.Errorf("store: %s migration #%d has version %d, want %d", component, i, m.Version, i+1)
		}
	}
	for _, m := range ms {
		if err := db.apply(ctx, component, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, component string, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE component=? AND version=?`,
		component, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("store: migrate %s to version %d: %w", component, m.Version, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(component, version) VALUES(?,?)`,
		component, m.Version); err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	return tx.Commit()
}

// Tx runs fn in a transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
