package filer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// Component is the store component name of the filer's tables.
const Component = "filer"

var migrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE filer_tasks (
	backend         TEXT NOT NULL,
	marker          TEXT NOT NULL,
	kind            TEXT NOT NULL,
	key             TEXT NOT NULL,
	task_id         INTEGER NOT NULL,
	url             TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL DEFAULT 'open',
	silenced        INTEGER NOT NULL DEFAULT 0,
	umbrella        TEXT NOT NULL DEFAULT '',
	origin          TEXT NOT NULL,
	title           TEXT NOT NULL DEFAULT '',
	filed_at        TEXT NOT NULL,
	reported_at     TEXT NOT NULL,
	last_comment_at TEXT NOT NULL DEFAULT '',
	reported_count  INTEGER NOT NULL DEFAULT 0,
	reported_facets TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (backend, marker)
);
CREATE INDEX filer_tasks_task ON filer_tasks(backend, task_id);
CREATE TABLE filer_intents (
	backend    TEXT NOT NULL,
	marker     TEXT NOT NULL,
	op         TEXT NOT NULL,
	kind       TEXT NOT NULL,
	key        TEXT NOT NULL,
	task_id    INTEGER NOT NULL DEFAULT 0,
	parent     TEXT NOT NULL DEFAULT '',
	payload    TEXT NOT NULL DEFAULT '{}',
	text_sha   TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	PRIMARY KEY (backend, marker)
);`},
	// The backlog: findings handed to Sync whose task does not exist yet (a
	// write pending, failed or refused). A row goes only when the finding's
	// task exists or its silencing is recorded; since survives restarts, so
	// the age on /healthz is the real one.
	{Version: 2, SQL: `
