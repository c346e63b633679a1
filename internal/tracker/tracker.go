// Package tracker keeps the state of every signature sheriff has seen: when
// it was first and last seen, how often, where (bounded facet counts), one
// redacted sample, its status and its task. It is the "state" stage of the
// pipeline and the data behind /api/signatures, IRC `recent` and reports.
package tracker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// MaxFacetValues bounds the distinct values counted per facet of a
// signature; the rest are counted under OtherValue. A signature hit from
// every IP or every page must not grow without bound.
const MaxFacetValues = 25

// OtherValue collects facet values beyond MaxFacetValues.
const OtherValue = "(other)"

var migrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE core_signatures (
	kind           TEXT NOT NULL,
	id             TEXT NOT NULL,
	title          TEXT NOT NULL,
	template       TEXT NOT NULL DEFAULT '',
	severity       TEXT NOT NULL DEFAULT '',
	projects       TEXT NOT NULL DEFAULT '[]',
	status         TEXT NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	count          INTEGER NOT NULL,
	reported_count INTEGER NOT NULL DEFAULT 0,
	reported_at    INTEGER NOT NULL DEFAULT 0,
	sample         TEXT NOT NULL DEFAULT '',
	trace          TEXT NOT NULL DEFAULT '',
	details        TEXT NOT NULL DEFAULT '',
	task_id        INTEGER NOT NULL DEFAULT 0,
	task_url       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (kind, id)
);
CREATE INDEX core_signatures_dirty ON core_signatures(kind) WHERE count > reported_count;
CREATE INDEX core_signatures_first_seen ON core_signatures(first_seen);
CREATE TABLE core_facets (
	kind  TEXT NOT NULL,
	id    TEXT NOT NULL,
	facet TEXT NOT NULL,
	value TEXT NOT NULL,
	count INTEGER NOT NULL,
	PRIMARY KEY (kind, id, facet, value)
);
CREATE TABLE core_counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
CREATE TABLE core_buckets (
	kind   TEXT NOT NULL,
	id     TEXT NOT NULL,
	bucket INTEGER NOT NULL,
	count  INTEGER NOT NULL,
	PRIMARY KEY (kind, id, bucket)
);`},
	{Version: 2, SQL: `
