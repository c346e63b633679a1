package tracker

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
)

// Read-only queries behind the web dashboard.

// Filter selects signatures for Search. Empty fields match everything.
type Filter struct {
	Kind   finding.Kind
	Status finding.Status
	// Statuses, if any, are the only statuses wanted.
	Statuses []finding.Status
	// Facets are facet name -> value; a signature matches when it has seen
	// every one of them (e.g. wiki=enwiki, host=mw1).
	Facets map[string]string
	// Text matches, case-insensitively, a part of the title or template, or
	// the start of the id.
	Text string
}

// summaryCols are what a list of signatures shows.
const summaryCols = `kind, id, title, severity, status, first_seen, last_seen, count, task_id, task_url`

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Search returns every signature matching f, with only the fields a list
// shows (no template, sample, trace, details, projects or facets), in no
// particular order (the caller ranks them).
func (t *Tracker) Search(ctx context.Context, f Filter) ([]Signature, error) {
	q := `SELECT ` + summaryCols + ` FROM core_signatures s WHERE 1=1`
	var args []any
	if f.Kind != "" {
		q += ` AND kind=?`
		args = append(args, string(f.Kind))
	}
	if f.Status != "" {
		q += ` AND status=?`
		args = append(args, string(f.Status))
	}
	if len(f.Statuses) > 0 {
		q += ` AND status IN (?` + strings.Repeat(`,?`, len(f.Statuses)-1) + `)`
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	for _, name := range sortedKeys(f.Facets) {
		q += ` AND EXISTS (SELECT 1 FROM core_facets f WHERE f.kind=s.kind AND f.id=s.id AND f.facet=? AND f.value=?)`
		args = append(args, name, f.Facets[name])
	}
	if txt := strings.TrimSpace(f.Text); txt != "" {
		esc := likeEscape(strings.ToLower(txt))
		q += ` AND (lower(title) LIKE ? ESCAPE '\' OR lower(template) LIKE ? ESCAPE '\' OR id LIKE ? ESCAPE '\')`
		args = append(args, "%"+esc+"%", "%"+esc+"%", esc+"%")
	}
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("tracker: search: %w", err)
	}
	defer rows.Close()
	var out []Signature
	for rows.Next() {
		var s Signature
		var kind, status string
		var first, last int64
		if err := rows.Scan(&kind, &s.ID, &s.Title, &s.Severity, &status, &first, &last, &s.Count, &s.TaskID, &s.TaskURL); err != nil {
			return nil, fmt.Errorf("tracker: search: %w", err)
		}
		s.Kind, s.Status = finding.Kind(kind), finding.Status(status)
		s.FirstSeen, s.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		if s.TaskID > 0 {
			s.Task = "T" + strconv.Itoa(s.TaskID)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Ref names one signature.
type Ref struct {
	Kind finding.Kind
	ID   string
}

// Counts returns, for each of refs, its event counts in n consecutive
// slots of width step starting at from (e.g. 7 daily or 168 hourly
// counts), summed from the rate buckets. Slots without events are 0.
func (t *Tracker) Counts(ctx context.Context, refs []Ref, from time.Time, step time.Duration, n int) (map[Ref][]int64, error) {
	out := make(map[Ref][]int64, len(refs))
	if len(refs) == 0 || n <= 0 || step <= 0 {
		return out, nil
	}
	for _, r := range refs {
		out[r] = make([]int64, n)
	}
	start, end := from.UnixMilli(), from.Add(time.Duration(n)*step).UnixMilli()
	for _, part := range chunks(refs, 200) {
		conds := make([]string, len(part))
		args := []any{start, end}
		for i, r := range part {
			conds[i] = `(kind=? AND id=?)`
			args = append(args, string(r.Kind), r.ID)
		}
		rows, err := t.db.QueryContext(ctx, `SELECT kind, id, bucket, count FROM core_buckets
			WHERE bucket >= ? AND bucket < ? AND (`+strings.Join(conds, ` OR `)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("tracker: counts: %w", err)
		}
		for rows.Next() {
			var kind, id string
			var bucket, c int64
			if err := rows.Scan(&kind, &id, &bucket, &c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("tracker: counts: %w", err)
			}
			if s := out[Ref{finding.Kind(kind), id}]; s != nil {
				s[(bucket-start)/step.Milliseconds()] += c
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("tracker: counts: %w", err)
		}
	}
	return out, nil
}

// FacetCount is one value of a facet and how often it was seen.
type FacetCount struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// TopFacets returns, for each of refs, the n most frequent values of each
// of the named facets, most frequent first.
func (t *Tracker) TopFacets(ctx context.Context, refs []Ref, names []string, n int) (map[Ref]map[string][]FacetCount, error) {
	out := make(map[Ref]map[string][]FacetCount, len(refs))
	if len(refs) == 0 || len(names) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, name := range names {
		want[name] = true
	}
	for _, part := range chunks(refs, 200) {
		conds := make([]string, len(part))
		var args []any
		for i, r := range part {
			conds[i] = `(kind=? AND id=?)`
			args = append(args, string(r.Kind), r.ID)
		}
		rows, err := t.db.QueryContext(ctx, `SELECT kind, id, facet, value, count FROM core_facets WHERE `+strings.Join(conds, ` OR `), args...)
		if err != nil {
			return nil, fmt.Errorf("tracker: top facets: %w", err)
		}
		for rows.Next() {
			var kind, id, facet, value string
			var c int64
			if err := rows.Scan(&kind, &id, &facet, &value, &c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("tracker: top facets: %w", err)
			}
			if !want[facet] {
				continue
			}
			r := Ref{finding.Kind(kind), id}
			if out[r] == nil {
				out[r] = map[string][]FacetCount{}
			}
			out[r][facet] = append(out[r][facet], FacetCount{value, c})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("tracker: top facets: %w", err)
		}
	}
	for _, m := range out {
		for name, vs := range m {
			sort.Slice(vs, func(i, j int) bool {
				if vs[i].Count != vs[j].Count {
					return vs[i].Count > vs[j].Count
				}
				return vs[i].Value < vs[j].Value
			})
			m[name] = vs[:min(n, len(vs))]
		}
	}
	return out, nil
}

// LatestSeen returns the latest last_seen of any signature (zero when
// there is none): the time the data reaches, which for a replayed or
// lagging source is before now.
func (t *Tracker) LatestSeen(ctx context.Context) (time.Time, error) {
	var ms int64
	if err := t.db.QueryRowContext(ctx, `SELECT coalesce(max(last_seen), 0) FROM core_signatures`).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("tracker: latest: %w", err)
	}
	if ms == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms).UTC(), nil
}

// FacetValues returns, for each named facet, its n most frequent values
// over all signatures.
func (t *Tracker) FacetValues(ctx context.Context, names []string, n int) (map[string][]FacetCount, error) {
	out := make(map[string][]FacetCount, len(names))
	for _, name := range names {
		out[name] = []FacetCount{}
		rows, err := t.db.QueryContext(ctx, `SELECT value, sum(count) AS c FROM core_facets WHERE facet=? AND value<>?
			GROUP BY value ORDER BY c DESC, value LIMIT ?`, name, OtherValue, n)
		if err != nil {
			return nil, fmt.Errorf("tracker: facet values: %w", err)
		}
		for rows.Next() {
			var fc FacetCount
			if err := rows.Scan(&fc.Value, &fc.Count); err != nil {
				rows.Close()
				return nil, fmt.Errorf("tracker: facet values: %w", err)
			}
			out[name] = append(out[name], fc)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("tracker: facet values: %w", err)
		}
	}
	return out, nil
}
