package spike

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
)

const bucket = 10 * time.Minute

// t0 is the start of window 0 (aligned to the window width).
var t0 = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

func win(i int) time.Time { return t0.Add(time.Duration(i) * bucket) }

type harness struct {
	t   testing.TB
	ctx context.Context
	db  *store.DB
	tr  *tracker.Tracker
	d   *Detector
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := tracker.New(ctx, db, bucket)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(ctx, db, tr, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, ctx: ctx, db: db, tr: tr, d: d}
}

// add records n events of signature id at time at.
func (h *harness) add(id string, at time.Time, n int64) {
	h.t.Helper()
	h.addAll(at, map[string]int64{id: n})
}

// addAll records counts (signature id -> events) at time at in one batch.
func (h *harness) addAll(at time.Time, counts map[string]int64) {
	h.t.Helper()
	var occ []*tracker.Occurrences
	for id, n := range counts {
		if n == 0 {
			continue
		}
		occ = append(occ, &tracker.Occurrences{Kind: finding.KindError, ID: id, Title: "Title " + id, Template: "template of " + id,
			First: at, Last: at, Count: n, Sample: "sample of " + id, Buckets: map[int64]int64{at.Truncate(bucket).UnixMilli(): n}})
	}
	if len(occ) == 0 {
		return
	}
	if err := h.db.Tx(h.ctx, func(tx *sql.Tx) error {
		_, err := h.tr.Record(h.ctx, tx, occ)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pending(now time.Time) []finding.Finding {
	h.t.Helper()
	fs, err := h.d.Pending(h.ctx, now)
	if err != nil {
		h.t.Fatal(err)
	}
	return fs
}

func (h *harness) report(fs []finding.Finding) {
	h.t.Helper()
	for _, f := range fs {
		if err := h.d.Reported(h.ctx, f, filer.Result{Key: f.Key, Kind: f.Kind, Action: filer.ActionCommented}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// poisson draws from Poisson(lambda) exactly, as a sum of small Knuth draws.
func poisson(r *rand.Rand, lambda float64) int64 {
	var n int64
	for lambda > 0 {
		l := math.Min(lambda, 20)
		lambda -= l
		limit, p := math.Exp(-l), 1.0
		for {
			p *= r.Float64()
			if p <= limit {
				break
			}
			n++
		}
	}
	return n
}

// steady records windows [from, to) of Poisson(lambda) traffic.
func (h *harness) steady(r *rand.Rand, id string, lambda float64, from, to int) {
	for i := from; i < to; i++ {
		h.add(id, win(i).Add(time.Minute), poisson(r, lambda))
	}
}

func TestSpikeReportedOncePerEpisode(t *testing.T) {
	h := newHarness(t, Options{})
	r := rand.New(rand.NewPCG(1, 2))
	h.steady(r, "aaa", 8, 0, 40)
	if fs := h.pending(win(40).Add(5 * time.Minute)); len(fs) != 0 {
		t.Fatalf("steady traffic: %+v", fs)
	}

	h.add("aaa", win(40).Add(6*time.Minute), 60)
	fs := h.pending(win(40).Add(7 * time.Minute))
	if len(fs) != 1 {
		t.Fatalf("want one spike, got %+v", fs)
	}
	f := fs[0]
	if f.Kind != finding.KindSpike || f.Key != "aaa" || f.Status != finding.StatusNew || f.Title != "Spike: Title aaa" ||
		f.NewCount != 60 || f.Template != "template of aaa" || !f.FirstSeen.Equal(win(40)) {
		t.Errorf("spike finding: %+v", f)
	}
	if !strings.Contains(f.Details, "**60 events** in the 10m window starting 2025-03-10 06:40 UTC") {
		t.Errorf("details: %s", f.Details)
	}
	h.report(fs)

	// The same episode, however long it lasts and grows, is not news.
	h.add("aaa", win(40).Add(8*time.Minute), 20)
	if fs := h.pending(win(40).Add(9 * time.Minute)); len(fs) != 0 {
		t.Fatalf("same window, reported again: %+v", fs)
	}
	h.add("aaa", win(41).Add(time.Minute), 120)
	if fs := h.pending(win(41).Add(9 * time.Minute)); len(fs) != 0 {
		t.Fatalf("the episode's second window, reported again: %+v", fs)
	}
	// Back to normal, then a new jump: a new episode of the same finding.
	h.steady(r, "aaa", 8, 42, 50)
	for i := 42; i < 50; i++ {
		if fs := h.pending(win(i).Add(9 * time.Minute)); len(fs) != 0 {
			t.Fatalf("window %d after the spike: %+v", i, fs)
		}
	}
	h.add("aaa", win(50).Add(time.Minute), 400)
	fs = h.pending(win(50).Add(2 * time.Minute))
	if len(fs) != 1 || fs[0].Key != "aaa" || fs[0].Status != finding.StatusKnown || fs[0].Count <= f.Count {
		t.Fatalf("second episode: %+v", fs)
	}
	if !strings.Contains(fs[0].Details, "spike episode 2") {
		t.Errorf("details of the second episode: %s", fs[0].Details)
	}
}

// TestSpikeNoFalsePositiveOnSteadyTraffic runs noisy but steady traffic of
// many rates (Poisson, and overdispersed with a daily cycle) through the
// detector window after window.
func TestSpikeNoFalsePositiveOnSteadyTraffic(t *testing.T) {
	h := newHarness(t, Options{})
	r := rand.New(rand.NewPCG(42, 7))
	rates := []float64{0.2, 1, 3, 6, 10, 15, 20, 30, 50, 80, 150, 300, 1000}
	windows := 220
	for i := range windows {
		counts := map[string]int64{}
		for j, l := range rates {
			counts[fmt.Sprintf("p%02d", j)] = poisson(r, l)
			// Daily cycle (x0.5 to x1.5 over 144 windows) with noisy rate.
			cyc := l * (1 + 0.5*math.Sin(2*math.Pi*float64(i)/144)) * (0.8 + 0.4*r.Float64())
			counts[fmt.Sprintf("c%02d", j)] = poisson(r, cyc)
		}
		h.addAll(win(i).Add(time.Minute), counts)
		if fs := h.pending(win(i).Add(9 * time.Minute)); len(fs) != 0 {
			t.Fatalf("window %d: false positive %+v", i, fs[0])
		}
	}
}

// TestThresholdFalsePositiveRate measures, without the database, how often
// steady Poisson traffic crosses the threshold against its own rolling
// history: the bound the defaults promise.
func TestThresholdFalsePositiveRate(t *testing.T) {
	o := Options{History: 36, Sigma: 3, MinCount: 20, Ratio: 2}
	r := rand.New(rand.NewPCG(3, 4))
	for _, lambda := range []float64{0.5, 3, 8, 10, 12, 15, 20, 40, 200} {
		const n = 20000
		hist := make([]int64, 0, o.History)
		for range o.History {
			hist = append(hist, poisson(r, lambda))
		}
		fp := 0
		for range n {
			x := poisson(r, lambda)
			if x >= o.Threshold(NewBaseline(hist)) {
				fp++
			}
			hist = append(hist[1:], x)
		}
		rate := float64(fp) / n
		limit := 1e-3 // the worst case (rates near MinCount/2) is about 1e-4
		if lambda <= 3 || lambda >= 40 {
			limit = 0
		}
		if rate > limit {
			t.Errorf("lambda %.1f: %d false positives in %d windows (%.5f > %.5f)", lambda, fp, n, rate, limit)
		}
	}
}

func TestThreshold(t *testing.T) {
	o := Options{History: 36, Sigma: 3, MinCount: 20, Ratio: 2}
	tests := []struct {
		name string
		b    Baseline
		min  int64 // the threshold is at least
		max  int64 // and at most
	}{
		{"silent history: MinCount", Baseline{Mean: 0, Std: 0, N: 36}, 20, 20},
		{"quiet history: MinCount", Baseline{Mean: 1, Std: 1, N: 36}, 20, 20},
		{"steady: a doubling", Baseline{Mean: 100, Std: 10, N: 36}, 200, 200},
		{"bursty: mean plus three deviations", Baseline{Mean: 10, Std: 20, N: 36}, 71, 71},
		{"zero deviation is not certainty", Baseline{Mean: 12, Std: 0, N: 36}, 25, 30},
		{"short history is less sure", Baseline{Mean: 12, Std: 0, N: 4}, 30, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := o.Threshold(tt.b); got < tt.min || got > tt.max {
				t.Errorf("Threshold(%+v) = %d, want %d..%d", tt.b, got, tt.min, tt.max)
			}
		})
	}
}

// TestSpikeQuietYoungAndSilencedSignatures never page.
func TestSpikeQuietYoungAndSilencedSignatures(t *testing.T) {
	h := newHarness(t, Options{})
	r := rand.New(rand.NewPCG(5, 6))
	h.steady(r, "quiet", 0.3, 0, 40)
	h.steady(r, "muted", 8, 0, 40)
	h.steady(r, "young", 5, 36, 40)
	if err := h.tr.SetStatus(h.ctx, finding.KindError, "muted", finding.StatusSilenced); err != nil {
		t.Fatal(err)
	}
	h.add("quiet", win(40).Add(time.Minute), 19)
	h.add("muted", win(40).Add(time.Minute), 500)
	h.add("young", win(40).Add(time.Minute), 500)
	if fs := h.pending(win(40).Add(5 * time.Minute)); len(fs) != 0 {
		t.Fatalf("want no spike, got %+v", fs)
	}
	// MinCount is the bar for a quiet signature, not silence.
	h.add("quiet", win(41).Add(time.Minute), 25)
	fs := h.pending(win(41).Add(5 * time.Minute))
	if len(fs) != 1 || fs[0].Key != "quiet" {
		t.Fatalf("want a spike of quiet at 25 events, got %+v", fs)
	}
}

func TestSpikeWiderWindowsAndReportedOutcome(t *testing.T) {
	h := newHarness(t, Options{Window: 2 * bucket})
	r := rand.New(rand.NewPCG(8, 9))
	h.steady(r, "w", 5, 0, 80) // 10 per 20-minute window
	if fs := h.pending(win(80).Add(time.Minute)); len(fs) != 0 {
		t.Fatalf("steady: %+v", fs)
	}
	// 15 + 15 in the two buckets of one window: 30 is a spike, neither
	// bucket alone would be.
	h.add("w", win(80).Add(time.Minute), 15)
	h.add("w", win(81).Add(time.Minute), 15)
	fs := h.pending(win(81).Add(5 * time.Minute))
	if len(fs) != 1 || fs[0].NewCount != 30 || !strings.Contains(fs[0].Details, "in the 20m window") {
		t.Fatalf("want a spike of 30 in a 20m window, got %+v", fs)
	}
	// An unknown filing outcome keeps it pending.
	if err := h.d.Reported(h.ctx, fs[0], filer.Result{Key: fs[0].Key, Kind: fs[0].Kind, Action: filer.ActionPending}); err != nil {
		t.Fatal(err)
	}
	if again := h.pending(win(81).Add(6 * time.Minute)); len(again) != 1 {
		t.Fatalf("after ActionPending: %+v", again)
	}
	h.report(fs)
	if again := h.pending(win(81).Add(7 * time.Minute)); len(again) != 0 {
		t.Fatalf("after reporting: %+v", again)
	}
}

func TestSpikeStopped(t *testing.T) {
	h := newHarness(t, Options{})
	r := rand.New(rand.NewPCG(10, 11))
	h.steady(r, "steady", 6, 0, 40)
	h.steady(r, "resolved", 6, 0, 40)
	h.steady(r, "unfiled", 6, 0, 40)
	for i := 0; i < 40; i += 8 { // bursts: long silences are normal for it
		h.add("bursty", win(i).Add(time.Minute), 40)
	}
	for _, id := range []string{"steady", "bursty"} {
		if err := h.tr.Reported(h.ctx, finding.KindError, id, 1, finding.StatusKnown, 42, "https://phabricator.example/T42", win(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.tr.Reported(h.ctx, finding.KindError, "resolved", 1, finding.StatusResolved, 43, "", win(1)); err != nil {
		t.Fatal(err)
	}
	stopped := func(now time.Time) []Stop {
		t.Helper()
		ss, err := h.d.Stopped(h.ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	if ss := stopped(win(45).Add(time.Minute)); len(ss) != 0 {
		t.Fatalf("silent for five windows only: %+v", ss)
	}
	ss := stopped(win(46).Add(time.Minute))
	if len(ss) != 1 || ss[0].ID != "steady" || ss[0].TaskID != 42 || ss[0].Mean < 4 || ss[0].Mean > 8 {
		t.Fatalf("want steady to have stopped, got %+v", ss)
	}
	if c := ss[0].Comment(); !strings.Contains(c, "no event of this signature since 2025-03-10 06:31 UTC") {
		t.Errorf("comment: %s", c)
	}
	// Spikes are not affected by a stop.
	if fs := h.pending(win(46).Add(time.Minute)); len(fs) != 0 {
		t.Fatalf("a stop is not a spike: %+v", fs)
	}
	if err := h.d.NoteStopped(h.ctx, ss[0]); err != nil {
		t.Fatal(err)
	}
	if ss := stopped(win(47).Add(time.Minute)); len(ss) != 0 {
		t.Fatalf("noted twice: %+v", ss)
	}
	// It comes back, runs steadily, and stops again: a new stop.
	h.steady(r, "steady", 6, 50, 90)
	if ss := stopped(win(92).Add(time.Minute)); len(ss) != 0 {
		t.Fatalf("running again: %+v", ss)
	}
	if ss := stopped(win(96).Add(time.Minute)); len(ss) != 1 || ss[0].ID != "steady" {
		t.Fatalf("stopped again: %+v", ss)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tr, err := tracker.New(ctx, db, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, db, tr, Options{Window: 15 * time.Minute}, nil); err == nil || !strings.Contains(err.Error(), "multiple") {
		t.Errorf("window 15m over 10m buckets: %v", err)
	}
	if _, err := New(ctx, db, tr, Options{History: 10, MinKnown: 20}, nil); err == nil || !strings.Contains(err.Error(), "min_known") {
		t.Errorf("min_known > history: %v", err)
	}
	d, err := New(ctx, db, tr, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := d.Options(); o.Window != bucket || o.History != 36 || o.Sigma != 3 || o.MinCount != 20 || o.StopAfter != 6 || o.MinKnown != 18 {
		t.Errorf("defaults: %+v", o)
	}
}

func BenchmarkPending(b *testing.B) {
	h := newHarness(b, Options{})
	r := rand.New(rand.NewPCG(1, 1))
	for s := range 200 {
		h.steady(r, fmt.Sprintf("s%03d", s), float64(s%20), 0, 43)
	}
	now := win(42).Add(5 * time.Minute)
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.d.Pending(h.ctx, now); err != nil {
			b.Fatal(err)
		}
	}
}
