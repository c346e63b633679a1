package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wikimedia/sheriff/internal/event"
)

// TestPuppetLiveApply is an acceptance test against the real agent: it runs
// `puppet apply` on broken manifests as two hosts with different code
// layouts, then a clean one, and checks the grouping and the recovery.
// Skipped when puppet is not installed (apt-get install puppet-agent) and in
// -short mode (each run takes seconds).
func TestPuppetLiveApply(t *testing.T) {
	if testing.Short() {
		t.Skip("runs puppet apply")
	}
	bin, err := exec.LookPath("puppet")
	if err != nil {
		t.Skip("puppet is not installed")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	broken := func(extra string) string {
		return fmt.Sprintf(`class profile::web {
  service { 'beta-missing-daemon': ensure => running }
  exec { 'warm-cache': command => '/bin/sh -c "exit 4"', path => '/bin:/usr/bin' }
  file { '%s/after': ensure => file, require => Exec['warm-cache'] }%s
}
include profile::web
`, out, extra)
	}
	// later shifts a run's timestamps, as if it ran that much later.
	apply := func(host, codeDir, manifest string, later time.Duration) []event.Event {
		t.Helper()
		site := filepath.Join(codeDir, "environments", "production", "manifests", "site.pp")
		if err := os.MkdirAll(filepath.Dir(site), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(site, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		logf := filepath.Join(dir, host+".json")
		os.Remove(logf)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "apply", "--color=false", "--certname", host,
			"--confdir", filepath.Join(dir, "conf"), "--vardir", filepath.Join(dir, "var"), "--codedir", codeDir,
			"--logdest", logf, site)
		if b, err := cmd.CombinedOutput(); ctx.Err() != nil {
			t.Fatalf("puppet apply: %v\n%s", err, b)
		}
		data, err := os.ReadFile(logf)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := puppetJSONToEvents(host, data)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			evs[i].Timestamp = evs[i].Timestamp.Add(later)
		}
		return evs
	}

	h := newPuppetHarness(t)
	h.now = time.Now()
	a, b := "deployment-web01.deployment-prep.eqiad1.wikimedia.cloud", "deployment-web02.deployment-prep.eqiad1.wikimedia.cloud"
	h.observe(apply(a, filepath.Join(dir, "etc", "puppet", "code"), broken(""), 0))
	h.observe(apply(b, filepath.Join(dir, "srv", "puppet_code"), "# another layout\n\n"+broken("\n  # shifted"), 0))

	hostsByTitle := map[string][]string{}
	for _, f := range h.pending() {
		hostsByTitle[f.Title] = puppetHostsOf(f)
	}
	both := puppetSortedHosts([]string{a, b})
	for _, title := range []string{"Puppet: Service[beta-missing-daemon] failed to start", "Puppet: Exec[warm-cache] failed"} {
		if diff := cmp.Diff(both, hostsByTitle[title]); diff != "" {
			t.Errorf("%s (-want +got hosts):\n%s\nall: %v", title, diff, hostsByTitle)
		}
	}
	h.report()

	// A's next run applies a clean catalog: it recovers from both causes.
	h.observe(apply(a, filepath.Join(dir, "etc", "puppet", "code"), "notify { 'all good': }\n", 30*time.Minute))
	hostsByTitle = map[string][]string{}
	for _, f := range h.pending() {
		hostsByTitle[f.Title] = puppetHostsOf(f)
	}
	for _, title := range []string{"Puppet: Service[beta-missing-daemon] failed to start", "Puppet: Exec[warm-cache] failed"} {
		if diff := cmp.Diff([]string{b}, hostsByTitle[title]); diff != "" {
			t.Errorf("after A recovered, %s (-want +got hosts):\n%s", title, diff)
		}
	}
	hosts, err := h.p.Hosts(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(hosts, func(s HostState) bool { return s.Host == a })
	if i < 0 || hosts[i].LastSuccess.IsZero() || len(hosts[i].Causes) != 0 {
		t.Errorf("A after a clean run: %+v", hosts)
	}
}

// puppetJSONToEvents turns a puppet --logdest JSON log into the events the
// agent's syslog lines become (see testdata/puppet/to-syslog.rb).
func puppetJSONToEvents(host string, data []byte) ([]event.Event, error) {
	s := strings.TrimSpace(string(data))
	if !strings.HasSuffix(s, "]") {
		s += "]"
	}
	var msgs []struct {
		Level, Message, Source, Time, File, Environment, Node string
		Line, Pos                                             json.Number
		IssueCode                                             string `json:"issue_code"`
	}
	if err := json.Unmarshal([]byte(s), &msgs); err != nil {
		return nil, fmt.Errorf("puppet JSON log: %w", err)
	}
	var evs []event.Event
	for _, m := range msgs {
		if m.Source == "Facter" && strings.Contains(m.Message, "/proc/1/environ") {
			continue // container noise
		}
		at, err := time.Parse(time.RFC3339Nano, m.Time)
		if err != nil {
			return nil, fmt.Errorf("puppet JSON log: time %q: %w", m.Time, err)
		}
		msg := m.Message
		if m.IssueCode != "" {
			if m.Environment != "" {
				msg = "Could not parse for environment " + m.Environment + ": " + msg
			}
			switch {
			case m.File != "" && m.Line != "" && m.Pos != "":
				msg += fmt.Sprintf(" (file: %s, line: %s, column: %s)", m.File, m.Line, m.Pos)
			case m.File != "" && m.Line != "":
				msg += fmt.Sprintf(" (file: %s, line: %s)", m.File, m.Line)
			}
			if m.Node != "" {
				msg += " on node " + m.Node
			}
		}
		for line := range strings.SplitSeq(msg, "\n") {
			if m.Source != "Puppet" {
				line = "(" + m.Source + ") " + line
			}
			evs = append(evs, event.Event{Timestamp: at, Type: "syslog", Host: host, Program: "puppet-agent",
				Level: strings.ToUpper(m.Level), Message: line})
		}
	}
	return evs, nil
}
