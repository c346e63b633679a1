package checks

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/store"
)

// BenchmarkPuppetTimeline ingests the three-day, 28-host timeline in one
// batch and in batches of 40 events (live polling): each batch loads the
// check's whole state, which the ratio of the two measures.
func BenchmarkPuppetTimeline(b *testing.B) {
	data, err := os.ReadFile("testdata/puppet/timeline.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	var evs []event.Event
	for l := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
		ev, err := event.Decode(l)
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	for _, bc := range []struct {
		name  string
		batch int
	}{{"one-go", len(evs)}, {"batches-of-40", 40}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, err := store.Open(ctx, filepath.Join(b.TempDir(), "s.db"))
				if err != nil {
					b.Fatal(err)
				}
				p, err := NewPuppet(ctx, db, PuppetOptions{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for j := 0; j < len(evs); j += bc.batch {
					part := evs[j:min(j+bc.batch, len(evs))]
					if err := db.Tx(ctx, func(tx *sql.Tx) error { return p.Observe(ctx, tx, part, time.Now()) }); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
