package filer

import (
	"context"
	"errors"
	"fmt"
	"github.com/wikimedia/sheriff/internal/clock"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/conduit"
	"github.com/wikimedia/sheriff/internal/conduitfake"
	"github.com/wikimedia/sheriff/internal/finding"
)

const botToken = "api-sheriffbot0000000000000000000"

type env struct {
	t     *testing.T
	srv   *conduitfake.Server
	clk   *clock.Fake
	dir   string
	opts  Options
	httpc *http.Client
}

func newEnv(t *testing.T) *env {
	clk := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := conduitfake.New(conduitfake.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	srv.AddUser("sheriff-bot", botToken)
	srv.AddProject("Beta-Cluster-Infrastructure", "beta-cluster-infrastructure")
	srv.AddProject("Wikimedia-production-error", "wikimedia-production-error")
	return &env{t: t, srv: srv, clk: clk, dir: t.TempDir(), httpc: &http.Client{Timeout: 2 * time.Second},
		opts: Options{Projects: []string{"#beta-cluster-infrastructure", "Wikimedia-production-error"},
			Now: clk.Now, CommentInterval: 24 * time.Hour, ReopenOnRegression: true, StormThreshold: -1,
			IntentGrace: 10 * time.Minute, Redactor: stubRedactor{}}}
}

type stubRedactor struct{}

func (stubRedactor) String(s string) string {
	return strings.ReplaceAll(s, "hunter2", "[REDACTED]")
}

func (e *env) client() *conduit.Client {
	c, err := conduit.New(conduit.Options{URL: e.srv.URL, Token: botToken, WriteInterval: time.Microsecond,
		HTTPClient: e.httpc, MaxAttempts: 3, Backoff: backoff.Policy{Base: time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// filer opens a filer on the env's database (named db so tests can "lose"
// it by switching names).
func (e *env) filer(db string) *Filer {
	e.t.Helper()
	d := openDB(e.t, filepath.Join(e.dir, db))
	f, err := New(context.Background(), d, NewPhabricator(e.client(), nil), e.opts, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func (e *env) sync(f *Filer, fs ...finding.Finding) []Result {
	e.t.Helper()
	rs, err := f.Sync(context.Background(), fs)
	if err != nil {
		e.t.Fatalf("Sync: %v", err)
	}
	return rs
}

func actions(rs []Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r.Action))
	}
	return strings.Join(s, ",")
}

// tasksFor counts tasks whose own marker is the finding's.
func (e *env) tasksFor(fd finding.Finding) []conduitfake.Task {
	var out []conduitfake.Task
	mk := Marker(fd.Kind, fd.Key)
	for _, t := range e.srv.Tasks() {
		if own, _ := parseMarkers(t.Description); own == mk {
			out = append(out, t)
		}
	}
	return out
}

func (e *env) botComments(t conduitfake.Task) []string {
	var out []string
	for _, c := range t.Comments {
		if c.AuthorPHID != "PHID-USER-human" {
			out = append(out, c.Text)
		}
	}
	return out
}

func TestNewFailsClearly(t *testing.T) {
	e := newEnv(t)
	d := openDB(t, e.dir)
	o := e.opts
	o.Projects = []string{"#no-such-project"}
	_, err := New(context.Background(), d, NewPhabricator(e.client(), nil), o, nil)
	if !errors.Is(err, conduit.ErrUnknownProject) || !strings.Contains(err.Error(), "no-such-project") {
		t.Fatalf("unknown project: %v", err)
	}
	c, _ := conduit.New(conduit.Options{URL: e.srv.URL, Token: "api-bad"})
	_, err = New(context.Background(), d, NewPhabricator(c, nil), e.opts, nil)
	if !errors.Is(err, conduit.ErrInvalidAuth) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestCreateContentAndMapping(t *testing.T) {
	e := newEnv(t)
	f := e.filer("a")
	fd := errFinding("0123456789abcdef", 7, "enwiki", "dewiki")
	fd.Sample = "password=hunter2 failed"
	fd.Severity = "high"
	fd.Projects = []string{"#no-such-rule-project"}
	rs := e.sync(f, fd)
	if len(rs) != 1 || rs[0].Action != ActionCreated || rs[0].TaskID != 1 || !strings.HasSuffix(rs[0].URL, "/T1") {
		t.Fatalf("results %+v", rs)
	}
	tk, _ := e.srv.Task(1)
	if tk.Title != fd.Title || tk.Priority != "high" || len(tk.Projects) != 2 {
		t.Errorf("task %q prio %q projects %v", tk.Title, tk.Priority, tk.Projects)
	}
	for _, want := range []string{"enwiki (6)", "dewiki (1)", "**First seen:** 2025-03-01 11:00:00 UTC", "```\n#0 ApiMain.php(12): x()\n```",
		"password=[REDACTED] failed", "\nsheriffmarker sheriffsigerror0123456789abcdef\n"} {
		if !strings.Contains(tk.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, tk.Description)
		}
	}
	if strings.Contains(tk.Description, "hunter2") {
		t.Error("secret leaked")
	}
	ms, err := f.Tasks(context.Background())
	if err != nil || len(ms) != 1 || ms[0].TaskID != 1 || ms[0].Key != fd.Key || ms[0].ReportedCount != 7 {
		t.Fatalf("mapping %+v %v", ms, err)
	}
}

func TestDedupLadder(t *testing.T) {
	fd := errFinding("00000000aaaaaaaa", 2, "enwiki")
	tests := []struct {
		name        string
		prepare     func(e *env)
		wantAction  Action
		wantCreates int // maniphest.edit calls during the second filer's Sync
	}{
		{"local mapping", func(e *env) {}, ActionUnchanged, 0},
		{"marker search after database loss", func(e *env) { e.srv.IndexNow() }, ActionUnchanged, 0},
		{"own recent tasks while the index lags", func(e *env) { e.srv.SetDaemonsDown(true) }, ActionUnchanged, 0},
		{"create when nothing exists", func(e *env) {}, ActionCreated, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetIndexDelay(time.Hour)
			db := "first"
			if tt.name != "create when nothing exists" {
				e.sync(e.filer(db), fd)
			}
			if tt.name != "local mapping" {
				db = "second" // a fresh database: the mapping is lost
			}
			tt.prepare(e)
			before := e.srv.Calls("maniphest.edit")
			rs := e.sync(e.filer(db), fd)
			if rs[0].Action != tt.wantAction {
				t.Errorf("action %s, want %s", rs[0].Action, tt.wantAction)
			}
			if n := e.srv.Calls("maniphest.edit") - before; n != tt.wantCreates {
				t.Errorf("%d edits, want %d", n, tt.wantCreates)
			}
			if n := len(e.tasksFor(fd)); n != 1 {
				t.Errorf("%d tasks, want exactly 1", n)
			}
		})
	}
}

func TestMarkerQuotedInAnotherTaskIsNotAMatch(t *testing.T) {
	e := newEnv(t)
	fd := errFinding("00000000bbbbbbbb", 2, "enwiki")
	c := e.client()
	// A human pastes the marker into an unrelated task.
	if _, err := c.EditTask(context.Background(), "", []conduit.Transaction{conduit.TxTitle("other"),
		conduit.TxDescription("see " + Marker(fd.Kind, fd.Key) + " maybe")}); err != nil {
		t.Fatal(err)
	}
	e.srv.IndexNow()
	rs := e.sync(e.filer("a"), fd)
	if rs[0].Action != ActionCreated || rs[0].TaskID != 2 {
		t.Fatalf("results %+v", rs)
	}
}

func TestSlowIndexNoDuplicate(t *testing.T) {
	e := newEnv(t)
	e.srv.SetDaemonsDown(true)
	fd := errFinding("00000000cccccccc", 1, "enwiki")
	f := e.filer("a")
	e.sync(f, fd)
	e.sync(f, fd)
	fd.Count = 3
	e.sync(e.filer("a"), fd) // restart
	if n := len(e.srv.Tasks()); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
}

func TestUnknownOutcomeResolvedByMarker(t *testing.T) {
	tests := []struct {
		name  string
		fault conduitfake.Fault
	}{
		{"timeout after create", conduitfake.Fault{Kind: conduitfake.FaultHang}},
		{"connection dropped after create", conduitfake.Fault{Kind: conduitfake.FaultDrop}},
		{"502 after create", conduitfake.Fault{Kind: conduitfake.FaultStatus, Status: 502, After: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.httpc.Timeout = 300 * time.Millisecond
			e.srv.SetDaemonsDown(true) // the index never helps
			fd := errFinding("00000000dddddddd", 1, "enwiki")
			f := e.filer("a")
			tt.fault.Method = "maniphest.edit"
			e.srv.InjectFault(tt.fault)
			rs, err := f.Sync(context.Background(), []finding.Finding{fd})
			if err == nil || rs[0].Action != ActionPending {
				t.Fatalf("first sync: %+v %v", rs, err)
			}
			e.srv.WaitIdle()
			// Restart and sync again before the grace: the task is found.
			rs = e.sync(e.filer("a"), fd)
			if rs[0].Action != ActionUnchanged || rs[0].TaskID != 1 {
				t.Fatalf("second sync: %+v", rs)
			}
			if n := len(e.srv.Tasks()); n != 1 {
				t.Fatalf("%d tasks, want 1", n)
			}
		})
	}
}

func TestCreateThatNeverArrivedWaitsForGrace(t *testing.T) {
	e := newEnv(t)
	e.srv.SetDaemonsDown(true)
	fd := errFinding("00000000eeeeeeee", 1, "enwiki")
	f := e.filer("a")
	e.srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultStatus, Status: 504})
	if _, err := f.Sync(context.Background(), []finding.Finding{fd}); err == nil {
		t.Fatal("no error")
	}
	e.clk.Advance(time.Minute)
	if rs := e.sync(f, fd); rs[0].Action != ActionPending {
		t.Fatalf("within grace: %s", actions(rs))
	}
	if len(e.srv.Tasks()) != 0 {
		t.Fatal("filed while the intent was pending")
	}
	e.clk.Advance(10 * time.Minute)
	if rs := e.sync(f, fd); rs[0].Action != ActionCreated {
		t.Fatalf("after grace: %s", actions(rs))
	}
	if n := len(e.srv.Tasks()); n != 1 {
		t.Fatalf("%d tasks", n)
	}
}

func TestRejectedCreateIsRetriedAtOnce(t *testing.T) {
	e := newEnv(t)
	f := e.filer("a")
	fd := errFinding("00000000ffffffff", 1, "enwiki")
	e.srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultErrorCode, Code: "ERR-CONDUIT-CORE", Info: "validation failed"})
	_, err := f.Sync(context.Background(), []finding.Finding{fd})
	var ce *conduit.Error
	if !errors.As(err, &ce) || ce.Code != "ERR-CONDUIT-CORE" || !errors.Is(err, ErrRejected) {
		t.Fatalf("err %v", err)
	}
	if rs := e.sync(f, fd); rs[0].Action != ActionCreated {
		t.Fatalf("retry: %s", actions(rs))
	}
}

