// Package drift runs the configuration drift check: it compares Beta with
// production in operations/puppet (hiera), operations/mediawiki-config and
// operations/deployment-charts, classifies each difference with the drift
// rules and a baseline of accepted findings, and writes the report.
//
// Each source produces findings with a built-in class (real, beta-only,
// missing-in-beta, stale-override, dead-key); rules then explain some of
// them (expected, sizing) or drop them (ignore), and the baseline marks
// others as accepted. Only real findings nobody accepted make the command
// exit with status 2.
package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/helm"
	"github.com/wikimedia/sheriff/internal/hiera"
	"github.com/wikimedia/sheriff/internal/mwconfig"
	"github.com/wikimedia/sheriff/rules"
)

// Source names, as they appear in findings.
const (
	SourcePuppet          = "puppet"
	SourceMediaWikiConfig = "mediawiki-config"
	SourceHelm            = "helm"
)

// Sources are the checkouts to compare; an empty path skips that source.
type Sources struct {
	Puppet          string `json:"puppet,omitempty"`
	MediaWikiConfig string `json:"mediawiki_config,omitempty"`
	Charts          string `json:"charts,omitempty"`
}

// Empty reports whether no source is set.
func (s Sources) Empty() bool { return s.Puppet == "" && s.MediaWikiConfig == "" && s.Charts == "" }

// Run describes one execution of the check.
type Run struct {
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_seconds"`
	Sources  Sources   `json:"sources"`
	// Revisions are the git commits of the checkouts, where readable.
	Revisions map[string]string `json:"revisions,omitempty"`
	// Rules are the rule files used, in precedence order.
	Rules []string `json:"rules,omitempty"`
	// Stats count what was compared: "puppet_keys", "puppet_files",
	// "helm_services", "helm_files", "mediawiki_wikis", "mediawiki_pairs".
	Stats map[string]int `json:"stats,omitempty"`
}

// Summary counts the findings of a report.
type Summary struct {
	// Findings is the number of findings in the report (accepted included,
	// ignored excluded).
	Findings int `json:"findings"`
	// Real counts real drift not accepted by the baseline; the command
	// exits with status 2 when it is not zero.
	Real     int                           `json:"real"`
	ByClass  map[diff.Class]int            `json:"by_class"`  // not accepted
	BySource map[string]map[diff.Class]int `json:"by_source"` // not accepted
	Ignored  int                           `json:"ignored"`   // dropped by ignore rules
	Accepted int                           `json:"accepted"`  // accepted by the baseline
	// Previous is set when the report was compared with an earlier run;
	// New and Resolved are relative to it.
	Previous *time.Time `json:"previous,omitempty"`
	New      int        `json:"new"`
	Resolved int        `json:"resolved"`
	Problems int        `json:"problems"`
}

// Report is the outcome of a check.
type Report struct {
	Summary  Summary        `json:"summary"`
	Findings []diff.Finding `json:"findings"`
	// Resolved are the previous run's findings (not accepted) that are gone.
	Resolved []diff.Finding `json:"resolved,omitempty"`
	Problems []diff.Problem `json:"problems,omitempty"`
	Notes    []string       `json:"notes,omitempty"`
	Run      Run            `json:"run"`
}

// Checker runs drift checks. The zero value checks without rules, baseline
// or previous run.
type Checker struct {
	Rules    *rules.DriftRules
	Baseline *Baseline
	Previous *Report
	Hiera    hiera.Options
	Helm     helm.Options
	// LoadMediaWikiConfig reads a mediawiki-config checkout; nil means
	// mwconfig.Load.
	LoadMediaWikiConfig func(ctx context.Context, dir string) (*mwconfig.Result, error)
	Logger              *slog.Logger
	Now                 func() time.Time
}

// Check compares the sources and classifies the differences with r.
func Check(ctx context.Context, src Sources, r *rules.DriftRules) (*Report, error) {
	return (&Checker{Rules: r}).Check(ctx, src)
}

// sourceResult is what one source produced.
type sourceResult struct {
	findings []diff.Finding
	problems []diff.Problem
	notes    []string
	stats    map[string]int
	// aggregate says findings are per wiki and may be folded across wikis.
	wikis []string
}

