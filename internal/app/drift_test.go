package app

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/config"
)

// TestDriftReportsServed runs the drift check inside the service over the
// fixture checkouts and reads the report over HTTP.
func TestDriftReportsServed(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Drift = &config.Drift{
		Schedule: "0 3 * * *", Puppet: abs("../hiera/testdata/puppet"), Charts: abs("../helm/testdata/charts"),
		MediaWikiConfig: abs("../mwconfig/testdata/checkout"), ReportsDir: filepath.Join(cfg.DataDir, "reports"),
	}
	var lines []string
	svc := newService(t, cfg)
	svc.announceLine = func(_ context.Context, l, _ string) { lines = append(lines, l) }
	rec, err := svc.Drift.RunNow(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Real == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "drift: ") {
		t.Fatalf("run: real %d, IRC lines %q", rec.Real, lines)
	}
	base, _ := serve(t, svc)
	resp, err := http.Get(base + "/reports/latest.html")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "real") {
		t.Fatalf("latest.html: %d\n%.300s", resp.StatusCode, body)
	}
	var h healthz
	getJSON(t, base+"/healthz", &h)
	found := false
	for _, s := range h.Subsystems {
		if s.Name == "drift" {
			found = s.State == "ok" && strings.HasPrefix(s.Detail, "drift: ")
		}
	}
	if !found {
		t.Fatalf("healthz does not show the drift run: %+v", h.Subsystems)
	}
}
