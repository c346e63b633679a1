package driftrun

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/drift"
	"github.com/wikimedia/sheriff/internal/store"
)

const component = "driftrun"

// Times are Unix milliseconds, UTC.
var migrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE driftrun_runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	started     INTEGER NOT NULL,
	finished    INTEGER,                    -- NULL while running
	err         TEXT NOT NULL DEFAULT '',   -- '' when the run succeeded
	summary     TEXT NOT NULL DEFAULT '',   -- the IRC line
	details     TEXT NOT NULL DEFAULT '{}', -- runDetails as JSON
	report_dir  TEXT NOT NULL DEFAULT ''    -- relative to the reports directory
);
-- One row per real drift finding ever seen, keyed by diff.Finding.ID().
CREATE TABLE driftrun_findings (
	id                TEXT PRIMARY KEY,
	source            TEXT NOT NULL,
	key               TEXT NOT NULL,
	wiki              TEXT NOT NULL DEFAULT '',
	host              TEXT NOT NULL DEFAULT '',
	path              TEXT NOT NULL DEFAULT '',
	title             TEXT NOT NULL,
	details           TEXT NOT NULL,
	facets            TEXT NOT NULL DEFAULT '{}',
	link              TEXT NOT NULL DEFAULT '',
	first_seen        INTEGER NOT NULL,
	last_seen         INTEGER NOT NULL,
	first_run         INTEGER NOT NULL,
	last_run          INTEGER NOT NULL,
	resolved_run      INTEGER,            -- NULL while the drift is present
	resolved_at       INTEGER,
	occurrences       INTEGER NOT NULL DEFAULT 1, -- 1 + times it came back after resolving
	reported_count    INTEGER NOT NULL DEFAULT 0, -- occurrences handed to the filer
	resolved_reported INTEGER NOT NULL DEFAULT 0, -- the resolution was handed to the filer
	silenced          INTEGER NOT NULL DEFAULT 0,
	task_id           INTEGER NOT NULL DEFAULT 0,
	task_url          TEXT NOT NULL DEFAULT '',
	reported_at       INTEGER
);
CREATE INDEX driftrun_findings_resolved ON driftrun_findings(resolved_run);
`},
}

// runDetails is the JSON stored with a run: what RunRecord has beyond the
// columns.
type runDetails struct {
	Real         int                `json:"real"`
	RealBySource map[string]int     `json:"real_by_source,omitempty"`
	Counts       map[diff.Class]int `json:"counts,omitempty"`
	New          int                `json:"new"`
	Resolved     int                `json:"resolved"`
	Accepted     int                `json:"accepted"`
	Problems     int                `json:"problems"`
	Warnings     []string           `json:"warnings,omitempty"`
	// Summary is the drift report's own summary, for later analysis.
	Report *drift.Summary `json:"report,omitempty"`
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func (r *Runner) insertRun(ctx context.Context, started time.Time) (int64, error) {
	res, err := r.db.ExecContext(ctx, `INSERT INTO driftrun_runs(started) VALUES(?)`, ms(started))
	if err != nil {
		return 0, fmt.Errorf("driftrun: record run: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("driftrun: record run: %w", err)
	}
	return id, nil
}

// markInterrupted closes runs left open by a stop during a run.
func (r *Runner) markInterrupted(ctx context.Context) (int64, error) {
	res, err := r.db.ExecContext(ctx, `UPDATE driftrun_runs SET finished=started, err=?, summary='drift: run #'||id||' interrupted by a stop'
		WHERE finished IS NULL`, "interrupted: sheriff stopped during the run")
	if err != nil {
		return 0, fmt.Errorf("driftrun: %w", err)
	}
	return res.RowsAffected()
}

// finishRun records the outcome of a run; for a successful one (rep not
// nil) it also updates the real findings, which gives New and Resolved,
// and builds the summary line, all in one transaction.
func (r *Runner) finishRun(ctx context.Context, rec *RunRecord, rep *drift.Report, dir string) error {
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		det := runDetails{Warnings: rec.Warnings}
		if rep != nil {
			n, res, err := r.syncFindings(ctx, tx, rec, rep)
			if err != nil {
				return err
			}
			rec.New, rec.Resolved = n, res
			rec.Summary = r.summaryLine(rec)
			det = runDetails{Real: rec.Real, RealBySource: rec.RealBySource, Counts: rec.Counts, New: rec.New,
				Resolved: rec.Resolved, Accepted: rec.Accepted, Problems: rec.Problems, Warnings: rec.Warnings,
				Report: &rep.Summary}
		}
		b, err := json.Marshal(det)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE driftrun_runs SET finished=?, err=?, summary=?, details=?, report_dir=? WHERE id=?`,
			ms(rec.Finished), rec.Err, rec.Summary, string(b), dir, rec.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("driftrun: record run %d: %w", rec.ID, err)
	}
	return nil
}

