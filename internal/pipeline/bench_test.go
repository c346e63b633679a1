package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/wikimedia/sheriff/internal/memstat"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/checks"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/metrics"
	"github.com/wikimedia/sheriff/internal/redact"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
	"github.com/wikimedia/sheriff/rules"
)

// synthSource generates decoded MediaWiki events over a fixed number of
// distinct errors, as fast as asked: the pipeline, not JSON decoding, is
// what the benchmark measures.
type synthSource struct {
	total, distinct, batch, done int
	r                            *rand.Rand
	t                            time.Time
}

func (s *synthSource) Name() string { return "synth" }

func (s *synthSource) Poll(ctx context.Context) (checks.Batch, error) {
	var b checks.Batch
	for len(b.Events) < s.batch && s.done+len(b.Events) < s.total {
		i := s.done + len(b.Events)
		// Every distinct error is seen at least once; the rest are skewed
		// towards the first ones, as real error traffic is.
		k := i
		if i >= s.distinct {
			k = int(s.r.ExpFloat64()*float64(s.distinct)/20) % s.distinct
		}
		s.t = s.t.Add(time.Millisecond * 40)
		b.Events = append(b.Events, event.Event{
			ID: "synth/" + strconv.Itoa(i), Timestamp: s.t, Type: "mediawiki", Channel: "exception", Level: "ERROR",
			Normalized: fmt.Sprintf("[{reqId}] {exception_url}   RuntimeException: Failure %d in module %d", k, k%97),
			Message:    fmt.Sprintf("[X%dY] /w/index.php   RuntimeException: Failure %d in module %d for request %d", i, k, k%97, i),
			ExcClass:   "RuntimeException",
			ExcMessage: fmt.Sprintf("Failure %d in module %d for request %d", k, k%97, i),
			ExcTrace:   fmt.Sprintf("#0 /srv/mediawiki/php-1.47.0-wmf.16/extensions/E%d/includes/Module.php(%d): Module%d->run()\n#1 {main}", k%50, 10+k%300, k),
			Wiki:       []string{"enwiki", "dewiki", "commonswiki", "wikidatawiki"}[i%4],
			Host:       fmt.Sprintf("deployment-mediawiki%02d", i%7),
			Version:    "1.47.0-wmf.16",
		})
	}
	b.More = s.done+len(b.Events) < s.total
	return b, nil
}

func (s *synthSource) Commit(_ context.Context, _ *sql.Tx, b checks.Batch) error {
	s.done += len(b.Events)
	return nil
}

// BenchmarkPipelineMillion pushes 1,000,000 events over 100,000 distinct
// signatures through ingest (rules, fingerprint, tracker in SQLite) and
// reports the peak resident memory. Run it alone, once:
//
//	go test -run '^$' -bench PipelineMillion -benchtime 1x ./internal/pipeline/
func BenchmarkPipelineMillion(b *testing.B) {
	total, distinct := 1_000_000, 100_000
	if testing.Short() {
		total, distinct = 100_000, 10_000
	}
	ctx := context.Background()
	for range b.N {
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		tr, _ := tracker.New(ctx, db, 10*time.Minute)
		red, _ := redact.New(redact.Config{})
		set, _ := rules.Load(nil, false)
		in := &Ingester{DB: db, Source: &synthSource{total: total, distinct: distinct, batch: 1000, r: rand.New(rand.NewPCG(1, 2)), t: time.Now()},
			Rules: set, Tracker: tr, Redactor: red, Health: health.NewRegistry(), Metrics: metrics.New(),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		start := time.Now()
		st, err := in.Drain(ctx)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		stats, _ := tr.Stats(ctx)
		if st.Events != total || stats.Signatures != int64(distinct) {
			b.Fatalf("%d events, %d signatures; want %d and %d", st.Events, stats.Signatures, total, distinct)
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(memstat.PeakRSS())/(1<<20), "peak-RSS-MB")
		db.Close()
	}
}
