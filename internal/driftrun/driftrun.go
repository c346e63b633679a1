// Package driftrun runs the configuration drift check on a schedule inside
// `sheriff run`: it optionally pulls the checkouts, runs drift.Checker with
// the previous run as reference, writes HTML, Markdown and JSON reports under
// a reports directory (served by the HTTP server under /reports/), records
// each run in the database and turns real drift into findings for the filer.
//
// Catching up: a schedule slot missed while sheriff was down is not lost.
// When Run starts and the last recorded run is older than one schedule
// period (or there is none), one run happens CatchUpDelay after start-up,
// then the schedule resumes.
package driftrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/wikimedia/sheriff/internal/drift"
	"github.com/wikimedia/sheriff/internal/store"
)

// DefaultSchedule runs the check every night at 03:00 UTC.
const DefaultSchedule = "0 3 * * *"

// DefaultCatchUpDelay is how long after start-up a missed run happens: long
// enough for sheriff to finish starting, short enough to be "soon".
const DefaultCatchUpDelay = time.Minute

// Redactor scrubs text leaving sheriff; *redact.Redactor satisfies it.
type Redactor interface {
	String(s string) string
}

// Options configure a Runner. Zero values take the documented defaults.
type Options struct {
	// Schedule is a standard 5-field cron expression evaluated in UTC
	// (descriptors such as @daily work too). Default DefaultSchedule.
	Schedule string
	// Sources are the checkout directories; at least one is required.
	Sources drift.Sources
	// RulesFile holds site drift rules applied before the shipped defaults;
	// optional. It is read at every run so edits need no restart.
	RulesFile string
	// Baseline is a file of accepted findings (see drift.Baseline); optional.
	// The nightly run reads it and never writes it.
	Baseline string
	// GitPull runs `git -C DIR pull --ff-only` in each checkout before the
	// check. A failing pull is reported in the run and the report; the check
	// goes on with what is checked out.
	GitPull bool
	// ReportsDir is where reports are written; required.
	ReportsDir string
	// FileReal makes real drift findings for the filer (Pending); otherwise
	// Pending returns nothing, though the findings are still tracked.
	FileReal bool
	// BaseURL is sheriff's external HTTP base URL for report links, e.g.
	// "https://sheriff.example.org"; "" gives server-relative links.
	BaseURL string
	// OnRun, when set, is called after every run, scheduled or not, failed
	// or not (not when ctx is done). The IRC summary line is rec.Summary.
	OnRun func(ctx context.Context, rec *RunRecord)
	// Redactor scrubs finding texts, summaries and errors; optional.
	Redactor Redactor
	// CatchUpDelay is the wait before a run that catches up on a missed
	// schedule. Default DefaultCatchUpDelay.
	CatchUpDelay time.Duration
	// GitTimeout bounds each git pull. Default 5 minutes.
	GitTimeout time.Duration

	// Now is the clock; default time.Now.
	Now func() time.Time
	// After waits like time.After; tests replace it to fire the schedule
	// without sleeping.
	After func(d time.Duration) <-chan time.Time
	// Pull updates one checkout; default runs git. Tests replace it.
	Pull func(ctx context.Context, dir string) error
}

// Runner runs the drift check and keeps its history.
type Runner struct {
	db    *store.DB
	opts  Options
	sched cron.Schedule
	log   *slog.Logger
	// sem serialises runs: a scheduled run and an IRC-triggered one never
	// overlap. A channel rather than a mutex so waiting honours ctx.
	sem     chan struct{}
	trigger chan struct{}
}

// ParseSchedule parses a cron expression as Options.Schedule does. The
// expression is evaluated in UTC; time zone prefixes are refused so that the
// configuration says what it means.
func ParseSchedule(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errors.New("driftrun: schedule: empty cron expression")
	}
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, fmt.Errorf("driftrun: schedule %q: time zone prefixes are not supported; the schedule is in UTC", expr)
	}
	s, err := cron.ParseStandard(e)
	if err != nil {
		return nil, fmt.Errorf("driftrun: schedule %q: want 5 fields \"minute hour day-of-month month day-of-week\" (UTC), e.g. %q: %w",
			expr, DefaultSchedule, err)
	}
	// "0 0 30 2 *" parses but never fires: cron returns the zero time.
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("driftrun: schedule %q never fires", expr)
	}
	return s, nil
}

