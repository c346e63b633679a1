// Package spike finds known signatures whose rate jumps, and signatures with
// an open task that stopped occurring.
//
// A signature spikes when the event count of the current window is far above
// its own recent history: at least MinCount events (quiet signatures never
// page), more than mean + Sigma standard deviations of the previous History
// windows (or above their recent level, if traffic has been rising), at
// least Ratio times that level (a jump, not drift), and
// improbable under a Poisson model of the history at the same Sigma, with
// the mean's own uncertainty accounted for. The Poisson test is what keeps
// steady but noisy traffic quiet: at counts around MinCount a sample standard
// deviation alone lets through a false alarm every few hundred windows.
//
// One jump is one episode: it is reported once, when it starts, and lasts
// while the windows stay above the threshold computed when it started; a
// later jump is a new episode of the same finding (key: the signature id), so
// the filer keeps one spike task per signature and comments on it again.
//
// A signature that stops is not a finding of its own: it does not deserve a
// new task or a page, only a note on the signature's open task ("this
// stopped at ..., fixed?"). Stopped lists those not noted yet and
// NoteStopped records the note, so the reporter (or whoever comments on
// tasks) can do it once.
package spike

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// Options configure a Detector. Zero values take the defaults.
type Options struct {
	// Window is the width of the windows compared; a multiple of the
	// tracker's bucket width. Default: the bucket width.
	Window time.Duration
	// History is the number of previous windows forming the baseline. Default 36.
	History int
	// Sigma is how many standard deviations above the baseline a spike is. Default 3.
	Sigma float64
	// MinCount is the least number of events in a window that can be a spike. Default 20.
	MinCount int
	// Ratio: a spike window holds at least Ratio times the baseline mean. Default 2.
	Ratio float64
	// MinKnown is how many windows a signature must have been known before
	// it can spike (a brand-new signature is already news of its own).
	// Default History/2.
	MinKnown int
	// StopAfter is the number of silent windows after which a signature with
	// steady traffic has stopped. Default 6.
	StopAfter int
	// Kinds are the signature kinds watched. Default: finding.KindError.
	Kinds []finding.Kind
	// Now is the clock for bookkeeping timestamps. Default time.Now.
	Now func() time.Time
}

// Component is the store component (and table prefix) of the detector.
const Component = "spike"

var migrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE spike_state (
	kind           TEXT NOT NULL,
	id             TEXT NOT NULL,
	ep_start       INTEGER NOT NULL DEFAULT 0,
	ep_active      INTEGER NOT NULL DEFAULT 0,
	ep_reported    INTEGER NOT NULL DEFAULT 1,
	ep_mean        REAL NOT NULL DEFAULT 0,
	ep_std         REAL NOT NULL DEFAULT 0,
	ep_n           INTEGER NOT NULL DEFAULT 0,
	ep_threshold   REAL NOT NULL DEFAULT 0,
	ep_peak        INTEGER NOT NULL DEFAULT 0,
	ep_peak_at     INTEGER NOT NULL DEFAULT 0,
	episodes       INTEGER NOT NULL DEFAULT 0,
	total          INTEGER NOT NULL DEFAULT 0,
	reported_total INTEGER NOT NULL DEFAULT 0,
	stop_from      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (kind, id)
);`},
}

// Detector implements pipeline.FindingSource for spikes.
type Detector struct {
	db   *store.DB
	tr   *tracker.Tracker
	opts Options
	log  *slog.Logger
}

// New validates opts, migrates the detector's table and returns a Detector.
func New(ctx context.Context, db *store.DB, tr *tracker.Tracker, opts Options, log *slog.Logger) (*Detector, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bw := tr.BucketWidth()
	if opts.Window <= 0 {
		opts.Window = bw
	}
	if opts.Window%bw != 0 {
		return nil, fmt.Errorf("spike: window %s is not a multiple of the tracker's bucket width %s", opts.Window, bw)
	}
	if opts.History <= 0 {
		opts.History = 36
	}
	if opts.Sigma <= 0 {
		opts.Sigma = 3
	}
	if opts.MinCount <= 0 {
		opts.MinCount = 20
	}
	if opts.Ratio <= 0 {
		opts.Ratio = 2
	}
	if opts.MinKnown <= 0 {
		opts.MinKnown = max(opts.History/2, 1)
	}
	if opts.MinKnown > opts.History {
		return nil, fmt.Errorf("spike: min_known (%d windows) exceeds history (%d windows)", opts.MinKnown, opts.History)
	}
	if opts.StopAfter <= 0 {
		opts.StopAfter = 6
	}
	if len(opts.Kinds) == 0 {
		opts.Kinds = []finding.Kind{finding.KindError}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := db.Migrate(ctx, Component, migrations); err != nil {
		return nil, fmt.Errorf("spike: %w", err)
	}
	return &Detector{db: db, tr: tr, opts: opts, log: log.With("component", Component)}, nil
}

// Name identifies the detector as a finding source.
func (d *Detector) Name() string { return Component }

// Options returns the effective options (defaults applied).
func (d *Detector) Options() Options { return d.opts }

// Key is the finding key of a signature's spikes: its id for error
// signatures, "kind/id" for other kinds.
func Key(kind finding.Kind, id string) string {
	if kind == finding.KindError {
		return id
	}
	return string(kind) + "/" + id
}

func parseKey(key string) (finding.Kind, string) {
	if k, id, ok := strings.Cut(key, "/"); ok {
		return finding.Kind(k), id
	}
	return finding.KindError, key
}

// --- statistics -------------------------------------------------------------

// Baseline summarises a signature's history windows.
type Baseline struct {
	Mean, Std float64
	N         int     // windows
	Recent    float64 // mean of the last RecentWindows windows
}

// RecentWindows is how many of the latest history windows make the recent
// level: traffic with a daily cycle is higher at its peak than its average
// over the history, and that is not a spike.
const RecentWindows = 6

// Level is the rate a window is compared with: the history's mean, or the
// recent level when traffic has been rising.
func (b Baseline) Level() float64 { return math.Max(b.Mean, b.Recent) }

// NewBaseline computes the mean, (population) standard deviation and recent
// level of counts, oldest first.
func NewBaseline(counts []int64) Baseline {
	b := Baseline{N: len(counts)}
	if b.N == 0 {
		return b
	}
	var recent float64
	tail := counts[max(0, b.N-RecentWindows):]
	for _, c := range tail {
		recent += float64(c)
	}
	b.Recent = recent / float64(len(tail))
	var sum float64
	for _, c := range counts {
		sum += float64(c)
	}
	b.Mean = sum / float64(b.N)
	var ss float64
	for _, c := range counts {
		d := float64(c) - b.Mean
		ss += d * d
	}
	b.Std = math.Sqrt(ss / float64(b.N))
	return b
}

// Threshold is the smallest window count that is a spike against b.
func (o Options) Threshold(b Baseline) int64 {
	level := b.Level()
	t := float64(o.MinCount)
	t = math.Max(t, math.Floor(level+o.Sigma*b.Std)+1)
	t = math.Max(t, math.Ceil(o.Ratio*level))
	// Both levels are estimates: test against their upper confidence
	// bounds, so that a short or lucky-low history does not make ordinary
	// counts look improbable. The recent level rests on few windows.
	for _, e := range []struct {
		mean float64
		n    int
	}{{b.Mean, b.N}, {b.Recent, min(b.N, RecentWindows)}} {
		upper := e.mean + o.Sigma*math.Sqrt(math.Max(e.mean, 1)/float64(max(e.n, 1)))
		t = math.Max(t, float64(poissonQuantile(upper, gaussTail(o.Sigma))))
	}
	return int64(t)
}

// gaussTail is P(Z > z) for a standard normal Z.
func gaussTail(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// poissonTail is P(X >= x) for X ~ Poisson(lambda), for x > lambda.
func poissonTail(lambda float64, x int64) float64 {
	if x <= 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	lg, _ := math.Lgamma(float64(x) + 1)
	term := math.Exp(-lambda + float64(x)*math.Log(lambda) - lg)
	sum := term
	for k := x + 1; k < x+100000; k++ {
		term *= lambda / float64(k)
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return math.Min(sum, 1)
}

// poissonQuantile is the smallest x with P(X >= x) < p for X ~ Poisson(lambda).
func poissonQuantile(lambda, p float64) int64 {
	lo := int64(math.Ceil(lambda)) // the tail from the mean up is ~1/2 > p
	hi := lo + int64(12*math.Sqrt(lambda+1)) + 40
	for poissonTail(lambda, hi) >= p {
		hi *= 2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if poissonTail(lambda, mid) < p {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// --- detection --------------------------------------------------------------

type state struct {
	kind          finding.Kind
	id            string
	epStart       int64
	epActive      bool
	epReported    bool
	mean, std     float64
	n             int
	threshold     float64
	peak, peakAt  int64
	episodes      int64
	total         int64 // events of the peak windows of episodes before the current one
	reportedTotal int64
	stopFrom      int64
	dirty         bool
}

func (s *state) count() int64 { return s.total + s.peak }

type sigKey struct {
	kind finding.Kind
	id   string
}

func (d *Detector) loadStates(ctx context.Context) (map[sigKey]*state, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT kind, id, ep_start, ep_active, ep_reported, ep_mean, ep_std, ep_n, ep_threshold,
		ep_peak, ep_peak_at, episodes, total, reported_total, stop_from FROM spike_state`)
	if err != nil {
		return nil, fmt.Errorf("spike: load state: %w", err)
	}
	defer rows.Close()
	out := map[sigKey]*state{}
	for rows.Next() {
		s := &state{}
		var kind string
		if err := rows.Scan(&kind, &s.id, &s.epStart, &s.epActive, &s.epReported, &s.mean, &s.std, &s.n, &s.threshold,
			&s.peak, &s.peakAt, &s.episodes, &s.total, &s.reportedTotal, &s.stopFrom); err != nil {
			return nil, fmt.Errorf("spike: load state: %w", err)
		}
		s.kind = finding.Kind(kind)
		out[sigKey{s.kind, s.id}] = s
	}
	return out, rows.Err()
}

