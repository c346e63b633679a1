package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/demo"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// TestPuppetWithSample: sample: combines with puppet: in sheriff run; one
// recorded file holding both kinds of documents is routed as the default
// queries route them.
func TestPuppetWithSample(t *testing.T) {
	dir := t.TempDir()
	tl, err := os.ReadFile(filepath.Join(timelineDir, "timeline.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(dir, "mixed.ndjson")
	if err := os.WriteFile(mixed, append(append(demo.Sample(), '\n'), tl...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "sheriff.yaml"), []byte("sample: mixed.ndjson\npuppet: {}\nspikes: {disabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	svc := newService(t, cfg)
	defer svc.Close()
	if _, _, err := svc.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	causes, err := svc.Puppet.Causes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(causes) != 23 {
		t.Errorf("%d puppet causes, want the timeline's 23", len(causes))
	}
	sigs, err := svc.Tracker.List(t.Context(), tracker.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) < 20 {
		t.Errorf("the MediaWiki documents: %d signatures", len(sigs))
	}
	for _, s := range sigs {
		if strings.Contains(s.Title, "catalog") || strings.Contains(s.Title, "puppet") {
			t.Errorf("a puppet agent line became a generic signature: %q", s.Title)
		}
	}
	var puppetTasks int
	for p := range outbox(t, filepath.Join(dir)) {
		if strings.HasPrefix(filepath.Base(p), "puppet") && !strings.Contains(p, ".comment-") && !strings.Contains(p, ".edit-") {
			puppetTasks++
		}
	}
	if puppetTasks != 24 {
		t.Errorf("%d puppet tasks in the outbox, want 23 causes and the stale hosts", puppetTasks)
	}
}

// TestPuppetSampleAlone: puppet.sample without any other events.
func TestPuppetSampleAlone(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(filepath.Join(timelineDir, "timeline.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "sheriff.yaml"), []byte("puppet: {sample: "+abs+"}\nspikes: {disabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	svc := newService(t, cfg)
	defer svc.Close()
	if _, _, err := svc.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	causes, err := svc.Puppet.Causes(t.Context())
	if err != nil || len(causes) != 23 {
		t.Errorf("%d puppet causes (%v), want the timeline's 23", len(causes), err)
	}
}