CREATE TABLE core_aliases (
	kind   TEXT NOT NULL,
	alias  TEXT NOT NULL,
	target TEXT NOT NULL,
	merged_at INTEGER NOT NULL,
	PRIMARY KEY (kind, alias)
);`},
}

// Tracker is the signature state store.
type Tracker struct {
	db     *store.DB
	bucket time.Duration
}

// New migrates the tracker's tables and returns a Tracker. bucket is the
// width of the per-signature rate buckets kept for spike detection.
func New(ctx context.Context, db *store.DB, bucket time.Duration) (*Tracker, error) {
	if err := db.Migrate(ctx, "core", migrations); err != nil {
		return nil, err
	}
	if bucket <= 0 {
		bucket = 10 * time.Minute
	}
	return &Tracker{db: db, bucket: bucket}, nil
}

// Occurrences aggregates the events of one signature within one batch.
type Occurrences struct {
	Kind     finding.Kind
	ID       string
	Title    string
	Template string
	Severity string
	Projects []string
	First    time.Time
	Last     time.Time
	Count    int64
	Sample   string // redacted
	Trace    string // redacted
	Details  string
	Facets   map[string]map[string]int64
	Buckets  map[int64]int64 // bucket start (unix ms) -> count
	Generic  bool            // grouped by the template miner (its id may become an alias)
}

// Fold adds the occurrences of b (the same signature) into o.
func (o *Occurrences) Fold(b *Occurrences) {
	if b.Count == 0 {
		return
	}
	if o.Count == 0 || b.First.Before(o.First) {
		o.First = b.First
	}
	if b.Last.After(o.Last) {
		o.Last = b.Last
	}
	o.Count += b.Count
	for f, vs := range b.Facets {
		if o.Facets == nil {
			o.Facets = map[string]map[string]int64{}
		}
		if o.Facets[f] == nil {
			o.Facets[f] = map[string]int64{}
		}
		for v, n := range vs {
			o.Facets[f][v] += n
		}
	}
	for k, n := range b.Buckets {
		if o.Buckets == nil {
			o.Buckets = map[int64]int64{}
		}
		o.Buckets[k] += n
	}
}

// Add counts one event at t with the given facet values into o.
func (o *Occurrences) Add(t time.Time, bucket time.Duration, facets map[string]string) {
	if o.Count == 0 || t.Before(o.First) {
		o.First = t
	}
	if t.After(o.Last) {
		o.Last = t
	}
	o.Count++
	if o.Facets == nil {
		o.Facets = map[string]map[string]int64{}
	}
	for f, v := range facets {
		if v == "" {
			continue
		}
		m := o.Facets[f]
		if m == nil {
			m = map[string]int64{}
			o.Facets[f] = m
		}
		m[v]++
	}
	if bucket > 0 {
		if o.Buckets == nil {
			o.Buckets = map[int64]int64{}
		}
		o.Buckets[t.Truncate(bucket).UnixMilli()]++
	}
}

// BucketWidth is the width of rate buckets this tracker keeps.
func (t *Tracker) BucketWidth() time.Duration { return t.bucket }

// Record adds the aggregated occurrences to the state within tx and returns
// the ids seen for the first time. New signatures get status "new"; the
// others keep theirs.
//
// Rows are written with multi-row statements: with the pure-Go SQLite
// driver, parsing one statement per row dominated the cost of large batches.
func (t *Tracker) Record(ctx context.Context, tx *sql.Tx, occ []*Occurrences) (map[string]bool, error) {
	fresh := map[string]bool{}
	const sigCols = 13
	for _, chunk := range chunks(occ, 40) {
		var args []any
		for _, o := range chunk {
			projects := []byte("[]")
			if len(o.Projects) > 0 {
				projects, _ = json.Marshal(o.Projects)
			}
			args = append(args, string(o.Kind), o.ID, o.Title, o.Template, o.Severity, string(projects), string(finding.StatusNew),
				o.First.UnixMilli(), o.Last.UnixMilli(), o.Count, o.Sample, o.Trace, o.Details)
		}
		q := `INSERT INTO core_signatures(kind, id, title, template, severity, projects, status, first_seen, last_seen, count, sample, trace, details)
VALUES ` + placeholders(len(chunk), sigCols) + `
ON CONFLICT(kind, id) DO UPDATE SET
	first_seen = min(first_seen, excluded.first_seen),
	last_seen  = max(last_seen, excluded.last_seen),
	count      = count + excluded.count,
	severity   = CASE WHEN excluded.severity != '' THEN excluded.severity ELSE severity END,
	projects   = CASE WHEN excluded.projects != '[]' THEN excluded.projects ELSE projects END,
	details    = CASE WHEN excluded.details != '' THEN excluded.details ELSE details END
RETURNING kind, id, count`
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("tracker: record signatures: %w", err)
		}
		totals := map[string]int64{}
		for rows.Next() {
			var kind, id string
			var n int64
			if err := rows.Scan(&kind, &id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("tracker: record signatures: %w", err)
			}
			totals[kind+"/"+id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("tracker: record signatures: %w", err)
		}
		for _, o := range chunk {
			if totals[string(o.Kind)+"/"+o.ID] == o.Count {
				fresh[o.ID] = true
			}
		}
	}
	if err := t.recordFacets(ctx, tx, occ, fresh); err != nil {
		return nil, err
	}
	type bucketRow struct {
		o    *Occurrences
		b, n int64
	}
	var brows []bucketRow
	for _, o := range occ {
		for b, n := range o.Buckets {
			brows = append(brows, bucketRow{o, b, n})
		}
	}
	for _, chunk := range chunks(brows, 100) {
		var args []any
		for _, r := range chunk {
			args = append(args, string(r.o.Kind), r.o.ID, r.b, r.n)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO core_buckets(kind, id, bucket, count) VALUES `+placeholders(len(chunk), 4)+`
			ON CONFLICT(kind, id, bucket) DO UPDATE SET count = count + excluded.count`, args...); err != nil {
			return nil, fmt.Errorf("tracker: record rate buckets: %w", err)
		}
	}
	return fresh, nil
}

