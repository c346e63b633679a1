package checks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wikimedia/sheriff/internal/clock"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wikimedia/sheriff/internal/esfake"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/store"
)

// lsBase is the wall-clock "now" at the start of every test.
var lsBase = time.Date(2025, 3, 10, 0, 30, 0, 0, time.UTC)

// lsLogBuffer collects log output from concurrent writers.
type lsLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lsLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lsLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lsHarness is a fake cluster, a database file and a watcher over them, plus a
// consumer that applies events to a table in the same transaction as Commit,
// as the pipeline does.
type lsHarness struct {
	t         *testing.T
	ctx       context.Context
	es        *esfake.Server
	path      string
	db        *store.DB
	w         *Logstash
	clk       *clock.Fake
	cfg       LogstashConfig
	logs      *lsLogBuffer
	malformed map[string]bool // keys of documents that cannot be decoded
	excluded  map[string]bool // keys of documents that must not be delivered (beyond Lag, filtered out)
	n         int
}

func newLSHarness(t *testing.T, cfg LogstashConfig, opts ...esfake.Option) *lsHarness {
	t.Helper()
	es := esfake.New(opts...)
	t.Cleanup(es.Close)
	h := &lsHarness{t: t, ctx: context.Background(), es: es, path: filepath.Join(t.TempDir(), "sheriff.db"),
		clk: clock.NewFake(lsBase), logs: &lsLogBuffer{}, malformed: map[string]bool{}, excluded: map[string]bool{}}
	cfg.URLs = append(cfg.URLs, es.URL())
	cfg.Now = h.clk.Now
	if cfg.Start.IsZero() {
		cfg.Start = lsBase.Add(-48 * time.Hour)
	}
	h.cfg = cfg
	h.restart()
	return h
}

