package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateIsIdempotentAndPerComponent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := []Migration{{1, `CREATE TABLE a_t (x INTEGER)`}, {2, `ALTER TABLE a_t ADD COLUMN y TEXT`}}
	b := []Migration{{1, `CREATE TABLE b_t (x INTEGER)`}}
	for range 2 {
		if err := db.Migrate(ctx, "a", a); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, "b", b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO a_t(x, y) VALUES (1, 'one')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopened, a later release adds a migration: only that one runs.
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a = append(a, Migration{3, `ALTER TABLE a_t ADD COLUMN z TEXT DEFAULT 'zed'`})
	if err := db.Migrate(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	var y, z string
	if err := db.QueryRowContext(ctx, `SELECT y, z FROM a_t`).Scan(&y, &z); err != nil || y != "one" || z != "zed" {
		t.Fatalf("data after migration: %q %q %v", y, z, err)
	}
}

func TestMigrateRejectsGapsAndRollsBackFailures(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, "c", []Migration{{2, `SELECT 1`}}); err == nil || !strings.Contains(err.Error(), "want 1") {
		t.Fatalf("gap accepted: %v", err)
	}
	bad := []Migration{{1, `CREATE TABLE c_t (x INTEGER); CREATE TABLE c_t (x INTEGER)`}}
	if err := db.Migrate(ctx, "c", bad); err == nil {
		t.Fatal("failing migration accepted")
	}
	var n int
	db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name='c_t'`).Scan(&n)
	if n != 0 {
		t.Fatal("a failed migration left a table behind")
	}
}

func TestTxRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, "d", []Migration{{1, `CREATE TABLE d_t (x INTEGER)`}}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO d_t VALUES (1)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v", err)
	}
	var n int
	db.QueryRowContext(ctx, `SELECT count(*) FROM d_t`).Scan(&n)
	if n != 0 {
		t.Fatal("rolled-back insert is visible")
	}
}
