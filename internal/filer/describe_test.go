package filer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
)

// TestKeepDescription: a finding whose task keeps its current state has the
// description rewritten at every update; only a resolution and a return
// comment, and a return is said at once, within the comment interval.
func TestKeepDescription(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "outbox")
	clk := newClock()
	f, err := New(ctx, openDB(t, dir), nil, Options{DryRun: true, OutboxDir: out, CommentInterval: 24 * time.Hour,
		ReopenOnRegression: true, Now: clk.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fd := func(status finding.Status, returned bool, hosts ...string) finding.Finding {
		fc := finding.Facet{}
		for _, h := range hosts {
			fc[h] = 1
		}
		return finding.Finding{Kind: finding.KindPuppet, Key: "c0ffee", Title: "Puppet: Service[nginx] failed to start",
			Status: status, Count: int64(len(hosts) + 1), Facets: map[string]finding.Facet{"host": fc},
			Details: "Failing on: " + strings.Join(hosts, ", "), KeepDescription: true, Returned: returned}
	}
	steps := []struct {
		f        finding.Finding
		action   Action
		desc     string // the task description must contain it after the step
		comments int
	}{
		{fd(finding.StatusNew, false, "a1"), ActionDryRun, "Failing on: a1", 0},
		{fd(finding.StatusKnown, false, "a1", "b2"), ActionEdited, "Failing on: a1, b2", 0},
		{fd(finding.StatusKnown, false, "b2"), ActionEdited, "Failing on: b2", 0},
		{fd(finding.StatusResolved, false), ActionCommented, "Failing on: \n", 1},
		{fd(finding.StatusRegressed, true, "c3"), ActionCommented, "Failing on: c3", 2},
		{fd(finding.StatusKnown, false, "c3", "d4"), ActionEdited, "Failing on: c3, d4", 2},
	}
	for i, st := range steps {
		clk.Advance(time.Minute) // all within one comment interval
		res, err := f.Sync(ctx, []finding.Finding{st.f})
		if err != nil || len(res) != 1 {
			t.Fatalf("step %d: %+v, %v", i, res, err)
		}
		if res[0].Action != st.action {
			t.Errorf("step %d: action %s, want %s", i, res[0].Action, st.action)
		}
		tasks, comments := outboxFiles(t, out)
		var task string
		for _, name := range tasks {
			if !strings.Contains(name, ".edit-") {
				b, _ := os.ReadFile(filepath.Join(out, name))
				task = string(b)
			}
		}
		if !strings.Contains(task, st.desc) {
			t.Errorf("step %d: description lacks %q:\n%s", i, st.desc, task)
		}
		if len(comments) != st.comments {
			t.Errorf("step %d: %d comments, want %d", i, len(comments), st.comments)
		}
	}
	tasks, comments := outboxFiles(t, out)
	for _, name := range tasks {
		if b, _ := os.ReadFile(filepath.Join(out, name)); strings.Contains(string(b), "comments at most once per") {
			t.Errorf("%s promises comments that a kept description does not make", name)
		}
	}
	last, _ := os.ReadFile(filepath.Join(out, comments[len(comments)-1]))
	if !strings.Contains(string(last), "this problem is back") {
		t.Errorf("the return comment:\n%s", last)
	}
}