// restart simulates a sheriff restart: a new database handle on the same
// file and a new watcher, with nothing kept in memory.
func (h *lsHarness) restart() {
	h.t.Helper()
	if h.db != nil {
		h.db.Close()
	}
	db, err := store.Open(h.ctx, h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(h.ctx, `CREATE TABLE IF NOT EXISTS test_applied (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
		CREATE TABLE IF NOT EXISTS test_malformed (n INTEGER NOT NULL);
		INSERT INTO test_malformed SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM test_malformed)`); err != nil {
		h.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := NewLogstash(h.ctx, db, h.cfg, log)
	if err != nil {
		h.t.Fatal(err)
	}
	h.db, h.w = db, w
}

func lsIndexFor(ts time.Time) string { return "logstash-mediawiki-" + ts.UTC().Format("2006.01.02") }

// add indexes a MediaWiki exception event and returns its key.
func (h *lsHarness) add(ts time.Time) string {
	h.n++
	id := fmt.Sprintf("%08x-%d", uint32(h.n*2654435761), h.n) // ids not in insertion order
	idx := lsIndexFor(ts)
	h.es.Index(idx, id, map[string]any{
		"@timestamp":         ts.UTC().Format("2006-01-02T15:04:05.000Z"),
		"type":               "mediawiki",
		"channel":            []string{"exception", "error"}[h.n%2],
		"level":              "ERROR",
		"message":            fmt.Sprintf("[req%d] /w/index.php?title=Foo   RuntimeException: boom %d", h.n, h.n),
		"normalized_message": "[{reqId}] {exception_url}   RuntimeException: boom",
		"wiki":               []string{"enwiki", "dewiki", "commonswiki"}[h.n%3],
		"host":               fmt.Sprintf("deployment-mediawiki%02d", h.n%4),
		"reqId":              fmt.Sprintf("req%d", h.n),
		"exception":          map[string]any{"class": "RuntimeException", "message": "boom", "trace": "#0 /srv/mediawiki/php-1.44.0-wmf.20/includes/Foo.php(12): bar()"},
	})
	return idx + "/" + id
}

// addMalformed indexes a document with a valid @timestamp but no message.
func (h *lsHarness) addMalformed(ts time.Time) string {
	h.n++
	id := fmt.Sprintf("bad-%d", h.n)
	idx := lsIndexFor(ts)
	h.es.Index(idx, id, map[string]any{"@timestamp": ts.UTC().Format(time.RFC3339Nano), "type": "mediawiki",
		"message": map[string]any{"not": "a string"}})
	h.malformed[idx+"/"+id] = true
	return idx + "/" + id
}

// consume applies b's events and commits b in one transaction.
func (h *lsHarness) consume(b Batch) error {
	return h.db.Tx(h.ctx, func(tx *sql.Tx) error {
		for _, ev := range b.Events {
			if _, err := tx.ExecContext(h.ctx, `INSERT INTO test_applied(key, n) VALUES(?, 1)
				ON CONFLICT(key) DO UPDATE SET n = n + 1`, ev.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(h.ctx, `UPDATE test_malformed SET n = n + ?`, b.Malformed); err != nil {
			return err
		}
		return h.w.Commit(h.ctx, tx, b)
	})
}

// step polls once and consumes the batch; it reports whether the batch was
// empty.
func (h *lsHarness) step() (Batch, bool) {
	h.t.Helper()
	b, err := h.w.Poll(h.ctx)
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	if err := h.consume(b); err != nil {
		h.t.Fatalf("consume: %v", err)
	}
	return b, len(b.Cursor.SeenIDs) == 0
}

// drain consumes until a poll returns nothing, and returns the number of polls.
func (h *lsHarness) drain() int {
	h.t.Helper()
	for i := 1; ; i++ {
		if i > 100000 {
			h.t.Fatal("drain does not end")
		}
		if _, empty := h.step(); empty {
			return i
		}
	}
}

// assertExactlyOnce checks that every decodable document of the fake (except
// those deliberately added too late) was applied exactly once, that nothing
// else was, and that each malformed document was counted once.
func (h *lsHarness) assertExactlyOnce() {
	h.t.Helper()
	var want []string
	for _, k := range h.es.Keys() {
		if !h.malformed[k] && !h.excluded[k] {
			want = append(want, k)
		}
	}
	rows, err := h.db.QueryContext(h.ctx, `SELECT key, n FROM test_applied ORDER BY key`)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			h.t.Fatal(err)
		}
		if n != 1 {
			h.t.Errorf("%s applied %d times", k, n)
		}
		got = append(got, k)
	}
	if len(got) != len(want) {
		h.t.Errorf("applied %d events, the fake holds %d deliverable documents", len(got), len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		h.t.Errorf("applied keys (-want +got):\n%s", diff)
	}
	var mal int
	if err := h.db.QueryRowContext(h.ctx, `SELECT n FROM test_malformed`).Scan(&mal); err != nil {
		h.t.Fatal(err)
	}
	if mal != len(h.malformed) {
		h.t.Errorf("malformed counted %d times, want %d", mal, len(h.malformed))
	}
}

func (h *lsHarness) checkpoint() time.Time {
	h.t.Helper()
	c, err := lsLoadCursor(h.ctx, h.db, h.w.Name())
	if err != nil {
		h.t.Fatal(err)
	}
	return time.UnixMilli(c.ts).UTC()
}

func lsKeys(b Batch) []string {
	var out []string
	for _, s := range b.Cursor.SeenIDs {
		out = append(out, s.Key)
	}
	return out
}

func TestLogstashExactlyOnceOnEveryFlavor(t *testing.T) {
	for _, flavor := range []esfake.Flavor{esfake.Elasticsearch7, esfake.OpenSearch1, esfake.OpenSearch2} {
		t.Run(flavor.String(), func(t *testing.T) {
			h := newLSHarness(t, LogstashConfig{BatchSize: 50}, esfake.WithFlavor(flavor))
			// 600 events over three hours across midnight (two daily
			// indices), four per timestamp, plus malformed ones.
			for i := range 600 {
				h.add(lsBase.Add(-3*time.Hour + time.Duration(i/4)*time.Second*17))
			}
			for i := range 5 {
				h.addMalformed(lsBase.Add(-2*time.Hour + time.Duration(i)*time.Minute))
			}
			h.drain()
			h.assertExactlyOnce()
			// Nothing more on later polls.
			if b, empty := h.step(); !empty {
				t.Errorf("extra poll returned %d documents", len(b.Cursor.SeenIDs))
			}
		})
	}
}

// The scenario of the issue: an outage of logstash, restarts of sheriff, a
// crash before Commit and late documents, in one history.
func TestLogstashOutageRestartLateArrivals(t *testing.T) {
	const password = "hunter2-very-secret"
	h := newLSHarness(t, LogstashConfig{BatchSize: 64, Lag: 5 * time.Minute, Username: "sheriff", Password: password},
		esfake.WithBasicAuth("sheriff", password))
	for i := range 400 {
		h.add(lsBase.Add(-2*time.Hour + time.Duration(i)*15*time.Second))
	}
	for range 3 {
		h.step()
	}

	// Crash between Poll and Commit: the same documents come back.
	uncommitted, err := h.w.Poll(h.ctx)
	if err != nil || len(uncommitted.Events) == 0 {
		t.Fatalf("poll: %v, %d events", err, len(uncommitted.Events))
	}
	h.restart()
	again, _ := h.step()
	if diff := cmp.Diff(lsKeys(uncommitted), lsKeys(again)); diff != "" {
		t.Errorf("after a crash before Commit, Poll returned (-before +after):\n%s", diff)
	}

	// Logstash goes down.
	h.es.SetDown(true)
	for i := 1; i <= 2; i++ {
		_, err := h.w.Poll(h.ctx)
		if err == nil {
			t.Fatal("poll succeeded during an outage")
		}
		if !strings.HasPrefix(err.Error(), "logstash logstash: search logstash-*:") {
			t.Errorf("error lacks context: %v", err)
		}
		st := h.w.Stats()
		if st.ConsecutiveFailures != i || st.LastError != err.Error() {
			t.Errorf("stats after %d failures: %+v", i, st)
		}
	}
	// Documents keep arriving during the outage, some of them late (older
	// than the checkpoint, within Lag).
	cp := h.checkpoint()
	for i := range 100 {
		h.add(cp.Add(time.Duration(i) * 7 * time.Second))
	}
	for i := range 20 {
		h.add(cp.Add(-time.Duration(i+1) * 12 * time.Second))
	}
	// Sheriff restarts while logstash is still down.
	h.restart()
	if _, err := h.w.Poll(h.ctx); err == nil {
		t.Fatal("poll succeeded during an outage")
	}
	h.es.SetDown(false)
	h.drain()
	if st := h.w.Stats(); st.ConsecutiveFailures != 0 || st.LastSuccess.IsZero() {
		t.Errorf("stats after recovery: %+v", st)
	}
	h.assertExactlyOnce()

	// Later: time passes, new and late documents arrive.
	h.clk.Advance(10 * time.Minute)
	cp = h.checkpoint()
	for i := range 30 {
		h.add(cp.Add(-4*time.Minute + time.Duration(i)*time.Second)) // late, within Lag
		h.add(lsBase.Add(time.Duration(i) * 10 * time.Second))       // new
	}
	// Beyond Lag: documented as never seen.
	h.excluded[h.add(cp.Add(-6*time.Minute))] = true
	h.drain()
	h.assertExactlyOnce()

	for _, s := range []string{h.logs.String()} {
		if strings.Contains(s, password) {
			t.Error("the password appears in the logs")
		}
	}
}

// The cluster fails between two pages of one poll: the poll fails as a
// whole and nothing of it is committed.
func TestLogstashOutageBetweenPages(t *testing.T) {
	for _, mode := range []esfake.Outage{esfake.Refuse, esfake.Unavailable} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			h := newLSHarness(t, LogstashConfig{BatchSize: 10}, esfake.WithOutage(mode))
			for i := range 60 {
				h.add(lsBase.Add(-4*time.Minute + time.Duration(i)*time.Second))
			}
			for range 3 {
				h.step()
			}
			// The next poll re-reads the overlap window page by page.
			failAt := h.es.Searches() + 2
			h.es.OnSearch(func(n int64) {
				if n == failAt {
					h.es.SetDown(true)
				}
			})
			if _, err := h.w.Poll(h.ctx); err == nil {
				t.Fatal("poll succeeded although the cluster went down mid-poll")
			}
			h.es.OnSearch(nil)
			h.es.SetDown(false)
			h.drain()
			h.assertExactlyOnce()
		})
	}
}