func TestCommentThrottling(t *testing.T) {
	e := newEnv(t)
	f := e.filer("a")
	fd := errFinding("1111111100000000", 5, "enwiki")
	e.sync(f, fd)
	steps := []struct {
		advance time.Duration
		count   int64
		wikis   []string
		want    Action
	}{
		{time.Hour, 9, []string{"enwiki"}, ActionUnchanged},
		{22 * time.Hour, 12, []string{"enwiki"}, ActionUnchanged},
		{time.Hour, 15, []string{"enwiki", "frwiki"}, ActionCommented}, // 24h after filing
		{time.Minute, 15, []string{"enwiki", "frwiki"}, ActionUnchanged},
		{23 * time.Hour, 20, []string{"enwiki", "frwiki"}, ActionUnchanged},
		{2 * time.Hour, 20, []string{"enwiki", "frwiki"}, ActionCommented}, // the accumulated events
		{time.Minute, 21, []string{"enwiki", "frwiki"}, ActionUnchanged},
	}
	for i, s := range steps {
		e.clk.Advance(s.advance)
		fd = errFinding("1111111100000000", s.count, s.wikis...)
		if rs := e.sync(f, fd); rs[0].Action != s.want {
			t.Fatalf("step %d: %s, want %s", i, rs[0].Action, s.want)
		}
	}
	tk, _ := e.srv.Task(1)
	cs := e.botComments(tk)
	if len(cs) != 2 {
		t.Fatalf("comments %q", cs)
	}
	if !strings.HasPrefix(cs[0], "10 more events since 2025-03-01 12:00:00 UTC (15 in total") || !strings.Contains(cs[0], "now also on wiki frwiki") {
		t.Errorf("first comment %q", cs[0])
	}
	if !strings.HasPrefix(cs[1], "5 more events since 2025-03-02 12:00:00 UTC") || strings.Contains(cs[1], "now also on") {
		t.Errorf("second comment %q", cs[1])
	}
}

