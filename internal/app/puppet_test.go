package app

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/esfake"
)

// indexPuppetLog loads a real puppet agent log fixture into the fake
// logstash as syslog events of host, moved to end shortly before now.
func indexPuppetLog(t *testing.T, es *esfake.Server, fixture, host string, end time.Time, seq *int) {
	t.Helper()
	f, err := os.Open(filepath.Join("../../checks/testdata/puppet", fixture))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i, l := range lines {
		_, rest, _ := strings.Cut(l, " ")
		level, msg, _ := strings.Cut(rest, " ")
		ts := end.Add(-time.Duration(len(lines)-i) * time.Second)
		*seq++
		es.Index("logstash-syslog-"+ts.Format("2006.01.02"), fmt.Sprintf("p%05d", *seq), map[string]any{
			"@timestamp": ts.Format(time.RFC3339Nano), "type": "syslog", "host": host,
			"program": "puppet-agent", "level": level, "message": msg,
		})
	}
}

// TestPuppetFailureFiledOnceAcrossHosts: the same missing class on two hosts
// is one finding listing both hosts, filed once.
func TestPuppetFailureFiledOnceAcrossHosts(t *testing.T) {
	es := esfake.New()
	defer es.Close()
	now := time.Now().UTC()
	seq := 0
	indexPuppetLog(t, es, "agent_catalog_error.log", "deployment-mediawiki11", now.Add(-20*time.Minute), &seq)
	indexPuppetLog(t, es, "agent_catalog_error.log", "deployment-mediawiki12", now.Add(-10*time.Minute), &seq)
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
logstash:
  urls: [%s]
  index: logstash-mediawiki-*
  poll_interval: 1s
  start: -2h
puppet:
  index: logstash-syslog-*
spikes:
  disabled: true
`, es.URL())))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	serve(t, newService(t, cfg))

	var tasks []string
	waitFor(t, "the puppet finding in the outbox", func() bool {
		tasks = nil
		for p := range outbox(t, cfg.DataDir) {
			if strings.Contains(filepath.Base(p), "puppet") && !strings.Contains(p, "comment") && !strings.Contains(p, ".edit-") {
				tasks = append(tasks, p)
			}
		}
		return len(tasks) > 0
	})
	time.Sleep(1500 * time.Millisecond) // a few more polls: nothing more may be filed
	files := outbox(t, cfg.DataDir)
	var puppetTasks []string
	for p, content := range files {
		if strings.Contains(filepath.Base(p), "puppet") && !strings.Contains(p, "comment") && !strings.Contains(p, ".edit-") {
			puppetTasks = append(puppetTasks, content)
		}
	}
	if len(puppetTasks) != 1 {
		t.Fatalf("%d puppet tasks filed, want 1 for one cause on two hosts", len(puppetTasks))
	}
	body := puppetTasks[0]
	for _, want := range []string{"profile::does_not_exist", "deployment-mediawiki11", "deployment-mediawiki12"} {
		if !strings.Contains(body, want) {
			t.Errorf("puppet task lacks %q:\n%s", want, body)
		}
	}
}
