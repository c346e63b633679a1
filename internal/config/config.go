// Package config loads sheriff's YAML configuration. Every key is documented
// in README.md ("Configuration reference"); keep the two in step.
//
// Unknown keys, wrong types and bad values are errors naming the file, the
// line and the key. Secrets are never written in the file itself: each
// secret has a *_env key (the name of an environment variable) and a *_file
// key (a path to a file holding it).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of `sheriff run`.
type Config struct {
	DataDir  string `yaml:"data_dir"`
	Listen   string `yaml:"listen"`
	LogLevel string `yaml:"log_level"`
	// BaseURL is how people reach sheriff's HTTP server (report links on IRC).
	BaseURL string `yaml:"base_url"`
	// Sample is an NDJSON file of recorded events used instead of logstash.
	// With neither sample nor logstash configured, the bundled demo sample is used.
	Sample      string      `yaml:"sample"`
	Logstash    *Logstash   `yaml:"logstash"`
	Rules       Rules       `yaml:"rules"`
	Redact      Redact      `yaml:"redact"`
	Phabricator Phabricator `yaml:"phabricator"`
	IRC         *IRC        `yaml:"irc"`
	Drift       *Drift      `yaml:"drift"`
	Puppet      *Puppet     `yaml:"puppet"`
	Spikes      Spikes      `yaml:"spikes"`
	file        string      // where it was loaded from, for messages
	pos         map[string]*yaml.Node
}

// Logstash configures the Elasticsearch/OpenSearch event source.
type Logstash struct {
	URLs         []string `yaml:"urls"`
	Index        string   `yaml:"index"`
	Query        JSON     `yaml:"query"`
	PollInterval Duration `yaml:"poll_interval"`
	Lag          Duration `yaml:"lag"`
	BatchSize    int      `yaml:"batch_size"`
	TieBreaker   string   `yaml:"tie_breaker"`
	Start        string   `yaml:"start"`
	Username     string   `yaml:"username"`
	PasswordEnv  string   `yaml:"password_env"`
	PasswordFile string   `yaml:"password_file"`
	DashboardURL string   `yaml:"dashboard_url"`
}

// Rules lists site rule files applied after the built-in defaults.
type Rules struct {
	Files      []string `yaml:"files"`
	NoDefaults bool     `yaml:"no_defaults"`
}

// Redact adds site-specific redaction to the built-in one.
type Redact struct {
	Patterns []string `yaml:"patterns"`
	Fields   []string `yaml:"fields"`
}

// Phabricator configures task filing. Without a token sheriff runs dry:
// would-be tasks are written to the outbox directory.
type Phabricator struct {
	URL                string   `yaml:"url"`
	TokenEnv           string   `yaml:"token_env"`
	TokenFile          string   `yaml:"token_file"`
	Projects           []string `yaml:"projects"`
	Priority           string   `yaml:"priority"`
	CommentInterval    Duration `yaml:"comment_interval"`
	ReopenOnRegression *bool    `yaml:"reopen_on_regression"`
	IntentGrace        Duration `yaml:"intent_grace"`
	StormThreshold     int      `yaml:"storm_threshold"`
	StormWindow        Duration `yaml:"storm_window"`
	WriteInterval      Duration `yaml:"write_interval"`
	FileDrift          bool     `yaml:"file_drift"`
	// Priorities maps a severity (unbreak, high, normal, low, wishlist,
	// triage) to a priority keyword of the install; see filer.Options.
	Priorities map[string]string `yaml:"priorities"`
	// RetryMin is the first delay before a failed or pending filing (and a
	// refused Conduit call) is tried again; it doubles up to 10m.
	RetryMin Duration `yaml:"retry_min"`
	// BacklogAlert: the filer shows as degraded on /healthz once a
	// signature has waited this long for its task.
	BacklogAlert Duration `yaml:"backlog_alert"`
}

