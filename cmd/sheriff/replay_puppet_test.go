package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/demo"
)

// TestReplayPuppet: recorded puppet agent documents go to the puppet check,
// from a file of their own (--puppet) or mixed with MediaWiki documents in
// one file and routed by the queries; both show the same puppet tasks, at
// their event times, and no generic signature of an agent line.
func TestReplayPuppet(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(dir, "sample.ndjson")
	if err := os.WriteFile(sample, demo.Sample(), 0o644); err != nil {
		t.Fatal(err)
	}
	timeline := "../../checks/testdata/puppet/timeline.ndjson"
	tl, err := os.ReadFile(timeline)
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(dir, "mixed.ndjson")
	if err := os.WriteFile(mixed, append(append(demo.Sample(), '\n'), tl...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sheriff.yaml")
	if err := os.WriteFile(cfg, []byte("logstash: {urls: [\"http://127.0.0.1:9\"]}\npuppet: {}\nspikes: {disabled: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	separate, errOut, code := runSheriff(t, "", "replay", "--puppet", timeline, sample)
	if code != 0 {
		t.Fatalf("replay --puppet: %s", errOut)
	}
	oneFile, errOut, code := runSheriff(t, "", "replay", "--config", cfg, mixed)
	if code != 0 {
		t.Fatalf("replay of one mixed file: %s", errOut)
	}
	section := func(out string) string {
		_, p, ok := strings.Cut(out, "\nPuppet: ")
		if !ok {
			t.Fatalf("no puppet section:\n%s", out)
		}
		return p
	}
	if section(separate) != section(oneFile) {
		t.Errorf("separate and mixed files differ:\n%s\n----\n%s", section(separate), section(oneFile))
	}
	p := section(oneFile)
	for _, want := range []string{
		"23 causes",
		"2026-11-23 02:00:02  new       Puppet: could not find class profile::does_not_exist — deployment-mediawiki11",
		"resolved  Puppet: could not find class profile::does_not_exist — no host",
		"Puppet: agent certificate rejected by deployment-puppetserver-1",
		"regressed Puppet: Service[nginx] failed to start",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("puppet section lacks %q:\n%s", want, p)
		}
	}
	head, _, _ := strings.Cut(oneFile, "\nPuppet: ")
	for _, bad := range []string{"Applied catalog", "pluginsync", "Could not retrieve catalog"} {
		if strings.Contains(head, bad) {
			t.Errorf("a generic task for a puppet agent line (%q):\n%s", bad, head)
		}
	}
}
