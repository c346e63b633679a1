package driftrun

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/drift"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
)

// Name identifies the runner as a pipeline.FindingSource.
func (r *Runner) Name() string { return component }

// Pending returns, when FileReal is set, the real drift findings the filer
// has not been told about: new ones (StatusNew), ones back after being
// resolved (StatusRegressed, with a higher Count so the filer comments or
// reopens), and, once each, reported ones that a later run no longer found
// (StatusResolved). A finding resolved before it was ever reported is not
// returned: there is nobody to tell.
func (r *Runner) Pending(ctx context.Context, now time.Time) ([]finding.Finding, error) {
	if !r.opts.FileReal {
		return nil, nil
	}
	rows, err := r.db.QueryContext(ctx, `SELECT id, title, details, facets, link, first_seen, last_seen,
			resolved_run, resolved_at, occurrences, reported_count
		FROM driftrun_findings
		WHERE (resolved_run IS NULL AND reported_count < occurrences)
		   OR (resolved_run IS NOT NULL AND reported_count > 0 AND resolved_reported = 0 AND silenced = 0)
		ORDER BY first_seen, id`)
	if err != nil {
		return nil, fmt.Errorf("driftrun: pending: %w", err)
	}
	defer rows.Close()
	var out []finding.Finding
	for rows.Next() {
		var (
			f                    finding.Finding
			facets               string
			first, last          int64
			resolvedRun, resAt   sql.NullInt64
			occurrences, already int64
		)
		if err := rows.Scan(&f.Key, &f.Title, &f.Details, &facets, &f.Link, &first, &last,
			&resolvedRun, &resAt, &occurrences, &already); err != nil {
			return nil, fmt.Errorf("driftrun: pending: %w", err)
		}
		f.Kind = finding.KindDrift
		f.FirstSeen, f.LastSeen = fromMS(first), fromMS(last)
		f.Count = occurrences
		f.NewCount = occurrences - already
		if err := json.Unmarshal([]byte(facets), &f.Facets); err != nil {
			return nil, fmt.Errorf("driftrun: pending %s: facets: %w", f.Key, err)
		}
		switch {
		case resolvedRun.Valid:
			f.Status = finding.StatusResolved
			f.NewCount = 0
			f.Details = fmt.Sprintf("No longer found by drift run #%d (%s).\n\n", resolvedRun.Int64,
				fromMS(resAt.Int64).Format("2006-01-02 15:04 UTC")) + f.Details
		case already == 0:
			f.Status = finding.StatusNew
		default:
			f.Status = finding.StatusRegressed
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("driftrun: pending: %w", err)
	}
	return out, nil
}

// Reported records the filer's outcome for a finding Pending returned. An
// outcome still unknown (filer.ActionPending) records nothing, so the
// finding is offered again.
func (r *Runner) Reported(ctx context.Context, f finding.Finding, res filer.Result) error {
	if res.Action == filer.ActionPending {
		return nil
	}
	now := ms(r.opts.Now())
	var err error
	if f.Status == finding.StatusResolved {
		// Guarded: if the drift came back meanwhile, the resolution is moot.
		_, err = r.db.ExecContext(ctx, `UPDATE driftrun_findings SET resolved_reported=1, reported_at=?
			WHERE id=? AND resolved_run IS NOT NULL`, now, f.Key)
	} else {
		silenced := res.Silenced || res.Action == filer.ActionSilenced
		_, err = r.db.ExecContext(ctx, `UPDATE driftrun_findings SET
				reported_count=MAX(reported_count, ?), silenced=?, reported_at=?,
				task_id=CASE WHEN ?>0 THEN ? ELSE task_id END,
				task_url=CASE WHEN ?<>'' THEN ? ELSE task_url END
			WHERE id=?`, f.Count, silenced, now, res.TaskID, res.TaskID, res.URL, res.URL, f.Key)
	}
	if err != nil {
		return fmt.Errorf("driftrun: reported %s: %w", f.Key, err)
	}
	return nil
}

// findingTitle is short and stable: it names the place, not the values,
// which change.
func findingTitle(f *diff.Finding) string {
	return oneLine("Beta drift: "+f.Source+" "+place(f), 200)
}

// place is "key path (wikis, host)".
func place(f *diff.Finding) string {
	s := f.Key
	if f.Path != "" {
		s += " " + f.Path
	}
	var ctx []string
	switch {
	case f.Wiki == drift.AllWikis:
		ctx = append(ctx, "all Beta wikis")
	case len(f.Wikis) > 3:
		ctx = append(ctx, fmt.Sprintf("%d wikis", len(f.Wikis)))
	case f.Wiki != "":
		ctx = append(ctx, strings.ReplaceAll(f.Wiki, ",", ", "))
	}
	if f.Host != "" {
		ctx = append(ctx, "host "+f.Host)
	}
	if len(ctx) > 0 {
		s += " (" + strings.Join(ctx, "; ") + ")"
	}
	return s
}

const detailValueWidth = 500

// findingDetails is the task text: both values with where they are set.
func findingDetails(f *diff.Finding, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Configuration drift between production and the Beta Cluster that no drift rule explains.\n\n")
	fmt.Fprintf(&b, "- source: %s\n- key: `%s`\n", f.Source, f.Key)
	if f.Path != "" {
		fmt.Fprintf(&b, "- path: `%s`\n", f.Path)
	}
	switch {
	case f.Wiki == drift.AllWikis:
		fmt.Fprintf(&b, "- wikis: all Beta wikis\n")
	case len(f.Wikis) > 0:
		fmt.Fprintf(&b, "- wikis: %s\n", strings.Join(f.Wikis, ", "))
	case f.Wiki != "":
		fmt.Fprintf(&b, "- wiki: %s\n", f.Wiki)
	}
	if f.Host != "" {
		fmt.Fprintf(&b, "- host: %s\n", f.Host)
	}
	fmt.Fprintf(&b, "- production: %s\n", side(f.ProdPresent, f.Prod, f.ProdFile, f.ProdLine, f.ProdScope))
	fmt.Fprintf(&b, "- Beta: %s\n", side(f.BetaPresent, f.Beta, f.BetaFile, f.BetaLine, ""))
	if f.Interpolated {
		b.WriteString("\nThe values hold `%{...}` interpolations and were compared as text.\n")
	}
	if f.Reason != "" {
		fmt.Fprintf(&b, "\n%s\n", oneLine(f.Reason, 500))
	}
	if link != "" {
		fmt.Fprintf(&b, "\nNightly drift report: %s\n", link)
	}
	b.WriteString("\nIf the difference is intended, add a drift rule (with its reason) or accept it in the drift baseline.\n")
	return b.String()
}

func side(present bool, v any, file string, line int, scope string) string {
	s := "not set"
	if present {
		j, err := json.Marshal(v)
		if err != nil {
			j = fmt.Appendf(nil, "%v", v)
		}
		s = "`" + strings.ReplaceAll(oneLine(string(j), detailValueWidth), "`", "'") + "`"
	}
	var at []string
	if file != "" {
		if line > 0 {
			file = fmt.Sprintf("%s:%d", file, line)
		}
		at = append(at, "`"+file+"`")
	}
	if scope != "" {
		at = append(at, scope)
	}
	if len(at) > 0 {
		s += " (" + strings.Join(at, ", ") + ")"
	}
	return s
}

// findingFacets lets the task list the wikis and host concerned.
func findingFacets(f *diff.Finding) map[string]finding.Facet {
	fs := map[string]finding.Facet{"source": {f.Source: 1}}
	switch {
	case f.Wiki == drift.AllWikis:
		// The title says "all Beta wikis"; listing them adds nothing.
	case len(f.Wikis) > 0:
		w := finding.Facet{}
		for _, x := range f.Wikis {
			w[x] = 1
		}
		fs["wiki"] = w
	case f.Wiki != "":
		fs["wiki"] = finding.Facet{f.Wiki: 1}
	}
	if f.Host != "" {
		fs["host"] = finding.Facet{f.Host: 1}
	}
	return fs
}