// IRC configures the bot; keys mirror bot.Config, where defaults live.
type IRC struct {
	Server           string   `yaml:"server"`
	Port             int      `yaml:"port"`
	TLS              bool     `yaml:"tls"`
	Nick             string   `yaml:"nick"`
	AltNicks         []string `yaml:"alt_nicks"`
	User             string   `yaml:"user"`
	Name             string   `yaml:"name"`
	SASLAccount      string   `yaml:"sasl_account"`
	SASLPasswordEnv  string   `yaml:"sasl_password_env"`
	SASLPasswordFile string   `yaml:"sasl_password_file"`
	Channels         []string `yaml:"channels"`
	Admins           []string `yaml:"admins"`
	AllowOps         bool     `yaml:"allow_ops"`
	AnnounceRate     int      `yaml:"announce_rate"`
	BurstWindow      Duration `yaml:"burst_window"`
	EscalateAfter    Duration `yaml:"escalate_after"`
	TopicSegment     bool     `yaml:"topic_segment"`
	Link             string   `yaml:"link"`
	ReconnectMin     Duration `yaml:"reconnect_min"`
	ReconnectMax     Duration `yaml:"reconnect_max"`
	Rota             Rota     `yaml:"rota"`
}

// Rota is the on-duty rotation; keys mirror rota.Config.
type Rota struct {
	People      []Person   `yaml:"people"`
	Start       string     `yaml:"start"`
	Days        int        `yaml:"days"`
	HandoffDay  string     `yaml:"handoff_day"`
	HandoffTime string     `yaml:"handoff_time"`
	TimeZone    string     `yaml:"timezone"`
	Overrides   []Override `yaml:"overrides"`
}

// Person is one member of the rota.
type Person struct {
	Nick    string `yaml:"nick"`
	Account string `yaml:"account"`
	Phab    string `yaml:"phab"`
}

// Override puts someone on duty from From to To (dates inclusive, or
// "YYYY-MM-DD HH:MM" date-times).
type Override struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
	Nick string `yaml:"nick"`
	Note string `yaml:"note"`
}

// Drift configures the scheduled drift check.
type Drift struct {
	Schedule        string `yaml:"schedule"`
	Puppet          string `yaml:"puppet"`
	MediaWikiConfig string `yaml:"mediawiki_config"`
	Charts          string `yaml:"charts"`
	Rules           string `yaml:"rules"`
	Baseline        string `yaml:"baseline"`
	GitPull         bool   `yaml:"git_pull"`
	ReportsDir      string `yaml:"reports_dir"`
}

// Puppet configures the puppet failure check (events from the same logstash).
type Puppet struct {
	Index       string   `yaml:"index"`
	Query       JSON     `yaml:"query"`
	Programs    []string `yaml:"programs"`
	StaleAfter  Duration `yaml:"stale_after"`
	ForgetAfter Duration `yaml:"forget_after"`
	RunSlack    Duration `yaml:"run_slack"`
	// Sample is a recorded NDJSON export of puppet agent documents, read
	// instead of logstash (with sample: for the rest, or alone).
	Sample string `yaml:"sample"`
}

// Spikes configures rate-jump detection on known signatures.
type Spikes struct {
	Disabled  bool     `yaml:"disabled"`
	Window    Duration `yaml:"window"`
	History   int      `yaml:"history"`
	Sigma     float64  `yaml:"sigma"`
	MinCount  int      `yaml:"min_count"`
	Ratio     float64  `yaml:"ratio"`
	StopAfter int      `yaml:"stop_after"`
	MinKnown  int      `yaml:"min_known"`
}

// Default returns the configuration used with no config file: the bundled
// demo sample, dry-run filing, everything local.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// Load reads and validates a config file. Relative paths inside it are
// resolved against the file's directory.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(file, data)
}