func TestLogstashManyEventsShareATimestamp(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 64})
	ts := lsBase.Add(-30 * time.Minute)
	for range 1000 {
		h.add(ts)
	}
	h.add(ts.Add(-time.Millisecond))
	h.add(ts.Add(time.Millisecond))
	for i := 0; ; i++ {
		if i%3 == 2 {
			h.restart()
		}
		if i%4 == 1 { // a poll whose batch is never committed
			if _, err := h.w.Poll(h.ctx); err != nil {
				t.Fatal(err)
			}
		}
		b, empty := h.step()
		if empty {
			break
		}
		if len(b.Cursor.SeenIDs) > 64 {
			t.Fatalf("batch of %d, BatchSize is 64", len(b.Cursor.SeenIDs))
		}
	}
	h.assertExactlyOnce()
}

func TestLogstashUncommittedRolledBackAndStaleBatches(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 10})
	for i := range 35 {
		h.add(lsBase.Add(-time.Hour + time.Duration(i)*time.Second))
	}
	b1, err := h.w.Poll(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !b1.More || len(b1.Events) != 10 {
		t.Fatalf("first batch: %d events, More=%v", len(b1.Events), b1.More)
	}
	b1again, err := h.w.Poll(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lsKeys(b1), lsKeys(b1again)); diff != "" {
		t.Errorf("Poll without Commit moved (-first +second):\n%s", diff)
	}

	// The consumer's transaction fails after Commit: nothing is recorded.
	boom := errors.New("boom")
	err = h.db.Tx(h.ctx, func(tx *sql.Tx) error {
		if err := h.w.Commit(h.ctx, tx, b1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("tx: %v", err)
	}
	b1third, _ := h.step()
	if diff := cmp.Diff(lsKeys(b1), lsKeys(b1third)); diff != "" {
		t.Errorf("after a rolled-back Commit, Poll returned (-want +got):\n%s", diff)
	}

	// Committing the same batch twice is refused and rolls back the
	// consumer's work.
	err = h.consume(b1)
	if !errors.Is(err, ErrBatchConflict) {
		t.Fatalf("second commit of a batch: %v, want ErrBatchConflict", err)
	}
	h.drain()
	h.assertExactlyOnce()
}

func TestLogstashLateDocumentDuringAPoll(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 5})
	for i := range 40 {
		h.add(lsBase.Add(-3*time.Minute + time.Duration(i)*time.Second))
	}
	var late []string
	h.es.OnSearch(func(n int64) {
		if n == 3 || n == 9 {
			// Stamped before everything read so far, but within Lag.
			late = append(late, h.add(lsBase.Add(-4*time.Minute)))
		}
	})
	h.drain()
	h.es.OnSearch(nil)
	if len(late) != 2 {
		t.Fatalf("hook ran %d times", len(late))
	}
	h.assertExactlyOnce()
}