// recordFacets adds facet counts, keeping at most MaxFacetValues distinct
// values per facet and signature; the rest count as OtherValue.
func (t *Tracker) recordFacets(ctx context.Context, tx *sql.Tx, occ []*Occurrences, fresh map[string]bool) error {
	// existing[kind/id][facet] = set of values already stored
	existing := map[string]map[string]map[string]bool{}
	var old []*Occurrences
	for _, o := range occ {
		if !fresh[o.ID] && len(o.Facets) > 0 {
			old = append(old, o)
		}
	}
	for _, chunk := range chunks(old, 100) {
		args := []any{}
		for _, o := range chunk {
			args = append(args, string(o.Kind), o.ID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT kind, id, facet, value FROM core_facets WHERE (kind, id) IN (VALUES `+placeholders(len(chunk), 2)+`)`, args...)
		if err != nil {
			return fmt.Errorf("tracker: read facets: %w", err)
		}
		for rows.Next() {
			var kind, id, f, v string
			if err := rows.Scan(&kind, &id, &f, &v); err != nil {
				rows.Close()
				return err
			}
			k := kind + "/" + id
			if existing[k] == nil {
				existing[k] = map[string]map[string]bool{}
			}
			if existing[k][f] == nil {
				existing[k][f] = map[string]bool{}
			}
			existing[k][f][v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO core_facets(kind, id, facet, value, count) VALUES `+placeholders(n, 5)+`
			ON CONFLICT(kind, id, facet, value) DO UPDATE SET count = count + excluded.count`, args...)
		args, n = args[:0], 0
		if err != nil {
			return fmt.Errorf("tracker: record facets: %w", err)
		}
		return nil
	}
	for _, o := range occ {
		for _, facet := range sortedKeys(o.Facets) {
			values := o.Facets[facet]
			known := existing[string(o.Kind)+"/"+o.ID][facet]
			distinct := len(known)
			if known[OtherValue] {
				distinct--
			}
			// Most frequent first, so which values make it under the cap does
			// not depend on map iteration.
			keys := make([]string, 0, len(values))
			for v := range values {
				keys = append(keys, v)
			}
			sort.Slice(keys, func(i, j int) bool {
				if values[keys[i]] != values[keys[j]] {
					return values[keys[i]] > values[keys[j]]
				}
				return keys[i] < keys[j]
			})
			merged := map[string]int64{}
			var order []string
			for _, v := range keys {
				c := values[v]
				if !known[v] {
					if distinct >= MaxFacetValues {
						v = OtherValue
					} else {
						distinct++
					}
				}
				if _, ok := merged[v]; !ok {
					order = append(order, v)
				}
				merged[v] += c
			}
			for _, v := range order {
				args = append(args, string(o.Kind), o.ID, facet, v, merged[v])
				n++
				if n == 100 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
	}
	return flush()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// placeholders returns "(?,?),(?,?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// Merge folds signature alias into target within tx: the template miner
// found that both are one problem. Counts, facets and rate buckets move to
// target, and alias is remembered so lookups by the old id (a task, an IRC
// ack) still find the survivor. A target that does not exist yet takes over
// the alias's row.
func (t *Tracker) Merge(ctx context.Context, tx *sql.Tx, kind finding.Kind, alias, target string, at time.Time) error {
	if alias == target {
		return nil
	}
	k := string(kind)
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM core_signatures WHERE kind=? AND id=?`, k, target).Scan(&exists); err != nil {
		return fmt.Errorf("tracker: merge %s: %w", alias, err)
	}
	stmts := []string{
		`UPDATE core_signatures SET id=? WHERE kind=? AND id=?`,
	}
	if exists > 0 {
		stmts = []string{
			`UPDATE core_signatures AS t SET
				count = t.count + a.count,
				reported_count = t.reported_count + a.reported_count,
				first_seen = min(t.first_seen, a.first_seen),
				last_seen = max(t.last_seen, a.last_seen)
			FROM (SELECT count, reported_count, first_seen, last_seen FROM core_signatures WHERE kind=?3 AND id=?2) AS a
			WHERE t.kind=?3 AND t.id=?1`,
			`DELETE FROM core_signatures WHERE kind=?3 AND id=?2`,
		}
	}
	stmts = append(stmts,
		`INSERT INTO core_facets(kind, id, facet, value, count)
			SELECT kind, ?1, facet, value, count FROM core_facets WHERE kind=?3 AND id=?2 AND true
			ON CONFLICT(kind, id, facet, value) DO UPDATE SET count = count + excluded.count`,
		`DELETE FROM core_facets WHERE kind=?3 AND id=?2`,
		`INSERT INTO core_buckets(kind, id, bucket, count)
			SELECT kind, ?1, bucket, count FROM core_buckets WHERE kind=?3 AND id=?2 AND true
			ON CONFLICT(kind, id, bucket) DO UPDATE SET count = count + excluded.count`,
		`DELETE FROM core_buckets WHERE kind=?3 AND id=?2`,
		`UPDATE core_aliases SET target=?1 WHERE kind=?3 AND target=?2`,
	)
	if exists == 0 {
		stmts[0] = `UPDATE core_signatures SET id=?1 WHERE kind=?3 AND id=?2`
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q, target, alias, k); err != nil {
			return fmt.Errorf("tracker: merge %s into %s: %w", alias, target, err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO core_aliases(kind, alias, target, merged_at) VALUES(?,?,?,?)
		ON CONFLICT(kind, alias) DO UPDATE SET target=excluded.target, merged_at=excluded.merged_at`, k, alias, target, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("tracker: merge %s: %w", alias, err)
	}
	return nil
}

// Resolve follows aliases: the id a merged signature lives on as.
func (t *Tracker) Resolve(ctx context.Context, kind finding.Kind, id string) (string, error) {
	var target string
	err := t.db.QueryRowContext(ctx, `SELECT target FROM core_aliases WHERE kind=? AND alias=?`, string(kind), id).Scan(&target)
	if errors.Is(err, sql.ErrNoRows) {
		return id, nil
	}
	return target, err
}

// AddCounter adds delta to a named counter (malformed events, ignored events, ...) within tx.
func (t *Tracker) AddCounter(ctx context.Context, tx *sql.Tx, name string, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO core_counters(name, value) VALUES(?,?)
		ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`, name, delta)
	return err
}

// Counter returns a named counter's value.
func (t *Tracker) Counter(ctx context.Context, name string) (int64, error) {
	var v int64
	err := t.db.QueryRowContext(ctx, `SELECT value FROM core_counters WHERE name=?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Signature is the stored state of one signature.
type Signature struct {
	Kind          finding.Kind             `json:"kind"`
	ID            string                   `json:"id"`
	Title         string                   `json:"title"`
	Template      string                   `json:"template,omitempty"`
	Severity      string                   `json:"severity,omitempty"`
	Projects      []string                 `json:"projects,omitempty"`
	Status        finding.Status           `json:"status"`
	FirstSeen     time.Time                `json:"first_seen"`
	LastSeen      time.Time                `json:"last_seen"`
	Count         int64                    `json:"count"`
	ReportedCount int64                    `json:"-"`
	ReportedAt    time.Time                `json:"-"`
	Sample        string                   `json:"sample,omitempty"`
	Trace         string                   `json:"-"`
	Details       string                   `json:"-"`
	TaskID        int                      `json:"-"`
	TaskURL       string                   `json:"-"`
	Task          string                   `json:"task"` // "T123", or "" when not filed
	Facets        map[string]finding.Facet `json:"facets,omitempty"`
}

const selectCols = `kind, id, title, template, severity, projects, status, first_seen, last_seen, count,
	reported_count, reported_at, sample, trace, details, task_id, task_url`

func scan(rows interface{ Scan(...any) error }) (Signature, error) {
	var s Signature
	var kind, status, projects string
	var first, last, reportedAt int64
	err := rows.Scan(&kind, &s.ID, &s.Title, &s.Template, &s.Severity, &projects, &status, &first, &last, &s.Count,
		&s.ReportedCount, &reportedAt, &s.Sample, &s.Trace, &s.Details, &s.TaskID, &s.TaskURL)
	if err != nil {
		return s, err
	}
	s.Kind, s.Status = finding.Kind(kind), finding.Status(status)
	s.FirstSeen, s.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
	if reportedAt > 0 {
		s.ReportedAt = time.UnixMilli(reportedAt).UTC()
	}
	_ = json.Unmarshal([]byte(projects), &s.Projects)
	if s.TaskID > 0 {
		s.Task = fmt.Sprintf("T%d", s.TaskID)
	}
	return s, nil
}

// ListOptions filters List.
type ListOptions struct {
	Kind   finding.Kind // "" for all
	Status finding.Status
	Limit  int // 0: no limit
	// OrderBy is "last_seen" (default), "first_seen" or "count"; always descending.
	OrderBy string
}

// List returns signatures, most recently seen first.
func (t *Tracker) List(ctx context.Context, o ListOptions) ([]Signature, error) {
	q := `SELECT ` + selectCols + ` FROM core_signatures WHERE 1=1`
	var args []any
	if o.Kind != "" {
		q += ` AND kind=?`
		args = append(args, string(o.Kind))
	}
	if o.Status != "" {
		q += ` AND status=?`
		args = append(args, string(o.Status))
	}
	switch o.OrderBy {
	case "first_seen", "count":
		q += ` ORDER BY ` + o.OrderBy + ` DESC, id`
	default:
		q += ` ORDER BY last_seen DESC, id`
	}
	if o.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, o.Limit)
	}
	return t.query(ctx, q, args...)
}

// Get returns one signature with its facets.
func (t *Tracker) Get(ctx context.Context, kind finding.Kind, id string) (Signature, error) {
	s, err := scan(t.db.QueryRowContext(ctx, `SELECT `+selectCols+` FROM core_signatures WHERE kind=? AND id=?`, string(kind), id))
	if err != nil {
		return s, err
	}
	s.Facets, err = t.facets(ctx, kind, id)
	return s, err
}

// Exists reports whether a signature is known.
func (t *Tracker) Exists(ctx context.Context, kind finding.Kind, id string) (bool, error) {
	var n int
	err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM core_signatures WHERE kind=? AND id=?`, string(kind), id).Scan(&n)
	return n > 0, err
}

// FindByTask returns the signatures filed as task T<id>.
func (t *Tracker) FindByTask(ctx context.Context, taskID int) ([]Signature, error) {
	return t.query(ctx, `SELECT `+selectCols+` FROM core_signatures WHERE task_id=? ORDER BY id`, taskID)
}

// FindByPrefix returns signatures whose id starts with prefix (IRC users type short ids).
func (t *Tracker) FindByPrefix(ctx context.Context, prefix string) ([]Signature, error) {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix)
	return t.query(ctx, `SELECT `+selectCols+` FROM core_signatures WHERE id LIKE ? ESCAPE '\' ORDER BY id LIMIT 10`, esc+"%")
}

// Dirty returns signatures whose count grew since they were last reported to
// the actions (filer, bot), with their facets, oldest first.
func (t *Tracker) Dirty(ctx context.Context, limit int) ([]Signature, error) {
	sigs, err := t.query(ctx, `SELECT `+selectCols+` FROM core_signatures WHERE count > reported_count ORDER BY first_seen, id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	for i := range sigs {
		if sigs[i].Facets, err = t.facets(ctx, sigs[i].Kind, sigs[i].ID); err != nil {
			return nil, err
		}
	}
	return sigs, nil
}

// Reported marks a signature as reported up to count, with the outcome of the
// actions: its status and task.
func (t *Tracker) Reported(ctx context.Context, kind finding.Kind, id string, count int64, status finding.Status, taskID int, taskURL string, at time.Time) error {
	_, err := t.db.ExecContext(ctx, `UPDATE core_signatures SET reported_count = max(reported_count, ?), reported_at = ?,
		status = ?, task_id = CASE WHEN ? > 0 THEN ? ELSE task_id END, task_url = CASE WHEN ? != '' THEN ? ELSE task_url END
		WHERE kind=? AND id=?`,
		count, at.UnixMilli(), string(status), taskID, taskID, taskURL, taskURL, string(kind), id)
	if err != nil {
		return fmt.Errorf("tracker: mark %s reported: %w", id, err)
	}
	return nil
}

// SetStatus changes the status of a signature (silences, resolutions).
func (t *Tracker) SetStatus(ctx context.Context, kind finding.Kind, id string, status finding.Status) error {
	_, err := t.db.ExecContext(ctx, `UPDATE core_signatures SET status=? WHERE kind=? AND id=?`, string(status), string(kind), id)
	return err
}

// Buckets returns the per-bucket counts of a signature since t0, oldest first.
func (t *Tracker) Buckets(ctx context.Context, kind finding.Kind, id string, since time.Time) (map[int64]int64, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT bucket, count FROM core_buckets WHERE kind=? AND id=? AND bucket >= ?`,
		string(kind), id, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var b, n int64
		if err := rows.Scan(&b, &n); err != nil {
			return nil, err
		}
		out[b] = n
	}
	return out, rows.Err()
}

// PruneBuckets drops rate buckets older than before.
func (t *Tracker) PruneBuckets(ctx context.Context, before time.Time) error {
	_, err := t.db.ExecContext(ctx, `DELETE FROM core_buckets WHERE bucket < ?`, before.UnixMilli())
	return err
}

// Stats summarises the state for /healthz, /metrics and IRC status.
type Stats struct {
	Signatures int64
	ByStatus   map[finding.Status]int64
	Backlog    int64 // signatures with unreported occurrences
}

// Stats returns counts by status.
func (t *Tracker) Stats(ctx context.Context) (Stats, error) {
	st := Stats{ByStatus: map[finding.Status]int64{}}
	rows, err := t.db.QueryContext(ctx, `SELECT status, count(*) FROM core_signatures GROUP BY status`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return st, err
		}
		st.ByStatus[finding.Status(s)] = n
		st.Signatures += n
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	err = t.db.QueryRowContext(ctx, `SELECT count(*) FROM core_signatures WHERE count > reported_count`).Scan(&st.Backlog)
	return st, err
}

func (t *Tracker) query(ctx context.Context, q string, args ...any) ([]Signature, error) {
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	defer rows.Close()
	var out []Signature
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("tracker: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *Tracker) facets(ctx context.Context, kind finding.Kind, id string) (map[string]finding.Facet, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT facet, value, count FROM core_facets WHERE kind=? AND id=?`, string(kind), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]finding.Facet{}
	for rows.Next() {
		var f, v string
		var n int64
		if err := rows.Scan(&f, &v, &n); err != nil {
			return nil, err
		}
		if out[f] == nil {
			out[f] = finding.Facet{}
		}
		out[f][v] = n
	}
	return out, rows.Err()
}

// Finding converts stored state into the Finding handed to actions.
func (s *Signature) Finding() finding.Finding {
	return finding.Finding{
		Kind: s.Kind, Key: s.ID, Title: s.Title, Severity: s.Severity, Projects: s.Projects,
		Status: s.Status, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, Count: s.Count,
		NewCount: s.Count - s.ReportedCount, Facets: s.Facets, Template: s.Template,
		Sample: s.Sample, Trace: s.Trace, Details: s.Details,
	}
}