// Check runs the comparison. Unreadable checkouts are errors; malformed
// files inside them are problems in the report and the run goes on.
func (c *Checker) Check(ctx context.Context, src Sources) (*Report, error) {
	if src.Empty() {
		return nil, errors.New("drift: no source to compare (give --puppet, --mediawiki-config and/or --charts)")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	started := now()

	type job struct {
		name string
		run  func(context.Context) (*sourceResult, error)
	}
	var jobs []job
	if src.Puppet != "" {
		jobs = append(jobs, job{SourcePuppet, func(ctx context.Context) (*sourceResult, error) {
			return c.puppet(ctx, src.Puppet)
		}})
	}
	if src.Charts != "" {
		jobs = append(jobs, job{SourceHelm, func(ctx context.Context) (*sourceResult, error) {
			return c.helm(ctx, src.Charts)
		}})
	}
	if src.MediaWikiConfig != "" {
		jobs = append(jobs, job{SourceMediaWikiConfig, func(ctx context.Context) (*sourceResult, error) {
			return c.mediawiki(ctx, src.MediaWikiConfig)
		}})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*sourceResult, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			results[i], errs[i] = j.run(ctx)
			if errs[i] != nil {
				cancel()
				return
			}
			log.Debug("drift source compared", "source", j.name, "findings", len(results[i].findings), "took", time.Since(t))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	rep := &Report{Run: Run{Started: started, Sources: src, Stats: map[string]int{}, Revisions: map[string]string{}}}
	if c.Rules != nil {
		rep.Run.Rules = ruleFiles(c.Rules)
	}
	for name, dir := range map[string]string{SourcePuppet: src.Puppet, SourceMediaWikiConfig: src.MediaWikiConfig, SourceHelm: src.Charts} {
		if dir == "" {
			continue
		}
		if rev := gitRevision(dir); rev != "" {
			rep.Run.Revisions[name] = rev
		}
	}
	ignored := 0
	for _, r := range results {
		kept := r.findings[:0]
		for _, f := range r.findings {
			if classify(&f, c.Rules) {
				ignored++
				continue
			}
			kept = append(kept, f)
		}
		if r.wikis != nil {
			kept = aggregateWikis(kept, r.wikis)
		}
		rep.Findings = append(rep.Findings, kept...)
		rep.Problems = append(rep.Problems, r.problems...)
		rep.Notes = append(rep.Notes, r.notes...)
		for k, v := range r.stats {
			rep.Run.Stats[k] = v
		}
	}
	if c.Baseline != nil {
		c.Baseline.Apply(rep.Findings)
	}
	sortFindings(rep.Findings)
	rep.Summary.Ignored = ignored
	if c.Previous != nil {
		rep.compareWith(c.Previous)
	}
	rep.summarize()
	rep.Run.Duration = now().Sub(started).Seconds()
	return rep, nil
}

func ruleFiles(rs *rules.DriftRules) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs.Rules {
		if !seen[r.File] {
			seen[r.File] = true
			out = append(out, r.File)
		}
	}
	return out
}

func (c *Checker) puppet(ctx context.Context, dir string) (*sourceResult, error) {
	res, err := hiera.Compare(ctx, dir, c.Hiera)
	if err != nil {
		return nil, fmt.Errorf("drift: puppet: %w", err)
	}
	return &sourceResult{findings: res.Findings, problems: res.Problems, notes: res.Notes,
		stats: map[string]int{"puppet_keys": res.Keys, "puppet_files": res.Files}}, nil
}

func (c *Checker) helm(ctx context.Context, dir string) (*sourceResult, error) {
	res, err := helm.Compare(ctx, dir, c.Helm)
	if err != nil {
		return nil, fmt.Errorf("drift: charts: %w", err)
	}
	return &sourceResult{findings: res.Findings, problems: res.Problems, notes: res.Notes,
		stats: map[string]int{"helm_services": res.Services, "helm_files": res.Files}}, nil
}

func (c *Checker) mediawiki(ctx context.Context, dir string) (*sourceResult, error) {
	load := c.LoadMediaWikiConfig
	if load == nil {
		load = mwconfig.Load
	}
	res, err := load(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("drift: mediawiki-config: %w", err)
	}
	return mediawikiFindings(res), nil
}

// classOrder is the order findings are reported in: what needs action first.
var classOrder = map[diff.Class]int{
	diff.ClassReal:          0,
	diff.ClassStaleOverride: 1,
	diff.ClassMissingInBeta: 2,
	diff.ClassBetaOnly:      3,
	diff.ClassDeadKey:       4,
	diff.ClassSizing:        5,
	diff.ClassExpected:      6,
}

// classes lists the classes in report order.
var classes = []diff.Class{diff.ClassReal, diff.ClassStaleOverride, diff.ClassMissingInBeta,
	diff.ClassBetaOnly, diff.ClassDeadKey, diff.ClassSizing, diff.ClassExpected}

func sortFindings(fs []diff.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if a.Accepted != b.Accepted {
			return !a.Accepted
		}
		if a.Class != b.Class {
			return classOrder[a.Class] < classOrder[b.Class]
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Wiki != b.Wiki {
			return a.Wiki < b.Wiki
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Path < b.Path
	})
}

func (r *Report) summarize() {
	s := &r.Summary
	s.Findings = len(r.Findings)
	s.ByClass = map[diff.Class]int{}
	s.BySource = map[string]map[diff.Class]int{}
	s.Real, s.Accepted, s.New = 0, 0, 0
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Accepted {
			s.Accepted++
			continue
		}
		if f.New {
			s.New++
		}
		s.ByClass[f.Class]++
		if s.BySource[f.Source] == nil {
			s.BySource[f.Source] = map[diff.Class]int{}
		}
		s.BySource[f.Source][f.Class]++
		if f.Class == diff.ClassReal {
			s.Real++
		}
	}
	s.Resolved = len(r.Resolved)
	s.Problems = len(r.Problems)
}

// compareWith marks findings absent from prev as new and lists prev's
// findings that are gone as resolved. Accepted findings are neither.
func (r *Report) compareWith(prev *Report) {
	t := prev.Run.Started
	r.Summary.Previous = &t
	before := map[string]bool{}
	for i := range prev.Findings {
		before[prev.Findings[i].ID()] = true
	}
	now := map[string]bool{}
	for i := range r.Findings {
		f := &r.Findings[i]
		now[f.ID()] = true
		f.New = !before[f.ID()] && !f.Accepted
	}
	r.Resolved = nil
	for _, f := range prev.Findings {
		if !now[f.ID()] && !f.Accepted {
			f.New = false
			r.Resolved = append(r.Resolved, f)
		}
	}
}

// Real returns the real findings not accepted by the baseline.
func (r *Report) Real() []diff.Finding {
	var out []diff.Finding
	for _, f := range r.Findings {
		if f.Class == diff.ClassReal && !f.Accepted {
			out = append(out, f)
		}
	}
	return out
}
