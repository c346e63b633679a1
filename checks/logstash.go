package checks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/store"
)

// LogstashConfig configures a Logstash watcher. Zero values take the defaults
// given per field.
type LogstashConfig struct {
	// URLs of Elasticsearch/OpenSearch nodes (http or https). Credentials
	// must not be embedded in them; use Username and Password.
	URLs []string
	// Index is the index expression searched: a name, a pattern with *
	// wildcards or a comma-separated list. Default "logstash-*".
	Index string
	// Query holds extra filter clauses in the Elasticsearch query DSL, ANDed
	// with the time window: one clause object, e.g. {"term":{"type":"mediawiki"}},
	// or an array of them. Optional.
	Query json.RawMessage
	// Username and Password for HTTP basic authentication, already
	// resolved from the environment or a file by the config layer.
	Username, Password string
	// BatchSize is the most documents one Poll consumes, and the page size of
	// each search. Default 500, at most 10000 (the default max_result_window).
	BatchSize int
	// Lag is how far behind the checkpoint every poll looks again, to catch
	// documents indexed late (ingestion lag). A document whose @timestamp is
	// older than the checkpoint by more than Lag when it becomes searchable is
	// never seen. Default 5m.
	Lag time.Duration
	// TieBreaker is the field that orders documents sharing a @timestamp.
	// Default "_id"; on clusters that disallow sorting on _id (Elasticsearch 8
	// by default) use a unique keyword field.
	TieBreaker string
	// Name is the source's name and checkpoint key. Default "logstash".
	Name string
	// Start is where a source without a checkpoint begins. Default an hour
	// before the first start; ignored once a checkpoint exists.
	Start time.Time
	// HTTPClient is used for every request. Default: a client with a 60s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

// LogValue keeps the password out of logs.
func (c LogstashConfig) LogValue() slog.Value {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	urls := make([]string, len(c.URLs))
	for i, raw := range c.URLs {
		if u, err := url.Parse(raw); err == nil {
			urls[i] = u.Redacted()
		} else {
			urls[i] = "[unparseable]"
		}
	}
	return slog.GroupValue(slog.Any("urls", urls), slog.String("index", c.Index),
		slog.String("username", c.Username), slog.String("password", pw),
		slog.Int("batch_size", c.BatchSize), slog.Duration("lag", c.Lag), slog.String("name", c.Name))
}

// LogstashStats describes the watcher's health, for /healthz.
type LogstashStats struct {
	LastSuccess         time.Time // end of the last successful poll
	LastError           string    // most recent poll error (kept after recovery)
	LastErrorAt         time.Time
	ConsecutiveFailures int // polls failed since the last success; 0 = healthy
}

// ErrBatchConflict is returned by Commit when some documents of the batch are
// already recorded as consumed: the batch is stale (it was committed already,
// or another batch covering the same documents was). The caller's transaction
// must be rolled back and the source polled again.
var ErrBatchConflict = errors.New("batch overlaps documents already committed")

// Logstash watches an Elasticsearch/OpenSearch cluster (Wikimedia's logstash)
// and hands out every matching document exactly once to a consumer that
// commits each batch in the transaction recording its effects.
//
// How: documents are read in (@timestamp, tie-breaker) order from a persisted
// checkpoint, with search_after paging. Each poll starts Lag before the
// checkpoint, so documents indexed late are still found; the keys
// (index/_id) of consumed documents are persisted for that window and
// skipped when read again. The checkpoint and the keys are written by Commit
// in the caller's transaction, so a crash or a rolled-back transaction leaves
// both as they were and the next Poll returns the same documents again.
//
// While a backlog is being consumed (Poll reported More), the next Poll
// continues from where the previous one stopped instead of re-reading the
// overlap window, when that position is already older than Lag: nothing can
// still arrive before it.
//
// Poll does not retry or back off: on error it returns at once, and the
// caller (the pipeline) backs off and polls again; the checkpoint makes that
// safe. Stats reports consecutive failures for /healthz. Poll and Commit are
// meant to be called from one goroutine; Stats from any.
type Logstash struct {
	db      *store.DB
	client  *elastic.Client
	log     *slog.Logger
	name    string
	indices []string
	filters []elastic.Query
	tie     string
	batch   int
	lag     time.Duration
	now     func() time.Time

	mu      sync.Mutex
	pending *lsPollState    // what the last Poll returned, until Commit
	cont    *lsContinuation // where the next Poll may continue
	stats   LogstashStats
}

// lsPollState remembers a Poll's scan position for the Commit that follows.
type lsPollState struct {
	baseGen  int64 // checkpoint generation the poll started from
	sig      lsBatchSig
	more     bool
	lastSort []any // sort values of the last document examined
	lastTs   int64
	wall     time.Time // when the poll started
}

// lsContinuation lets the Poll after a committed full batch resume paging.
type lsContinuation struct {
	gen   int64 // valid only while this generation is the committed one
	after []any
}

// lsBatchSig identifies a batch without keeping it.
type lsBatchSig struct {
	n           int
	first, last string
	ts          int64
	tb          string
}

func lsSigOf(b Batch) lsBatchSig {
	s := lsBatchSig{n: len(b.Cursor.SeenIDs), ts: b.Cursor.Timestamp, tb: b.Cursor.TieBreak}
	if s.n > 0 {
		s.first, s.last = b.Cursor.SeenIDs[0].Key, b.Cursor.SeenIDs[s.n-1].Key
	}
	return s
}

const (
	lsDefaultIndex     = "logstash-*"
	lsDefaultBatchSize = 500
	lsMaxBatchSize     = 10000
	lsDefaultLag       = 5 * time.Minute
	lsDefaultTie       = "_id"
	lsDefaultName      = "logstash"
	lsDefaultStartAgo  = time.Hour
)

// NewLogstash validates cfg, prepares the checks tables in db and creates the
// watcher. It does not contact the cluster: an unreachable cluster at start-up
// shows as failed polls, not as a start-up error.
func NewLogstash(ctx context.Context, db *store.DB, cfg LogstashConfig, log *slog.Logger) (*Logstash, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Logstash{db: db, name: cfg.Name, tie: cfg.TieBreaker, batch: cfg.BatchSize, lag: cfg.Lag, now: cfg.Now}
	if w.name == "" {
		w.name = lsDefaultName
	}
	w.log = log.With("source", w.name)
	fail := func(format string, args ...any) (*Logstash, error) {
		return nil, fmt.Errorf("logstash %s: "+format, append([]any{w.name}, args...)...)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.tie == "" {
		w.tie = lsDefaultTie
	}
	switch {
	case w.batch == 0:
		w.batch = lsDefaultBatchSize
	case w.batch < 0 || w.batch > lsMaxBatchSize:
		return fail("batch size %d out of range 1..%d", w.batch, lsMaxBatchSize)
	}
	switch {
	case w.lag == 0:
		w.lag = lsDefaultLag
	case w.lag < 0:
		return fail("lag %v is negative", w.lag)
	}
	if len(cfg.URLs) == 0 {
		return fail("no URLs")
	}
	for i, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			// url's error quotes the URL, which may hold a password.
			return fail("URL #%d is not a valid URL", i+1)
		case u.User != nil:
			return fail("URL #%d has credentials in it; use username and password instead", i+1)
		case u.Scheme != "http" && u.Scheme != "https":
			return fail("URL #%d (%s): scheme must be http or https", i+1, u.Redacted())
		case u.Host == "":
			return fail("URL #%d (%s) has no host", i+1, u.Redacted())
		}
	}
	index := cfg.Index
	if index == "" {
		index = lsDefaultIndex
	}
	for part := range strings.SplitSeq(index, ",") {
		if part = strings.TrimSpace(part); part != "" {
			w.indices = append(w.indices, part)
		}
	}
	if len(w.indices) == 0 {
		return fail("index %q names no index", index)
	}
	filters, err := lsParseFilters(cfg.Query)
	if err != nil {
		return fail("query: %v", err)
	}
	w.filters = filters

	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	opts := []elastic.ClientOptionFunc{
		elastic.SetURL(cfg.URLs...),
		elastic.SetSniff(false),
		elastic.SetHealthcheck(false),
		elastic.SetHttpClient(httpClient),
		// Sort values must round-trip exactly into search_after: keep them
		// as json.Number instead of float64 (date_nanos exceed 2^53).
		elastic.SetDecoder(&elastic.NumberDecoder{}),
	}
	if cfg.Username != "" || cfg.Password != "" {
		opts = append(opts, elastic.SetBasicAuth(cfg.Username, cfg.Password))
	}
	w.client, err = elastic.NewClient(opts...)
	if err != nil {
		return fail("client: %v", err)
	}

	if err := db.Migrate(ctx, "checks", logstashMigrations); err != nil {
		return fail("%w", err)
	}
	start := cfg.Start
	if start.IsZero() {
		start = w.now().Add(-lsDefaultStartAgo)
	}
	if err := lsInitCursor(ctx, db, w.name, start.UnixMilli()); err != nil {
		return fail("init checkpoint: %w", err)
	}
	return w, nil
}