func TestLogstashMalformedAndHugeDocuments(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 4})
	ts := lsBase.Add(-10 * time.Minute)
	huge := strings.Repeat("Ω", 1<<19) // 1 MB of UTF-8
	hugeKey := lsIndexFor(ts) + "/huge"
	h.es.Index(lsIndexFor(ts), "huge", map[string]any{"@timestamp": ts.Format(time.RFC3339), "channel": "exception",
		"message": huge, "exception": map[string]any{"class": "RuntimeException", "trace": huge}})
	for i := range 6 {
		h.add(ts.Add(time.Duration(i) * time.Second))
		h.addMalformed(ts.Add(time.Duration(i) * time.Second))
	}
	// A _source that is valid for the cluster but not an event: its message
	// is not text.
	h.es.Index(lsIndexFor(ts), "weird", map[string]any{"@timestamp": ts.Format(time.RFC3339), "message": []any{1, 2}})
	h.malformed[lsIndexFor(ts)+"/weird"] = true

	var sawHuge bool
	for {
		b, err := h.w.Poll(h.ctx)
		if err != nil {
			t.Fatalf("a malformed document failed the poll: %v", err)
		}
		for _, ev := range b.Events {
			if ev.ID == hugeKey {
				sawHuge = true
				if len(ev.Message) > event.MaxMessageBytes+64 || !strings.HasPrefix(ev.Message, "ΩΩΩ") {
					t.Errorf("huge message kept as %d bytes", len(ev.Message))
				}
				if ev.Index != lsIndexFor(ts) {
					t.Errorf("Index = %q", ev.Index)
				}
			}
		}
		if err := h.consume(b); err != nil {
			t.Fatal(err)
		}
		if len(b.Cursor.SeenIDs) == 0 {
			break
		}
	}
	if !sawHuge {
		t.Error("the 1 MB document was not delivered")
	}
	// Polling again over the overlap window does not count them again.
	h.clk.Advance(time.Minute)
	h.drain()
	h.assertExactlyOnce()
	if !strings.Contains(h.logs.String(), "skipping malformed logstash document") {
		t.Error("malformed documents are not logged")
	}
}