func TestRegressionReopens(t *testing.T) {
	for _, reopen := range []bool{true, false} {
		t.Run(fmt.Sprint("reopen=", reopen), func(t *testing.T) {
			e := newEnv(t)
			e.opts.ReopenOnRegression = reopen
			f := e.filer("a")
			fd := errFinding("2222222200000000", 5, "enwiki")
			e.sync(f, fd)
			e.clk.Advance(time.Hour)
			e.srv.SetStatus(1, "resolved")
			// Late events from before the resolution are not a regression.
			fd.Count = 6
			if rs := e.sync(f, fd); rs[0].Action != ActionUnchanged {
				t.Fatalf("late events: %s", actions(rs))
			}
			e.clk.Advance(time.Hour)
			fd.Count, fd.LastSeen = 8, e.clk.Now()
			rs := e.sync(f, fd)
			tk, _ := e.srv.Task(1)
			if reopen {
				if rs[0].Action != ActionReopened || tk.Status != "open" {
					t.Fatalf("%s, status %s", actions(rs), tk.Status)
				}
				if cs := e.botComments(tk); len(cs) != 1 || !strings.HasPrefix(cs[0], "This came back after the task was closed as resolved: 3 more events") {
					t.Fatalf("comments %q", cs)
				}
			} else if rs[0].Action != ActionUnchanged || tk.Status != "resolved" {
				// Within the comment interval: nothing at all.
				t.Fatalf("%s, status %s", actions(rs), tk.Status)
			}
			if len(e.srv.Tasks()) != 1 {
				t.Fatal("refiled")
			}
		})
	}
}

