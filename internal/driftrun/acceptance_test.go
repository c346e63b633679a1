package driftrun

import (
	"context"
	"github.com/wikimedia/sheriff/internal/clock"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/drift"
)

// sharedData is the real Wikimedia configuration snapshot beside the repo.
const sharedData = "../../../shared/wmf-config"

// TestRealData runs twice over the real snapshot: the second run has the
// first as previous, so nothing is new or resolved.
func TestRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	src := drift.Sources{
		Puppet:          filepath.Join(sharedData, "operations-puppet"),
		MediaWikiConfig: filepath.Join(sharedData, "operations-mediawiki-config"),
		Charts:          filepath.Join(sharedData, "operations-deployment-charts"),
	}
	if _, err := os.Stat(src.Puppet); err != nil {
		t.Skipf("no shared data: %v", err)
	}
	ctx := context.Background()
	clk := clock.NewFake(day(22, 3))
	r := newRunner(t, openDB(t), Options{Sources: src, Now: clk.Now, FileReal: true})
	first, err := r.RunNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %s", first.Summary)
	if first.Real == 0 || first.New != first.Real || len(first.RealBySource) != 3 {
		t.Errorf("first run = %+v", first)
	}
	clk.Advance(24 * time.Hour)
	second, err := r.RunNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second run: %s", second.Summary)
	if second.Real != first.Real || second.New != 0 || second.Resolved != 0 {
		t.Errorf("second run over the same data: real/new/resolved = %d/%d/%d", second.Real, second.New, second.Resolved)
	}
	pending, err := r.Pending(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != first.Real {
		t.Errorf("pending = %d findings, want one per real finding (%d)", len(pending), first.Real)
	}
	for _, f := range pending {
		if len(f.Title) > 220 || strings.Contains(f.Title, "\n") {
			t.Errorf("title not one short line: %q", f.Title)
		}
	}
}