func TestLogstashQueryFilters(t *testing.T) {
	for _, tt := range []struct {
		name  string
		query string
		keep  func(i int) bool // i is the lsHarness document number
	}{
		{"one clause", `{"term":{"channel":"exception"}}`, func(i int) bool { return i%2 == 0 }},
		{"array of clauses", `[{"term":{"channel":"exception"}},{"terms":{"wiki":["enwiki","dewiki"]}}]`,
			func(i int) bool { return i%2 == 0 && i%3 != 2 }},
		{"bool clause", `{"bool":{"must_not":{"match_phrase":{"message":"boom 7"}}}}`, func(i int) bool { return i != 7 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newLSHarness(t, LogstashConfig{BatchSize: 7, Query: []byte(tt.query)})
			for i := range 40 {
				k := h.add(lsBase.Add(-time.Hour + time.Duration(i)*time.Minute))
				if !tt.keep(i + 1) {
					h.excluded[k] = true // excluded by the filter: must not be delivered
				}
			}
			h.drain()
			h.assertExactlyOnce()
		})
	}
}

func TestLogstashAuthentication(t *testing.T) {
	const secret = "correct-horse-battery-staple"
	h := newLSHarness(t, LogstashConfig{Username: "sheriff", Password: "wrong-password-value"},
		esfake.WithBasicAuth("sheriff", secret))
	h.add(lsBase.Add(-time.Minute))
	_, err := h.w.Poll(h.ctx)
	if err == nil {
		t.Fatal("poll succeeded with a wrong password")
	}
	for _, s := range []string{err.Error(), h.w.Stats().LastError, h.logs.String(),
		fmt.Sprint(slog.Any("cfg", h.cfg).Value.Resolve())} {
		if strings.Contains(s, "wrong-password-value") || strings.Contains(s, secret) {
			t.Errorf("credentials leak: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("error does not say why: %v", err)
	}
	h.cfg.Password = secret
	h.restart()
	h.drain()
	h.assertExactlyOnce()
}

// Catching up a backlog older than Lag pages straight through it instead of
// re-reading the overlap window on every poll.
func TestLogstashBacklogIsReadOnce(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 100})
	for i := range 3000 {
		h.add(lsBase.Add(-5*time.Hour + time.Duration(i)*1200*time.Millisecond))
	}
	h.drain()
	h.assertExactlyOnce()
	if n := h.es.Searches(); n > 3000/100+3 {
		t.Errorf("%d searches to read 3000 documents in batches of 100", n)
	}
}