func TestDeclinedIsSilenced(t *testing.T) {
	for _, status := range []string{"declined", "invalid"} {
		t.Run(status, func(t *testing.T) {
			e := newEnv(t)
			f := e.filer("a")
			fd := errFinding("3333333300000000", 5, "enwiki")
			e.sync(f, fd)
			e.srv.SetStatus(1, status)
			for i := 0; i < 3; i++ {
				e.clk.Advance(48 * time.Hour)
				fd.Count += 10
				fd.LastSeen = e.clk.Now()
				rs := e.sync(f, fd)
				if rs[0].Action != ActionSilenced || !rs[0].Silenced {
					t.Fatalf("round %d: %+v", i, rs[0])
				}
			}
			// Even with the database lost, the declined task is found and
			// respected.
			e.srv.IndexNow()
			if rs := e.sync(e.filer("b"), fd); !rs[0].Silenced {
				t.Fatalf("after database loss: %+v", rs[0])
			}
			tk, _ := e.srv.Task(1)
			if len(e.srv.Tasks()) != 1 || len(e.botComments(tk)) != 0 {
				t.Fatalf("tasks %d comments %q", len(e.srv.Tasks()), e.botComments(tk))
			}
		})
	}
}

func TestStormUmbrella(t *testing.T) {
	e := newEnv(t)
	e.opts.StormThreshold = 3
	e.opts.StormWindow = 15 * time.Minute
	f := e.filer("a")
	var fs []finding.Finding
	for i := 0; i < 5; i++ {
		fs = append(fs, errFinding(fmt.Sprintf("44444444%08d", i), 2, "enwiki"))
		// A live burst: first seen as they are filed.
		fs[i].FirstSeen = e.clk.Now().Add(time.Duration(i) * time.Minute)
		fs[i].LastSeen = fs[i].FirstSeen
	}
	// Two signatures arrive first and are filed normally.
	if rs := e.sync(f, fs[:2]...); actions(rs) != "created,created" {
		t.Fatalf("first: %s", actions(rs))
	}
	// Two more: 4 > 3 within the window: an umbrella for these two.
	e.clk.Advance(time.Minute)
	rs := e.sync(f, fs[2:4]...)
	if actions(rs) != "umbrella,umbrella" || rs[0].TaskID != 3 {
		t.Fatalf("storm: %+v", rs)
	}
	umb, _ := e.srv.Task(3)
	if !strings.HasPrefix(umb.Title, "Storm: 2 new signatures") || !strings.Contains(umb.Description, "sheriffmember "+Marker(fs[2].Kind, fs[2].Key)) {
		t.Fatalf("umbrella %q:\n%s", umb.Title, umb.Description)
	}
	// A fifth within the window joins the umbrella by a comment.
	e.clk.Advance(time.Minute)
	if rs := e.sync(f, fs[4]); rs[0].Action != ActionUmbrella || rs[0].TaskID != 3 {
		t.Fatalf("join: %+v", rs)
	}
	if len(e.srv.Tasks()) != 3 {
		t.Fatalf("%d tasks", len(e.srv.Tasks()))
	}
	// More events of members while the umbrella is open: nothing.
	e.clk.Advance(48 * time.Hour)
	fs[2].Count = 50
	if rs := e.sync(f, fs[2]); rs[0].Action != ActionUmbrella {
		t.Fatalf("member update: %+v", rs)
	}
	// Resync after database loss finds all five, members on the umbrella.
	e.srv.IndexNow()
	f2 := e.filer("b")
	if n, err := f2.Resync(context.Background()); err != nil || n != 6 {
		t.Fatalf("resync: %d %v", n, err)
	}
	ms, _ := f2.Tasks(context.Background())
	onUmbrella := 0
	for _, m := range ms {
		if m.Umbrella != "" && m.TaskID == 3 {
			onUmbrella++
		}
	}
	if onUmbrella != 3 {
		t.Fatalf("%d members on the umbrella after resync: %+v", onUmbrella, ms)
	}
	// The umbrella is resolved; a member that comes back gets its own task.
	e.srv.SetStatus(3, "resolved")
	e.clk.Advance(time.Hour)
	fs[3].Count, fs[3].LastSeen = 9, e.clk.Now()
	rs = e.sync(f2, fs[3])
	if rs[0].Action != ActionCreated || rs[0].TaskID != 4 {
		t.Fatalf("member regression: %+v", rs)
	}
	if n := len(e.tasksFor(fs[3])); n != 1 {
		t.Fatalf("%d own tasks", n)
	}
}

