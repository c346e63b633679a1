package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/metrics"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// Filer turns findings into tasks; see package filer.
type Filer interface {
	Sync(ctx context.Context, fs []finding.Finding) ([]filer.Result, error)
}

// Noter comments on the open task of a finding; findings that are news
// about another one (spikes) go there rather than to a task of their own.
type Noter interface {
	Note(ctx context.Context, kind finding.Kind, key, text string) (bool, error)
}

// Notifier tells people about findings (the IRC bot). Announce must not
// block on the network: implementations queue durably and deliver later.
type Notifier interface {
	Announce(ctx context.Context, f finding.Finding, taskURL string) error
}

// Silencer reports whether a finding is muted by an active silence.
type Silencer interface {
	Silenced(ctx context.Context, f finding.Finding, taskID int) (bool, error)
}

// Reporter hands signatures whose state changed to the filer and the bot.
type Reporter struct {
	Tracker  *tracker.Tracker
	Filer    Filer
	Notifier Notifier // optional
	Silences Silencer // optional
	// Sources are other producers of findings (puppet, spikes, drift).
	Sources []FindingSource
	Health  *health.Registry
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Backoff backoff.Policy
	// Interval bounds how long a change waits when no trigger arrives.
	Interval time.Duration
	Trigger  <-chan struct{}
	Now      func() time.Time
	// BacklogAlert: once the oldest signature without a task has waited
	// this long, the filer shows as degraded on /healthz. Default 15m.
	BacklogAlert time.Duration
}

// Backlogger is a filer that reports its backlog of unfiled findings.
type Backlogger interface {
	Backlog(ctx context.Context) (filer.Backlog, error)
}