// Documents within Lag of now may still be joined by late ones, so the
// watcher re-reads the window there: still exactly once.
func TestLogstashRecentBacklog(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 25})
	for i := range 500 {
		h.add(lsBase.Add(-4*time.Minute + time.Duration(i)*400*time.Millisecond))
	}
	h.es.OnSearch(func(n int64) {
		if n%5 == 0 && n <= 100 {
			h.add(lsBase.Add(-4*time.Minute - time.Duration(n)*time.Millisecond))
		}
	})
	h.drain()
	h.es.OnSearch(nil)
	h.drain()
	h.assertExactlyOnce()
}

func TestLogstashFutureTimestampDoesNotStall(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{BatchSize: 10})
	h.add(lsBase.Add(-time.Hour))
	h.add(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	h.drain()
	if cp := h.checkpoint(); cp.After(lsBase.Add(time.Hour)) {
		t.Errorf("checkpoint jumped to %v", cp)
	}
	for i := range 30 {
		h.clk.Advance(time.Minute)
		h.add(h.clk.Now().Add(-time.Second))
		if i%5 == 0 {
			h.drain()
		}
	}
	h.drain()
	h.assertExactlyOnce()
}

func TestLogstashSeenSetIsPruned(t *testing.T) {
	lag := 5 * time.Minute
	h := newLSHarness(t, LogstashConfig{BatchSize: 100, Lag: lag})
	var stamps []time.Time
	for i := range 1000 {
		ts := lsBase.Add(-3*time.Hour + time.Duration(i)*10*time.Second)
		stamps = append(stamps, ts)
		h.add(ts)
	}
	h.drain()
	cp := h.checkpoint()
	want := 0
	for _, ts := range stamps {
		if !ts.Before(cp.Add(-2 * lag)) {
			want++
		}
	}
	var n int
	if err := h.db.QueryRowContext(h.ctx, `SELECT count(*) FROM checks_seen WHERE source=?`, h.w.Name()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("seen set holds %d keys, want the %d within twice the lag", n, want)
	}
	h.assertExactlyOnce()
}

func TestLogstashStartAndNameAreKept(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{Name: "beta", Start: lsBase.Add(-time.Hour)})
	h.excluded[h.add(lsBase.Add(-2*time.Hour))] = true // before Start
	h.add(lsBase.Add(-30 * time.Minute))
	if h.w.Name() != "beta" {
		t.Errorf("Name() = %q", h.w.Name())
	}
	// A restart with a different Start before any commit keeps the first.
	h.cfg.Start = lsBase.Add(-3 * time.Hour)
	h.restart()
	h.drain()
	h.assertExactlyOnce()
}

// A random history of arrivals (each within Lag of the wall clock when it
// arrives), time passing, polls, crashes before Commit, rolled-back and stale
// commits, restarts and outages ends with every document applied once.
func TestLogstashRandomHistories(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			lag := 5 * time.Minute
			h := newLSHarness(t, LogstashConfig{BatchSize: 7, Lag: lag})
			rng := rand.New(rand.NewPCG(seed, 42))
			down := false
			var last Batch
			var stamps []time.Time
			for range 300 {
				switch r := rng.IntN(100); {
				case r < 30:
					for range 1 + rng.IntN(15) {
						ts := h.clk.Now().Add(-time.Duration(rng.Int64N(int64(lag)))).Truncate(time.Millisecond)
						if len(stamps) > 0 && rng.IntN(3) == 0 {
							if s := stamps[rng.IntN(len(stamps))]; !s.Before(h.clk.Now().Add(-lag)) {
								ts = s // share a timestamp with an earlier document
							}
						}
						stamps = append(stamps, ts)
						if rng.IntN(40) == 0 {
							h.addMalformed(ts)
						} else {
							h.add(ts)
						}
					}
				case r < 40:
					h.clk.Advance(time.Duration(rng.Int64N(int64(3 * lag))))
				case r < 43:
					h.clk.Advance(2 * time.Hour)
				case r < 70:
					b, err := h.w.Poll(h.ctx)
					if down {
						if err == nil {
							t.Fatal("poll succeeded during an outage")
						}
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					if err := h.consume(b); err != nil {
						t.Fatal(err)
					}
					last = b
				case r < 75:
					if _, err := h.w.Poll(h.ctx); (err != nil) != down {
						t.Fatalf("poll: %v (down=%v)", err, down)
					}
				case r < 80:
					b, err := h.w.Poll(h.ctx)
					if (err != nil) != down {
						t.Fatalf("poll: %v (down=%v)", err, down)
					}
					_ = h.db.Tx(h.ctx, func(tx *sql.Tx) error {
						if err := h.w.Commit(h.ctx, tx, b); err != nil {
							return err
						}
						return errors.New("rolled back")
					})
				case r < 84:
					if len(last.Cursor.SeenIDs) > 0 {
						if err := h.consume(last); !errors.Is(err, ErrBatchConflict) {
							t.Fatalf("stale commit: %v", err)
						}
					}
				case r < 90:
					h.restart()
				default:
					down = !down
					h.es.SetDown(down)
				}
			}
			h.es.SetDown(false)
			h.drain()
			h.assertExactlyOnce()
		})
	}
}

