// Package pipeline connects sheriff's stages: a source's events pass the
// rules, are fingerprinted into signatures and recorded in the tracker
// (ingest); signatures whose state changed are then handed to the actions,
// the filer and the IRC bot (report).
//
// Ingest and report are decoupled on purpose: a Phabricator or IRC outage
// must not stop sheriff from reading logstash, and a logstash outage must not
// stop it from filing what it already knows. The tracker's reported_count is
// the hand-over point, so a crash between the two loses nothing.
package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/wikimedia/sheriff/checks"
	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/metrics"
	"github.com/wikimedia/sheriff/internal/redact"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
	"github.com/wikimedia/sheriff/rules"
)

// Grouper assigns a signature to events that carry no template of their own
// (syslog, puppet, service logs): the generic template miner.
type Grouper interface {
	Group(ev *event.Event) (id, template string)
	// Resolve maps an id to the id it survives as after merges.
	Resolve(id string) string
	// Merges returns, and forgets, the alias -> survivor pairs learned
	// since the last call.
	Merges() map[string]string
	// Requeue offers merges again after the transaction recording them failed.
	Requeue(merges map[string]string)
	// Save persists the grouper's state within tx when due (or when force).
	Save(ctx context.Context, tx *sql.Tx, force bool) error
}

// Ingester reads one source and records what it reads.
type Ingester struct {
	DB       *store.DB
	Source   checks.Source
	Rules    *rules.Set
	Tracker  *tracker.Tracker
	Redactor *redact.Redactor
	Generic  Grouper // optional; without it untemplated events are fingerprinted like MediaWiki ones
	// Check, when set, consumes the events instead of signature grouping
	// (the puppet check keeps per-host state).
	Check   Check
	Health  *health.Registry
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Interval is the wait between polls when the source has nothing more.
	Interval time.Duration
	Backoff  backoff.Policy
	// Ingested is signalled (non-blocking) after every committed batch.
	Ingested chan<- struct{}

	keyer Keyer
}

// BatchStats describes one processed batch.
type BatchStats struct {
	Events, Malformed, Ignored, Signatures, New int
	More                                        bool
}

