package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/rota"
	"github.com/wikimedia/sheriff/internal/silence"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
)

var now0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

type fakeSpikes []tracker.Ref

func (f fakeSpikes) Active(context.Context) ([]tracker.Ref, error) { return f, nil }

type sigSpec struct {
	id, title  string
	status     finding.Status
	events     int
	age        time.Duration // last event before now0
	wiki, host string
	task       int
	taskURL    string
}

// dashServer is a server over a tracker holding specs, with silences and
// acks, at the fixed clock now0.
func dashServer(t testing.TB, specs []sigSpec) (*Server, *silence.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := tracker.New(ctx, db, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var occ []*tracker.Occurrences
	for _, sp := range specs {
		o := &tracker.Occurrences{Kind: finding.KindError, ID: sp.id, Title: sp.title, Sample: "sample of " + sp.id}
		for i := 0; i < sp.events; i++ {
			o.Add(now0.Add(-sp.age-time.Duration(i)*time.Hour), 10*time.Minute,
				map[string]string{"wiki": sp.wiki, "host": sp.host, "version": "1.45.0-wmf.1", "channel": "exception"})
		}
		occ = append(occ, o)
	}
	for _, part := range [][]*tracker.Occurrences{occ} {
		if err := db.Tx(ctx, func(tx *sql.Tx) error { _, err := tr.Record(ctx, tx, part); return err }); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range specs {
		if sp.status != "" {
			if err := tr.Reported(ctx, finding.KindError, sp.id, int64(sp.events), sp.status, sp.task, sp.taskURL, now0); err != nil {
				t.Fatal(err)
			}
		}
	}
	sil, err := silence.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sil.Now = func() time.Time { return now0 }
	r, err := rota.New(rota.Config{People: []rota.Person{{Nick: "alice", Account: "alice"}, {Nick: "bob", Account: "bob"}},
		Start: "2026-11-16", Days: 7, TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	h := health.NewRegistry()
	h.Register("filer", false)
	h.OK("filer", "dry-run")
	s := &Server{Tracker: tr, Health: h, Gatherer: prometheus.NewRegistry(), Version: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now0 },
		Silences: sil, Rota: r, Spikes: fakeSpikes{{Kind: finding.KindError, ID: "spiky"}}}
	return s, sil
}

func getList(t *testing.T, h http.Handler, path string) ([]listItem, http.Header) {
	t.Helper()
	resp, body := get(t, h, path)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	var out []listItem
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out, resp.Header
}

func ids(items []listItem) string {
	var s []string
	for _, it := range items {
		s = append(s, it.ID)
	}
	return strings.Join(s, " ")
}

// The list ranks by attention (spiking > regressed > new > known > acked >
// silenced > resolved), derives states from acks, silences and spikes, and
// filters by status, kind, facets and text like the page does.
func TestDashboardSignatureList(t *testing.T) {
	s, sil := dashServer(t, []sigSpec{
		{id: "known1", title: "Known thing", status: finding.StatusKnown, events: 5, age: time.Hour, wiki: "enwiki", host: "mw1"},
		{id: "new1", title: "Fresh TypeError in Foo", status: finding.StatusNew, events: 3, age: time.Minute, wiki: "dewiki", host: "mw2", task: 7, taskURL: "/data/outbox/error-new1.md"},
		{id: "regr1", title: "Old bug is back", status: finding.StatusRegressed, events: 2, age: 2 * time.Hour, wiki: "enwiki", host: "mw2", task: 12, taskURL: "https://phabricator.example/T12"},
		{id: "spiky", title: "Spiking DBQueryError", status: finding.StatusKnown, events: 40, age: time.Minute, wiki: "enwiki", host: "mw1"},
		{id: "acked1", title: "Acked warning", status: finding.StatusNew, events: 9, age: time.Minute, wiki: "enwiki", host: "mw1"},
		{id: "muted1", title: "Muted notice", status: finding.StatusNew, events: 9, age: time.Minute, wiki: "enwiki", host: "mw1"},
		{id: "done1", title: "Resolved fatal", status: finding.StatusResolved, events: 1, age: 48 * time.Hour, wiki: "enwiki", host: "mw1"},
	})
	ctx := context.Background()
	if err := sil.Ack(ctx, "acked1", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := sil.Add(ctx, silence.Silence{Matcher: "*muted*", Author: "bob", Reason: "noisy", Created: now0.Add(-time.Hour), Expires: now0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	all, hdr := getList(t, h, "/api/signatures")
	if got, want := ids(all), "spiky regr1 new1 known1 acked1 muted1 done1"; got != want {
		t.Errorf("attention order %q, want %q", got, want)
	}
	if hdr.Get("X-Total-Count") != "7" || hdr.Get("X-Spark-End") != "2026-11-21T13:00:00Z" {
		t.Errorf("headers %v", hdr)
	}
	states := map[string]string{}
	for _, it := range all {
		states[it.ID] = it.State
		if len(it.Spark) != sparkDays {
			t.Errorf("%s: spark %v", it.ID, it.Spark)
		}
	}
	for id, want := range map[string]string{"spiky": "spiking", "acked1": "acked", "muted1": "silenced", "done1": "resolved", "new1": "new", "known1": "known"} {
		if states[id] != want {
			t.Errorf("%s: state %q, want %q", id, states[id], want)
		}
	}
	var spiky, newOne listItem
	for _, it := range all {
		switch it.ID {
		case "spiky":
			spiky = it
		case "new1":
			newOne = it
		}
	}
	if sum(spiky.Spark) != 40 || spiky.Top["wiki"][0].Value != "enwiki" || spiky.Top["host"][0].Count != 40 {
		t.Errorf("spiky spark %v top %v", spiky.Spark, spiky.Top)
	}
	// A dry-run task is named, never linked to its file.
	if newOne.Task != "T7" || newOne.TaskURL != "" || !newOne.DryRun {
		t.Errorf("dry-run task: %+v", newOne.apiSignature)
	}
	for _, tc := range []struct{ query, want string }{
		{"status=new", "new1"},
		{"status=acked", "acked1"},
		{"status=silenced", "muted1"},
		{"status=spiking", "spiky"},
		{"status=known", "known1"}, // the state shown, not the tracker's status
		{"wiki=dewiki", "new1"},
		{"host=mw2", "regr1 new1"},
		{"host=mw2&wiki=enwiki", "regr1"},
		{"version=1.45.0-wmf.1&limit=2", "spiky regr1"},
		{"channel=exception&q=typeerror", "new1"},
		{"q=REGR", "regr1"},
		{"kind=puppet", ""},
		{"order=count&limit=3", "spiky acked1 muted1"},
		{"order=first_seen&status=resolved", "done1"},
	} {
		got, _ := getList(t, h, "/api/signatures?"+tc.query)
		if ids(got) != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, ids(got), tc.want)
		}
	}
	if resp, _ := get(t, h, "/api/signatures?order=random"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad order: %d", resp.StatusCode)
	}
}

func sum(v []int64) (n int64) {
	for _, x := range v {
		n += x
	}
	return n
}

// A signature's page: hourly counts, silences with author and reason,
// the ack, the audit trail of commands about it.
func TestDashboardSignatureDetail(t *testing.T) {
	s, sil := dashServer(t, []sigSpec{{id: "regr1", title: "Old bug is back", status: finding.StatusRegressed, events: 5, age: 30 * time.Minute,
		wiki: "enwiki", host: "mw2", task: 12, taskURL: "https://phabricator.example/T12"}})
	ctx := context.Background()
	if _, err := sil.Add(ctx, silence.Silence{Matcher: "T12", Author: "bob", Reason: "train", Created: now0.Add(-3 * time.Hour), Expires: now0.Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := sil.Ack(ctx, "regr1", "alice"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []silence.AuditEntry{
		{Who: "alice", Action: "ack", Args: "regr1 [alice in #c]", Result: "ok"},
		{Who: "bob", Action: "silence", Args: "T12 1h train [bob in #c]", Result: "ok"},
		{Who: "eve", Action: "ack", Args: "other [eve in #c]", Result: "ok"},
	} {
		if err := sil.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := get(t, s.Handler(), "/api/signatures/error/regr1")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var d signatureDetail
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if d.State != "acked" || d.Ack == nil || d.Ack.Who != "alice" || d.Sample != "sample of regr1" || d.TaskURL != "https://phabricator.example/T12" {
		t.Errorf("detail %+v", d)
	}
	if len(d.Hourly.Count) != chartHours || sum(d.Hourly.Count) != 5 || d.Hourly.Step != "1h" {
		t.Errorf("hourly: %d hours, %d events", len(d.Hourly.Count), sum(d.Hourly.Count))
	}
	// Five events an hour apart, the last 30 min before now: five buckets.
	nonzero := 0
	for _, c := range d.Hourly.Count {
		if c > 0 {
			nonzero++
		}
	}
	if nonzero != 5 {
		t.Errorf("%d non-empty hours, want 5", nonzero)
	}
	if len(d.Silences) != 1 || d.Silences[0].Author != "bob" || d.Silences[0].Reason != "train" || d.Silences[0].Active {
		t.Errorf("silences %+v", d.Silences)
	}
	var trail []string
	for _, a := range d.Audit {
		trail = append(trail, a.Who+" "+a.Action)
	}
	if strings.Join(trail, ", ") != "bob silence, alice ack" {
		t.Errorf("audit trail %v", trail)
	}
}

// On duty: now and next from the rota, open unacked findings, health.
func TestDashboardDuty(t *testing.T) {
	s, sil := dashServer(t, []sigSpec{
		{id: "new1", title: "Fresh", status: finding.StatusNew, events: 1, age: time.Minute},
		{id: "new2", title: "Acked", status: finding.StatusNew, events: 1, age: time.Minute},
		{id: "k", title: "Known", status: finding.StatusKnown, events: 1, age: time.Minute},
		{id: "old", title: "Known, quiet for days", status: finding.StatusKnown, events: 1, age: 72 * time.Hour},
		{id: "fixed", title: "Resolved", status: finding.StatusResolved, events: 1, age: time.Minute},
	})
	if err := sil.Ack(context.Background(), "new2", "alice"); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, s.Handler(), "/api/duty")
	var d dutyResponse
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Rota || d.Current.Nick != "alice" || d.Next.Nick != "bob" || !d.Handoff.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("duty %+v %+v %v", d.Current, d.Next, d.Handoff)
	}
	// Open: new ones, and known ones seen today; not acked, quiet or resolved ones.
	if got := ids(d.Unacked); got != "new1 k" || d.Total != 2 {
		t.Errorf("unacked %q (%d)", got, d.Total)
	}
	if d.Filer == nil || d.Filer.State != health.StateOK || d.IRC != nil {
		t.Errorf("health: filer %+v irc %+v", d.Filer, d.IRC)
	}
	_, body = get(t, s.Handler(), "/api/drift")
	if body = strings.TrimSpace(body); !strings.Contains(body, `"configured": false`) {
		t.Errorf("drift without a runner: %s", body)
	}
	_, body = get(t, s.Handler(), "/api/facets")
	if !strings.Contains(body, `"channel"`) || !strings.Contains(body, `"value": "exception"`) {
		t.Errorf("facets: %s", body)
	}
}

// BenchmarkDashboardList is the page's server time for 10,000 signatures:
// the default view (every signature ranked, the first 200 with sparklines
// and top facets) and a filtered one.
func BenchmarkDashboardList(b *testing.B) {
	var specs []sigSpec
	for i := 0; i < 10000; i++ {
		st := []finding.Status{finding.StatusNew, finding.StatusKnown, finding.StatusRegressed, finding.StatusResolved}[i%4]
		specs = append(specs, sigSpec{id: fmt.Sprintf("sig%05d", i), title: fmt.Sprintf("Error %d in Class%d::method", i, i%97),
			status: st, events: 1 + i%5, age: time.Duration(i%300) * time.Minute, wiki: fmt.Sprintf("wiki%d", i%40), host: fmt.Sprintf("mw%d", i%25)})
	}
	s, _ := dashServer(b, specs)
	h := s.Handler()
	for _, path := range []string{"/api/signatures", "/api/signatures?status=new&wiki=wiki3&q=class3", "/api/duty", "/"} {
		b.Run(strings.NewReplacer("/", "_", "?", "_").Replace(path), func(b *testing.B) {
			for b.Loop() {
				rec := &discard{h: http.Header{}}
				req, _ := http.NewRequest("GET", path, nil)
				h.ServeHTTP(rec, req)
				if rec.code != 0 && rec.code != 200 {
					b.Fatalf("%s: %d", path, rec.code)
				}
			}
		})
	}
}

type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(c int)           { d.code = c }