func TestNewLogstashRejectsBadConfig(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ok := []string{"http://127.0.0.1:9200"}
	for _, tt := range []struct {
		name string
		cfg  LogstashConfig
		want string
	}{
		{"no URLs", LogstashConfig{}, "no URLs"},
		{"credentials in URL", LogstashConfig{URLs: []string{"https://u:topsecret@logstash:9200"}}, "credentials"},
		{"bad scheme", LogstashConfig{URLs: []string{"ftp://logstash"}}, "scheme"},
		{"no host", LogstashConfig{URLs: []string{"http://"}}, "no host"},
		{"negative batch", LogstashConfig{URLs: ok, BatchSize: -1}, "batch size"},
		{"huge batch", LogstashConfig{URLs: ok, BatchSize: 20000}, "batch size"},
		{"negative lag", LogstashConfig{URLs: ok, Lag: -time.Second}, "lag"},
		{"empty index", LogstashConfig{URLs: ok, Index: " , "}, "names no index"},
		{"query not JSON", LogstashConfig{URLs: ok, Query: []byte(`{"term":`)}, "not valid JSON"},
		{"query is a search body", LogstashConfig{URLs: ok, Query: []byte(`{"query":{"match_all":{}}}`)}, "not a search body"},
		{"query is a string", LogstashConfig{URLs: ok, Query: []byte(`"channel:exception"`)}, "clause object"},
		{"query clause with two types", LogstashConfig{URLs: ok, Query: []byte(`[{"term":{"a":1},"match":{"b":2}}]`)}, "clause #1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLogstash(context.Background(), db, tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

// The watcher must not need the cluster to start: sheriff keeps serving and
// reports the failure through Stats.
func TestNewLogstashWithClusterDown(t *testing.T) {
	h := newLSHarness(t, LogstashConfig{})
	h.es.SetDown(true)
	h.restart()
	if _, err := h.w.Poll(h.ctx); err == nil {
		t.Fatal("poll succeeded during an outage")
	}
	if st := h.w.Stats(); st.ConsecutiveFailures != 1 || !st.LastSuccess.IsZero() {
		t.Errorf("stats: %+v", st)
	}
	h.es.SetDown(false)
	h.add(lsBase.Add(-time.Minute))
	h.drain()
	h.assertExactlyOnce()
}

func TestSortMillis(t *testing.T) {
	for _, tt := range []struct {
		in   []any
		want int64
		ok   bool
	}{
		{[]any{lsJSONNum("1704067200000"), "x"}, 1704067200000, true},
		{[]any{lsJSONNum("1704067200000123456")}, 1704067200000, true}, // date_nanos
		{[]any{1704067200000.0}, 1704067200000, true},
		{[]any{"nope"}, 0, false},
		{nil, 0, false},
	} {
		got, ok := lsSortMillis(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("lsSortMillis(%v) = %d, %v", tt.in, got, ok)
		}
	}
}

func lsJSONNum(s string) any { return json.Number(s) }

var _ Source = (*Logstash)(nil)