// lsParseFilters accepts one query clause object or an array of them. The
// clauses are passed on byte for byte (no float rounding of numbers).
func lsParseFilters(raw json.RawMessage) ([]elastic.Query, error) {
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" || trimmed == "null" {
		return nil, nil
	}
	if !json.Valid([]byte(trimmed)) {
		var v any
		err := json.Unmarshal([]byte(trimmed), &v)
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var list []json.RawMessage
	switch trimmed[0] {
	case '{':
		list = []json.RawMessage{json.RawMessage(trimmed)}
	case '[':
		if err := json.Unmarshal([]byte(trimmed), &list); err != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
	default:
		return nil, fmt.Errorf("must be a query clause object or an array of them")
	}
	var out []elastic.Query
	for i, c := range list {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(c, &obj); err != nil || len(obj) != 1 {
			return nil, fmt.Errorf("clause #%d must be an object with exactly one query type, like {\"term\": {...}}", i+1)
		}
		if _, ok := obj["query"]; ok {
			return nil, fmt.Errorf("clause #%d: give the query clause itself, not a search body with \"query\"", i+1)
		}
		out = append(out, elastic.NewRawStringQuery(string(c)))
	}
	return out, nil
}

// Name implements Source.
func (w *Logstash) Name() string { return w.name }

