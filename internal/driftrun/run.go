package driftrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/drift"
	"github.com/wikimedia/sheriff/rules"
)

// RunRecord is one execution of the drift check as stored.
type RunRecord struct {
	ID       int64
	Started  time.Time
	Finished time.Time
	// Err is the reason a run failed, "" when it succeeded.
	Err string
	// Summary is one line for IRC, e.g. "drift: 429 real (62 puppet,
	// 66 helm, 301 mediawiki-config), 12 new, 3 resolved — <link>".
	Summary string
	// Real counts real drift not accepted by the baseline; RealBySource
	// splits it per source.
	Real         int
	RealBySource map[string]int
	// Counts are the findings per class, accepted ones excluded.
	Counts map[diff.Class]int
	// New and Resolved count real drift that appeared, or stopped being
	// real drift (fixed, accepted or explained by a rule), since the
	// previous successful run. On the first run every real finding is new.
	New, Resolved int
	// Accepted and Problems are the report's counts of findings accepted by
	// the baseline and of unreadable inputs.
	Accepted, Problems int
	// Warnings are what went wrong without failing the run (git pull,
	// missing baseline, unreadable previous report).
	Warnings []string
	// ReportPath is the HTML report relative to ReportsDir, e.g.
	// "2026-11-22/drift.html"; the Markdown and JSON reports are beside it.
	// Empty for a failed run.
	ReportPath string
	// ReportURL is ReportPath under the HTTP server's /reports/.
	ReportURL string
}

// OK reports whether the run succeeded.
func (rec *RunRecord) OK() bool { return rec.Err == "" }

// Report file names inside a run's directory and at the top of ReportsDir.
const (
	reportBase = "drift"
	latestBase = "latest"
)

var reportFormats = []struct{ format, ext string }{{"html", ".html"}, {"markdown", ".md"}, {"json", ".json"}}

// sourceOrder is the order sources are listed in the summary line.
var sourceOrder = []string{drift.SourcePuppet, drift.SourceHelm, drift.SourceMediaWikiConfig}

// run performs one run and records it, whatever happens.
func (r *Runner) run(ctx context.Context) (*RunRecord, error) {
	started := r.opts.Now().UTC()
	id, err := r.insertRun(ctx, started)
	if err != nil {
		return nil, err
	}
	rec := &RunRecord{ID: id, Started: started}
	log := r.log.With("run", id)
	src := r.opts.Sources
	log.Info("drift run started", "puppet", src.Puppet, "mediawiki_config", src.MediaWikiConfig,
		"charts", src.Charts, "git_pull", r.opts.GitPull)

	rep, dir, runErr := r.check(ctx, rec, log)
	rec.Finished = r.opts.Now().UTC()
	took := rec.Finished.Sub(started)
	// The record must be written even when ctx was cancelled mid-run (a
	// stop): otherwise it would stay "running" until the next start.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if runErr != nil {
		rec.Err = oneLine(r.redact(runErr.Error()), 1000)
		rec.Summary = oneLine(fmt.Sprintf("drift: run #%d failed: %s", id, rec.Err), 400)
		log.Error("drift run failed", "err", rec.Err, "took", took)
		if err := r.finishRun(sctx, rec, nil, ""); err != nil {
			return rec, errors.Join(runErr, err)
		}
		return rec, runErr
	}
	s := rep.Summary
	rec.Real, rec.Accepted, rec.Problems = s.Real, s.Accepted, s.Problems
	rec.Counts = map[diff.Class]int{}
	for c, n := range s.ByClass {
		rec.Counts[c] = n
	}
	rec.RealBySource = map[string]int{}
	for src, byClass := range s.BySource {
		if n := byClass[diff.ClassReal]; n > 0 {
			rec.RealBySource[src] = n
		}
	}
	rec.ReportPath = path.Join(dir, reportBase+".html")
	rec.ReportURL = r.ReportURL(rec.ReportPath)
	if err := r.finishRun(sctx, rec, rep, dir); err != nil {
		log.Error("drift run not recorded", "err", err)
		return rec, err
	}
	log.Info("drift run finished", "real", rec.Real, "new", rec.New, "resolved", rec.Resolved,
		"problems", rec.Problems, "report", rec.ReportPath, "took", took)
	return rec, nil
}