func (d *Detector) saveStates(ctx context.Context, states map[sigKey]*state) error {
	if !slices.ContainsFunc(slices.Collect(maps.Values(states)), func(s *state) bool { return s.dirty }) {
		return nil
	}
	return d.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, s := range states {
			if !s.dirty {
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO spike_state(kind, id, ep_start, ep_active, ep_reported, ep_mean, ep_std, ep_n,
				ep_threshold, ep_peak, ep_peak_at, episodes, total, reported_total, stop_from) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT(kind, id) DO UPDATE SET ep_start=excluded.ep_start, ep_active=excluded.ep_active,
					ep_reported=excluded.ep_reported, ep_mean=excluded.ep_mean, ep_std=excluded.ep_std, ep_n=excluded.ep_n,
					ep_threshold=excluded.ep_threshold, ep_peak=excluded.ep_peak, ep_peak_at=excluded.ep_peak_at,
					episodes=excluded.episodes, total=excluded.total, stop_from=excluded.stop_from`,
				string(s.kind), s.id, s.epStart, s.epActive, s.epReported, s.mean, s.std, s.n, s.threshold,
				s.peak, s.peakAt, s.episodes, s.total, s.reportedTotal, s.stopFrom)
			if err != nil {
				return fmt.Errorf("spike: save state of %s: %w", s.id, err)
			}
		}
		return nil
	})
}

// windows aggregates a signature's buckets into window counts by window index.
func (d *Detector) windows(r tracker.Rate) map[int64]int64 {
	w := d.opts.Window.Milliseconds()
	out := map[int64]int64{}
	for b, n := range r.Buckets {
		out[floorDiv(b, w)] += n
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (d *Detector) rates(ctx context.Context, now time.Time) ([]tracker.Rate, int64, error) {
	w := d.opts.Window.Milliseconds()
	cur := floorDiv(now.UnixMilli(), w)
	from := (cur - int64(d.opts.History) - int64(d.opts.StopAfter)) * w
	rs, err := d.tr.Rates(ctx, time.UnixMilli(from), d.opts.Kinds...)
	if err != nil {
		return nil, 0, fmt.Errorf("spike: %w", err)
	}
	return rs, cur, nil
}

// Pending evaluates the window containing now for every watched signature
// and returns the spike episodes not reported yet.
func (d *Detector) Pending(ctx context.Context, now time.Time) ([]finding.Finding, error) {
	rs, cur, err := d.rates(ctx, now)
	if err != nil {
		return nil, err
	}
	states, err := d.loadStates(ctx)
	if err != nil {
		return nil, err
	}
	w := d.opts.Window.Milliseconds()
	curStart := cur * w
	seen := map[sigKey]bool{}
	for _, r := range rs {
		k := sigKey{r.Kind, r.ID}
		seen[k] = true
		win := d.windows(r)
		x := win[cur]
		s := states[k]
		if s != nil && s.epActive {
			// An episode lasts while the current or the last complete
			// window stays above the threshold it started with.
			prev := win[cur-1]
			if float64(x) >= s.threshold || (cur-1)*w >= s.epStart && float64(prev) >= s.threshold {
				if x > s.peak {
					s.peak, s.peakAt, s.dirty = x, curStart, true
				}
				continue
			}
			s.epActive, s.dirty = false, true
		}
		if r.Status == finding.StatusSilenced {
			continue
		}
		// History: the windows since the signature appeared, at most History.
		firstWin := floorDiv(r.FirstSeen.UnixMilli(), w)
		if cur-firstWin < int64(d.opts.MinKnown) {
			continue
		}
		var hist []int64
		for i := max(cur-int64(d.opts.History), firstWin); i < cur; i++ {
			hist = append(hist, win[i])
		}
		b := NewBaseline(hist)
		thr := d.opts.Threshold(b)
		if x < thr {
			continue
		}
		if s == nil {
			s = &state{kind: r.Kind, id: r.ID}
			states[k] = s
		}
		s.total += s.peak // fold the previous episode
		s.epStart, s.epActive, s.epReported = curStart, true, false
		s.mean, s.std, s.n, s.threshold = b.Mean, b.Std, b.N, float64(thr)
		s.peak, s.peakAt = x, curStart
		s.episodes++
		s.dirty = true
		d.log.Info("spike", "kind", r.Kind, "signature", r.ID, "count", x, "mean", round(b.Mean), "std", round(b.Std), "threshold", thr)
	}
	for k, s := range states {
		if s.epActive && !seen[k] {
			s.epActive, s.dirty = false, true // no events at all any more
		}
	}
	if err := d.saveStates(ctx, states); err != nil {
		return nil, err
	}
	var out []finding.Finding
	keys := make([]sigKey, 0, len(states))
	for k, s := range states {
		if s.epStart > 0 && !s.epReported {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b sigKey) int { return strings.Compare(string(a.kind)+a.id, string(b.kind)+b.id) })
	for _, k := range keys {
		f, err := d.finding(ctx, states[k], now)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the signature is gone
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func round(v float64) float64 { return math.Round(v*10) / 10 }

func (d *Detector) finding(ctx context.Context, s *state, now time.Time) (finding.Finding, error) {
	sig, err := d.tr.Get(ctx, s.kind, s.id)
	if err != nil {
		return finding.Finding{}, err
	}
	status := finding.StatusKnown
	if s.reportedTotal == 0 {
		status = finding.StatusNew
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Signature `%s` (%s) jumped to **%d events** in the %s window starting %s, against a baseline of %.1f ± %.1f events per window over the previous %d windows; the spike threshold was %d.\n",
		s.id, sig.Title, s.peak, fmtDur(d.opts.Window), time.UnixMilli(s.peakAt).UTC().Format("2006-01-02 15:04 MST"),
		s.mean, s.std, s.n, int64(s.threshold))
	if s.episodes > 1 {
		fmt.Fprintf(&b, "\nThis is spike episode %d of this signature.\n", s.episodes)
	}
	if sig.TaskID > 0 {
		fmt.Fprintf(&b, "\nSignature task: T%d %s\n", sig.TaskID, sig.TaskURL)
	}
	return finding.Finding{
		Kind: finding.KindSpike, Key: Key(s.kind, s.id), Title: "Spike: " + sig.Title,
		Severity: sig.Severity, Projects: sig.Projects, Status: status,
		FirstSeen: time.UnixMilli(s.epStart).UTC(), LastSeen: now.UTC(),
		Count: s.count(), NewCount: s.count() - s.reportedTotal,
		Template: sig.Template, Sample: sig.Sample, Details: b.String(),
		About: finding.Ref{Kind: s.kind, Key: s.id},
	}, nil
}

// fmtDur renders 10m0s as 10m and 2h0m0s as 2h.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Reported records that the episode in f was handed to the actions. An
// unknown outcome (filer.ActionPending) leaves it pending.
func (d *Detector) Reported(ctx context.Context, f finding.Finding, res filer.Result) error {
	if res.Action == filer.ActionPending {
		return nil
	}
	kind, id := parseKey(f.Key)
	_, err := d.db.ExecContext(ctx, `UPDATE spike_state SET ep_reported=1, reported_total=max(reported_total, ?)
		WHERE kind=? AND id=? AND ep_start=?`, f.Count, string(kind), id, f.FirstSeen.UnixMilli())
	if err != nil {
		return fmt.Errorf("spike: mark %s reported: %w", f.Key, err)
	}
	return nil
}

// --- stops ------------------------------------------------------------------

// Stop is a signature with an open task that had steady traffic and has had
// none for StopAfter windows.
type Stop struct {
	Kind     finding.Kind
	ID       string
	Title    string
	TaskID   int
	TaskURL  string
	LastSeen time.Time     // the last event
	Silent   time.Duration // how long it has been silent, at least StopAfter windows
	Mean     float64       // events per window before it stopped
	Window   time.Duration

	from int64 // last bucket with events: identifies this stop
}

// Comment is the text to post on the signature's task.
func (s Stop) Comment() string {
	return fmt.Sprintf("sheriff has seen no event of this signature since %s (%s), after a steady %.1f events per %s before. "+
		"If a fix was deployed, this task can probably be resolved; sheriff reopens it if the error comes back.",
		s.LastSeen.UTC().Format("2006-01-02 15:04 MST"), fmtDur(s.Silent.Round(time.Minute))+" ago", s.Mean, fmtDur(s.Window))
}

// Stopped returns the signatures with an open task that stopped occurring
// and have not been noted yet (see NoteStopped). A signature stopped when it
// had events in at least three quarters of the History windows before the
// silence, enough of them that StopAfter silent windows would have held
// MinCount events, and none in the last StopAfter windows nor the current one.
func (d *Detector) Stopped(ctx context.Context, now time.Time) ([]Stop, error) {
	rs, cur, err := d.rates(ctx, now)
	if err != nil {
		return nil, err
	}
	states, err := d.loadStates(ctx)
	if err != nil {
		return nil, err
	}
	var out []Stop
	for _, r := range rs {
		if r.TaskID == 0 {
			continue
		}
		switch r.Status {
		case finding.StatusNew, finding.StatusKnown, finding.StatusRegressed:
		default:
			continue // resolved, silenced or declined: nobody waits for news
		}
		win := d.windows(r)
		silent := true
		for i := cur - int64(d.opts.StopAfter); i <= cur; i++ {
			if win[i] > 0 {
				silent = false
				break
			}
		}
		if !silent {
			continue
		}
		var hist []int64
		nonzero := 0
		for i := cur - int64(d.opts.StopAfter+d.opts.History); i < cur-int64(d.opts.StopAfter); i++ {
			hist = append(hist, win[i])
			if win[i] > 0 {
				nonzero++
			}
		}
		b := NewBaseline(hist)
		if 4*nonzero < 3*len(hist) || b.Mean*float64(d.opts.StopAfter) < float64(d.opts.MinCount) {
			continue
		}
		var from int64
		for bk, n := range r.Buckets {
			if n > 0 && bk > from {
				from = bk
			}
		}
		if s := states[sigKey{r.Kind, r.ID}]; s != nil && s.stopFrom == from {
			continue // noted already
		}
		sig, err := d.tr.Get(ctx, r.Kind, r.ID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("spike: %w", err)
		}
		out = append(out, Stop{
			Kind: r.Kind, ID: r.ID, Title: sig.Title, TaskID: sig.TaskID, TaskURL: sig.TaskURL,
			LastSeen: sig.LastSeen, Silent: now.Sub(sig.LastSeen), Mean: b.Mean, Window: d.opts.Window, from: from,
		})
	}
	return out, nil
}

// NoteStopped records that s was noted, so Stopped does not return it again
// until the signature has had traffic and stopped anew.
func (d *Detector) NoteStopped(ctx context.Context, s Stop) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO spike_state(kind, id, stop_from) VALUES(?,?,?)
		ON CONFLICT(kind, id) DO UPDATE SET stop_from=excluded.stop_from`, string(s.Kind), s.ID, s.from)
	if err != nil {
		return fmt.Errorf("spike: note stop of %s: %w", s.ID, err)
	}
	return nil
}

// Active returns the signatures in an active spike episode (read-only,
// for the dashboard).
func (d *Detector) Active(ctx context.Context) ([]tracker.Ref, error) {
	return store.Query(ctx, d.db, func(r store.Row) (tracker.Ref, error) {
		var ref tracker.Ref
		var kind string
		err := r.Scan(&kind, &ref.ID)
		ref.Kind = finding.Kind(kind)
		return ref, err
	}, `SELECT kind, id FROM spike_state WHERE ep_active = 1`)
}