// New checks the options, creates the tables and marks runs interrupted by
// a previous stop as failed.
func New(ctx context.Context, db *store.DB, opts Options, log *slog.Logger) (*Runner, error) {
	if opts.Schedule == "" {
		opts.Schedule = DefaultSchedule
	}
	sched, err := ParseSchedule(opts.Schedule)
	if err != nil {
		return nil, err
	}
	if opts.Sources.Empty() {
		return nil, errors.New("driftrun: no checkout configured (set drift.puppet, drift.mediawiki_config and/or drift.charts)")
	}
	if opts.ReportsDir == "" {
		return nil, errors.New("driftrun: no reports directory configured (drift.reports_dir)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		// Unreferenced timers are collected since Go 1.23: no leak on ctx done.
		opts.After = time.After
	}
	if opts.Pull == nil {
		opts.Pull = gitPull
	}
	if opts.CatchUpDelay <= 0 {
		opts.CatchUpDelay = DefaultCatchUpDelay
	}
	if opts.GitTimeout <= 0 {
		opts.GitTimeout = 5 * time.Minute
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.ReportsDir, 0o755); err != nil {
		return nil, fmt.Errorf("driftrun: reports directory: %w", err)
	}
	if err := db.Migrate(ctx, component, migrations); err != nil {
		return nil, fmt.Errorf("driftrun: %w", err)
	}
	r := &Runner{db: db, opts: opts, sched: sched, log: log.With("component", component),
		sem: make(chan struct{}, 1), trigger: make(chan struct{}, 1)}
	if n, err := r.markInterrupted(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		r.log.Warn("drift runs interrupted by a stop recorded as failed", "runs", n)
	}
	return r, nil
}

// Trigger asks Run to start a run now instead of waiting for the schedule;
// it does not wait. A trigger arriving while one is queued is merged with it.
func (r *Runner) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Run runs the check on the schedule until ctx is done, and returns
// ctx.Err(). A failed run is recorded and logged; the schedule goes on.
func (r *Runner) Run(ctx context.Context) error {
	now := r.opts.Now().UTC()
	next := r.sched.Next(now)
	last, err := r.Last(ctx)
	if err != nil {
		r.log.Warn("cannot read the last drift run; assuming none", "err", err)
	}
	if r.missed(last, now) {
		next = now.Add(r.opts.CatchUpDelay)
		r.log.Info("drift run missed while sheriff was down; catching up", "at", next)
	}
	for {
		d := max(next.Sub(r.opts.Now()), 0)
		r.log.Debug("next drift run", "at", next, "in", d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.trigger:
		case <-r.opts.After(d):
		}
		// RunNow records and logs failures itself; an error here is the
		// run's and must not stop the schedule.
		_, _ = r.RunNow(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		next = r.sched.Next(r.opts.Now().UTC())
	}
}

// missed reports whether the last run is older than one schedule period.
func (r *Runner) missed(last *RunRecord, now time.Time) bool {
	if last == nil {
		return true
	}
	a := r.sched.Next(now)
	period := r.sched.Next(a).Sub(a)
	return now.Sub(last.Started) > period
}

// RunNow runs the check once, waiting for a run in progress to finish
// first. A failed run is recorded and returned with its Err set, together
// with the error; the error alone is returned when nothing could be recorded.
func (r *Runner) RunNow(ctx context.Context) (*RunRecord, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.sem }()
	rec, err := r.run(ctx)
	if rec != nil && r.opts.OnRun != nil && ctx.Err() == nil {
		r.opts.OnRun(ctx, rec)
	}
	return rec, err
}

func (r *Runner) redact(s string) string {
	if r.opts.Redactor == nil {
		return s
	}
	return r.opts.Redactor.String(s)
}

// ReportURL is the link to a report path relative to ReportsDir.
func (r *Runner) ReportURL(path string) string {
	if path == "" {
		return ""
	}
	return r.opts.BaseURL + "/reports/" + path
}

// gitPull fast-forwards one checkout. Only the last line of git's output is
// kept: it says why, and the rest can be long.
func gitPull(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "pull", "--ff-only", "--quiet")
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := lastLine(string(out))
		if msg == "" {
			return fmt.Errorf("git pull: %w", err)
		}
		return fmt.Errorf("git pull: %w: %s", err, msg)
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// oneLine flattens s and cuts it to n bytes for IRC and logs.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