// Parse decodes and validates config data; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(file, err)
	}
	c := &Config{file: file}
	if len(doc.Content) > 0 {
		pos, err := decodeStrict(file, doc.Content[0], c)
		c.pos = pos
		if err != nil {
			return nil, err
		}
	}
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
		// Before the defaults, which derive paths from it; the default
		// itself stays relative to the working directory.
		c.DataDir = filepath.Join(filepath.Dir(file), c.DataDir)
	}
	c.applyDefaults()
	c.resolvePaths(filepath.Dir(file))
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defD := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.DataDir, "./sheriff-data")
	def(&c.Listen, "127.0.0.1:8080")
	def(&c.LogLevel, "info")
	if l := c.Logstash; l != nil {
		def(&l.Index, "logstash-*")
		defD(&l.PollInterval, time.Minute)
		defD(&l.Lag, 5*time.Minute)
		def(&l.TieBreaker, "_id")
		if l.BatchSize == 0 {
			l.BatchSize = 500
		}
	}
	p := &c.Phabricator
	def(&p.TokenEnv, "SHERIFF_PHABRICATOR_TOKEN")
	def(&p.Priority, "normal")
	defD(&p.CommentInterval, 24*time.Hour)
	defD(&p.StormWindow, 15*time.Minute)
	defD(&p.WriteInterval, 2*time.Second)
	defD(&p.RetryMin, 2*time.Second)
	defD(&p.BacklogAlert, 15*time.Minute)
	if p.StormThreshold == 0 {
		p.StormThreshold = 10
	}
	if p.ReopenOnRegression == nil {
		t := true
		p.ReopenOnRegression = &t
	}
	if irc := c.IRC; irc != nil {
		def(&irc.Nick, "sheriff")
		def(&irc.SASLPasswordEnv, "SHERIFF_IRC_PASSWORD")
	}
	if d := c.Drift; d != nil {
		def(&d.Schedule, "0 3 * * *")
		def(&d.ReportsDir, filepath.Join(c.DataDir, "reports"))
	}
	if pp := c.Puppet; pp != nil {
		if len(pp.Programs) == 0 {
			pp.Programs = []string{"puppet-agent", "puppet"}
		}
		defD(&pp.StaleAfter, 2*time.Hour)
	}
	s := &c.Spikes
	defD(&s.Window, 10*time.Minute)
	if s.History == 0 {
		s.History = 36
	}
	if s.Sigma == 0 {
		s.Sigma = 3
	}
	if s.MinCount == 0 {
		s.MinCount = 20
	}
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Sample)
	if c.Puppet != nil {
		abs(&c.Puppet.Sample)
	}
	for i := range c.Rules.Files {
		abs(&c.Rules.Files[i])
	}
	abs(&c.Phabricator.TokenFile)
	if c.Logstash != nil {
		abs(&c.Logstash.PasswordFile)
	}
	if c.IRC != nil {
		abs(&c.IRC.SASLPasswordFile)
	}
	if d := c.Drift; d != nil {
		abs(&d.Puppet)
		abs(&d.MediaWikiConfig)
		abs(&d.Charts)
		abs(&d.Rules)
		abs(&d.Baseline)
	}
}

