package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	src := `
data_dir: /var/lib/sheriff
listen: 0.0.0.0:9000
logstash:
  urls: [https://logstash.example.org:9200]
  index: logstash-mediawiki-*
  poll_interval: 30s
  lag: 10m
  username: sheriff
  password_env: LOGSTASH_PW
  query:
    bool:
      filter:
        - terms: {channel: [exception, error, fatal]}
rules:
  files: [site-rules.yaml]
phabricator:
  url: https://phabricator.wikimedia.org
  projects: [beta-cluster-infrastructure]
  comment_interval: 12h
`
	c, err := Parse("/etc/sheriff/sheriff.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Logstash.PollInterval.D() != 30*time.Second || c.Logstash.Lag.D() != 10*time.Minute {
		t.Errorf("durations: %v %v", c.Logstash.PollInterval, c.Logstash.Lag)
	}
	if c.Logstash.BatchSize != 500 || c.Logstash.TieBreaker != "_id" {
		t.Errorf("defaults not applied: %+v", c.Logstash)
	}
	if !strings.Contains(string(c.Logstash.Query), `"terms":{"channel":["exception","error","fatal"]}`) {
		t.Errorf("query not converted to JSON: %s", c.Logstash.Query)
	}
	if c.Rules.Files[0] != "/etc/sheriff/site-rules.yaml" {
		t.Errorf("rule path not resolved against the config's directory: %s", c.Rules.Files[0])
	}
	if c.Phabricator.CommentInterval.D() != 12*time.Hour || c.Phabricator.StormThreshold != 10 || !*c.Phabricator.ReopenOnRegression {
		t.Errorf("phabricator: %+v", c.Phabricator)
	}
}

func TestParseErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown top-level key", "listne: 1.2.3.4:80\n", []string{"c.yaml:1:1: listne: unknown key"}},
		{"unknown nested key", "logstash:\n  urls: [http://x:9200]\n  pol_interval: 1m\n", []string{"c.yaml:3:3: logstash.pol_interval: unknown key"}},
		{"wrong type", "logstash:\n  urls: [http://x:9200]\n  batch_size: lots\n", []string{"c.yaml:3:15: logstash.batch_size: want a whole number, got \"lots\""}},
		{"bad duration", "logstash:\n  urls: [http://x:9200]\n  poll_interval: often\n", []string{"c.yaml:3:18: logstash.poll_interval: bad duration \"often\""}},
		{"list expected", "logstash:\n  urls: http://x:9200\n", []string{"c.yaml:2:9: logstash.urls: want a list"}},
		{"bad value", "logstash:\n  urls: [ftp://x]\n", []string{"c.yaml:2:10: logstash.urls[0]: want an http(s) URL"}},
		{"bad listen", "listen: nowhere\n", []string{"c.yaml:1:9: listen: want host:port"}},
		{"credentials in URL", "logstash:\n  urls: ['https://u:p@x:9200']\n", []string{"logstash.urls[0]: credentials do not belong in the URL"}},
		{"several errors at once", "listen: nowhere\nlog_level: loud\n", []string{"c.yaml:1:9: listen", "c.yaml:2:12: log_level"}},
		{"syntax", "logstash:\n  urls: [\n", []string{"c.yaml:"}},
		// Priority keywords are the install's; the server checks them at
		// start-up. Here only an empty mapping is an error.
		{"empty priority", "phabricator:\n  priorities: {normal: ''}\n", []string{"c.yaml:2:15: phabricator.priorities"}},
		{"irc channel", "irc:\n  server: irc.libera.chat\n  channels: [wikimedia-releng]\n", []string{"irc.channels[0]: channel names start with #"}},
		{"duplicate key", "listen: 1.2.3.4:80\nlisten: 1.2.3.4:81\n", []string{"c.yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted %q", tt.src)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	c, err := Parse("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.DataDir != "./sheriff-data" || c.Logstash != nil {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "token")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHERIFF_TEST_SECRET", "from-env")
	if v, _ := Secret("SHERIFF_TEST_SECRET", f); v != "from-env" {
		t.Errorf("env should win, got %q", v)
	}
	if v, _ := Secret("SHERIFF_TEST_UNSET", f); v != "from-file" {
		t.Errorf("file fallback, got %q", v)
	}
	if v, err := Secret("", ""); v != "" || err != nil {
		t.Errorf("no secret: %q %v", v, err)
	}
	if _, err := Secret("", filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	if got, _ := ParseStart("-2h", now); !got.Equal(now.Add(-2 * time.Hour)) {
		t.Errorf("-2h: %v", got)
	}
	if got, _ := ParseStart("2026-11-01T00:00:00Z", now); got.Day() != 1 {
		t.Errorf("rfc3339: %v", got)
	}
	if _, err := ParseStart("yesterday", now); err == nil {
		t.Error("accepted 'yesterday'")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	c, err := Load("../../sheriff.example.yaml")
	if err != nil {
		t.Fatalf("the documented example config must stay valid: %v", err)
	}
	if c.Logstash == nil || c.IRC == nil || c.Drift == nil {
		t.Fatal("the example config should show every section")
	}
}