// check runs everything but the recording: pull, load rules and baseline,
// compare, write the reports. It returns the report and its directory
// relative to ReportsDir.
func (r *Runner) check(ctx context.Context, rec *RunRecord, log *slog.Logger) (*drift.Report, string, error) {
	src := r.opts.Sources
	named := []struct{ name, dir string }{
		{drift.SourcePuppet, src.Puppet}, {drift.SourceHelm, src.Charts}, {drift.SourceMediaWikiConfig, src.MediaWikiConfig}}
	for _, s := range named {
		if s.dir == "" {
			continue
		}
		if fi, err := os.Stat(s.dir); err != nil {
			return nil, "", fmt.Errorf("driftrun: %s checkout: %w", s.name, err)
		} else if !fi.IsDir() {
			return nil, "", fmt.Errorf("driftrun: %s checkout %s is not a directory", s.name, s.dir)
		}
	}
	if r.opts.GitPull {
		for _, s := range named {
			if s.dir == "" {
				continue
			}
			t := time.Now()
			pctx, cancel := context.WithTimeout(ctx, r.opts.GitTimeout)
			err := r.opts.Pull(pctx, s.dir)
			cancel()
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			if err != nil {
				w := oneLine(r.redact(fmt.Sprintf("git pull failed for %s (%s): %v", s.name, s.dir, err)), 300)
				rec.Warnings = append(rec.Warnings, w)
				log.Warn("git pull failed; checking what is checked out", "source", s.name, "dir", s.dir, "err", r.redact(err.Error()))
				continue
			}
			log.Info("checkout updated", "source", s.name, "dir", s.dir, "took", time.Since(t))
		}
	}

	checker := drift.Checker{Logger: log, Now: r.opts.Now}
	var sets []*rules.DriftRules
	if r.opts.RulesFile != "" {
		rs, err := rules.LoadDrift(r.opts.RulesFile)
		if err != nil {
			return nil, "", fmt.Errorf("driftrun: %w", err)
		}
		sets = append(sets, rs)
	}
	defaults, err := rules.DefaultDrift()
	if err != nil {
		return nil, "", fmt.Errorf("driftrun: %w", err)
	}
	checker.Rules = rules.Concat(append(sets, defaults)...)

	if r.opts.Baseline != "" {
		bl, err := drift.LoadBaseline(r.opts.Baseline)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A typo must not silently accept nothing: say so in the run.
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("baseline %s does not exist; no finding is accepted (create it with `sheriff drift --baseline`)", r.opts.Baseline))
			log.Warn("drift baseline missing", "file", r.opts.Baseline)
		case err != nil:
			return nil, "", fmt.Errorf("driftrun: %w", err)
		default:
			checker.Baseline = bl
		}
	}
	prev, err := r.previousReport(ctx)
	if err != nil {
		rec.Warnings = append(rec.Warnings, oneLine(err.Error(), 300)+"; new/resolved in the report are not counted")
		log.Warn("previous drift report unreadable", "err", err)
	}
	checker.Previous = prev

	rep, err := checker.Check(ctx, src)
	if err != nil {
		return nil, "", err
	}
	if checker.Baseline != nil {
		for _, e := range checker.Baseline.Apply(rep.Findings) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s:%d: baseline entry %s %s %s matches no finding any more; delete it",
				checker.Baseline.File, e.Line, e.Source, e.Key, e.Path))
		}
	}
	rep.Notes = append(rep.Notes, rec.Warnings...)
	for _, name := range sortedSources(rep.Summary.BySource) {
		log.Info("drift source checked", "source", name, "revision", rep.Run.Revisions[name],
			"real", rep.Summary.BySource[name][diff.ClassReal], "findings", sum(rep.Summary.BySource[name]))
	}
	for _, p := range rep.Problems {
		log.Warn("drift input problem", "source", p.Source, "problem", p.String())
	}

	dir, err := r.writeReports(rep, rec)
	if err != nil {
		return nil, "", err
	}
	return rep, dir, nil
}