// Run polls until ctx is done. Failures are retried with backoff; they are
// reported to health and metrics, never fatal.
func (in *Ingester) Run(ctx context.Context) error {
	name := in.Source.Name()
	in.Health.Register("source:"+name, false)
	failures := 0
	for {
		start := time.Now()
		st, err := in.Step(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := in.Interval
		if err != nil {
			failures++
			wait = in.Backoff.Delay(failures - 1)
			in.Metrics.PollErrors.WithLabelValues(name).Inc()
			in.Health.Fail("source:"+name, fmt.Sprintf("%v (retry in %s)", err, wait.Round(time.Second)))
			in.Log.Warn("poll failed", "source", name, "err", err, "retry_in", wait.Round(time.Millisecond), "failures", failures)
		} else {
			failures = 0
			in.Metrics.PollDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
			in.Metrics.LastPoll.WithLabelValues(name).SetToCurrentTime()
			in.Health.OK("source:"+name, fmt.Sprintf("last batch: %d events, %d new signatures", st.Events, st.New))
			if st.More {
				continue
			}
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Drain processes batches until the source has nothing more (replay, tests).
func (in *Ingester) Drain(ctx context.Context) (BatchStats, error) {
	var total BatchStats
	for {
		st, err := in.Step(ctx)
		total.Events += st.Events
		total.Malformed += st.Malformed
		total.Ignored += st.Ignored
		total.New += st.New
		if err != nil {
			return total, err
		}
		if !st.More {
			return total, nil
		}
	}
}

// Step polls once and records the batch atomically with the source's cursor.
func (in *Ingester) Step(ctx context.Context) (BatchStats, error) {
	name := in.Source.Name()
	b, err := in.Source.Poll(ctx)
	if err != nil {
		return BatchStats{}, fmt.Errorf("poll %s: %w", name, err)
	}
	st := BatchStats{Events: len(b.Events), Malformed: b.Malformed, More: b.More}
	if in.Check != nil {
		return st, in.observe(ctx, b, st)
	}
	ignored := map[string]int64{}
	occ := map[string]*tracker.Occurrences{}
	var order []*tracker.Occurrences
	width := in.Tracker.BucketWidth()
	for i := range b.Events {
		ev := &b.Events[i]
		d := in.Rules.Evaluate(ev)
		if d.Ignore {
			ignored[d.IgnoredBy]++
			st.Ignored++
			continue
		}
		o := in.group(ev, d, occ, &order)
		o.Add(ev.Timestamp, width, map[string]string{"wiki": ev.Wiki, "host": ev.Host, "version": ev.Version, "channel": ev.Channel})
	}
	var merges map[string]string
	if in.Generic != nil {
		merges = in.Generic.Merges()
		order = in.resolveGeneric(order)
	}
	var fresh map[string]bool
	err = in.DB.Tx(ctx, func(tx *sql.Tx) error {
		for alias, target := range merges {
			if err := in.Tracker.Merge(ctx, tx, finding.KindError, alias, target, time.Now()); err != nil {
				return err
			}
		}
		var err error
		if fresh, err = in.Tracker.Record(ctx, tx, order); err != nil {
			return err
		}
		if in.Generic != nil {
			if err := in.Generic.Save(ctx, tx, false); err != nil {
				return err
			}
		}
		if err := in.Tracker.AddCounter(ctx, tx, "malformed:"+name, int64(b.Malformed)); err != nil {
			return err
		}
		if err := in.Tracker.AddCounter(ctx, tx, "events:"+name, int64(len(b.Events))); err != nil {
			return err
		}
		return in.Source.Commit(ctx, tx, b)
	})
	if err != nil {
		if in.Generic != nil {
			// The merges were not recorded; offer them again with the next batch.
			in.Generic.Requeue(merges)
		}
		return st, fmt.Errorf("record batch of %s: %w", name, err)
	}
	st.Signatures = len(order)
	for _, o := range order {
		if fresh[o.ID] {
			st.New++
			in.Metrics.NewSignatures.WithLabelValues(string(o.Kind)).Inc()
		}
	}
	in.Metrics.Events.WithLabelValues(name).Add(float64(len(b.Events)))
	in.Metrics.Malformed.WithLabelValues(name).Add(float64(b.Malformed))
	for rule, n := range ignored {
		in.Metrics.Ignored.WithLabelValues(rule).Add(float64(n))
	}
	if b.Malformed > 0 {
		in.Log.Warn("skipped malformed events", "source", name, "count", b.Malformed)
	}
	if len(b.Events) > 0 {
		in.Log.Info("batch recorded", "source", name, "events", len(b.Events), "signatures", len(order), "new", st.New, "ignored", st.Ignored)
	}
	if in.Ingested != nil && len(order) > 0 {
		select {
		case in.Ingested <- struct{}{}:
		default:
		}
	}
	return st, nil
}

func (in *Ingester) group(ev *event.Event, d rules.Decision, occ map[string]*tracker.Occurrences, order *[]*tracker.Occurrences) *tracker.Occurrences {
	var kind = finding.KindError
	if in.keyer.Generic == nil && in.Generic != nil {
		in.keyer.Generic = in.Generic
	}
	key := in.keyer.Key(ev, d)
	id, title, template, generic := key.ID, key.Title, key.Template, key.Generic
	o := occ[id]
	if o == nil {
		msg := ev.Message
		if msg == "" {
			msg = ev.ExcMessage
		}
		o = &tracker.Occurrences{
			Kind: kind, ID: id, Title: in.Redactor.String(title), Template: in.Redactor.String(template),
			Severity: d.Severity, Projects: d.Projects,
			Sample: in.Redactor.String(msg), Trace: in.Redactor.String(ev.ExcTrace), Generic: generic,
		}
		occ[id] = o
		*order = append(*order, o)
	}
	return o
}

// observe hands a batch to the Check, atomically with the source's cursor.
func (in *Ingester) observe(ctx context.Context, b checks.Batch, st BatchStats) error {
	name := in.Source.Name()
	err := in.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := in.Check.Observe(ctx, tx, b.Events, time.Now()); err != nil {
			return err
		}
		if err := in.Tracker.AddCounter(ctx, tx, "malformed:"+name, int64(b.Malformed)); err != nil {
			return err
		}
		return in.Source.Commit(ctx, tx, b)
	})
	if err != nil {
		return fmt.Errorf("record batch of %s: %w", name, err)
	}
	in.Metrics.Events.WithLabelValues(name).Add(float64(len(b.Events)))
	in.Metrics.Malformed.WithLabelValues(name).Add(float64(b.Malformed))
	if len(b.Events) > 0 {
		in.Log.Info("batch observed", "source", name, "events", len(b.Events))
		if in.Ingested != nil {
			select {
			case in.Ingested <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// resolveGeneric re-keys mined occurrences by their surviving ids: a merge
// later in the batch may have made an earlier line's id an alias.
func (in *Ingester) resolveGeneric(order []*tracker.Occurrences) []*tracker.Occurrences {
	byID := map[string]*tracker.Occurrences{}
	var out []*tracker.Occurrences
	for _, o := range order {
		if o.Generic {
			o.ID = in.Generic.Resolve(o.ID)
		}
		if prev, ok := byID[o.ID]; ok {
			prev.Fold(o)
			continue
		}
		byID[o.ID] = o
		out = append(out, o)
	}
	return out
}

// untemplated reports whether an event carries neither a PSR-3 template nor
// an exception: a syslog or service line that needs template mining.
func untemplated(ev *event.Event) bool {
	return ev.Normalized == "" && ev.ExcClass == "" && ev.Type != "mediawiki"
}
