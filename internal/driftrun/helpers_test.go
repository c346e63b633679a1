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
	"github.com/wikimedia/sheriff/internal/store"
)

// Fixture checkouts of the source packages, in the real formats (read only).
const (
	puppetFixture   = "../hiera/testdata/puppet"
	chartsFixture   = "../helm/testdata/charts"
	mwconfigFixture = "../mwconfig/testdata/checkout"
)

const baseURL = "https://sheriff.example.org/"

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newRunner fills in a fake clock, a reports directory and the base URL
// when the options leave them empty.
func newRunner(t *testing.T, db *store.DB, opts Options) *Runner {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock.NewFake(day(22, 3)).Now
	}
	if opts.ReportsDir == "" {
		opts.ReportsDir = filepath.Join(t.TempDir(), "reports")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = baseURL
	}
	r, err := New(context.Background(), db, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// writeService writes one helm service of a deployment-charts checkout.
func writeService(t *testing.T, root, svc, values, staging string) {
	t.Helper()
	dir := filepath.Join(root, "helmfile.d", "services", svc)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"values.yaml": values, "values-staging.yaml": staging, "values-eqiad.yaml": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const prodValues = "settings:\n  a: 1\n  b: 2\n  c: 3\n  token: public\n"

// staging builds a Beta values file overriding the given settings with
// values that differ from production (real drift).
func staging(keys ...string) string {
	if len(keys) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("settings:\n")
	for _, k := range keys {
		if k == "token" {
			b.WriteString("  token: topsecret\n")
			continue
		}
		b.WriteString("  " + k + ": 99\n")
	}
	return b.String()
}

func chartsCheckout(t *testing.T, keys ...string) drift.Sources {
	t.Helper()
	root := t.TempDir()
	writeService(t, root, "svc", prodValues, staging(keys...))
	return drift.Sources{Charts: root}
}

// tempFiles lists leftovers of atomic writes under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type replacer struct{ old, new string }

func (r replacer) String(s string) string { return strings.ReplaceAll(s, r.old, r.new) }