func sum(m map[diff.Class]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// sortedSources lists source names in summary order, unknown ones last.
func sortedSources(m map[string]map[diff.Class]int) []string {
	var out []string
	for _, s := range sourceOrder {
		if _, ok := m[s]; ok {
			out = append(out, s)
		}
	}
	var rest []string
	for s := range m {
		if !contains(sourceOrder, s) {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// previousReport reads the JSON report of the last successful run, or
// returns nil when there is none.
func (r *Runner) previousReport(ctx context.Context) (*drift.Report, error) {
	dir, err := r.lastReportDir(ctx)
	if err != nil || dir == "" {
		return nil, err
	}
	p := filepath.Join(r.opts.ReportsDir, filepath.FromSlash(dir), reportBase+".json")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("driftrun: previous report: %w", err)
	}
	defer f.Close()
	rep, err := drift.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("driftrun: previous report %s: %w", p, err)
	}
	return rep, nil
}

// writeReports writes the three formats into a new directory named after
// the run's date (with the run ID when that day already has one), then
// replaces the latest.* copies. Every file is written to a temporary name
// and renamed, so a reader never sees half a report.
func (r *Runner) writeReports(rep *drift.Report, rec *RunRecord) (string, error) {
	dir := rec.Started.Format("2006-01-02")
	if _, err := os.Lstat(filepath.Join(r.opts.ReportsDir, dir)); err == nil {
		dir += "-run" + strconv.FormatInt(rec.ID, 10)
	}
	abs := filepath.Join(r.opts.ReportsDir, dir)
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("driftrun: %w", err)
	}
	rendered := make([][]byte, len(reportFormats))
	for i, rf := range reportFormats {
		var buf bytes.Buffer
		if err := rep.Write(rf.format, &buf); err != nil {
			return "", fmt.Errorf("driftrun: %w", err)
		}
		rendered[i] = buf.Bytes()
	}
	for i, rf := range reportFormats {
		if err := writeFileAtomic(filepath.Join(abs, reportBase+rf.ext), rendered[i]); err != nil {
			return "", err
		}
	}
	for i, rf := range reportFormats {
		if err := writeFileAtomic(filepath.Join(r.opts.ReportsDir, latestBase+rf.ext), rendered[i]); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it over path: readers (the HTTP server) see the old file or the
// new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("driftrun: write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		// Reports are served to everyone; CreateTemp makes them 0600.
		werr = tmp.Chmod(0o644)
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if err := errors.Join(werr, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("driftrun: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("driftrun: write %s: %w", path, err)
	}
	return nil
}

// summaryLine is the one IRC line of a successful run.
func (r *Runner) summaryLine(rec *RunRecord) string {
	var b strings.Builder
	b.WriteString("drift: ")
	if rec.Real == 0 {
		b.WriteString("no real drift")
	} else {
		fmt.Fprintf(&b, "%d real", rec.Real)
		var parts []string
		for _, s := range sortedCounts(rec.RealBySource) {
			parts = append(parts, fmt.Sprintf("%d %s", rec.RealBySource[s], s))
		}
		if len(parts) > 0 {
			b.WriteString(" (" + strings.Join(parts, ", ") + ")")
		}
	}
	fmt.Fprintf(&b, ", %d new, %d resolved", rec.New, rec.Resolved)
	if rec.Problems > 0 {
		fmt.Fprintf(&b, ", %s", plural(rec.Problems, "input problem"))
	}
	if len(rec.Warnings) > 0 {
		fmt.Fprintf(&b, ", %s", plural(len(rec.Warnings), "warning"))
	}
	if rec.ReportURL != "" {
		b.WriteString(" — " + rec.ReportURL)
	}
	return oneLine(r.redact(b.String()), 400)
}

func sortedCounts(m map[string]int) []string {
	mm := make(map[string]map[diff.Class]int, len(m))
	for s := range m {
		mm[s] = nil
	}
	return sortedSources(mm)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
