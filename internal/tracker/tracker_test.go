package tracker

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

func newTracker(t *testing.T) (*Tracker, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := New(context.Background(), db, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tr, db
}

func record(t *testing.T, tr *Tracker, db *store.DB, occ ...*Occurrences) map[string]bool {
	t.Helper()
	var fresh map[string]bool
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		fresh, err = tr.Record(context.Background(), tx, occ)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

var t0 = time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)

func occ(id string, n int, wikiPrefix string, at time.Time) *Occurrences {
	o := &Occurrences{Kind: finding.KindError, ID: id, Title: "title " + id, Sample: "sample"}
	for i := range n {
		o.Add(at.Add(time.Duration(i)*time.Second), 10*time.Minute, map[string]string{"wiki": fmt.Sprintf("%s%d", wikiPrefix, i), "host": "h1"})
	}
	return o
}

func TestRecordAccumulatesAndReportsNewOnce(t *testing.T) {
	tr, db := newTracker(t)
	ctx := context.Background()
	fresh := record(t, tr, db, occ("a", 3, "w", t0), occ("b", 1, "w", t0))
	if !fresh["a"] || !fresh["b"] {
		t.Fatalf("first record: fresh = %v", fresh)
	}
	fresh = record(t, tr, db, occ("a", 2, "w", t0.Add(-time.Hour)), occ("c", 1, "w", t0))
	if fresh["a"] || !fresh["c"] {
		t.Fatalf("second record: fresh = %v", fresh)
	}
	a, err := tr.Get(ctx, finding.KindError, "a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Count != 5 || !a.FirstSeen.Equal(t0.Add(-time.Hour)) || !a.LastSeen.Equal(t0.Add(2*time.Second)) {
		t.Errorf("a: count %d first %v last %v", a.Count, a.FirstSeen, a.LastSeen)
	}
	if a.Facets["host"]["h1"] != 5 || a.Facets["wiki"]["w0"] != 2 {
		t.Errorf("facets: %v", a.Facets)
	}
	if a.Status != finding.StatusNew {
		t.Errorf("status %s", a.Status)
	}
}

func TestFacetValuesAreBounded(t *testing.T) {
	tr, db := newTracker(t)
	record(t, tr, db, occ("a", MaxFacetValues-5, "first", t0))
	record(t, tr, db, occ("a", 40, "second", t0))
	a, err := tr.Get(context.Background(), finding.KindError, "a")
	if err != nil {
		t.Fatal(err)
	}
	wikis := a.Facets["wiki"]
	if len(wikis) != MaxFacetValues+1 {
		t.Fatalf("%d wiki values stored, want %d plus %q", len(wikis), MaxFacetValues, OtherValue)
	}
	var sum int64
	for _, n := range wikis {
		sum += n
	}
	if sum != a.Count || wikis[OtherValue] != 35 {
		t.Fatalf("facet counts lost: sum %d count %d other %d", sum, a.Count, wikis[OtherValue])
	}
}

func TestDirtyAndReported(t *testing.T) {
	tr, db := newTracker(t)
	ctx := context.Background()
	record(t, tr, db, occ("a", 2, "w", t0))
	d, err := tr.Dirty(ctx, 10)
	if err != nil || len(d) != 1 || d[0].Finding().NewCount != 2 {
		t.Fatalf("dirty: %+v %v", d, err)
	}
	if err := tr.Reported(ctx, finding.KindError, "a", 2, finding.StatusKnown, 7, "https://phab/T7", t0); err != nil {
		t.Fatal(err)
	}
	if d, _ := tr.Dirty(ctx, 10); len(d) != 0 {
		t.Fatalf("still dirty after report: %+v", d)
	}
	record(t, tr, db, occ("a", 1, "w", t0))
	d, _ = tr.Dirty(ctx, 10)
	if len(d) != 1 || d[0].Finding().NewCount != 1 || d[0].Task != "T7" || d[0].Status != finding.StatusKnown {
		t.Fatalf("after new occurrence: %+v", d)
	}
}

func TestMergeFoldsAliasIntoTarget(t *testing.T) {
	tr, db := newTracker(t)
	ctx := context.Background()
	record(t, tr, db, occ("old", 3, "x", t0), occ("young", 2, "y", t0.Add(-time.Minute)))
	if err := tr.Reported(ctx, finding.KindError, "old", 3, finding.StatusKnown, 9, "u", t0); err != nil {
		t.Fatal(err)
	}
	err := db.Tx(ctx, func(tx *sql.Tx) error { return tr.Merge(ctx, tx, finding.KindError, "young", "old", t0) })
	if err != nil {
		t.Fatal(err)
	}
	old, err := tr.Get(ctx, finding.KindError, "old")
	if err != nil {
		t.Fatal(err)
	}
	if old.Count != 5 || old.Task != "T9" || !old.FirstSeen.Equal(t0.Add(-time.Minute)) || len(old.Facets["wiki"]) != 5 {
		t.Fatalf("merged: %+v", old)
	}
	if _, err := tr.Get(ctx, finding.KindError, "young"); err == nil {
		t.Fatal("alias row still exists")
	}
	if id, _ := tr.Resolve(ctx, finding.KindError, "young"); id != "old" {
		t.Fatalf("Resolve(young) = %s", id)
	}
	// Merging into an id that has no row yet renames the row.
	err = db.Tx(ctx, func(tx *sql.Tx) error { return tr.Merge(ctx, tx, finding.KindError, "old", "newest", t0) })
	if err != nil {
		t.Fatal(err)
	}
	n, err := tr.Get(ctx, finding.KindError, "newest")
	if err != nil || n.Count != 5 || n.Task != "T9" {
		t.Fatalf("renamed: %+v %v", n, err)
	}
	if id, _ := tr.Resolve(ctx, finding.KindError, "young"); id != "newest" {
		t.Fatalf("alias chain not followed: Resolve(young) = %s", id)
	}
}
