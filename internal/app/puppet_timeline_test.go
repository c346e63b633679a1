package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wikimedia/sheriff/checks"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/metrics"
	"github.com/wikimedia/sheriff/internal/pipeline"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// The timeline is real agent runs re-stamped over three days and 28 hosts
// by checks/testdata/puppet/timeline (go run it to regenerate).
const timelineDir = "../../checks/testdata/puppet"

type timelineTruth struct {
	Start  time.Time `json:"start"`
	Faults []struct {
		Label  string   `json:"label"`
		Titles []string `json:"titles"`
		Hosts  []struct {
			Host     string    `json:"host"`
			From     time.Time `json:"from"`
			GoneBy   time.Time `json:"gone_by"`
			ProvenAt time.Time `json:"proven_at"`
		} `json:"hosts"`
	} `json:"faults"`
	Runs map[string][]struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
		Ran   bool      `json:"ran"`
	} `json:"runs"`
}

func loadTimeline(t *testing.T) ([]event.Event, timelineTruth) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(timelineDir, "timeline.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for l := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
		ev, err := event.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	var truth timelineTruth
	raw, err := os.ReadFile(filepath.Join(timelineDir, "timeline_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	return evs, truth
}

// recordingBackend is an in-memory tracker that records every write.
type recordingBackend struct {
	mu    sync.Mutex
	tasks []filer.Task
	ops   []taskOp
}

type taskOp struct {
	Task int
	Op   string // create, comment, edit
	Text string
}

func (b *recordingBackend) ID() string                           { return "recording" }
func (b *recordingBackend) Init(context.Context, []string) error { return nil }
func (b *recordingBackend) CreatedSince(context.Context, time.Time) ([]filer.Task, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.tasks), nil
}
func (b *recordingBackend) SearchText(_ context.Context, word string, _ []string) ([]filer.Task, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []filer.Task
	for _, t := range b.tasks {
		if strings.Contains(t.Description, word) {
			out = append(out, t)
		}
	}
	return out, nil
}
func (b *recordingBackend) Get(_ context.Context, ids []int) ([]filer.Task, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []filer.Task
	for _, t := range b.tasks {
		if slices.Contains(ids, t.ID) {
			out = append(out, t)
		}
	}
	return out, nil
}
func (b *recordingBackend) Create(_ context.Context, nt filer.NewTask) (filer.Task, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := filer.Task{ID: len(b.tasks) + 1, Title: nt.Title, Description: nt.Description, Status: "open", URL: fmt.Sprintf("T%d", len(b.tasks)+1)}
	b.tasks = append(b.tasks, t)
	b.ops = append(b.ops, taskOp{t.ID, "create", nt.Title + "\n" + nt.Description})
	return t, nil
}
func (b *recordingBackend) Comment(_ context.Context, id int, text, status string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ops = append(b.ops, taskOp{id, "comment", status + "|" + text})
	return nil
}
func (b *recordingBackend) CommentsSince(context.Context, int, time.Time) ([]string, error) {
	return nil, nil
}
func (b *recordingBackend) EditDescription(_ context.Context, id int, desc string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tasks[id-1].Description = desc
	b.ops = append(b.ops, taskOp{id, "edit", desc})
	return nil
}

// byTask groups the writes per task title, in order.
func (b *recordingBackend) byTask() map[string][]taskOp {
	out := map[string][]taskOp{}
	for _, op := range b.ops {
		title := b.tasks[op.Task-1].Title
		op.Task = 0
		out[title] = append(out[title], op)
	}
	return out
}

type timelineRun struct {
	db        *store.DB
	puppet    *checks.Puppet
	backend   *recordingBackend
	announced *recordingNotifier
}

// recordingNotifier keeps the IRC lines the reporter would send.
type recordingNotifier struct{ lines []string }

func (n *recordingNotifier) Announce(_ context.Context, f finding.Finding, _ string) error {
	n.lines = append(n.lines, string(f.Status)+" "+f.Title)
	return nil
}

// byTitle groups the lines per finding, in order (across findings, a
// report pass hands out one step of each at a time).
func (n *recordingNotifier) byTitle() map[string][]string {
	out := map[string][]string{}
	for _, l := range n.lines {
		_, title, _ := strings.Cut(l, " ")
		out[title] = append(out[title], l)
	}
	return out
}

// replayTimeline feeds the events in batches of batch events (all at once
// when batch is 0), with a report pass after each batch.
func replayTimeline(t *testing.T, evs []event.Event, batch int) timelineRun {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := checks.NewPuppet(ctx, db, checks.PuppetOptions{}, log)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tracker.New(ctx, db, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	be := &recordingBackend{}
	// A fixed wall clock: what is filed must follow from event time alone.
	wall := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	// Storm control is the filer's and is judged on its own; off here.
	f, err := filer.New(ctx, db, be, filer.Options{CommentInterval: 24 * time.Hour, ReopenOnRegression: true,
		StormThreshold: -1, Now: wall}, log)
	if err != nil {
		t.Fatal(err)
	}
	irc := &recordingNotifier{}
	rep := &pipeline.Reporter{Tracker: tr, Filer: f, Sources: []pipeline.FindingSource{p}, Health: health.NewRegistry(),
		Metrics: metrics.New(), Log: log, Now: wall, Notifier: irc}
	if batch == 0 {
		batch = len(evs)
	}
	for i := 0; i < len(evs); i += batch {
		part := evs[i:min(i+batch, len(evs))]
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return p.Observe(ctx, tx, part, wall()) }); err != nil {
			t.Fatal(err)
		}
		if _, err := rep.ReportOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return timelineRun{db: db, puppet: p, backend: be, announced: irc}
}

type timelineTransition = checks.PuppetTransition

// transitions are what the report pass saw; each must have reached the filer.
func (r timelineRun) transitions(t *testing.T) []timelineTransition {
	t.Helper()
	var unreported int
	if err := r.db.QueryRowContext(t.Context(), `SELECT count(*) FROM puppet_transitions WHERE reported = 0`).Scan(&unreported); err != nil {
		t.Fatal(err)
	}
	if unreported > 0 {
		t.Errorf("%d transitions never reached the filer", unreported)
	}
	trs, err := r.puppet.Timeline(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return trs
}

// TestPuppetTimeline: over three days of real agent runs on 28 hosts, every
// cause is one task; no cause resolves while a host still has it (masked
// by a hiera break or a server outage, it is hidden, not recovered); at
// every transition the finding lists exactly the hosts that have the
// failure; the description is edited at each; a return after resolution is
// said at once; and reading live (small batches, report passes between) or
// in one go gives the same findings and the same task updates (issue 12,
// points 1, 2 and 5).
func TestPuppetTimeline(t *testing.T) {
	evs, truth := loadTimeline(t)
	oneGo := replayTimeline(t, evs, 0)
	live := replayTimeline(t, evs, 40)

	// Live and one go: the same transitions and the same writes per task.
	if diff := cmp.Diff(oneGo.transitions(t), live.transitions(t)); diff != "" {
		t.Errorf("transitions differ, one go (-) vs live (+):\n%s", diff)
	}
	if diff := cmp.Diff(oneGo.backend.byTask(), live.backend.byTask()); diff != "" {
		t.Errorf("task updates differ, one go (-) vs live (+):\n%s", diff)
	}
	if diff := cmp.Diff(oneGo.announced.byTitle(), live.announced.byTitle()); diff != "" {
		t.Errorf("IRC lines per finding differ, one go (-) vs live (+):\n%s", diff)
	}
	gc, _ := oneGo.puppet.Causes(t.Context())
	lc, _ := live.puppet.Causes(t.Context())
	if diff := cmp.Diff(gc, lc); diff != "" {
		t.Errorf("final causes differ, one go (-) vs live (+):\n%s", diff)
	}

	// Every cause one task, named as expected.
	var want []string
	titleOf := map[string]bool{}
	for _, f := range truth.Faults {
		for _, title := range f.Titles {
			if !titleOf[title] {
				titleOf[title] = true
				want = append(want, title)
			}
		}
	}
	want = append(want, "Puppet: agents not running on Beta Cluster hosts")
	var created []string
	for _, op := range oneGo.backend.ops {
		if op.Op == "create" {
			title, _, _ := strings.Cut(op.Text, "\n")
			created = append(created, title)
		}
	}
	sort.Strings(want)
	sort.Strings(created)
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("tasks filed (-want +got):\n%s", diff)
	}

	// At every transition: the hosts listed are exactly those with the
	// failure (hosts in the middle of a run are judged at the next one).
	settled := func(host string, at time.Time) bool {
		for _, r := range truth.Runs[host] {
			if !at.Before(r.Start) && !at.After(r.End) {
				return false
			}
		}
		return true
	}
	type span struct{ from, gone, proven time.Time }
	spans := map[string]map[string][]span{} // title -> host -> spans
	for _, f := range truth.Faults {
		for _, title := range f.Titles {
			if spans[title] == nil {
				spans[title] = map[string][]span{}
			}
			for _, h := range f.Hosts {
				spans[title][h.Host] = append(spans[title][h.Host], span{h.From, h.GoneBy, h.ProvenAt})
			}
		}
	}
	trs := oneGo.transitions(t)
	checked, resolutions := 0, 0
	for _, tr := range trs {
		if tr.Key == checks.PuppetStaleKey {
			for host, runs := range truth.Runs {
				if !settled(host, tr.At) {
					continue
				}
				var lastRan time.Time
				for _, r := range runs {
					if r.Ran && !r.End.After(tr.At) {
						lastRan = r.End
					}
				}
				due := lastRan.Add(2 * time.Hour)
				if d := tr.At.Sub(due); d > -time.Minute && d < time.Minute {
					continue // on the edge
				}
				if stale := tr.At.After(due); stale != slices.Contains(tr.Hosts, host) {
					t.Errorf("stale hosts at %s: %s stale=%v (last ran %s), listed %v", tr.At, host, stale, lastRan, tr.Hosts)
				}
			}
			continue
		}
		byHost, ok := spans[tr.Title]
		if !ok {
			t.Errorf("a cause the scenario does not have: %q", tr.Title)
			continue
		}
		if tr.Status == finding.StatusResolved {
			resolutions++
			for host, ss := range byHost {
				for _, s := range ss {
					if !s.from.After(tr.At) && (s.gone.IsZero() || s.gone.After(tr.At)) {
						t.Errorf("%q resolved at %s while %s still had it (gone by %s)", tr.Title, tr.At, host, s.gone)
					}
				}
			}
		}
		for host, ss := range byHost {
			if !settled(host, tr.At) {
				continue
			}
			has := false
			for _, s := range ss {
				has = has || !s.from.After(tr.At) && (s.proven.IsZero() || tr.At.Before(s.proven))
			}
			if listed := slices.Contains(tr.Hosts, host); listed != has {
				t.Errorf("%q at %s (%s): %s listed=%v, has it=%v", tr.Title, tr.At, tr.Status, host, listed, has)
			}
			checked++
		}
		for _, host := range tr.Hosts {
			if _, ok := byHost[host]; !ok {
				t.Errorf("%q at %s lists %s, which never had it", tr.Title, tr.At, host)
			}
		}
	}
	if checked < 100 || resolutions < 20 {
		t.Errorf("only %d host states and %d resolutions checked", checked, resolutions)
	}

	// Each transition edited the description; a return is said at once.
	ops := oneGo.backend.byTask()
	nginx := ops["Puppet: Service[nginx] failed to start"]
	var kinds []string
	for _, op := range nginx {
		switch {
		case op.Op == "comment" && strings.Contains(op.Text, "looks resolved"):
			kinds = append(kinds, "resolved")
		case op.Op == "comment" && strings.Contains(op.Text, "is back"):
			kinds = append(kinds, "back")
		}
	}
	if !slices.Equal(kinds, []string{"resolved", "back", "resolved"}) {
		t.Errorf("nginx comments: %v, want resolved, back, resolved", kinds)
	}
	// The description, as created and then edited at each transition,
	// lists exactly the hosts of that transition.
	byTitle := map[string][]timelineTransition{}
	for _, tr := range trs {
		title := tr.Title
		byTitle[title] = append(byTitle[title], tr)
	}
	for title, tops := range ops {
		var descs [][]string
		for _, op := range tops {
			if op.Op == "create" || op.Op == "edit" {
				descs = append(descs, descriptionHosts(op.Text))
			}
		}
		var want [][]string
		for _, tr := range byTitle[title] {
			want = append(want, slices.Sorted(slices.Values(tr.Hosts)))
		}
		if diff := cmp.Diff(want, descs); diff != "" {
			t.Errorf("%s: hosts in the description at each update (-transitions +description):\n%s", title, diff)
		}
	}

	// IRC: one line per new cause, resolution and return.
	var nginxLines []string
	for _, l := range oneGo.announced.lines {
		if strings.HasSuffix(l, "Puppet: Service[nginx] failed to start") {
			nginxLines = append(nginxLines, l)
		}
	}
	if want := []string{"new Puppet: Service[nginx] failed to start", "resolved Puppet: Service[nginx] failed to start",
		"regressed Puppet: Service[nginx] failed to start", "resolved Puppet: Service[nginx] failed to start"}; !slices.Equal(nginxLines, want) {
		t.Errorf("IRC lines of nginx: %q, want %q", nginxLines, want)
	}
	hiera := ops["Puppet: missing hiera key profile::mediawiki::php::fpm_port"]
	last := ""
	for _, op := range hiera {
		if op.Op == "edit" && strings.Contains(op.Text, "Failing on 20 host(s)") {
			last = op.Text
		}
	}
	if last == "" {
		t.Errorf("the hiera break's description never listed its 20 hosts")
	}
}

// descriptionHosts reads the hosts a task description lists as failing
// (hidden included) or stale.
func descriptionHosts(desc string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(desc, "\n") {
		switch {
		case strings.HasPrefix(l, "Failing on "), strings.Contains(l, "puppet agent(s) have not run"):
			in = true
		case in && strings.HasPrefix(l, "- "):
			host, _, _ := strings.Cut(strings.TrimPrefix(l, "- "), ":")
			out = append(out, host)
		default:
			in = false
		}
	}
	sort.Strings(out)
	return out
}