func TestResyncAfterDatabaseLoss(t *testing.T) {
	e := newEnv(t)
	f := e.filer("a")
	var fs []finding.Finding
	for i := 0; i < 4; i++ {
		fs = append(fs, errFinding(fmt.Sprintf("55555555%08d", i), 3, "enwiki"))
	}
	drift := finding.Finding{Kind: finding.KindDrift, Key: "wmf-config/InitialiseSettings.php wgFoo", Title: "Drift: wgFoo", Count: 1}
	fs = append(fs, drift)
	rs := e.sync(f, fs...)
	declined := 0
	for _, r := range rs {
		if r.Key == fs[1].Key {
			declined = r.TaskID
		}
	}
	e.srv.SetStatus(declined, "declined")
	e.srv.SetDaemonsDown(true) // resync must not depend on the index either

	f2 := e.filer("b")
	n, err := f2.Resync(context.Background())
	if err != nil || n != 5 {
		t.Fatalf("resync: %d %v", n, err)
	}
	ms, _ := f2.Tasks(context.Background())
	for _, m := range ms {
		if m.Key == "" || m.Kind == "" {
			t.Errorf("mapping without identity: %+v", m)
		}
		if m.TaskID == declined && !m.Silenced {
			t.Errorf("declined task not silenced: %+v", m)
		}
	}
	edits := e.srv.Calls("maniphest.edit")
	e.clk.Advance(48 * time.Hour)
	for i := range fs {
		fs[i].Count++
	}
	rs = e.sync(f2, fs...)
	if e.srv.Calls("maniphest.edit") != edits {
		t.Fatalf("sync after resync wrote: %s", actions(rs))
	}
	if len(e.srv.Tasks()) != 5 {
		t.Fatalf("%d tasks", len(e.srv.Tasks()))
	}
	// From then on, normal reporting.
	e.clk.Advance(48 * time.Hour)
	fs[0].Count += 5
	if rs := e.sync(f2, fs[0]); rs[0].Action != ActionCommented {
		t.Fatalf("after baseline: %s", actions(rs))
	}
}

func TestCommentTimeoutNotDuplicated(t *testing.T) {
	e := newEnv(t)
	e.httpc.Timeout = 300 * time.Millisecond
	f := e.filer("a")
	fd := errFinding("6666666600000000", 1, "enwiki")
	e.sync(f, fd)
	e.clk.Advance(25 * time.Hour)
	fd.Count = 4
	e.srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultHang})
	if _, err := f.Sync(context.Background(), []finding.Finding{fd}); err == nil {
		t.Fatal("no error")
	}
	e.srv.WaitIdle()
	rs := e.sync(e.filer("a"), fd)
	if rs[0].Action != ActionUnchanged {
		t.Fatalf("after restart: %s", actions(rs))
	}
	tk, _ := e.srv.Task(1)
	if cs := e.botComments(tk); len(cs) != 1 {
		t.Fatalf("comments %q", cs)
	}
}

