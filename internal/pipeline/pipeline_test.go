package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/checks"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/metrics"
	"github.com/wikimedia/sheriff/internal/miner"
	"github.com/wikimedia/sheriff/internal/redact"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
	"github.com/wikimedia/sheriff/rules"
)

type env struct {
	db  *store.DB
	tr  *tracker.Tracker
	log *slog.Logger
	m   *metrics.Metrics
	h   *health.Registry
	red *redact.Redactor
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := tracker.New(ctx, db, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New(redact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, tr: tr, log: slog.New(slog.NewTextHandler(io.Discard, nil)), m: metrics.New(), h: health.NewRegistry(), red: red}
}

func (e *env) ingester(t *testing.T, name, data string, g Grouper) *Ingester {
	t.Helper()
	src, err := checks.NewNDJSON(context.Background(), e.db, name, []byte(data), 3)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return &Ingester{DB: e.db, Source: src, Rules: set, Tracker: e.tr, Redactor: e.red, Generic: g,
		Health: e.h, Metrics: e.m, Log: e.log}
}

func syslog(i int, msg string) string {
	return fmt.Sprintf(`{"@timestamp":"2026-11-21T06:%02d:00Z","type":"syslog","host":"deployment-db%02d","program":"mysqld","message":%q}`, i%60, i%3, msg)
}

// TestMinerMergeKeepsFiledSignature: an id handed out (and "filed") early
// becomes the survivor when later lines show the template generalises; the
// counts of the merged-away ids fold into it and nothing is lost.
func TestMinerMergeKeepsFiledSignature(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g, err := NewMinerGrouper(ctx, e.db, "test", miner.Options{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		lines = append(lines, syslog(i, "Access denied for user "+u+" to database wiki"))
	}
	lines = append(lines, syslog(50, "InnoDB: page checksum mismatch"))
	in := e.ingester(t, "s", strings.Join(lines[:1], "\n")+"\n", g)
	if _, err := in.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := e.tr.List(ctx, tracker.ListOptions{})
	if err != nil || len(first) != 1 {
		t.Fatalf("after one line: %v %v", first, err)
	}
	filedID := first[0].ID
	if err := e.tr.Reported(ctx, finding.KindError, filedID, 1, finding.StatusKnown, 42, "https://phab/T42", time.Now()); err != nil {
		t.Fatal(err)
	}

	in2 := e.ingester(t, "s2", strings.Join(lines[1:], "\n")+"\n", g)
	if _, err := in2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sigs, err := e.tr.List(ctx, tracker.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 {
		for _, s := range sigs {
			t.Logf("%s %d %q", s.ID, s.Count, s.Title)
		}
		t.Fatalf("want 2 signatures (access denied, checksum), got %d", len(sigs))
	}
	var access tracker.Signature
	var total int64
	for _, s := range sigs {
		total += s.Count
		if strings.Contains(s.Title, "Access denied") {
			access = s
		}
	}
	if total != int64(len(lines)) {
		t.Errorf("counts add up to %d, want %d", total, len(lines))
	}
	if access.ID != filedID || access.Task != "T42" || access.Count != 6 {
		t.Fatalf("filed signature %s (T42) should have absorbed the others: got %s task %q count %d", filedID, access.ID, access.Task, access.Count)
	}
	if hosts := len(mustGet(t, e.tr, access.ID).Facets["host"]); hosts != 3 {
		t.Errorf("facets not folded: %d hosts", hosts)
	}
}

func mustGet(t *testing.T, tr *tracker.Tracker, id string) tracker.Signature {
	t.Helper()
	s, err := tr.Get(context.Background(), finding.KindError, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fakeFiler struct {
	mu     sync.Mutex
	fail   error
	synced []finding.Finding
	action map[string]filer.Action
}

func (f *fakeFiler) Sync(_ context.Context, fs []finding.Finding) ([]filer.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var rs []filer.Result
	for i, fd := range fs {
		f.synced = append(f.synced, fd)
		a := filer.ActionCreated
		if x, ok := f.action[fd.Key]; ok {
			a = x
		}
		rs = append(rs, filer.Result{Key: fd.Key, Kind: fd.Kind, Action: a, TaskID: 100 + i, URL: fmt.Sprintf("T%d", 100+i), Silenced: a == filer.ActionSilenced})
	}
	return rs, nil
}

type fakeNotifier struct {
	mu  sync.Mutex
	got []string
}

func (n *fakeNotifier) Announce(_ context.Context, f finding.Finding, url string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, string(f.Status)+":"+f.Key)
	return nil
}

type keySilencer map[string]bool

func (s keySilencer) Silenced(_ context.Context, f finding.Finding, _ int) (bool, error) {
	return s[f.Key], nil
}

func mwEvent(i int, class, msg string) string {
	return fmt.Sprintf(`{"@timestamp":"2026-11-21T07:%02d:00Z","type":"mediawiki","channel":"exception","wiki":"enwiki","host":"deployment-mediawiki11","mwversion":"1.47.0-wmf.16","message":%q,"exception":{"class":%q,"message":%q,"trace":"#0 /srv/mediawiki/php-1.47.0-wmf.16/includes/Foo.php(1): Foo->bar()\n#1 {main}"}}`,
		i%60, class+": "+msg, class, msg)
}

func TestReporterActsOnceAndRetries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := strings.Join([]string{
		mwEvent(1, "LogicException", "first problem"),
		mwEvent(2, "RuntimeException", "second problem"),
		mwEvent(3, "DomainException", "silenced problem"),
		mwEvent(4, "LogicException", "first problem"),
	}, "\n")
	in := e.ingester(t, "mw", data, nil)
	if _, err := in.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sigs, _ := e.tr.List(ctx, tracker.ListOptions{})
	if len(sigs) != 3 {
		t.Fatalf("%d signatures", len(sigs))
	}
	var silencedKey string
	for _, s := range sigs {
		if strings.Contains(s.Title, "DomainException") {
			silencedKey = s.ID
		}
	}
	ff := &fakeFiler{fail: errors.New("phabricator down")}
	nt := &fakeNotifier{}
	r := &Reporter{Tracker: e.tr, Filer: ff, Notifier: nt, Silences: keySilencer{silencedKey: true}, Health: e.h, Metrics: e.m, Log: e.log}

	// Filer down: nothing is marked reported, so nothing is lost.
	if _, err := r.ReportOnce(ctx); err == nil {
		t.Fatal("ReportOnce succeeded with the filer down")
	}
	if st, _ := e.tr.Stats(ctx); st.Backlog != 2 {
		t.Fatalf("backlog %d after a failed sync, want the 2 unsilenced signatures", st.Backlog)
	}
	ff.fail = nil
	res, err := r.ReportOnce(ctx)
	if err != nil || len(res) != 2 {
		t.Fatalf("ReportOnce: %v %v", res, err)
	}
	if len(nt.got) != 2 {
		t.Errorf("announcements %v, want the 2 new ones", nt.got)
	}
	// Nothing changed: a second report does nothing.
	res, err = r.ReportOnce(ctx)
	if err != nil || len(res) != 0 || len(ff.synced) != 2 {
		t.Fatalf("second ReportOnce acted again: %v, %d synced", res, len(ff.synced))
	}
	got := mustGet(t, e.tr, silencedKey)
	if got.Status != finding.StatusSilenced {
		t.Errorf("silenced signature has status %s", got.Status)
	}
	for _, s := range sigs {
		if s.ID == silencedKey {
			continue
		}
		if g := mustGet(t, e.tr, s.ID); g.Status != finding.StatusKnown || g.Task == "" {
			t.Errorf("%s: status %s task %q after filing", s.ID, g.Status, g.Task)
		}
	}
}

func TestStatusAfter(t *testing.T) {
	tests := []struct {
		prev finding.Status
		res  filer.Result
		want finding.Status
	}{
		{finding.StatusNew, filer.Result{Action: filer.ActionCreated}, finding.StatusKnown},
		{finding.StatusNew, filer.Result{Action: filer.ActionDryRun}, finding.StatusKnown},
		{finding.StatusKnown, filer.Result{Action: filer.ActionReopened}, finding.StatusRegressed},
		{finding.StatusRegressed, filer.Result{Action: filer.ActionCommented}, finding.StatusRegressed},
		{finding.StatusKnown, filer.Result{Action: filer.ActionSilenced, Silenced: true}, finding.StatusSilenced},
		{finding.StatusKnown, filer.Result{Action: filer.ActionUnchanged, Silenced: true}, finding.StatusSilenced},
	}
	for _, tt := range tests {
		if got := statusAfter(tt.prev, tt.res); got != tt.want {
			t.Errorf("statusAfter(%s, %s) = %s, want %s", tt.prev, tt.res.Action, got, tt.want)
		}
	}
}

type noteFiler struct {
	fakeFiler
	notes []string
	open  bool
}

func (n *noteFiler) Note(_ context.Context, kind finding.Kind, key, text string) (bool, error) {
	n.notes = append(n.notes, string(kind)+"/"+key+": "+text)
	return n.open, nil
}

type staticSource struct {
	fs       []finding.Finding
	reported []filer.Action
}

func (s *staticSource) Name() string { return "static" }
func (s *staticSource) Pending(context.Context, time.Time) ([]finding.Finding, error) {
	out := s.fs
	s.fs = nil
	return out, nil
}
func (s *staticSource) Reported(_ context.Context, _ finding.Finding, res filer.Result) error {
	s.reported = append(s.reported, res.Action)
	return nil
}

// TestNewsAboutAFindingGoesToItsTask: a spike comments on its signature's
// task instead of filing a task of its own, and is announced either way.
func TestNewsAboutAFindingGoesToItsTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, open := range []bool{true, false} {
		nf := &noteFiler{open: open}
		nt := &fakeNotifier{}
		src := &staticSource{fs: []finding.Finding{{Kind: finding.KindSpike, Key: "error/abc", Title: "Spike: boom", Details: "42 events",
			Count: 42, NewCount: 42, About: finding.Ref{Kind: finding.KindError, Key: "abc"}}}}
		r := &Reporter{Tracker: e.tr, Filer: nf, Notifier: nt, Sources: []FindingSource{src}, Health: e.h, Metrics: e.m, Log: e.log}
		if _, err := r.ReportOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(nf.synced) != 0 {
			t.Fatalf("a spike was filed as a task of its own: %+v", nf.synced)
		}
		if len(nf.notes) != 1 || !strings.HasPrefix(nf.notes[0], "error/abc: **Spike: boom**") {
			t.Fatalf("notes %q", nf.notes)
		}
		want := filer.ActionUnchanged
		if open {
			want = filer.ActionCommented
		}
		if len(src.reported) != 1 || src.reported[0] != want || len(nt.got) != 1 {
			t.Fatalf("open=%v: reported %v, announced %v", open, src.reported, nt.got)
		}
	}
}
