package tracker

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

func TestRatesGroupsBucketsBySignature(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tr, err := New(ctx, db, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	var occ []*Occurrences
	for _, s := range []struct {
		kind finding.Kind
		id   string
		min  int // minutes after start
		n    int
	}{
		{finding.KindError, "a", 1, 1}, {finding.KindError, "a", 2, 1}, {finding.KindError, "a", 25, 3},
		{finding.KindError, "old", -60, 4},
		{finding.KindSpike, "a", 5, 2},
	} {
		o := &Occurrences{Kind: s.kind, ID: s.id, Title: s.id}
		for range s.n {
			o.Add(start.Add(time.Duration(s.min)*time.Minute), tr.BucketWidth(), nil)
		}
		occ = append(occ, o)
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error { _, err := tr.Record(ctx, tx, occ); return err }); err != nil {
		t.Fatal(err)
	}
	ms := func(min int) int64 { return start.Add(time.Duration(min) * time.Minute).UnixMilli() }

	rs, err := tr.Rates(ctx, start, finding.KindError)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ID != "a" || rs[0].Kind != finding.KindError || rs[0].Status != finding.StatusNew ||
		!rs[0].FirstSeen.Equal(start.Add(time.Minute)) {
		t.Fatalf("Rates(error) = %+v", rs)
	}
	if diff := cmp.Diff(map[int64]int64{ms(0): 2, ms(20): 3}, rs[0].Buckets); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}

	all, err := tr.Rates(ctx, start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range all {
		got = append(got, string(r.Kind)+"/"+r.ID)
	}
	if diff := cmp.Diff([]string{"error/a", "error/old", "spike/a"}, got); diff != "" {
		t.Errorf("Rates(all kinds) (-want +got):\n%s", diff)
	}
}
