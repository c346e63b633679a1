// Package filer turns findings into tracker tasks, one task per finding and
// never two, the way a careful human sheriff would: it files a task the first
// time, comments at most once per interval while the task is open, reopens it
// when a resolved problem comes back, and stops when a task is declined.
//
// Exactly-once filing rests on three things:
//
//   - a local mapping (finding -> task), consulted first;
//   - a marker word in every description (see Marker), found by a full-text
//     search and, for tasks this bot created recently, by a listing of its own
//     tasks that does not go through the search index;
//   - an intent row written before every create or comment and cleared with the
//     result in one transaction. After a crash or a timeout a pending intent is
//     resolved by looking for its marker, never by writing again, until the
//     intent is older than IntentGrace.
//
// With no backend the filer writes to a dry-run outbox directory instead, with
// the same semantics (see Outbox).
package filer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// Action says what Sync did for one finding.
type Action string

const (
	ActionCreated   Action = "created"
	ActionCommented Action = "commented"
	ActionReopened  Action = "reopened"
	ActionUnchanged Action = "unchanged"
	ActionSilenced  Action = "silenced"
	ActionUmbrella  Action = "umbrella" // listed on a storm umbrella task instead of its own task
	ActionDryRun    Action = "dry-run"  // would have been created: written to the outbox
	// ActionPending means an earlier write's outcome is not known yet (its
	// intent is unresolved); a later Sync finishes it.
	ActionPending Action = "pending"
)

// Result is the outcome of Sync for one finding.
type Result struct {
	Key      string
	Kind     finding.Kind
	Action   Action
	TaskID   int
	URL      string
	Silenced bool
}

// Redactor scrubs text before it leaves sheriff. *redact.Redactor satisfies it.
type Redactor interface {
	String(s string) string
}

// Options configure a Filer. Zero values take the documented defaults.
type Options struct {
	// DryRun forces the outbox even when a backend is given.
	DryRun bool
	// OutboxDir is where the dry-run outbox writes; required in dry-run.
	OutboxDir string
	// Projects are the project names or hashtags every task is tagged with;
	// marker searches are limited to them.
	Projects []string
	// Priority is used when a finding has no Severity. Default "triage".
	Priority string
	// SeverityPriority maps a finding's Severity (from rules) to a priority
	// keyword of the install; a severity not in the map is sent as is.
	// Wikimedia's Phabricator, for example, calls "normal" "medium".
	SeverityPriority map[string]string
	// Subscribers are user or project PHIDs subscribed to every new task.
	Subscribers []string
	// CommentInterval is the minimum time between two update comments on one
	// task. Default 24h.
	CommentInterval time.Duration
	// ReopenOnRegression reopens a resolved task (with a comment) when its
	// signature occurs again; when false the filer only comments. The zero
	// value is false: the configuration layer defaults it to true.
	ReopenOnRegression bool
	// StormThreshold: more than this many new tasks within StormWindow are
	// filed as one umbrella task. Default 10; negative disables storm control.
	StormThreshold int
	// StormWindow defaults to 15m.
	StormWindow time.Duration
	// DashboardURL is the base URL of OpenSearch Dashboards, used for a
	// Discover link when a finding carries no Link.
	DashboardURL string
	// Redactor scrubs titles, descriptions, comments and the outbox.
	Redactor Redactor
	// Now is the clock; default time.Now.
	Now func() time.Time
	// IntentGrace is how long an unresolved create or comment intent blocks
	// writing again. It must exceed the longest time a request can still be
	// in flight at the server (client timeout plus server-side execution
	// limit). Default 10m.
	IntentGrace time.Duration
	// RecentScan is how far back the index-free listing of the bot's own tasks
	// reaches in the dedup ladder. Default 2h.
	RecentScan time.Duration
}

// clockSkew widens every "created since" query so that a server clock behind
// ours does not hide a task.
const clockSkew = 10 * time.Minute

// Filer files findings. It is safe for concurrent use; calls are serialised.
type Filer struct {
	db      *store.DB
	backend Backend
	bid     string
	dry     bool
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex
}