// syncFindings brings the findings table in line with the real drift of
// rep and returns how many findings are new (or back) and how many resolved.
func (r *Runner) syncFindings(ctx context.Context, tx *sql.Tx, rec *RunRecord, rep *drift.Report) (newN, resolvedN int, err error) {
	active := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM driftrun_findings WHERE resolved_run IS NULL`)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, 0, err
		}
		active[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}

	up, err := tx.PrepareContext(ctx, `INSERT INTO driftrun_findings
		(id, source, key, wiki, host, path, title, details, facets, link, first_seen, last_seen, first_run, last_run)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET
			title=excluded.title, details=excluded.details, facets=excluded.facets, link=excluded.link,
			last_seen=excluded.last_seen, last_run=excluded.last_run,
			occurrences=occurrences + (resolved_run IS NOT NULL),
			resolved_reported=CASE WHEN resolved_run IS NOT NULL THEN 0 ELSE resolved_reported END,
			resolved_run=NULL, resolved_at=NULL`)
	if err != nil {
		return 0, 0, err
	}
	defer up.Close()
	seen := map[string]bool{}
	t := ms(rec.Started)
	for _, f := range rep.Real() {
		id := f.ID()
		if seen[id] {
			continue
		}
		seen[id] = true
		if !active[id] {
			newN++
		}
		facets, err := json.Marshal(findingFacets(&f))
		if err != nil {
			return 0, 0, err
		}
		if _, err := up.ExecContext(ctx, id, f.Source, f.Key, f.Wiki, f.Host, f.Path,
			r.redact(findingTitle(&f)), r.redact(findingDetails(&f, rec.ReportURL)), string(facets), rec.ReportURL,
			t, t, rec.ID, rec.ID); err != nil {
			return 0, 0, err
		}
	}
	res, err := tx.PrepareContext(ctx, `UPDATE driftrun_findings SET resolved_run=?, resolved_at=? WHERE id=?`)
	if err != nil {
		return 0, 0, err
	}
	defer res.Close()
	for id := range active {
		if seen[id] {
			continue
		}
		resolvedN++
		if _, err := res.ExecContext(ctx, rec.ID, t, id); err != nil {
			return 0, 0, err
		}
	}
	return newN, resolvedN, nil
}

const runColumns = `id, started, finished, err, summary, details, report_dir`

func (r *Runner) scanRun(row interface{ Scan(...any) error }) (*RunRecord, error) {
	var (
		rec               RunRecord
		started, finished int64
		details, dir      string
	)
	if err := row.Scan(&rec.ID, &started, &finished, &rec.Err, &rec.Summary, &details, &dir); err != nil {
		return nil, err
	}
	rec.Started, rec.Finished = fromMS(started), fromMS(finished)
	var det runDetails
	if err := json.Unmarshal([]byte(details), &det); err != nil {
		return nil, fmt.Errorf("driftrun: run %d details: %w", rec.ID, err)
	}
	rec.Real, rec.RealBySource, rec.Counts = det.Real, det.RealBySource, det.Counts
	rec.New, rec.Resolved, rec.Accepted, rec.Problems, rec.Warnings = det.New, det.Resolved, det.Accepted, det.Problems, det.Warnings
	if dir != "" {
		rec.ReportPath = path.Join(dir, reportBase+".html")
		rec.ReportURL = r.ReportURL(rec.ReportPath)
	}
	return &rec, nil
}

// Last returns the most recent finished run, failed or not, or nil when
// there is none yet.
func (r *Runner) Last(ctx context.Context) (*RunRecord, error) {
	rec, err := r.scanRun(r.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM driftrun_runs
		WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("driftrun: last run: %w", err)
	}
	return rec, nil
}

// Runs returns up to n finished runs, most recent first.
func (r *Runner) Runs(ctx context.Context, n int) ([]RunRecord, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+runColumns+` FROM driftrun_runs
		WHERE finished IS NOT NULL ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("driftrun: runs: %w", err)
	}
	defer rows.Close()
	var out []RunRecord
	for rows.Next() {
		rec, err := r.scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("driftrun: runs: %w", err)
		}
		out = append(out, *rec)
	}
	return out, rows.Err()
}

// lastReportDir is the report directory of the last successful run.
func (r *Runner) lastReportDir(ctx context.Context) (string, error) {
	var dir string
	err := r.db.QueryRowContext(ctx, `SELECT report_dir FROM driftrun_runs
		WHERE finished IS NOT NULL AND err='' AND report_dir<>'' ORDER BY id DESC LIMIT 1`).Scan(&dir)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("driftrun: previous run: %w", err)
	}
	return dir, nil
}