// Stats returns the watcher's health.
func (w *Logstash) Stats() LogstashStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Poll implements Source.
func (w *Logstash) Poll(ctx context.Context) (Batch, error) {
	b, err := w.poll(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.stats.LastError, w.stats.LastErrorAt = err.Error(), w.now()
		w.stats.ConsecutiveFailures++
		return Batch{}, err
	}
	w.stats.LastSuccess, w.stats.ConsecutiveFailures = w.now(), 0
	return b, nil
}

func (w *Logstash) poll(ctx context.Context) (Batch, error) {
	cur, err := lsLoadCursor(ctx, w.db, w.name)
	if err != nil {
		return Batch{}, fmt.Errorf("logstash %s: read checkpoint: %w", w.name, err)
	}
	wall := w.now()
	lagMs := w.lag.Milliseconds()
	lower := max(cur.ts-lagMs, cur.horizon)
	// A document stamped in the future (a producer's clock) is delivered
	// but must not drag the checkpoint ahead of the events still to come.
	futureMs := wall.UnixMilli() + lagMs

	var after []any
	w.mu.Lock()
	if w.cont != nil && w.cont.gen == cur.gen {
		after = w.cont.after
	}
	w.mu.Unlock()
	resumed := after != nil

	b := Batch{Cursor: Cursor{Timestamp: cur.ts, TieBreak: cur.tb}}
	taken := map[string]bool{}
	st := &lsPollState{baseGen: cur.gen, wall: wall}
	pages, skipped := 0, 0
scan:
	for {
		res, err := w.search(ctx, lower, after)
		if err != nil {
			return Batch{}, err
		}
		pages++
		var hits []*elastic.SearchHit
		if res.Hits != nil {
			hits = res.Hits.Hits
		}
		keys := make([]string, len(hits))
		for i, h := range hits {
			keys[i] = h.Index + "/" + h.Id
		}
		seen, err := lsSeenAmong(ctx, w.db, w.name, keys)
		if err != nil {
			return Batch{}, fmt.Errorf("logstash %s: read seen set: %w", w.name, err)
		}
		for i, h := range hits {
			ts, tsOK := lsSortMillis(h.Sort)
			st.lastSort, st.lastTs = h.Sort, ts
			key := keys[i]
			if seen[key] || taken[key] {
				skipped++
				continue
			}
			taken[key] = true
			ev, err := lsDecodeHit(h, key)
			switch {
			case err != nil:
				b.Malformed++
				w.log.Warn("skipping malformed logstash document", "key", key, "err", err)
				if !tsOK {
					// Remember it for a full window, so it is counted once.
					ts = wall.UnixMilli()
				}
			default:
				b.Events = append(b.Events, ev)
				if !tsOK {
					ts, tsOK = ev.Timestamp.UnixMilli(), true
				}
			}
			b.Cursor.SeenIDs = append(b.Cursor.SeenIDs, SeenID{Key: key, Timestamp: ts})
			if tb := lsTieValue(h, w.tie); tsOK && ts <= futureMs && lsAfter(ts, tb, b.Cursor.Timestamp, b.Cursor.TieBreak) {
				b.Cursor.Timestamp, b.Cursor.TieBreak = ts, tb
			}
			if len(b.Cursor.SeenIDs) >= w.batch {
				b.More = true
				break scan
			}
		}
		if len(hits) < w.batch {
			break
		}
		if len(st.lastSort) == 0 {
			// Paging on would restart from the top, forever.
			return Batch{}, fmt.Errorf("logstash %s: search returned hits without sort values; cannot page", w.name)
		}
		after = st.lastSort
	}
	st.sig, st.more = lsSigOf(b), b.More
	w.mu.Lock()
	w.pending = st
	w.mu.Unlock()
	w.log.Debug("logstash poll", "from_ms", lower, "resumed", resumed, "pages", pages,
		"events", len(b.Events), "malformed", b.Malformed, "already_seen", skipped, "more", b.More)
	return b, nil
}

