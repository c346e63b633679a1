package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/esfake"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// TestPuppetWatchersApart: with the default queries and one index holding
// both MediaWiki and puppet agent documents, the main watcher files none of
// the agent lines and the puppet watcher reads them all (issue 12, point 6).
func TestPuppetWatchersApart(t *testing.T) {
	es := esfake.New()
	defer es.Close()
	now := time.Now().UTC()
	seq := 0
	indexPuppetLog(t, es, "agent_resource_failure.log", "deployment-mediawiki11", now.Add(-20*time.Minute), &seq)
	indexPuppetLog(t, es, "agent_success.log", "deployment-mediawiki12", now.Add(-15*time.Minute), &seq)
	ts := now.Add(-10 * time.Minute)
	es.Index("logstash-syslog-"+ts.Format("2006.01.02"), "mw1", map[string]any{
		"@timestamp": ts.Format(time.RFC3339Nano), "type": "mediawiki", "host": "deployment-mediawiki11", "channel": "exception",
		"level": "ERROR", "message": "[abc] /wiki/Main_Page TypeError: Argument 1 passed to Foo::bar() must be of the type int",
	})
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
logstash:
  urls: [%s]
  index: logstash-syslog-*
  lag: 1s
  start: -2h
puppet: {}
spikes:
  disabled: true
`, es.URL())))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	svc := newService(t, cfg)
	defer svc.Close()
	if _, _, err := svc.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	sigs, err := svc.Tracker.List(t.Context(), tracker.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		if strings.Contains(s.Title, "catalog") || strings.Contains(s.Title, "pluginsync") || strings.Contains(s.Title, "init script") {
			t.Errorf("the main watcher made a signature of a puppet agent line: %q", s.Title)
		}
	}
	if len(sigs) != 1 {
		t.Errorf("want the one MediaWiki signature, got %d: %+v", len(sigs), sigs)
	}
	causes, err := svc.Puppet.Causes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(causes) != 2 {
		t.Errorf("want the service and exec causes from the puppet watcher, got %+v", causes)
	}
}

func TestPuppetConfigWarnings(t *testing.T) {
	tests := []struct {
		name, yaml string
		warn       bool
	}{
		{"defaults keep them apart", "logstash: {urls: [http://x], index: logstash-*}\npuppet: {}\n", false},
		{"own main query reading everything", "logstash: {urls: [http://x], index: logstash-*, query: {term: {type: syslog}}}\npuppet: {}\n", true},
		{"own main query excluding puppet", "logstash: {urls: [http://x], index: logstash-*, query: {bool: {must_not: [{terms: {program: [puppet-agent]}}]}}}\npuppet: {}\n", false},
		{"different indices", "logstash: {urls: [http://x], index: logstash-mediawiki-*, query: {term: {type: mediawiki}}}\npuppet: {index: logstash-syslog-*}\n", false},
		{"overlapping patterns", "logstash: {urls: [http://x], index: logstash-*, query: {term: {type: syslog}}}\npuppet: {index: logstash-syslog-*}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ConfigWarnings(cfg)) > 0; got != tt.warn {
				t.Errorf("warning = %v, want %v: %v", got, tt.warn, ConfigWarnings(cfg))
			}
		})
	}
}