// New prepares a filer: it applies the filer's migrations and initialises the
// backend (resolving the configured projects). A nil backend, or
// opts.DryRun, selects the dry-run outbox under opts.OutboxDir.
func New(ctx context.Context, db *store.DB, backend Backend, opts Options, log *slog.Logger) (*Filer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Priority == "" {
		opts.Priority = "triage"
	}
	if opts.CommentInterval <= 0 {
		opts.CommentInterval = 24 * time.Hour
	}
	if opts.StormThreshold == 0 {
		opts.StormThreshold = 10
	}
	if opts.StormWindow <= 0 {
		opts.StormWindow = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IntentGrace == 0 {
		opts.IntentGrace = 10 * time.Minute
	}
	if opts.RecentScan <= 0 {
		opts.RecentScan = 2 * time.Hour
	}
	if isNilRedactor(opts.Redactor) {
		opts.Redactor = nil
	}
	f := &Filer{db: db, opts: opts, log: log.With("component", "filer")}
	if backend == nil || opts.DryRun {
		if opts.OutboxDir == "" {
			return nil, errors.New("filer: dry-run needs an outbox directory")
		}
		ob, err := NewOutbox(opts.OutboxDir, opts.Now, log)
		if err != nil {
			return nil, err
		}
		backend, f.dry = ob, true
	} else if opts.Redactor == nil {
		f.log.Warn("no redactor configured: task text is sent as the checks produced it")
	}
	f.backend = backend
	f.bid = backend.ID()
	if err := db.Migrate(ctx, Component, migrations); err != nil {
		return nil, fmt.Errorf("filer: %w", err)
	}
	if err := backend.Init(ctx, opts.Projects); err != nil {
		return nil, fmt.Errorf("filer: %w", err)
	}
	return f, nil
}

func isNilRedactor(r Redactor) bool {
	if r == nil {
		return true
	}
	v := reflect.ValueOf(r)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func (f *Filer) now() time.Time { return f.opts.Now().UTC() }

func (f *Filer) redact(s string) string {
	if f.opts.Redactor == nil {
		return s
	}
	return f.opts.Redactor.String(s)
}

// textSHA identifies a comment's text; whitespace at the ends and line
// endings are normalised because a server may store them differently.
func textSHA(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type item struct {
	f      finding.Finding
	marker string
}

func (it *item) result(a Action, m *Mapping) Result {
	r := Result{Key: it.f.Key, Kind: it.f.Kind, Action: a}
	if m != nil {
		r.TaskID, r.URL, r.Silenced = m.TaskID, m.URL, m.Silenced
	}
	if a == ActionSilenced {
		r.Silenced = true
	}
	return r
}

// Sync brings the tracker up to date with the given findings (those that
// changed since the last call). It is idempotent: calling it again with the
// same findings does nothing. It returns one Result per distinct finding, in
// input order, except for findings that failed: their errors are returned
// joined, and the other findings are still processed.
func (f *Filer) Sync(ctx context.Context, fs []finding.Finding) ([]Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	if err := f.resolveIntents(ctx); err != nil {
		errs = append(errs, err)
	}

	// One item per identity; the last finding wins.
	var items []*item
	byMarker := map[string]*item{}
	for _, fd := range fs {
		mk := Marker(fd.Kind, fd.Key)
		if it, ok := byMarker[mk]; ok {
			it.f = fd
			continue
		}
		it := &item{f: fd, marker: mk}
		byMarker[mk] = it
		items = append(items, it)
	}

	pending, err := f.pendingMarkers(ctx)
	if err != nil {
		return nil, err
	}
	mappings := map[string]*Mapping{}
	var ids []int
	for _, it := range items {
		m, err := f.getMapping(ctx, f.db, it.marker)
		if err != nil {
			return nil, err
		}
		if m != nil {
			mappings[it.marker] = m
			ids = append(ids, m.TaskID)
			if m.Umbrella != "" {
				um, err := f.getMapping(ctx, f.db, m.Umbrella)
				if err != nil {
					return nil, err
				}
				if um != nil {
					mappings[um.Marker] = um
				}
			}
		}
	}
	tasks, err := f.refresh(ctx, ids)
	if err != nil {
		// Without fresh states the filer can still comment; it just cannot
		// notice a closed task until the next call.
		f.log.Warn("refresh task states", "err", err)
		errs = append(errs, err)
	}

	var results []Result
	var candidates, toCreate []*item
	sc := &scanCache{}
	// update reports a finding that has a task; a finding whose task must be
	// filed anew (a member of a resolved umbrella that came back) joins
	// toCreate.
	update := func(it *item, m *Mapping) {
		r, recreate, err := f.update(ctx, it, m, tasks)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("filer: %s %s: %w", it.f.Kind, it.f.Key, err))
		case recreate:
			toCreate = append(toCreate, it)
		default:
			results = append(results, r)
		}
	}
	for _, it := range items {
		if pending[it.marker] {
			results = append(results, it.result(ActionPending, mappings[it.marker]))
			continue
		}
		m := mappings[it.marker]
		if m == nil {
			candidates = append(candidates, it)
			continue
		}
		update(it, m)
	}

	for _, it := range candidates {
		if it.f.Status == finding.StatusSilenced {
			// Muted by a rule before it was ever filed: nothing to do.
			results = append(results, it.result(ActionSilenced, nil))
			continue
		}
		m, err := f.lookup(ctx, it, sc)
		if err != nil {
			errs = append(errs, fmt.Errorf("filer: %s %s: %w", it.f.Kind, it.f.Key, err))
			continue
		}
		if m == nil {
			toCreate = append(toCreate, it)
			continue
		}
		update(it, m)
	}

	if len(toCreate) > 0 {
		rs, err := f.createAll(ctx, toCreate)
		results = append(results, rs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Results in the order of the input.
	order := map[string]int{}
	for i, it := range items {
		order[it.marker] = i
	}
	sort.SliceStable(results, func(i, j int) bool {
		return order[Marker(results[i].Kind, results[i].Key)] < order[Marker(results[j].Kind, results[j].Key)]
	})
	err = errors.Join(errs...)
	if berr := f.noteBacklog(ctx, items, results, err); berr != nil {
		err = errors.Join(err, berr)
	}
	return results, err
}

// refresh fetches the current state of the given tasks.
func (f *Filer) refresh(ctx context.Context, ids []int) (map[int]Task, error) {
	out := map[int]Task{}
	if len(ids) == 0 {
		return out, nil
	}
	sort.Ints(ids)
	uniq := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			uniq = append(uniq, id)
		}
	}
	ts, err := f.backend.Get(ctx, uniq)
	if err != nil {
		return out, fmt.Errorf("filer: refresh tasks: %w", err)
	}
	for _, t := range ts {
		out[t.ID] = t
	}
	return out, nil
}

func (f *Filer) pendingMarkers(ctx context.Context) (map[string]bool, error) {
	ins, err := f.intents(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, in := range ins {
		out[in.Marker] = true
	}
	return out, nil
}

// applyState records a refreshed task status on a mapping.
func (f *Filer) applyState(ctx context.Context, m *Mapping, tasks map[int]Task) error {
	t, ok := tasks[m.TaskID]
	if !ok || t.Status == "" || t.Status == m.Status {
		return nil
	}
	f.log.Info("task status changed", "task", m.TaskID, "from", m.Status, "to", t.Status, "marker", m.Marker)
	m.Status = t.Status
	if isSilencing(t.Status) {
		m.Silenced = true
	}
	return f.putMapping(ctx, f.db, m)
}

// update handles a finding that already has a task. recreate asks the caller
// to file a new task (a member of a resolved umbrella that came back).
func (f *Filer) update(ctx context.Context, it *item, m *Mapping, tasks map[int]Task) (Result, bool, error) {
	if m.Key == "" {
		m.Key = it.f.Key // rebuilt by resync from a task that did not tell
	}
	if m.Umbrella != "" {
		return f.updateMember(ctx, it, m, tasks)
	}
	if err := f.applyState(ctx, m, tasks); err != nil {
		return Result{}, false, err
	}
	if m.Silenced || it.f.Status == finding.StatusSilenced {
		return it.result(ActionSilenced, m), false, nil
	}
	if it.f.KeepDescription && m.ReportedCount >= 0 {
		r, err := f.updateKept(ctx, it, m, tasks)
		return r, false, err
	}
	if m.ReportedCount < 0 {
		// Rebuilt by resync: the count already reported is unknown, so the
		// current one becomes the baseline rather than a burst of "news".
		m.ReportedCount = it.f.Count
		m.ReportedFacets = facetValues(it.f.Facets)
		return it.result(ActionUnchanged, m), false, f.putMapping(ctx, f.db, m)
	}
	if it.f.Status == finding.StatusResolved {
		// The check saw the problem go away (all puppet hosts recovered, a
		// drift finding fixed): say so once on the task, even though no
		// new occurrence came with it. Closing is left to a human.
		if !isOpen(m.Status) {
			return it.result(ActionUnchanged, m), false, nil
		}
		if err := f.comment(ctx, it, m, resolvedComment(&it.f), ""); err != nil {
			return Result{}, false, err
		}
		return it.result(ActionCommented, m), false, nil
	}
	if it.f.Count <= m.ReportedCount {
		return it.result(ActionUnchanged, m), false, nil
	}
	now := f.now()
	if !isOpen(m.Status) {
		closed := time.Time{}
		if t, ok := tasks[m.TaskID]; ok {
			closed = t.Closed
		}
		if !closed.IsZero() && !it.f.LastSeen.IsZero() && !it.f.LastSeen.After(closed) {
			// Late events from before the task was closed: not a regression.
			return it.result(ActionUnchanged, m), false, nil
		}
		if f.opts.ReopenOnRegression {
			if err := f.comment(ctx, it, m, updateComment(&it.f, m, true), "open"); err != nil {
				return Result{}, false, err
			}
			f.log.Info("regression: task reopened", "task", m.TaskID, "kind", it.f.Kind, "key", it.f.Key)
			return it.result(ActionReopened, m), false, nil
		}
	}
	if now.Sub(m.ReportedAt) < f.opts.CommentInterval {
		return it.result(ActionUnchanged, m), false, nil
	}
	if err := f.comment(ctx, it, m, updateComment(&it.f, m, false), ""); err != nil {
		return Result{}, false, err
	}
	return it.result(ActionCommented, m), false, nil
}

func (f *Filer) updateMember(ctx context.Context, it *item, m *Mapping, tasks map[int]Task) (Result, bool, error) {
	um, err := f.getMapping(ctx, f.db, m.Umbrella)
	if err != nil {
		return Result{}, false, err
	}
	if um != nil {
		if err := f.applyState(ctx, um, tasks); err != nil {
			return Result{}, false, err
		}
	}
	if m.Silenced || it.f.Status == finding.StatusSilenced || um != nil && um.Silenced {
		if !m.Silenced {
			m.Silenced = true
			if err := f.putMapping(ctx, f.db, m); err != nil {
				return Result{}, false, err
			}
		}
		return it.result(ActionSilenced, m), false, nil
	}
	if um == nil || isOpen(um.Status) || it.f.Count <= m.ReportedCount {
		return it.result(ActionUmbrella, m), false, nil
	}
	// The umbrella was resolved and this signature came back: it is a bug of
	// its own now.
	f.log.Info("umbrella member recurred after the umbrella was resolved", "umbrella", um.TaskID, "kind", it.f.Kind, "key", it.f.Key)
	if err := f.deleteMapping(ctx, f.db, m.Marker); err != nil {
		return Result{}, false, err
	}
	return Result{}, true, nil
}

// resolvedComment tells a task that its problem went away.
func resolvedComment(f *finding.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sheriff: this problem looks resolved: not seen since %s.", fmtTS(f.LastSeen))
	if f.Details != "" {
		b.WriteString("\n\n" + f.Details)
	}
	b.WriteString("\n\nsheriff leaves closing the task to a human; if it comes back, sheriff will say so here.")
	return b.String()
}

// comment posts text (and optionally a status) with an intent around it and
// records the report on the mapping.
func (f *Filer) comment(ctx context.Context, it *item, m *Mapping, text, status string) error {
	text = f.redact(text)
	in := &intent{Marker: m.Marker, Op: opComment, Kind: m.Kind, Key: m.Key, TaskID: m.TaskID,
		TextSHA: textSHA(text), Created: f.now(),
		Payload: intentPayload{Status: status}}
	if it != nil {
		in.Payload.Count = it.f.Count
		in.Payload.Facets = mergeFacets(m.ReportedFacets, newFacetValues(it.f.Facets, m.ReportedFacets))
	}
	if err := f.putIntent(ctx, f.db, in); err != nil {
		return err
	}
	if err := f.backend.Comment(ctx, m.TaskID, text, status); err != nil {
		if errors.Is(err, ErrRejected) {
			if derr := f.deleteIntent(ctx, f.db, in.Marker); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return fmt.Errorf("comment on task %d: %w", m.TaskID, err)
	}
	return f.applyComment(ctx, m, in, f.now())
}

func (f *Filer) applyComment(ctx context.Context, m *Mapping, in *intent, at time.Time) error {
	if in.Payload.Count > 0 {
		m.ReportedCount = in.Payload.Count
		m.ReportedFacets = in.Payload.Facets
	}
	if in.Payload.Status != "" {
		m.Status = in.Payload.Status
	}
	m.ReportedAt, m.LastCommentAt = at, at
	return f.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := f.putMapping(ctx, tx, m); err != nil {
			return err
		}
		return f.deleteIntent(ctx, tx, in.Marker)
	})
}

// scanCache holds one listing of the bot's recent tasks per Sync.
type scanCache struct {
	done  bool
	tasks []Task
}

// lookup is the dedup ladder past the local mapping: a full-text search for
// the marker, then the index-free listing of the bot's recent tasks. A task
// found is adopted into the mapping.
func (f *Filer) lookup(ctx context.Context, it *item, sc *scanCache) (*Mapping, error) {
	ts, err := f.backend.SearchText(ctx, it.marker, f.opts.Projects)
	if err != nil {
		return nil, fmt.Errorf("marker search: %w", err)
	}
	t, umb := pick(ts, it.marker)
	if t == nil {
		if !sc.done {
			sc.tasks, err = f.backend.CreatedSince(ctx, f.now().Add(-f.opts.RecentScan-clockSkew))
			if err != nil {
				return nil, fmt.Errorf("list recent tasks: %w", err)
			}
			sc.done = true
		}
		t, umb = pick(sc.tasks, it.marker)
	}
	if t == nil {
		return nil, nil
	}
	now := f.now()
	m := &Mapping{Kind: it.f.Kind, Key: it.f.Key, Marker: it.marker, TaskID: t.ID, URL: t.URL, Status: t.Status,
		Silenced: isSilencing(t.Status), Origin: originAdopted, Title: t.Title, FiledAt: t.Created, ReportedAt: now,
		ReportedCount: it.f.Count, ReportedFacets: facetValues(it.f.Facets)}
	if m.FiledAt.IsZero() {
		m.FiledAt = now
	}
	err = f.db.Tx(ctx, func(tx *sql.Tx) error {
		if umb != "" {
			um, err := f.getMapping(ctx, tx, umb)
			if err != nil {
				return err
			}
			if um == nil {
				um = &Mapping{Kind: KindUmbrella, Key: strings.TrimPrefix(umb, markerPre+string(KindUmbrella)), Marker: umb,
					TaskID: t.ID, URL: t.URL, Status: t.Status, Silenced: isSilencing(t.Status), Origin: originAdopted,
					Title: t.Title, FiledAt: m.FiledAt, ReportedAt: now, ReportedFacets: map[string][]string{}}
				if err := f.putMapping(ctx, tx, um); err != nil {
					return err
				}
			}
			m.Umbrella = umb
		}
		return f.putMapping(ctx, tx, m)
	})
	if err != nil {
		return nil, err
	}
	f.log.Info("found existing task by marker", "task", t.ID, "kind", it.f.Kind, "key", it.f.Key, "umbrella", umb != "")
	return m, nil
}

// pick chooses, among search hits, the task whose own marker is marker (the
// oldest if there are several), or else an open umbrella listing it.
func pick(ts []Task, marker string) (*Task, string) {
	var best, umbrella *Task
	var umbMarker string
	for i := range ts {
		t := &ts[i]
		own, members := parseMarkers(t.Description)
		if own == marker {
			if best == nil || t.ID < best.ID {
				best = t
			}
			continue
		}
		if !isOpen(t.Status) || !strings.HasPrefix(own, markerPre+string(KindUmbrella)) {
			continue
		}
		for _, mm := range members {
			if mm == marker && (umbrella == nil || t.ID < umbrella.ID) {
				umbrella, umbMarker = t, own
			}
		}
	}
	if best != nil {
		return best, ""
	}
	return umbrella, umbMarker
}

// createAll files new tasks, or one umbrella when they amount to a storm.
func (f *Filer) createAll(ctx context.Context, items []*item) ([]Result, error) {
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].f.FirstSeen.Equal(items[j].f.FirstSeen) {
			return items[i].f.FirstSeen.Before(items[j].f.FirstSeen)
		}
		return items[i].marker < items[j].marker
	})
	if f.opts.StormThreshold >= 0 {
		now := f.now()
		var recent int
		err := f.db.QueryRowContext(ctx, `SELECT count(*) FROM filer_tasks WHERE backend=? AND origin=? AND kind<>?
			AND filed_at>=?`, f.bid, originCreated, string(KindUmbrella), fmtTime(now.Add(-f.opts.StormWindow))).Scan(&recent)
		if err != nil {
			return nil, fmt.Errorf("filer: storm count: %w", err)
		}
		if stormy, calm := stormMembers(items, recent, now, f.opts.StormThreshold, f.opts.StormWindow); len(stormy) > 0 {
			results, err := f.storm(ctx, stormy, recent)
			if len(calm) == 0 || err != nil {
				return results, err
			}
			more, err := f.createEach(ctx, calm)
			return append(results, more...), err
		}
	}
	return f.createEach(ctx, items)
}