// lsAfter reports whether (ts, tb) sorts after (cts, ctb).
func lsAfter(ts int64, tb string, cts int64, ctb string) bool {
	return ts > cts || (ts == cts && tb > ctb)
}

func (w *Logstash) search(ctx context.Context, lower int64, after []any) (*elastic.SearchResult, error) {
	q := elastic.NewBoolQuery().Filter(elastic.NewRangeQuery("@timestamp").Gte(lower).Format("epoch_millis"))
	q.Filter(w.filters...)
	tie := elastic.NewFieldSort(w.tie).Asc()
	if !strings.HasPrefix(w.tie, "_") {
		tie = tie.UnmappedType("keyword")
	}
	src := elastic.NewSearchSource().Query(q).
		SortBy(elastic.NewFieldSort("@timestamp").Asc().UnmappedType("date"), tie).
		Size(w.batch).TrackTotalHits(false)
	if after != nil {
		src = src.SearchAfter(after...)
	}
	var res *elastic.SearchResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		res, err = w.client.Search(w.indices...).SearchSource(src).Do(ctx)
		if !lsRetryable(ctx, err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("logstash %s: search %s: %w", w.name, strings.Join(w.indices, ","), err)
	}
	if res.TimedOut || (res.Shards != nil && res.Shards.Failed > 0) {
		// Partial results would move the checkpoint past documents that
		// a failed shard holds.
		failed := 0
		if res.Shards != nil {
			failed = res.Shards.Failed
		}
		return nil, fmt.Errorf("logstash %s: search %s: partial results (timed out: %v, failed shards: %d)",
			w.name, strings.Join(w.indices, ","), res.TimedOut, failed)
	}
	return res, nil
}

