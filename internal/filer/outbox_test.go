package filer

import (
	"context"
	"fmt"
	"github.com/wikimedia/sheriff/internal/clock"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

func newClock() *clock.Fake { return clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) }

func openDB(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func errFinding(key string, count int64, wikis ...string) finding.Finding {
	fc := finding.Facet{}
	for i, w := range wikis {
		fc[w] = 1
		if i == 0 {
			fc[w] = count - int64(len(wikis)) + 1
		}
	}
	return finding.Finding{Kind: finding.KindError, Key: key, Title: "PHP Warning: Undefined array key in ApiMain::execute " + key,
		Status: finding.StatusNew, FirstSeen: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC),
		LastSeen: time.Date(2025, 3, 1, 11, 30, 0, 0, time.UTC), Count: count,
		Facets:   map[string]finding.Facet{"wiki": fc, "version": {"1.44.0-wmf.1": count}},
		Template: "Undefined array key {key}", Sample: "Undefined array key \"foo\"", Trace: "#0 ApiMain.php(12): x()"}
}

func outboxFiles(t *testing.T, dir string) (tasks, comments []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch {
		case strings.Contains(e.Name(), ".comment-"):
			comments = append(comments, e.Name())
		case strings.HasSuffix(e.Name(), ".md"):
			tasks = append(tasks, e.Name())
		}
	}
	return tasks, comments
}

func TestOutboxOnceAndOnlyOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "outbox")
	clk := newClock()
	opts := Options{OutboxDir: out, Now: clk.Now, CommentInterval: time.Hour, ReopenOnRegression: true}
	fs := []finding.Finding{errFinding("0123456789abcdef", 3, "enwiki"), errFinding("fedcba9876543210", 1, "dewiki")}

	for run := 0; run < 2; run++ {
		db := openDB(t, dir)
		f, err := New(ctx, db, nil, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := f.Sync(ctx, fs)
		if err != nil {
			t.Fatal(err)
		}
		want := ActionDryRun
		if run > 0 {
			want = ActionUnchanged
		}
		for _, r := range rs {
			if r.Action != want {
				t.Errorf("run %d: %s: action %s, want %s", run, r.Key, r.Action, want)
			}
		}
		db.Close()
	}
	tasks, comments := outboxFiles(t, out)
	if len(tasks) != 2 || len(comments) != 0 {
		t.Fatalf("outbox has tasks %v comments %v, want 2 tasks and no comment", tasks, comments)
	}
	b, err := os.ReadFile(filepath.Join(out, "error-0123456789abcdef.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "sheriffmarker sheriffsigerror0123456789abcdef") || !strings.Contains(string(b), "enwiki (3)") {
		t.Errorf("task file lacks marker or facets:\n%s", b)
	}

	// More events: one comment after the interval, not before.
	db := openDB(t, dir)
	f, err := New(ctx, db, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs[0] = errFinding("0123456789abcdef", 5, "enwiki", "frwiki")
	if rs, err := f.Sync(ctx, fs[:1]); err != nil || rs[0].Action != ActionUnchanged {
		t.Fatalf("within interval: %+v %v", rs, err)
	}
	clk.Advance(time.Hour)
	if rs, err := f.Sync(ctx, fs[:1]); err != nil || rs[0].Action != ActionCommented {
		t.Fatalf("after interval: %+v %v", rs, err)
	}
	if rs, err := f.Sync(ctx, fs[:1]); err != nil || rs[0].Action != ActionUnchanged {
		t.Fatalf("again: %+v %v", rs, err)
	}
	_, comments = outboxFiles(t, out)
	if len(comments) != 1 {
		t.Fatalf("comments %v, want 1", comments)
	}
	b, _ = os.ReadFile(filepath.Join(out, comments[0]))
	if !strings.Contains(string(b), "now also on wiki frwiki") {
		t.Errorf("comment: %s", b)
	}
}

func TestOutboxLifeCycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "outbox")
	clk := newClock()
	opts := Options{OutboxDir: out, Now: clk.Now, CommentInterval: time.Hour, ReopenOnRegression: true,
		StormThreshold: 2, Redactor: stubRedactor{}}
	db := openDB(t, dir)
	f, err := New(ctx, db, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := errFinding("aaaaaaaa00000001", 1, "enwiki")
	a.Sample = "token hunter2"
	if rs, err := f.Sync(ctx, []finding.Finding{a}); err != nil || rs[0].Action != ActionDryRun {
		t.Fatalf("%+v %v", rs, err)
	}
	path := filepath.Join(out, "error-aaaaaaaa00000001.md")
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "hunter2") {
		t.Fatal("outbox not redacted")
	}
	// A person declines the would-be task by editing its header.
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "status: open", "status: declined", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	a.Count = 10
	if rs, err := f.Sync(ctx, []finding.Finding{a}); err != nil || !rs[0].Silenced {
		t.Fatalf("declined: %+v %v", rs, err)
	}
	// A storm: three new signatures at once, threshold 2 (one filed already).
	var storm []finding.Finding
	for i := 2; i <= 4; i++ {
		storm = append(storm, errFinding(fmt.Sprintf("aaaaaaaa0000000%d", i), 1, "enwiki"))
	}
	rs, err := f.Sync(ctx, storm)
	if err != nil || actions(rs) != "umbrella,umbrella,umbrella" {
		t.Fatalf("storm: %+v %v", rs, err)
	}
	tasks, _ := outboxFiles(t, out)
	if len(tasks) != 2 {
		t.Fatalf("files %v", tasks)
	}
	// Running again (new process, same database) writes nothing.
	f2, err := New(ctx, db, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := f2.Sync(ctx, append(storm, a)); err != nil || actions(rs) != "umbrella,umbrella,umbrella,silenced" {
		t.Fatalf("rerun: %+v %v", rs, err)
	}
	// Even with the database lost, the outbox itself prevents refiling.
	f3, err := New(ctx, openDB(t, filepath.Join(dir, "other")), nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := f3.Sync(ctx, append(storm, a)); err != nil || actions(rs) != "umbrella,umbrella,umbrella,silenced" {
		t.Fatalf("database lost: %+v %v", rs, err)
	}
	if tasks2, comments := outboxFiles(t, out); len(tasks2) != 2 || len(comments) != 0 {
		t.Fatalf("files %v %v", tasks2, comments)
	}
}

// A dry-run task's file gives back its id, so that IRC and the dashboard
// can name it without showing the path.
func TestOutboxTaskID(t *testing.T) {
	ob, err := NewOutbox(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last Task
	for _, k := range []string{"a", "b"} {
		if last, err = ob.Create(context.Background(), NewTask{Kind: "error", Key: k, Marker: "m" + k, Title: "t " + k, Description: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := OutboxTaskID(last.URL); err != nil || id != last.ID || id != 2 {
		t.Errorf("OutboxTaskID(%s) = %d, %v; want %d", last.URL, id, err, last.ID)
	}
	if _, err := OutboxTaskID(filepath.Join(t.TempDir(), "missing.md")); err == nil {
		t.Error("no error for a missing file")
	}
}