// stormMembers splits items (sorted by FirstSeen) into those that belong to
// a storm and the rest. A storm is more than threshold new signatures whose
// first occurrences fall within one window of event time: a broken deploy.
// Signatures merely filed together (sheriff catching up on a day of backlog)
// are not a storm. recent counts tasks filed within the last window of wall
// time; they join a cluster that is still going on now.
func stormMembers(items []*item, recent int, now time.Time, threshold int, window time.Duration) (stormy, calm []*item) {
	in := make([]bool, len(items))
	j := 0
	for i := range items {
		if j < i {
			j = i
		}
		for j < len(items) && items[j].f.FirstSeen.Sub(items[i].f.FirstSeen) <= window {
			j++
		}
		n := j - i
		if now.Sub(items[j-1].f.FirstSeen) <= window {
			n += recent
		}
		if n > threshold {
			for k := i; k < j; k++ {
				in[k] = true
			}
		}
	}
	for k, it := range items {
		if in[k] {
			stormy = append(stormy, it)
		} else {
			calm = append(calm, it)
		}
	}
	return stormy, calm
}

// createEach files items one task each.
func (f *Filer) createEach(ctx context.Context, items []*item) ([]Result, error) {
	var results []Result
	var errs []error
	for _, it := range items {
		r, err := f.create(ctx, it)
		if err != nil {
			errs = append(errs, fmt.Errorf("filer: %s %s: %w", it.f.Kind, it.f.Key, err))
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

func (f *Filer) newTask(it *item, body string, extra string) NewTask {
	prio := it.f.Severity
	if p, ok := f.opts.SeverityPriority[prio]; ok {
		prio = p
	}
	if prio == "" {
		prio = f.opts.Priority
	}
	projects := append(append([]string{}, f.opts.Projects...), it.f.Projects...)
	desc := f.redact(body) + "\n" + extra + markerLine(it.marker) + "\n"
	return NewTask{Kind: string(it.f.Kind), Key: it.f.Key, Marker: it.marker, Title: f.redact(taskTitle(&it.f)),
		Description: desc, Priority: prio, Projects: dedupStrings(projects), Subscribers: f.opts.Subscribers}
}

func dedupStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		k := strings.ToLower(strings.TrimPrefix(s, "#"))
		if s == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

// create files one task: intent, create, then mapping and intent cleared
// together.
func (f *Filer) create(ctx context.Context, it *item) (Result, error) {
	now := f.now()
	in := &intent{Marker: it.marker, Op: opCreate, Kind: it.f.Kind, Key: it.f.Key, Created: now,
		Payload: intentPayload{Count: it.f.Count, Facets: facetValues(it.f.Facets), Title: taskTitle(&it.f)}}
	if err := f.putIntent(ctx, f.db, in); err != nil {
		return it.result(ActionPending, nil), err
	}
	t, err := f.backend.Create(ctx, f.newTask(it, f.description(&it.f), ""))
	if err != nil {
		if errors.Is(err, ErrRejected) {
			if derr := f.deleteIntent(ctx, f.db, in.Marker); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return it.result(ActionPending, nil), fmt.Errorf("create task: %w", err)
	}
	m, err := f.recordCreated(ctx, in, t, f.now())
	if err != nil {
		return it.result(ActionPending, nil), err
	}
	f.log.Info("task filed", "task", t.ID, "url", t.URL, "kind", it.f.Kind, "key", it.f.Key, "dry_run", f.dry)
	if f.dry {
		return it.result(ActionDryRun, m), nil
	}
	return it.result(ActionCreated, m), nil
}

// recordCreated turns a create intent into a mapping, in one transaction.
func (f *Filer) recordCreated(ctx context.Context, in *intent, t Task, at time.Time) (*Mapping, error) {
	status := t.Status
	if status == "" {
		status = "open"
	}
	m := &Mapping{Kind: in.Kind, Key: in.Key, Marker: in.Marker, TaskID: t.ID, URL: t.URL, Status: status,
		Silenced: isSilencing(status), Origin: originCreated, Title: in.Payload.Title, FiledAt: in.Created,
		ReportedAt: at, ReportedCount: in.Payload.Count, ReportedFacets: in.Payload.Facets}
	err := f.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := f.putMapping(ctx, tx, m); err != nil {
			return err
		}
		for _, mr := range in.Payload.Members {
			mm := &Mapping{Kind: mr.Kind, Key: mr.Key, Marker: mr.Marker, TaskID: t.ID, URL: t.URL, Status: status,
				Silenced: isSilencing(status), Umbrella: in.Marker, Origin: originCreated, Title: mr.Title,
				FiledAt: in.Created, ReportedAt: at, ReportedCount: mr.Count, ReportedFacets: mr.Facets}
			if err := f.putMapping(ctx, tx, mm); err != nil {
				return err
			}
			if err := f.deleteIntent(ctx, tx, mr.Marker); err != nil {
				return err
			}
		}
		return f.deleteIntent(ctx, tx, in.Marker)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// storm files items as one umbrella task, or lists them on the umbrella of a
// storm still in progress.
func (f *Filer) storm(ctx context.Context, items []*item, recent int) ([]Result, error) {
	now := f.now()
	members := make([]memberRef, len(items))
	for i, it := range items {
		members[i] = memberRef{Kind: it.f.Kind, Key: it.f.Key, Marker: it.marker, Title: f.redact(taskTitle(&it.f)),
			Count: it.f.Count, Facets: facetValues(it.f.Facets)}
	}
	results := func(a Action, m *Mapping) []Result {
		rs := make([]Result, len(items))
		for i, it := range items {
			rs[i] = it.result(a, m)
		}
		return rs
	}
	f.log.Warn("storm: filing one umbrella task", "new", len(items), "recent", recent, "window", f.opts.StormWindow)

	// Join the umbrella of a storm still in progress.
	rows, err := f.db.QueryContext(ctx, `SELECT `+mappingCols+` FROM filer_tasks WHERE backend=? AND kind=? AND filed_at>=?
		AND silenced=0 ORDER BY filed_at DESC LIMIT 1`, f.bid, string(KindUmbrella), fmtTime(now.Add(-f.opts.StormWindow)))
	if err != nil {
		return nil, fmt.Errorf("filer: find umbrella: %w", err)
	}
	ums, err := scanMappings(rows)
	if err != nil {
		return nil, err
	}
	pending, err := f.pendingMarkers(ctx)
	if err != nil {
		return nil, err
	}
	if len(ums) == 1 && isOpen(ums[0].Status) && !pending[ums[0].Marker] {
		um := &ums[0]
		err := f.db.Tx(ctx, func(tx *sql.Tx) error {
			for _, mr := range members {
				mm := &Mapping{Kind: mr.Kind, Key: mr.Key, Marker: mr.Marker, TaskID: um.TaskID, URL: um.URL, Status: um.Status,
					Umbrella: um.Marker, Origin: originCreated, Title: mr.Title, FiledAt: now, ReportedAt: now,
					ReportedCount: mr.Count, ReportedFacets: mr.Facets}
				if err := f.putMapping(ctx, tx, mm); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		text := fmt.Sprintf("%d more new signatures during this storm:\n\n", len(members)) + umbrellaList(members)
		text = f.redact(text) + "\n" + umbrellaMemberLines(members)
		if err := f.commentRaw(ctx, um, text); err != nil {
			return results(ActionUmbrella, um), fmt.Errorf("filer: list on umbrella task %d: %w", um.TaskID, err)
		}
		return results(ActionUmbrella, um), nil
	}

	sum := sha256.Sum256([]byte(fmt.Sprint(now.UnixNano(), members)))
	ukey := hex.EncodeToString(sum[:8])
	umarker := Marker(KindUmbrella, ukey)
	in := &intent{Marker: umarker, Op: opUmbrella, Kind: KindUmbrella, Key: ukey, Created: now,
		Payload: intentPayload{Title: umbrellaTitle(len(members), f.opts.StormWindow), Members: members}}
	err = f.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := f.putIntent(ctx, tx, in); err != nil {
			return err
		}
		for _, mr := range members {
			if err := f.putIntent(ctx, tx, &intent{Marker: mr.Marker, Op: opMember, Kind: mr.Kind, Key: mr.Key,
				Parent: umarker, Created: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return results(ActionPending, nil), err
	}
	nt := NewTask{Kind: string(KindUmbrella), Key: ukey, Marker: umarker, Title: f.redact(in.Payload.Title),
		Description: f.redact(f.umbrellaDescription(members)) + "\n" + umbrellaMemberLines(members) + markerLine(umarker) + "\n",
		Priority:    f.opts.Priority, Projects: dedupStrings(f.opts.Projects)}
	t, err := f.backend.Create(ctx, nt)
	if err != nil {
		if errors.Is(err, ErrRejected) {
			if derr := f.dropIntent(ctx, in); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return results(ActionPending, nil), fmt.Errorf("filer: create umbrella task: %w", err)
	}
	m, err := f.recordCreated(ctx, in, t, f.now())
	if err != nil {
		return results(ActionPending, nil), err
	}
	f.log.Info("umbrella task filed", "task", t.ID, "url", t.URL, "members", len(members), "dry_run", f.dry)
	return results(ActionUmbrella, m), nil
}

// commentRaw posts an already redacted comment that changes no counts.
func (f *Filer) commentRaw(ctx context.Context, m *Mapping, text string) error {
	in := &intent{Marker: m.Marker, Op: opComment, Kind: m.Kind, Key: m.Key, TaskID: m.TaskID,
		TextSHA: textSHA(text), Created: f.now()}
	if err := f.putIntent(ctx, f.db, in); err != nil {
		return err
	}
	if err := f.backend.Comment(ctx, m.TaskID, text, ""); err != nil {
		if errors.Is(err, ErrRejected) {
			if derr := f.deleteIntent(ctx, f.db, in.Marker); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	return f.applyComment(ctx, m, in, f.now())
}

// dropIntent forgets an intent (and, for an umbrella, its members').
func (f *Filer) dropIntent(ctx context.Context, in *intent) error {
	return f.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, mr := range in.Payload.Members {
			if err := f.deleteIntent(ctx, tx, mr.Marker); err != nil {
				return err
			}
		}
		return f.deleteIntent(ctx, tx, in.Marker)
	})
}

// resolveIntents settles writes whose outcome was not recorded (a crash, a
// timeout): a create is looked for by marker, a comment among the task's
// comments. Only when nothing is found and the intent is older than
// IntentGrace is it dropped, so that the write may happen again.
func (f *Filer) resolveIntents(ctx context.Context) error {
	ins, err := f.intents(ctx, "")
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		return nil
	}
	parents := map[string]bool{}
	for _, in := range ins {
		if in.Op == opCreate || in.Op == opUmbrella {
			parents[in.Marker] = true
		}
	}
	var errs []error
	sc := &scanCache{}
	now := f.now()
	for i := range ins {
		in := &ins[i]
		switch in.Op {
		case opCreate, opUmbrella:
			t, err := f.findCreated(ctx, in, sc)
			if err != nil {
				errs = append(errs, fmt.Errorf("filer: resolve %s intent %s: %w", in.Op, in.Marker, err))
				continue
			}
			if t != nil {
				if _, err := f.recordCreated(ctx, in, *t, now); err != nil {
					errs = append(errs, err)
					continue
				}
				f.log.Info("earlier create found by marker", "task", t.ID, "kind", in.Kind, "key", in.Key)
				continue
			}
			if now.Sub(in.Created) < f.opts.IntentGrace {
				f.log.Info("earlier create not found yet; waiting before filing again", "kind", in.Kind, "key", in.Key,
					"age", now.Sub(in.Created).Round(time.Second), "grace", f.opts.IntentGrace)
				continue
			}
			f.log.Warn("earlier create never arrived; will file again", "kind", in.Kind, "key", in.Key)
			if err := f.dropIntent(ctx, in); err != nil {
				errs = append(errs, err)
			}
		case opMember:
			if !parents[in.Parent] {
				// The umbrella intent was settled without this member (it
				// cannot normally happen; be safe and let it be filed again).
				if err := f.deleteIntent(ctx, f.db, in.Marker); err != nil {
					errs = append(errs, err)
				}
			}
		case opComment:
			texts, err := f.backend.CommentsSince(ctx, in.TaskID, in.Created.Add(-clockSkew))
			if err != nil {
				errs = append(errs, fmt.Errorf("filer: resolve comment intent on task %d: %w", in.TaskID, err))
				continue
			}
			found := false
			for _, t := range texts {
				if textSHA(t) == in.TextSHA {
					found = true
					break
				}
			}
			m, err := f.getMapping(ctx, f.db, in.Marker)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch {
			case found && m != nil:
				if err := f.applyComment(ctx, m, in, in.Created); err != nil {
					errs = append(errs, err)
				}
			case found || now.Sub(in.Created) >= f.opts.IntentGrace:
				if err := f.deleteIntent(ctx, f.db, in.Marker); err != nil {
					errs = append(errs, err)
				}
			}
		default:
			errs = append(errs, fmt.Errorf("filer: intent %s has unknown op %q", in.Marker, in.Op))
		}
	}
	return errors.Join(errs...)
}

// findCreated looks for the task an intent may have created: by full-text
// search, then among the bot's tasks created since the intent (which does not
// depend on the search index).
func (f *Filer) findCreated(ctx context.Context, in *intent, sc *scanCache) (*Task, error) {
	ts, err := f.backend.SearchText(ctx, in.Marker, f.opts.Projects)
	if err != nil {
		return nil, err
	}
	if t := pickOwn(ts, in.Marker); t != nil {
		return t, nil
	}
	if !sc.done {
		// One listing covers every intent: from the oldest one on.
		ins, err := f.intents(ctx, "")
		if err != nil {
			return nil, err
		}
		since := in.Created
		for _, x := range ins {
			if x.Created.Before(since) {
				since = x.Created
			}
		}
		sc.tasks, err = f.backend.CreatedSince(ctx, since.Add(-clockSkew))
		if err != nil {
			return nil, err
		}
		sc.done = true
	}
	return pickOwn(sc.tasks, in.Marker), nil
}

func pickOwn(ts []Task, marker string) *Task {
	var best *Task
	for i := range ts {
		if own, _ := parseMarkers(ts[i].Description); own == marker && (best == nil || ts[i].ID < best.ID) {
			best = &ts[i]
		}
	}
	return best
}

// Tasks returns the mapping, for `sheriff tasks list`.
func (f *Filer) Tasks(ctx context.Context) ([]Mapping, error) {
	rows, err := f.db.QueryContext(ctx, `SELECT `+mappingCols+` FROM filer_tasks WHERE backend=? ORDER BY task_id, kind, key`, f.bid)
	if err != nil {
		return nil, fmt.Errorf("filer: list tasks: %w", err)
	}
	return scanMappings(rows)
}