func TestDryRunAndPhabricatorMappingsAreSeparate(t *testing.T) {
	e := newEnv(t)
	fd := errFinding("7777777700000000", 1, "enwiki")
	d := openDB(t, filepath.Join(e.dir, "a"))
	o := e.opts
	o.OutboxDir = filepath.Join(e.dir, "outbox")
	fo, err := New(context.Background(), d, nil, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs := e.sync(fo, fd); rs[0].Action != ActionDryRun {
		t.Fatalf("dry-run: %s", actions(rs))
	}
	if rs := e.sync(e.filer("a"), fd); rs[0].Action != ActionCreated {
		t.Fatalf("real after dry-run: %s", actions(rs))
	}
	if _, err := os.Stat(filepath.Join(o.OutboxDir, "error-7777777700000000.md")); err != nil {
		t.Fatal(err)
	}
}

func TestResolvedFindingCommentsWithoutNewEvents(t *testing.T) {
	e := newEnv(t)
	f := e.filer("a")
	fd := finding.Finding{Kind: finding.KindPuppet, Key: "aaaaaaaabbbbbbbb", Title: "Puppet: Service[nginx] failed to start",
		Status: finding.StatusNew, FirstSeen: e.clk.Now(), LastSeen: e.clk.Now(), Count: 2,
		Facets: map[string]finding.Facet{"host": {"deployment-web01": 1, "deployment-web02": 1}}}
	if rs := e.sync(f, fd); rs[0].Action != ActionCreated {
		t.Fatalf("create: %+v", rs)
	}
	e.clk.Advance(time.Hour)
	fd.Status, fd.Details = finding.StatusResolved, "All 2 hosts have had a clean run."
	if rs := e.sync(f, fd); rs[0].Action != ActionCommented {
		t.Fatalf("resolved: %+v", rs)
	}
	tk, _ := e.srv.Task(1)
	cs := e.botComments(tk)
	if len(cs) != 1 || !strings.Contains(cs[0], "looks resolved") || !strings.Contains(cs[0], "All 2 hosts") {
		t.Fatalf("comments %q", cs)
	}
	if !isOpen(tk.Status) {
		t.Errorf("sheriff closed the task itself: %s", tk.Status)
	}
}

func TestRefreshAndNote(t *testing.T) {
	e := newEnv(t)
	f := e.filer("a")
	a, b := errFinding("5555555500000001", 2, "enwiki"), errFinding("5555555500000002", 2, "enwiki")
	if rs := e.sync(f, a, b); actions(rs) != "created,created" {
		t.Fatalf("create: %s", actions(rs))
	}
	ctx := context.Background()
	if ch, err := f.Refresh(ctx); err != nil || len(ch) != 0 {
		t.Fatalf("refresh with nothing changed: %v %v", ch, err)
	}
	e.srv.SetStatus(1, "resolved")
	e.srv.SetStatus(2, "declined")
	ch, err := f.Refresh(ctx)
	if err != nil || len(ch) != 2 {
		t.Fatalf("refresh: %+v %v", ch, err)
	}
	states := map[string]TaskState{}
	for _, m := range ch {
		states[m.Key] = m.State()
	}
	if states[a.Key] != TaskResolved || states[b.Key] != TaskSilenced {
		t.Fatalf("states %v", states)
	}
	// Notes go only to open tasks.
	if ok, err := f.Note(ctx, a.Kind, a.Key, "stopped"); ok || err != nil {
		t.Fatalf("note on a resolved task: %v %v", ok, err)
	}
	e.srv.SetStatus(1, "open")
	if _, err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Note(ctx, a.Kind, a.Key, "This signature stopped: no events for 1h."); !ok || err != nil {
		t.Fatalf("note on an open task: %v %v", ok, err)
	}
	tk, _ := e.srv.Task(1)
	if cs := e.botComments(tk); len(cs) != 1 || !strings.Contains(cs[0], "stopped") {
		t.Fatalf("comments %q", cs)
	}
}