// Run reports whenever triggered (and at least every Interval) until ctx is
// done. A failing filer is retried with backoff; ingestion goes on meanwhile.
func (r *Reporter) Run(ctx context.Context) error {
	r.Health.Register("filer", false)
	failures := 0
	for {
		results, err := r.ReportOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := r.Interval
		bl, blErr := r.backlog(ctx)
		if err == nil && blErr != nil {
			err = blErr
		}
		if err != nil || bl.Count > 0 {
			// A failed or pending write is retried with backoff until it
			// succeeds: the signature stays unreported meanwhile.
			failures++
			wait = r.Backoff.Delay(failures - 1)
			if err != nil {
				r.Metrics.FilerErrors.Inc()
				r.Health.Fail("filer", fmt.Sprintf("%v (retry in %s)", err, wait.Round(time.Second)))
				r.Log.Warn("filing failed", "err", err, "retry_in", wait.Round(time.Millisecond), "failures", failures,
					"backlog", bl.Count)
			} else {
				r.backlogHealth(bl, wait)
				r.Log.Info("filing pending; retrying", "backlog", bl.Count, "retry_in", wait.Round(time.Millisecond))
			}
			if err := backoff.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		failures = 0
		r.Health.OK("filer", fmt.Sprintf("last sync: %d findings; backlog empty", len(results)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-r.Trigger:
		case <-t.C:
		}
		t.Stop()
	}
}

func (r *Reporter) gauges(ctx context.Context) {
	if st, err := r.Tracker.Stats(ctx); err == nil {
		r.Metrics.Backlog.Set(float64(st.Backlog))
		for s, n := range st.ByStatus {
			r.Metrics.Signatures.WithLabelValues(string(s)).Set(float64(n))
		}
	}
}

// backlog reads the filer's backlog into health and metrics.
func (r *Reporter) backlog(ctx context.Context) (filer.Backlog, error) {
	b, ok := r.Filer.(Backlogger)
	if !ok {
		return filer.Backlog{}, nil
	}
	bl, err := b.Backlog(ctx)
	if err != nil {
		return bl, err
	}
	r.Health.SetBacklog("filer", bl.Count, bl.Oldest)
	r.Metrics.FilerUnfiled.Set(float64(bl.Count))
	return bl, nil
}

// backlogHealth shows pending filing on /healthz: degraded once the oldest
// unfiled signature is older than BacklogAlert.
func (r *Reporter) backlogHealth(bl filer.Backlog, wait time.Duration) {
	alert := r.BacklogAlert
	if alert <= 0 {
		alert = 15 * time.Minute
	}
	age := bl.Age(r.now())
	detail := fmt.Sprintf("%d signature(s) not filed yet, oldest waiting %s (retry in %s)", bl.Count,
		age.Round(time.Second), wait.Round(time.Second))
	if bl.LastError != "" {
		detail += ": " + bl.LastError
	}
	if age >= alert {
		r.Health.Degrade("filer", detail)
		return
	}
	r.Health.OK("filer", detail)
}

// ReportOnce hands every changed signature to the actions, in chunks, and
// returns what the filer did.
func (r *Reporter) ReportOnce(ctx context.Context) ([]filer.Result, error) {
	var all []filer.Result
	// The gauges are read after this pass, so that they show its outcome.
	defer r.gauges(ctx)
	// Signatures whose filing is pending stay dirty; each is handed to the
	// filer once per pass, and the window grows past them.
	handed := map[string]bool{}
	for {
		dirty, err := r.Tracker.Dirty(ctx, len(handed)+100)
		if err != nil {
			return all, err
		}
		fresh := dirty[:0]
		for _, s := range dirty {
			if k := key(s.Kind, s.ID); !handed[k] {
				handed[k] = true
				fresh = append(fresh, s)
			}
		}
		if len(fresh) == 0 {
			break
		}
		res, err := r.report(ctx, fresh)
		all = append(all, res...)
		if err != nil {
			return all, err
		}
	}
	var errs []error
	for _, src := range r.Sources {
		// A stepped source hands out one transition per finding at a time:
		// ask again until it has nothing left or nothing moves.
		_, stepped := src.(interface{ Stepped() bool })
		for range maxSteps {
			res, err := r.reportSource(ctx, src)
			all = append(all, res...)
			if err != nil {
				// One failing source must not starve the others.
				errs = append(errs, fmt.Errorf("%s: %w", src.Name(), err))
				break
			}
			if !stepped || !progressed(res) {
				break
			}
		}
	}
	return all, errors.Join(errs...)
}

// maxSteps bounds the rounds of one report pass over a stepped source.
const maxSteps = 10000

func progressed(res []filer.Result) bool {
	for _, r := range res {
		if r.Action != filer.ActionPending {
			return true
		}
	}
	return false
}

func (r *Reporter) reportSource(ctx context.Context, src FindingSource) ([]filer.Result, error) {
	pending, err := src.Pending(ctx, r.now())
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	var fs []finding.Finding
	for _, f := range pending {
		if r.Silences != nil {
			muted, err := r.Silences.Silenced(ctx, f, 0)
			if err != nil {
				return nil, err
			}
			if muted {
				if err := src.Reported(ctx, f, filer.Result{Key: f.Key, Kind: f.Kind, Action: filer.ActionSilenced, Silenced: true}); err != nil {
					return nil, err
				}
				continue
			}
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return nil, nil
	}
	var results []filer.Result
	if noter, ok := r.Filer.(Noter); ok {
		var own []finding.Finding
		for _, f := range fs {
			if f.About.Key == "" {
				own = append(own, f)
				continue
			}
			res, err := r.note(ctx, noter, src, f)
			if err != nil {
				return results, err
			}
			results = append(results, res)
		}
		fs = own
	}
	if len(fs) == 0 {
		return results, nil
	}
	byKey := map[string]finding.Finding{}
	for _, f := range fs {
		byKey[key(f.Kind, f.Key)] = f
	}
	synced, err := r.Filer.Sync(ctx, fs)
	results = append(results, synced...)
	for _, res := range synced {
		f, ok := byKey[key(res.Kind, res.Key)]
		if !ok {
			continue
		}
		r.Metrics.FilerActions.WithLabelValues(string(res.Action)).Inc()
		if rerr := src.Reported(ctx, f, res); rerr != nil {
			return results, rerr
		}
		if r.Notifier != nil && announceSource(f, res) {
			if nerr := r.Notifier.Announce(ctx, f, res.URL); nerr != nil {
				r.Log.Warn("announce failed", "finding", f.Key, "err", nerr)
			}
		}
	}
	return results, err
}

func (r *Reporter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reporter) report(ctx context.Context, sigs []tracker.Signature) ([]filer.Result, error) {
	bySig := map[string]*tracker.Signature{}
	var fs []finding.Finding
	for i := range sigs {
		s := &sigs[i]
		f := s.Finding()
		if r.Silences != nil {
			muted, err := r.Silences.Silenced(ctx, f, s.TaskID)
			if err != nil {
				return nil, err
			}
			if muted {
				// Counted as reported so a silence does not pile up a backlog;
				// the occurrences stay in the counts for when it expires.
				if err := r.Tracker.Reported(ctx, s.Kind, s.ID, s.Count, finding.StatusSilenced, 0, "", r.now()); err != nil {
					return nil, err
				}
				continue
			}
		}
		if s.Status == finding.StatusSilenced {
			// It was silenced and no longer is: back to known.
			f.Status = finding.StatusKnown
		}
		bySig[key(s.Kind, s.ID)] = s
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return nil, nil
	}
	results, err := r.Filer.Sync(ctx, fs)
	// Results are applied even when Sync failed part-way: what was done is done.
	for _, res := range results {
		s := bySig[key(res.Kind, res.Key)]
		if s == nil {
			continue
		}
		r.Metrics.FilerActions.WithLabelValues(string(res.Action)).Inc()
		if res.Action == filer.ActionPending {
			// Not reported until its task exists: it stays dirty and the
			// filer retries it.
			continue
		}
		status := statusAfter(s.Status, res)
		if uerr := r.Tracker.Reported(ctx, s.Kind, s.ID, s.Count, status, res.TaskID, res.URL, r.now()); uerr != nil {
			return results, uerr
		}
		if r.Notifier != nil && announce(res) {
			f := s.Finding()
			f.Status = status
			if nerr := r.Notifier.Announce(ctx, f, res.URL); nerr != nil {
				r.Log.Warn("announce failed", "signature", s.ID, "err", nerr)
			}
		}
	}
	if err != nil {
		return results, fmt.Errorf("filer: %w", err)
	}
	return results, nil
}

// note reports f as a comment on the task of the finding it is about, and
// announces it: a spike of a signature whose task is closed or not filed
// still deserves an IRC line.
func (r *Reporter) note(ctx context.Context, noter Noter, src FindingSource, f finding.Finding) (filer.Result, error) {
	text := "**" + f.Title + "**\n\n" + f.Details
	noted, err := noter.Note(ctx, f.About.Kind, f.About.Key, text)
	if err != nil {
		return filer.Result{}, err
	}
	res := filer.Result{Key: f.Key, Kind: f.Kind, Action: filer.ActionUnchanged}
	if noted {
		res.Action = filer.ActionCommented
	}
	r.Metrics.FilerActions.WithLabelValues(string(res.Action)).Inc()
	if err := src.Reported(ctx, f, res); err != nil {
		return res, err
	}
	if r.Notifier != nil {
		if err := r.Notifier.Announce(ctx, f, ""); err != nil {
			r.Log.Warn("announce failed", "finding", f.Key, "err", err)
		}
	}
	return res, nil
}

// announceSource reports whether a finding from another check deserves an
// IRC line: anything announce accepts, a resolution, a return after one,
// and every new episode of a spike (spikes comment on their task rather
// than create one).
func announceSource(f finding.Finding, res filer.Result) bool {
	if res.Silenced {
		return false
	}
	return announce(res) || f.Status == finding.StatusResolved || f.Returned ||
		(f.Kind == finding.KindSpike && res.Action == filer.ActionCommented)
}

func key(k finding.Kind, id string) string { return string(k) + "/" + id }

// statusAfter is the signature status once the filer acted.
func statusAfter(prev finding.Status, res filer.Result) finding.Status {
	switch {
	case res.Silenced || res.Action == filer.ActionSilenced:
		return finding.StatusSilenced
	case res.Action == filer.ActionReopened:
		return finding.StatusRegressed
	case prev == finding.StatusRegressed:
		return finding.StatusRegressed
	}
	return finding.StatusKnown
}

// announce reports whether a filer outcome deserves an IRC line: something
// new or something back. Comments on known tasks are not news.
func announce(res filer.Result) bool {
	switch res.Action {
	case filer.ActionCreated, filer.ActionReopened, filer.ActionUmbrella, filer.ActionDryRun:
		return !res.Silenced
	}
	return false
}