CREATE TABLE filer_backlog (
	backend    TEXT NOT NULL,
	marker     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	key        TEXT NOT NULL,
	since      TEXT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (backend, marker)
);`},
}

// Mapping is one row of the signature -> task mapping.
type Mapping struct {
	Kind           finding.Kind
	Key            string // empty when rebuilt by resync from a task whose key is unknown
	Marker         string
	TaskID         int
	URL            string
	Status         string // last known task status
	Silenced       bool
	Umbrella       string // marker of the umbrella task listing this signature, if any
	Origin         string // created, adopted (found by search), resync
	Title          string
	FiledAt        time.Time
	ReportedAt     time.Time // time of the last report (creation or comment)
	LastCommentAt  time.Time
	ReportedCount  int64
	ReportedFacets map[string][]string
}

const (
	originCreated = "created"
	originAdopted = "adopted"
	originResync  = "resync"
)

const (
	opCreate   = "create"
	opUmbrella = "umbrella"
	opMember   = "member"
	opComment  = "comment"
)

// intent is a write sent (or about to be sent) whose outcome is not recorded
// yet.
type intent struct {
	Marker  string
	Op      string
	Kind    finding.Kind
	Key     string
	TaskID  int
	Parent  string // for members: the umbrella marker
	Payload intentPayload
	TextSHA string // for comments: hash of the exact text sent
	Created time.Time
}

type intentPayload struct {
	Count   int64               `json:"count,omitempty"`
	Facets  map[string][]string `json:"facets,omitempty"`
	Title   string              `json:"title,omitempty"`
	Members []memberRef         `json:"members,omitempty"`
	Status  string              `json:"status,omitempty"`
}

type memberRef struct {
	Kind   finding.Kind        `json:"kind"`
	Key    string              `json:"key"`
	Marker string              `json:"marker"`
	Title  string              `json:"title"`
	Count  int64               `json:"count"`
	Facets map[string][]string `json:"facets,omitempty"`
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const mappingCols = `marker, kind, key, task_id, url, status, silenced, umbrella, origin, title,
	filed_at, reported_at, last_comment_at, reported_count, reported_facets`

func scanMappings(rows *sql.Rows) ([]Mapping, error) {
	defer rows.Close()
	var out []Mapping
	for rows.Next() {
		var m Mapping
		var kind, filed, reported, commented, facets string
		var sil int
		if err := rows.Scan(&m.Marker, &kind, &m.Key, &m.TaskID, &m.URL, &m.Status, &sil, &m.Umbrella,
			&m.Origin, &m.Title, &filed, &reported, &commented, &m.ReportedCount, &facets); err != nil {
			return nil, fmt.Errorf("filer: read mapping: %w", err)
		}
		m.Kind = finding.Kind(kind)
		m.Silenced = sil != 0
		m.FiledAt, m.ReportedAt, m.LastCommentAt = parseTime(filed), parseTime(reported), parseTime(commented)
		if err := json.Unmarshal([]byte(facets), &m.ReportedFacets); err != nil {
			return nil, fmt.Errorf("filer: mapping %s: bad reported_facets: %w", m.Marker, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (f *Filer) getMapping(ctx context.Context, q querier, marker string) (*Mapping, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+mappingCols+` FROM filer_tasks WHERE backend=? AND marker=?`, f.bid, marker)
	if err != nil {
		return nil, fmt.Errorf("filer: read mapping: %w", err)
	}
	ms, err := scanMappings(rows)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return &ms[0], nil
}

func (f *Filer) putMapping(ctx context.Context, q querier, m *Mapping) error {
	facets, err := json.Marshal(m.ReportedFacets)
	if err != nil {
		return err
	}
	if m.ReportedFacets == nil {
		facets = []byte("{}")
	}
	_, err = q.ExecContext(ctx, `INSERT INTO filer_tasks(backend, `+mappingCols+`)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(backend, marker) DO UPDATE SET kind=excluded.kind,
			key=CASE WHEN excluded.key='' THEN filer_tasks.key ELSE excluded.key END,
			task_id=excluded.task_id, url=excluded.url, status=excluded.status, silenced=excluded.silenced,
			umbrella=excluded.umbrella, origin=excluded.origin, title=excluded.title, filed_at=excluded.filed_at,
			reported_at=excluded.reported_at, last_comment_at=excluded.last_comment_at,
			reported_count=excluded.reported_count, reported_facets=excluded.reported_facets`,
		f.bid, m.Marker, string(m.Kind), m.Key, m.TaskID, m.URL, m.Status, boolInt(m.Silenced), m.Umbrella,
		m.Origin, m.Title, fmtTime(m.FiledAt), fmtTime(m.ReportedAt), fmtTime(m.LastCommentAt),
		m.ReportedCount, string(facets))
	if err != nil {
		return fmt.Errorf("filer: save mapping %s: %w", m.Marker, err)
	}
	return nil
}

func (f *Filer) deleteMapping(ctx context.Context, q querier, marker string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM filer_tasks WHERE backend=? AND marker=?`, f.bid, marker)
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (f *Filer) putIntent(ctx context.Context, q querier, in *intent) error {
	p, err := json.Marshal(in.Payload)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO filer_intents(backend, marker, op, kind, key, task_id, parent, payload, text_sha, created_at)
		VALUES(?,?,?,?,?,?,?,?,?,?)`,
		f.bid, in.Marker, in.Op, string(in.Kind), in.Key, in.TaskID, in.Parent, string(p), in.TextSHA, fmtTime(in.Created))
	if err != nil {
		return fmt.Errorf("filer: record intent %s %s: %w", in.Op, in.Marker, err)
	}
	return nil
}

func (f *Filer) deleteIntent(ctx context.Context, q querier, marker string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM filer_intents WHERE backend=? AND marker=?`, f.bid, marker); err != nil {
		return fmt.Errorf("filer: clear intent %s: %w", marker, err)
	}
	return nil
}

func (f *Filer) intents(ctx context.Context, where string, args ...any) ([]intent, error) {
	rows, err := f.db.QueryContext(ctx, `SELECT marker, op, kind, key, task_id, parent, payload, text_sha, created_at
		FROM filer_intents WHERE backend=? `+where+` ORDER BY created_at, marker`, append([]any{f.bid}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("filer: read intents: %w", err)
	}
	defer rows.Close()
	var out []intent
	for rows.Next() {
		var in intent
		var kind, payload, created string
		if err := rows.Scan(&in.Marker, &in.Op, &kind, &in.Key, &in.TaskID, &in.Parent, &payload, &in.TextSHA, &created); err != nil {
			return nil, fmt.Errorf("filer: read intents: %w", err)
		}
		in.Kind = finding.Kind(kind)
		in.Created = parseTime(created)
		if err := json.Unmarshal([]byte(payload), &in.Payload); err != nil {
			return nil, fmt.Errorf("filer: intent %s: bad payload: %w", in.Marker, err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

func (f *Filer) getIntent(ctx context.Context, marker string) (*intent, error) {
	ins, err := f.intents(ctx, `AND marker=?`, marker)
	if err != nil || len(ins) == 0 {
		return nil, err
	}
	return &ins[0], nil
}