func (c *Config) validate() error {
	var errs Errors
	bad := func(key, format string, args ...any) {
		e := &Error{File: c.file, Key: key, Msg: fmt.Sprintf(format, args...)}
		if n, ok := c.pos[key]; ok {
			e.Line, e.Column = n.Line, n.Column
		}
		errs = append(errs, e)
	}
	checkURL(bad, "base_url", c.BaseURL)
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want host:port, got %q", c.Listen)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.Puppet != nil && c.Logstash == nil && c.Sample == "" && c.Puppet.Sample == "" {
		bad("puppet", "the puppet check reads from logstash, or recorded events: configure logstash, sample or puppet.sample too")
	}
	if c.Puppet != nil && c.Puppet.Sample != "" && c.Logstash != nil {
		bad("puppet.sample", "puppet.sample and logstash are mutually exclusive")
	}
	if c.Sample != "" && c.Logstash != nil {
		bad("sample", "sample and logstash are mutually exclusive")
	}
	if l := c.Logstash; l != nil {
		if len(l.URLs) == 0 {
			bad("logstash.urls", "at least one URL is required")
		}
		for i, u := range l.URLs {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				bad(fmt.Sprintf("logstash.urls[%d]", i), "want an http(s) URL, got %q", u)
			} else if pu.User != nil {
				bad(fmt.Sprintf("logstash.urls[%d]", i), "credentials do not belong in the URL: use username and password_env or password_file")
			}
		}
		if l.BatchSize < 1 || l.BatchSize > 10000 {
			bad("logstash.batch_size", "want 1 to 10000, got %d", l.BatchSize)
		}
		if l.PollInterval.D() < time.Second {
			bad("logstash.poll_interval", "want at least 1s")
		}
		if l.Start != "" {
			if _, err := ParseStart(l.Start, time.Now()); err != nil {
				bad("logstash.start", "%v", err)
			}
		}
		if l.Query != nil {
			if s := strings.TrimSpace(string(l.Query)); !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
				bad("logstash.query", "want a query clause (mapping) or a list of them")
			}
		}
		if l.Username != "" && l.PasswordEnv == "" && l.PasswordFile == "" {
			bad("logstash.username", "a username needs password_env or password_file")
		}
		checkURL(bad, "logstash.dashboard_url", l.DashboardURL)
	}
	p := c.Phabricator
	checkURL(bad, "phabricator.url", p.URL)
	// Priority keywords are the install's own; they are checked against
	// the server (maniphest.priority.search) at start-up.
	if strings.TrimSpace(p.Priority) == "" {
		bad("phabricator.priority", "must not be empty")
	}
	for sev, kw := range p.Priorities {
		if strings.TrimSpace(sev) == "" || strings.TrimSpace(kw) == "" {
			bad("phabricator.priorities", "severity and priority keyword must not be empty (got %q: %q)", sev, kw)
		}
	}
	if p.StormThreshold < 1 {
		bad("phabricator.storm_threshold", "want at least 1")
	}
	if irc := c.IRC; irc != nil {
		if irc.Server == "" {
			bad("irc.server", "required when irc is configured")
		}
		if len(irc.Channels) == 0 {
			bad("irc.channels", "at least one channel is required")
		}
		for i, ch := range irc.Channels {
			if !strings.HasPrefix(ch, "#") && !strings.HasPrefix(ch, "&") {
				bad(fmt.Sprintf("irc.channels[%d]", i), "channel names start with #, got %q", ch)
			}
		}
		if irc.Port < 0 || irc.Port > 65535 {
			bad("irc.port", "want 1 to 65535")
		}
	}
	s := c.Spikes
	if s.Sigma <= 0 {
		bad("spikes.sigma", "want a positive number")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func checkURL(bad func(string, string, ...any), key, u string) {
	if u == "" {
		return
	}
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		bad(key, "want an http(s) URL, got %q", u)
	}
}

// ParseStart reads logstash.start: an RFC 3339 time, or a negative duration
// relative to now ("-1h").
func ParseStart(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d > 0 {
			d = -d
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time or a duration such as -1h, got %q", s)
	}
	return t, nil
}

// Secret reads a secret from the environment variable env or, if that is
// unset, from file (trailing newline removed). Both empty means no secret.
func Secret(env, file string) (string, error) {
	if env != "" {
		if v, ok := os.LookupEnv(env); ok && v != "" {
			return v, nil
		}
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func syntaxError(file string, err error) error {
	msg := err.Error()
	var line int
	if _, e := fmt.Sscanf(msg, "yaml: line %d:", &line); e == nil {
		_, rest, _ := strings.Cut(msg, ": ")
		_, rest, _ = strings.Cut(rest, ": ")
		return &Error{File: file, Line: line, Column: 1, Msg: "YAML syntax: " + rest}
	}
	return &Error{File: file, Msg: msg}
}
