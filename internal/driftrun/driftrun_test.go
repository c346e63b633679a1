package driftrun

import (
	"bytes"
	"context"
	"errors"
	"github.com/wikimedia/sheriff/internal/clock"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/drift"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
)

func TestRunWritesReports(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	var hooked []*RunRecord
	r := newRunner(t, db, Options{
		Sources: drift.Sources{Puppet: puppetFixture, Charts: chartsFixture, MediaWikiConfig: mwconfigFixture},
		OnRun:   func(_ context.Context, rec *RunRecord) { hooked = append(hooked, rec) },
	})
	if last, err := r.Last(ctx); err != nil || last != nil {
		t.Fatalf("Last before any run = %v, %v; want nil, nil", last, err)
	}
	rec, err := r.RunNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.OK() || rec.ReportPath != "2026-11-22/drift.html" {
		t.Fatalf("record = %+v", rec)
	}
	if rec.ReportURL != "https://sheriff.example.org/reports/2026-11-22/drift.html" {
		t.Errorf("ReportURL = %q", rec.ReportURL)
	}
	dir := r.opts.ReportsDir
	for _, ext := range []string{".html", ".md", ".json"} {
		dated, err := os.ReadFile(filepath.Join(dir, "2026-11-22", "drift"+ext))
		if err != nil {
			t.Fatal(err)
		}
		latest, err := os.ReadFile(filepath.Join(dir, "latest"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dated, latest) || len(dated) == 0 {
			t.Errorf("latest%s differs from the run's report (%d vs %d bytes)", ext, len(latest), len(dated))
		}
		if fi, err := os.Stat(filepath.Join(dir, "latest"+ext)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("latest%s mode = %v, %v; want 0644 so the server can read it", ext, fi.Mode(), err)
		}
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	f, err := os.Open(filepath.Join(dir, "2026-11-22", "drift.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := drift.ReadJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Every source contributes real drift in these fixtures.
	if rep.Summary.Real == 0 || rec.Real != rep.Summary.Real || rec.New != rec.Real || rec.Resolved != 0 {
		t.Errorf("record real/new/resolved = %d/%d/%d, report real = %d", rec.Real, rec.New, rec.Resolved, rep.Summary.Real)
	}
	if diff := cmp.Diff(rep.Summary.ByClass, rec.Counts); diff != "" {
		t.Errorf("counts by class (-report +record):\n%s", diff)
	}
	total := 0
	for _, src := range []string{"puppet", "helm", "mediawiki-config"} {
		if rec.RealBySource[src] == 0 {
			t.Errorf("no real drift counted for %s: %v", src, rec.RealBySource)
		}
		total += rec.RealBySource[src]
	}
	if total != rec.Real {
		t.Errorf("real by source %v does not add up to %d", rec.RealBySource, rec.Real)
	}
	wantPrefix := "drift: " + strconv.Itoa(rec.Real) + " real (" + strconv.Itoa(rec.RealBySource["puppet"]) + " puppet, " +
		strconv.Itoa(rec.RealBySource["helm"]) + " helm, " + strconv.Itoa(rec.RealBySource["mediawiki-config"]) + " mediawiki-config), " +
		strconv.Itoa(rec.Real) + " new, 0 resolved"
	if !strings.HasPrefix(rec.Summary, wantPrefix) || !strings.HasSuffix(rec.Summary, " — "+rec.ReportURL) || strings.Contains(rec.Summary, "\n") {
		t.Errorf("summary = %q\nwant prefix %q and the link", rec.Summary, wantPrefix)
	}
	if len(hooked) != 1 || hooked[0].Summary != rec.Summary {
		t.Errorf("OnRun calls = %v", hooked)
	}
	last, err := r.Last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, last); diff != "" {
		t.Errorf("stored record differs (-run +stored):\n%s", diff)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "latest.html"))
	if !bytes.Contains(html, []byte("Real drift")) {
		t.Errorf("HTML report lacks the real drift section")
	}
}

// TestNewAndResolved walks a checkout through several runs and checks the
// counts, the report's new/resolved marks and what the filer is handed.
func TestNewAndResolved(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	src := chartsCheckout(t)
	clk := clock.NewFake(day(22, 3))
	r := newRunner(t, db, Options{Sources: src, FileReal: true, Now: clk.Now,
		Redactor: replacer{"topsecret", "[redacted]"}})
	type pend map[string]finding.Status // path -> status
	steps := []struct {
		name          string
		beta          []string // settings drifting in Beta
		advance       time.Duration
		wantReal      int
		wantNew       int
		wantResolved  int
		wantDir       string
		wantPending   pend
		wantCount     map[string]int64
		reportPending bool // the filer answers "pending" (outcome unknown)
	}{
		{name: "first run", beta: []string{"a", "b", "token"}, wantReal: 3, wantNew: 3, wantDir: "2026-11-22",
			wantPending: pend{"settings.a": finding.StatusNew, "settings.b": finding.StatusNew, "settings.token": finding.StatusNew}},
		{name: "same day, nothing changed", beta: []string{"a", "b", "token"}, advance: time.Hour, wantReal: 3,
			wantDir: "2026-11-22-run2", wantPending: pend{}},
		{name: "a fixed, c drifts", beta: []string{"b", "c", "token"}, advance: 23 * time.Hour, wantReal: 3, wantNew: 1, wantResolved: 1,
			wantDir: "2026-11-23", wantPending: pend{"settings.a": finding.StatusResolved, "settings.c": finding.StatusNew}},
		{name: "a is back", beta: []string{"a", "b", "c", "token"}, advance: 24 * time.Hour, wantReal: 4, wantNew: 1,
			wantDir: "2026-11-24", wantPending: pend{"settings.a": finding.StatusRegressed}, wantCount: map[string]int64{"settings.a": 2}},
		{name: "b fixed while the filer's outcome is unknown", beta: []string{"a", "c", "token"}, advance: 24 * time.Hour,
			wantReal: 3, wantResolved: 1, wantDir: "2026-11-25", reportPending: true,
			wantPending: pend{"settings.b": finding.StatusResolved}},
		{name: "everything fixed", advance: 24 * time.Hour, wantReal: 0, wantResolved: 3, wantDir: "2026-11-26",
			// b is still offered: its last outcome was unknown.
			wantPending: pend{"settings.a": finding.StatusResolved, "settings.b": finding.StatusResolved,
				"settings.c": finding.StatusResolved, "settings.token": finding.StatusResolved}},
		{name: "quiet", advance: 24 * time.Hour, wantDir: "2026-11-27", wantPending: pend{}},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		writeService(t, src.Charts, "svc", prodValues, staging(st.beta...))
		rec, err := r.RunNow(ctx)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if rec.Real != st.wantReal || rec.New != st.wantNew || rec.Resolved != st.wantResolved {
			t.Errorf("%s: real/new/resolved = %d/%d/%d, want %d/%d/%d", st.name, rec.Real, rec.New, rec.Resolved,
				st.wantReal, st.wantNew, st.wantResolved)
		}
		if want := st.wantDir + "/drift.html"; rec.ReportPath != want {
			t.Errorf("%s: report path %q, want %q", st.name, rec.ReportPath, want)
		}
		if i > 0 {
			// The report itself compares with the previous run.
			rep := readReport(t, filepath.Join(r.opts.ReportsDir, st.wantDir, "drift.json"))
			if rep.Summary.Previous == nil || rep.Summary.New != st.wantNew || rep.Summary.Resolved != st.wantResolved {
				t.Errorf("%s: report previous=%v new=%d resolved=%d", st.name, rep.Summary.Previous, rep.Summary.New, rep.Summary.Resolved)
			}
		}

		pending, err := r.Pending(ctx, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := pend{}
		for _, f := range pending {
			path := f.Key[strings.LastIndex(f.Key, "|")+1:]
			got[path] = f.Status
			if f.Kind != finding.KindDrift || !strings.HasPrefix(f.Key, "helm|svc|") {
				t.Errorf("%s: finding kind/key = %s %q", st.name, f.Kind, f.Key)
			}
			if want := st.wantCount[path]; want != 0 && f.Count != want {
				t.Errorf("%s: %s count = %d, want %d", st.name, path, f.Count, want)
			}
			if !strings.Contains(f.Title, path) || !strings.Contains(f.Details, "values-staging.yaml") ||
				!strings.Contains(f.Link, "/reports/") {
				t.Errorf("%s: finding text: title %q link %q details:\n%s", st.name, f.Title, f.Link, f.Details)
			}
			if strings.Contains(f.Details, "topsecret") {
				t.Errorf("%s: details not redacted:\n%s", st.name, f.Details)
			}
			action := filer.ActionCreated
			if st.reportPending {
				action = filer.ActionPending
			}
			if err := r.Reported(ctx, f, filer.Result{Key: f.Key, Kind: f.Kind, Action: action, TaskID: 100 + i}); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(st.wantPending, got); diff != "" {
			t.Errorf("%s: pending (-want +got):\n%s", st.name, diff)
		}
		// Reported findings are not offered again; unknown outcomes are.
		again, err := r.Pending(ctx, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: len(pending), false: 0}[st.reportPending]; len(again) != want {
			t.Errorf("%s: pending after Reported = %d findings", st.name, len(again))
		}
	}
}

func readReport(t *testing.T, path string) *drift.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := drift.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestPendingOnlyWhenFiling(t *testing.T) {
	ctx := context.Background()
	r := newRunner(t, openDB(t), Options{Sources: chartsCheckout(t, "a")})
	if _, err := r.RunNow(ctx); err != nil {
		t.Fatal(err)
	}
	if fs, err := r.Pending(ctx, time.Now()); err != nil || len(fs) != 0 {
		t.Errorf("Pending without FileReal = %v, %v", fs, err)
	}
}

// TestResolvedBeforeReported: nobody was told about the finding, so its
// resolution is not news either.
func TestResolvedBeforeReported(t *testing.T) {
	ctx := context.Background()
	src := chartsCheckout(t, "a")
	r := newRunner(t, openDB(t), Options{Sources: src, FileReal: true})
	for _, beta := range [][]string{{"a"}, {}} {
		writeService(t, src.Charts, "svc", prodValues, staging(beta...))
		if _, err := r.RunNow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if fs, err := r.Pending(ctx, time.Now()); err != nil || len(fs) != 0 {
		t.Errorf("Pending = %v, %v; want nothing", fs, err)
	}
}

func TestFailingRunIsRecorded(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		break_  func(t *testing.T, o *Options) // makes the run fail
		wantErr string
	}{
		{"missing checkout", func(t *testing.T, o *Options) {
			o.Sources.Charts = filepath.Join(t.TempDir(), "nope")
		}, "helm checkout"},
		{"checkout is a file", func(t *testing.T, o *Options) {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, nil, 0o644)
			o.Sources.Charts = p
		}, "not a directory"},
		{"malformed rules", func(t *testing.T, o *Options) {
			p := filepath.Join(t.TempDir(), "rules.yaml")
			os.WriteFile(p, []byte("rules:\n  - name: x\n    bogus: [\n"), 0o644)
			o.RulesFile = p
		}, "rules.yaml"},
		{"malformed baseline", func(t *testing.T, o *Options) {
			p := filepath.Join(t.TempDir(), "baseline.yaml")
			os.WriteFile(p, []byte("accepted:\n  - source: helm\n"), 0o644)
			o.Baseline = p
		}, "baseline.yaml:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			clk := clock.NewFake(day(22, 3))
			good := chartsCheckout(t, "a", "b")
			var hooked []string
			opts := Options{Sources: good, Now: clk.Now, ReportsDir: filepath.Join(t.TempDir(), "reports"),
				OnRun: func(_ context.Context, rec *RunRecord) { hooked = append(hooked, rec.Summary) }}
			// A successful run first, so the one after the failure has a
			// previous report to compare with.
			r := newRunner(t, db, opts)
			if _, err := r.RunNow(ctx); err != nil {
				t.Fatal(err)
			}
			broken := opts
			tc.break_(t, &broken)
			clk.Advance(24 * time.Hour)
			rb := newRunner(t, db, broken)
			rec, err := rb.RunNow(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.wantErr)
			}
			if rec == nil || rec.OK() || rec.ReportPath != "" || !strings.Contains(rec.Summary, "failed") {
				t.Fatalf("record = %+v", rec)
			}
			last, err := r.Last(ctx)
			if err != nil || last.ID != rec.ID || last.Err != rec.Err || !strings.Contains(last.Err, tc.wantErr) {
				t.Errorf("Last = %+v, %v", last, err)
			}
			if _, err := os.Stat(filepath.Join(opts.ReportsDir, "2026-11-23")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed run wrote a report directory: %v", err)
			}
			// The next run works and compares with the last good one.
			writeService(t, good.Charts, "svc", prodValues, staging("b", "c"))
			clk.Advance(24 * time.Hour)
			rec, err = r.RunNow(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Real != 2 || rec.New != 1 || rec.Resolved != 1 {
				t.Errorf("after the failure: real/new/resolved = %d/%d/%d, want 2/1/1", rec.Real, rec.New, rec.Resolved)
			}
			if len(hooked) != 3 || !strings.Contains(hooked[1], "failed") {
				t.Errorf("OnRun summaries = %q", hooked)
			}
		})
	}
}

func TestParseSchedule(t *testing.T) {
	from := day(22, 1)
	tests := []struct {
		expr    string
		next    time.Time // zero when the expression is bad
		wantErr string
	}{
		{expr: "0 3 * * *", next: day(22, 3)},
		{expr: "*/30 * * * *", next: from.Add(30 * time.Minute)},
		{expr: "@daily", next: day(23, 0)},
		{expr: "", wantErr: "empty"},
		{expr: "0 3 * *", wantErr: `want 5 fields`},
		{expr: "0 3 * * * *", wantErr: `want 5 fields`},
		{expr: "61 * * * *", wantErr: `"61 * * * *"`},
		{expr: "nightly", wantErr: `"nightly"`},
		{expr: "CRON_TZ=Europe/Berlin 0 3 * * *", wantErr: "UTC"},
		{expr: "0 0 30 2 *", wantErr: "never fires"},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(tc.expr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSchedule(%q) error = %v, want it to contain %q", tc.expr, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.expr, err)
			continue
		}
		if got := s.Next(from); !got.Equal(tc.next) {
			t.Errorf("ParseSchedule(%q).Next(%s) = %s, want %s", tc.expr, from, got, tc.next)
		}
	}
	_, err := New(context.Background(), openDB(t), Options{Schedule: "0 25 * * *", Sources: drift.Sources{Charts: "x"},
		ReportsDir: t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), `"0 25 * * *"`) {
		t.Errorf("New with a bad schedule: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	db := openDB(t)
	for _, tc := range []struct {
		opts    Options
		wantErr string
	}{
		{Options{ReportsDir: t.TempDir()}, "no checkout"},
		{Options{Sources: drift.Sources{Charts: "x"}}, "reports"},
	} {
		if _, err := New(context.Background(), db, tc.opts, nil); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("New(%+v) = %v, want %q", tc.opts, err, tc.wantErr)
		}
	}
}

// fakeTimer stands in for time.After: the test sees each requested wait and
// decides when it ends.
type fakeTimer struct {
	asked chan time.Duration
	fire  chan time.Time
}

func newFakeTimer() *fakeTimer {
	return &fakeTimer{asked: make(chan time.Duration, 1), fire: make(chan time.Time)}
}

func (f *fakeTimer) After(d time.Duration) <-chan time.Time {
	f.asked <- d
	return f.fire
}

func TestRunSchedule(t *testing.T) {
	tests := []struct {
		name      string
		lastRun   time.Time // zero: no run yet
		start     time.Time
		wantFirst time.Duration
	}{
		{"no run yet: catch up soon", time.Time{}, day(22, 1), DefaultCatchUpDelay},
		{"last run three days ago: catch up", day(19, 3), day(22, 1), DefaultCatchUpDelay},
		{"last run within a period: wait for the schedule", day(21, 3), day(22, 1), 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			clk := clock.NewFake(tc.lastRun)
			tm := newFakeTimer()
			runs := make(chan *RunRecord, 10)
			opts := Options{Sources: chartsCheckout(t, "a"), Now: clk.Now, After: tm.After,
				OnRun: func(_ context.Context, rec *RunRecord) { runs <- rec }}
			r := newRunner(t, db, opts)
			if !tc.lastRun.IsZero() {
				if _, err := r.RunNow(context.Background()); err != nil {
					t.Fatal(err)
				}
				<-runs
			}
			clk.Set(tc.start)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()

			if d := <-tm.asked; d != tc.wantFirst {
				t.Errorf("first wait = %s, want %s", d, tc.wantFirst)
			}
			clk.Advance(tc.wantFirst)
			fired := clk.Now()
			tm.fire <- fired
			if rec := <-runs; !rec.Started.Equal(fired) || !rec.OK() {
				t.Errorf("scheduled run = %+v, want one started at %s", rec, fired)
			}
			// Then the next 03:00 UTC, however late the run finished.
			next := time.Date(fired.Year(), fired.Month(), fired.Day(), 3, 0, 0, 0, time.UTC)
			if !next.After(fired) {
				next = next.Add(24 * time.Hour)
			}
			if d := <-tm.asked; d != next.Sub(fired) {
				t.Errorf("second wait = %s, want %s", d, next.Sub(fired))
			}
			// A trigger runs at once without waiting for the timer.
			r.Trigger()
			if rec := <-runs; !rec.OK() {
				t.Errorf("triggered run failed: %s", rec.Err)
			}
			<-tm.asked
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		})
	}
}

// TestRunGoesOnAfterFailure: Run keeps its schedule when a run fails.
func TestRunGoesOnAfterFailure(t *testing.T) {
	clk := clock.NewFake(day(22, 1))
	tm := newFakeTimer()
	runs := make(chan *RunRecord, 10)
	src := chartsCheckout(t, "a")
	missing := drift.Sources{Charts: filepath.Join(t.TempDir(), "not-cloned-yet")}
	r := newRunner(t, openDB(t), Options{Sources: missing, Now: clk.Now, After: tm.After,
		OnRun: func(_ context.Context, rec *RunRecord) { runs <- rec }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-tm.asked
	tm.fire <- clk.Now()
	if rec := <-runs; rec.OK() {
		t.Fatalf("run over a missing checkout succeeded: %+v", rec)
	}
	<-tm.asked
	if err := os.Rename(src.Charts, missing.Charts); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	tm.fire <- clk.Now()
	if rec := <-runs; !rec.OK() || rec.Real != 1 {
		t.Errorf("run after the checkout appeared = %+v", rec)
	}
	<-tm.asked
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

func TestInterruptedRunRecorded(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	opts := Options{Sources: chartsCheckout(t, "a"), ReportsDir: t.TempDir()}
	r := newRunner(t, db, opts)
	// What a crash in the middle of a run leaves behind.
	id, err := r.insertRun(ctx, day(22, 3))
	if err != nil {
		t.Fatal(err)
	}
	r = newRunner(t, db, opts)
	last, err := r.Last(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last == nil || last.ID != id || !strings.Contains(last.Err, "interrupted") {
		t.Errorf("Last = %+v", last)
	}
}

func TestGitPull(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ctx := context.Background()
	// An empty file of our own rather than /dev/null: some sandboxes give
	// /dev/null contents git cannot parse as a config.
	gitconfig := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(gitconfig, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org",
			"-c", "init.defaultBranch=production", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+gitconfig, "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	origin := t.TempDir()
	writeService(t, origin, "svc", prodValues, staging("a"))
	git(origin, "init", "-q")
	git(origin, "add", ".")
	git(origin, "commit", "-qm", "one")
	clone := filepath.Join(t.TempDir(), "charts")
	git(filepath.Dir(clone), "clone", "-q", origin, clone)
	writeService(t, origin, "svc", prodValues, staging("a", "b"))
	git(origin, "commit", "-qam", "two")

	notGit := chartsCheckout(t, "a").Charts
	tests := []struct {
		name         string
		charts       string
		wantReal     int
		wantWarnings int
	}{
		{"pulled checkout sees the new commit", clone, 2, 0},
		{"failed pull: run goes on with what is there", notGit, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(t, openDB(t), Options{Sources: drift.Sources{Charts: tc.charts}, GitPull: true})
			rec, err := r.RunNow(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Real != tc.wantReal || len(rec.Warnings) != tc.wantWarnings {
				t.Errorf("real = %d, warnings = %q; want %d, %d", rec.Real, rec.Warnings, tc.wantReal, tc.wantWarnings)
			}
			if tc.wantWarnings > 0 {
				md, _ := os.ReadFile(filepath.Join(r.opts.ReportsDir, "latest.md"))
				if !strings.Contains(rec.Warnings[0], "git pull failed for helm") || !bytes.Contains(md, []byte("git pull failed")) ||
					!strings.Contains(rec.Summary, "1 warning") {
					t.Errorf("warning not reported: %q / %q", rec.Warnings, rec.Summary)
				}
			}
		})
	}
}

func TestMissingBaselineIsAWarning(t *testing.T) {
	r := newRunner(t, openDB(t), Options{Sources: chartsCheckout(t, "a"), Baseline: filepath.Join(t.TempDir(), "typo.yaml")})
	rec, err := r.RunNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0], "typo.yaml does not exist") || rec.Real != 1 {
		t.Errorf("record = %+v", rec)
	}
}

func TestBaselineAccepts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "baseline.yaml")
	os.WriteFile(p, []byte("accepted:\n  - source: helm\n    key: svc\n    path: settings.a\n    reason: Beta tests a bigger a\n"), 0o644)
	r := newRunner(t, openDB(t), Options{Sources: chartsCheckout(t, "a", "b"), Baseline: p})
	rec, err := r.RunNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Real != 1 || rec.Accepted != 1 || rec.Counts[diff.ClassReal] != 1 {
		t.Errorf("real/accepted = %d/%d, counts %v", rec.Real, rec.Accepted, rec.Counts)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "latest.html")
	old := bytes.Repeat([]byte("old "), 1<<14)
	if err := writeFileAtomic(p, old); err != nil {
		t.Fatal(err)
	}
	// Readers racing with writers only ever see a whole version.
	versions := [][]byte{old, bytes.Repeat([]byte("new "), 1<<15), bytes.Repeat([]byte("x"), 100)}
	stop := make(chan struct{})
	bad := make(chan string, 1)
	go func() {
		defer close(bad)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(p)
			if err != nil {
				bad <- err.Error()
				return
			}
			ok := false
			for _, v := range versions {
				ok = ok || bytes.Equal(b, v)
			}
			if !ok {
				bad <- "partial file of " + strconv.Itoa(len(b)) + " bytes"
				return
			}
		}
	}()
	for i := range 200 {
		if err := writeFileAtomic(p, versions[i%len(versions)]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if msg, ok := <-bad; ok {
		t.Errorf("reader saw %s", msg)
	}

	// A failed write leaves the old file and no temporary behind.
	target := filepath.Join(dir, "adir")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(target, []byte("x")); err == nil || !strings.Contains(err.Error(), "adir") {
		t.Errorf("writing over a directory: %v", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