// lsRetryable reports whether a failed search is worth resending at once.
// Searches are read-only, so resending is always safe; it is worth it when
// the request may not have reached a live node: olivere, with health checks
// off, fails the request after a node error without sending it while it
// resurrects the node, and a keep-alive connection closed by the server (a
// restarted node, a load balancer) fails on first use. It is not worth it on
// an HTTP error response, a timeout or a cancelled context: backing off is
// the caller's job.
func lsRetryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if errors.Is(err, elastic.ErrNoClient) {
		return true
	}
	var httpErr *elastic.Error
	if errors.As(err, &httpErr) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return false
	}
	return !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// lsSortMillis extracts the @timestamp sort value as epoch milliseconds (a
// date_nanos field sorts in nanoseconds).
func lsSortMillis(sortValues []any) (int64, bool) {
	if len(sortValues) == 0 {
		return 0, false
	}
	var v int64
	switch s := sortValues[0].(type) {
	case json.Number:
		i, err := s.Int64()
		if err != nil {
			f, err := s.Float64()
			if err != nil {
				return 0, false
			}
			i = int64(f)
		}
		v = i
	case float64:
		v = int64(s)
	default:
		return 0, false
	}
	if v > 1e15 || v < -1e15 {
		v /= 1e6
	}
	return v, true
}

func lsTieValue(h *elastic.SearchHit, tie string) string {
	if tie == "_id" || len(h.Sort) < 2 {
		return h.Id
	}
	switch v := h.Sort[1].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func lsDecodeHit(h *elastic.SearchHit, key string) (event.Event, error) {
	if len(h.Source) == 0 || string(h.Source) == "null" {
		return event.Event{}, fmt.Errorf("%w: document has no _source", event.ErrMalformed)
	}
	ev, err := event.Decode(h.Source)
	if err != nil {
		return event.Event{}, err
	}
	ev.ID, ev.Index = key, h.Index
	return ev, nil
}

// Commit implements Source. It records the batch's documents as consumed
// and advances the checkpoint, within tx. It fails with ErrBatchConflict if
// any document was already committed, so a stale or repeated batch cannot be
// counted twice.
func (w *Logstash) Commit(ctx context.Context, tx *sql.Tx, b Batch) error {
	cur, err := lsLoadCursor(ctx, tx, w.name)
	if err != nil {
		return fmt.Errorf("logstash %s: commit: read checkpoint: %w", w.name, err)
	}
	ids := b.Cursor.SeenIDs
	added, err := lsInsertSeen(ctx, tx, w.name, ids)
	if err != nil {
		return fmt.Errorf("logstash %s: commit: record seen documents: %w", w.name, err)
	}
	if added != int64(len(ids)) {
		return fmt.Errorf("logstash %s: commit: %w (%d of %d new)", w.name, ErrBatchConflict, added, len(ids))
	}
	ts, tb := cur.ts, cur.tb
	if lsAfter(b.Cursor.Timestamp, b.Cursor.TieBreak, ts, tb) {
		ts, tb = b.Cursor.Timestamp, b.Cursor.TieBreak
	}
	// Keep keys for twice the window, so that a moderately larger Lag after
	// a restart still finds them; never re-read below what was pruned.
	horizon := max(cur.horizon, ts-2*w.lag.Milliseconds())
	gen := cur.gen + 1
	if _, err := tx.ExecContext(ctx, `UPDATE checks_cursor SET ts_ms=?, tiebreak=?, horizon_ms=?, generation=?,
		updated_at=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE source=?`, ts, tb, horizon, gen, w.name); err != nil {
		return fmt.Errorf("logstash %s: commit: write checkpoint: %w", w.name, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM checks_seen WHERE source=? AND ts_ms<?`, w.name, horizon); err != nil {
		return fmt.Errorf("logstash %s: commit: prune seen documents: %w", w.name, err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	w.pending, w.cont = nil, nil
	// Continue paging next time only from a position nothing can still
	// arrive before; the generation check discards the continuation if tx
	// is rolled back.
	if p != nil && p.baseGen == cur.gen && p.sig == lsSigOf(b) && p.more &&
		p.lastTs < p.wall.Add(-w.lag).UnixMilli() {
		w.cont = &lsContinuation{gen: gen, after: p.lastSort}
	}
	return nil
}
