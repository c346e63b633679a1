// Package app wires sheriff's parts into the running service. main stays
// small; tests start the whole service in-process through Run.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wikimedia/sheriff/bot"
	"github.com/wikimedia/sheriff/checks"
	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/demo"
	"github.com/wikimedia/sheriff/internal/drift"
	"github.com/wikimedia/sheriff/internal/driftrun"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/httpapi"
	"github.com/wikimedia/sheriff/internal/metrics"
	"github.com/wikimedia/sheriff/internal/miner"
	"github.com/wikimedia/sheriff/internal/pipeline"
	"github.com/wikimedia/sheriff/internal/redact"
	"github.com/wikimedia/sheriff/internal/silence"
	"github.com/wikimedia/sheriff/internal/spike"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
	"github.com/wikimedia/sheriff/rules"
)

// dashboardHistory is how far back the dashboard charts counts (its
// signature page shows 7 days of hourly counts).
const dashboardHistory = 8 * 24 * time.Hour

// Version is set at build time with -ldflags "-X github.com/wikimedia/sheriff/internal/app.Version=...".
var Version = "dev"

// Service is a wired sheriff ready to run.
type Service struct {
	Config   *config.Config
	DB       *store.DB
	Tracker  *tracker.Tracker
	Health   *health.Registry
	Metrics  *metrics.Metrics
	Filer    *filer.Filer
	Redactor *redact.Redactor
	Log      *slog.Logger
	DryRun   bool // tasks go to the outbox, not Phabricator
	Drift    *driftrun.Runner
	Bot      *bot.Bot // nil without irc
	Silences *silence.Store
	Puppet   *checks.Puppet // nil without puppet

	grouper *pipeline.MinerGrouper
	spikes  *spike.Detector
	// announceLine sends one informational line to IRC (nil without a bot).
	announceLine func(ctx context.Context, line, dedupe string)
	ingesters    []*pipeline.Ingester
	reporter     *pipeline.Reporter
	closers      []func() error
}

// New opens the state and builds every part from cfg. Nothing runs yet.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Service, error) {
	s := &Service{Config: cfg, Health: health.NewRegistry(), Metrics: metrics.New(), Log: log}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	db, err := store.Open(ctx, filepath.Join(cfg.DataDir, "sheriff.db"))
	if err != nil {
		return nil, err
	}
	s.DB = db
	s.closers = append(s.closers, db.Close)
	if s.Tracker, err = tracker.New(ctx, db, cfg.Spikes.Window.D()); err != nil {
		return nil, err
	}
	ruleSet, err := rules.Load(cfg.Rules.Files, cfg.Rules.NoDefaults)
	if err != nil {
		return nil, err
	}
	if s.Redactor, err = redact.New(redact.Config{Patterns: cfg.Redact.Patterns, Fields: cfg.Redact.Fields}); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	if s.Config, _, err = s.useRecorded(); err != nil {
		return nil, err
	}
	cfg = s.Config
	src, interval, err := s.source(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.buildFiler(ctx); err != nil {
		return nil, err
	}
	s.grouper, err = pipeline.NewMinerGrouper(ctx, db, "events", miner.Options{}, time.Minute)
	if err != nil {
		return nil, err
	}
	trigger := make(chan struct{}, 1)
	var sources []pipeline.FindingSource
	s.ingesters = append(s.ingesters, &pipeline.Ingester{
		DB: db, Source: src, Rules: ruleSet, Tracker: s.Tracker, Redactor: s.Redactor, Generic: s.grouper,
		Health: s.Health, Metrics: s.Metrics, Log: log, Interval: interval,
		Backoff: backoff.Policy{Base: time.Second, Max: 5 * time.Minute}, Ingested: trigger,
	})
	if cfg.Puppet != nil {
		in, check, err := s.puppet(ctx, trigger)
		if err != nil {
			return nil, err
		}
		s.ingesters = append(s.ingesters, in)
		sources = append(sources, check)
		s.Puppet = check
	}
	if !cfg.Spikes.Disabled {
		sp := cfg.Spikes
		s.spikes, err = spike.New(ctx, db, s.Tracker, spike.Options{Window: sp.Window.D(), History: sp.History, Sigma: sp.Sigma,
			MinCount: sp.MinCount, Ratio: sp.Ratio, StopAfter: sp.StopAfter, MinKnown: sp.MinKnown}, log)
		if err != nil {
			return nil, fmt.Errorf("spikes: %w", err)
		}
		sources = append(sources, s.spikes)
	}
	if cfg.Drift != nil {
		d := cfg.Drift
		s.Drift, err = driftrun.New(ctx, db, driftrun.Options{
			Schedule: d.Schedule, Sources: drift.Sources{Puppet: d.Puppet, MediaWikiConfig: d.MediaWikiConfig, Charts: d.Charts},
			RulesFile: d.Rules, Baseline: d.Baseline, GitPull: d.GitPull, ReportsDir: d.ReportsDir,
			FileReal: cfg.Phabricator.FileDrift, BaseURL: cfg.BaseURL, Redactor: s.Redactor, OnRun: s.driftDone,
		}, log)
		if err != nil {
			return nil, fmt.Errorf("drift: %w", err)
		}
		sources = append(sources, s.Drift)
	}
	s.Silences, err = silence.New(ctx, db)
	if err != nil {
		return nil, err
	}
	if cfg.IRC != nil {
		bc, err := botConfig(cfg.IRC, Version)
		if err != nil {
			return nil, fmt.Errorf("irc: %w", err)
		}
		src := botSources{s}
		s.Bot, err = bot.New(ctx, bc, bot.Deps{DB: db, Silences: s.Silences, Status: src, Recent: src, Drift: src, Tasks: src,
			Findings: src, TaskRef: outboxTaskRef, Logger: log, Redact: s.Redactor.String})
		if err != nil {
			return nil, fmt.Errorf("irc: %w", err)
		}
	}
	s.reporter = &pipeline.Reporter{Sources: sources, Silences: silencer{s.Silences},
		Tracker: s.Tracker, Filer: s.Filer, Health: s.Health, Metrics: s.Metrics, Log: log,
		Backoff: backoff.Policy{Base: cfg.Phabricator.RetryMin.D(), Max: 10 * time.Minute}, Interval: time.Minute, Trigger: trigger,
		BacklogAlert: cfg.Phabricator.BacklogAlert.D(),
	}
	if s.Bot != nil {
		s.reporter.Notifier = s.Bot
		s.announceLine = func(ctx context.Context, line, dedupe string) {
			if err := s.Bot.Say(ctx, line, dedupe); err != nil {
				s.Log.Warn("queue IRC line", "err", err)
			}
		}
	}
	ok = true
	return s, nil
}

func (s *Service) source(ctx context.Context) (checks.Source, time.Duration, error) {
	cfg := s.Config
	switch {
	case cfg.Logstash != nil:
		lc, err := s.logstashConfig("logstash", cfg.Logstash.Index, mainQuery(cfg))
		if err != nil {
			return nil, 0, err
		}
		src, err := checks.NewLogstash(ctx, s.DB, lc, s.Log)
		if err != nil {
			return nil, 0, err
		}
		return src, cfg.Logstash.PollInterval.D(), nil
	case cfg.Sample != "":
		data, err := os.ReadFile(cfg.Sample)
		if err != nil {
			return nil, 0, fmt.Errorf("sample: %w", err)
		}
		src, err := checks.NewNDJSON(ctx, s.DB, "file:"+filepath.Base(cfg.Sample), data, 500)
		return src, 5 * time.Second, err
	default:
		src, err := checks.NewNDJSON(ctx, s.DB, "demo", demo.Sample(), 200)
		return src, 5 * time.Second, err
	}
}

func (s *Service) buildFiler(ctx context.Context) error {
	cfg := s.Config
	p := cfg.Phabricator
	opts := filer.Options{
		DryRun: true, OutboxDir: filepath.Join(cfg.DataDir, "outbox"),
		Projects: p.Projects, Priority: p.Priority, CommentInterval: p.CommentInterval.D(),
		ReopenOnRegression: *p.ReopenOnRegression, StormThreshold: p.StormThreshold, StormWindow: p.StormWindow.D(),
		Redactor: s.Redactor, IntentGrace: p.IntentGrace.D(),
	}
	if cfg.Logstash != nil {
		opts.DashboardURL = cfg.Logstash.DashboardURL
	}
	var backend filer.Backend
	if p.URL != "" {
		token, err := config.Secret(p.TokenEnv, p.TokenFile)
		if err != nil {
			return fmt.Errorf("phabricator token: %w", err)
		}
		if token != "" {
			b, err := newConduitBackend(ctx, p, token, s.Log)
			if err != nil {
				return err
			}
			backend, opts.DryRun = b, false
		} else {
			s.Log.Warn("no Phabricator token configured: filing dry-run to the outbox", "env", p.TokenEnv, "outbox", opts.OutboxDir)
		}
	}
	s.DryRun = opts.DryRun
	f, err := filer.New(ctx, s.DB, backend, opts, s.Log)
	if err != nil {
		return err
	}
	s.Filer = f
	return nil
}

// Run serves HTTP on listen and runs every loop until ctx is done. It
// returns nil on a clean shutdown.
func (s *Service) Run(ctx context.Context, listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// HTTPServer is the HTTP API and dashboard over the service's state.
func (s *Service) HTTPServer() *httpapi.Server {
	srv := &httpapi.Server{Tracker: s.Tracker, Health: s.Health, Gatherer: s.Metrics.Registry, Version: Version, Log: s.Log,
		Silences: s.Silences}
	if s.Config.Drift != nil {
		srv.ReportsDir = s.Config.Drift.ReportsDir
	}
	if s.Drift != nil {
		srv.Drift = s.Drift
	}
	if s.Puppet != nil {
		srv.Puppet = s.Puppet
	}
	if s.spikes != nil {
		srv.Spikes = s.spikes
	}
	if s.Bot != nil {
		srv.IRC, srv.Rota = s.Bot, s.Bot.Rota()
	}
	return srv
}

// Serve is Run on an existing listener (tests use port 0).
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := s.HTTPServer()
	// The port is logged on its own: the redacting logger masks IP addresses,
	// and people (and tests) starting on port 0 need to find the server.
	port := 0
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	s.Log.Info("sheriff running", "listen", ln.Addr().String(), "port", port, "data_dir", s.Config.DataDir, "dry_run", s.DryRun)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	spawn := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	spawn("http", func(ctx context.Context) error { return srv.ServeListener(ctx, ln) })
	for _, in := range s.ingesters {
		spawn("ingest "+in.Source.Name(), in.Run)
	}
	spawn("report", s.reporter.Run)
	if s.Bot != nil {
		s.Health.Register("irc", true)
		spawn("irc", s.Bot.Run)
		spawn("irc health", s.ircHealth)
	}
	if s.Drift != nil {
		s.Health.Register("drift", true)
		spawn("drift", s.Drift.Run)
	}
	spawn("metrics", s.refreshMetrics)
	spawn("tasks", s.watchTasks)
	wg.Wait()
	// Keep what the template miner learned since its last periodic save.
	if err := s.DB.Tx(context.Background(), func(tx *sql.Tx) error { return s.grouper.Save(context.Background(), tx, true) }); err != nil {
		errc <- fmt.Errorf("save miner state: %w", err)
	}
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// logstashConfig is the watcher configuration for one query against the
// configured logstash: name is its checkpoint.
func (s *Service) logstashConfig(name, index string, query []byte) (checks.LogstashConfig, error) {
	l := s.Config.Logstash
	password, err := config.Secret(l.PasswordEnv, l.PasswordFile)
	if err != nil {
		return checks.LogstashConfig{}, fmt.Errorf("logstash password: %w", err)
	}
	start := time.Now().Add(-time.Hour)
	if l.Start != "" {
		if start, err = config.ParseStart(l.Start, time.Now()); err != nil {
			return checks.LogstashConfig{}, err
		}
	}
	return checks.LogstashConfig{
		Name: name, URLs: l.URLs, Index: index, Query: query, Username: l.Username, Password: password,
		BatchSize: l.BatchSize, Lag: l.Lag.D(), TieBreaker: l.TieBreaker, Start: start,
	}, nil
}

// puppet builds the puppet check: a second logstash watcher, over the
// puppet agent's syslog events, feeding per-host state instead of signatures.
func (s *Service) puppet(ctx context.Context, trigger chan<- struct{}) (*pipeline.Ingester, *checks.Puppet, error) {
	cfg, l := s.Config.Puppet, s.Config.Logstash
	lc, err := s.logstashConfig("puppet", puppetIndex(s.Config), puppetQuery(cfg))
	if err != nil {
		return nil, nil, err
	}
	src, err := checks.NewLogstash(ctx, s.DB, lc, s.Log)
	if err != nil {
		return nil, nil, fmt.Errorf("puppet source: %w", err)
	}
	check, err := checks.NewPuppet(ctx, s.DB, checks.PuppetOptions{StaleAfter: cfg.StaleAfter.D(), ForgetAfter: cfg.ForgetAfter.D(),
		RunSlack: cfg.RunSlack.D(), Programs: cfg.Programs, Redactor: s.Redactor}, s.Log)
	if err != nil {
		return nil, nil, fmt.Errorf("puppet: %w", err)
	}
	return &pipeline.Ingester{DB: s.DB, Source: src, Check: check, Tracker: s.Tracker, Health: s.Health, Metrics: s.Metrics,
		Log: s.Log, Interval: l.PollInterval.D(), Backoff: backoff.Policy{Base: time.Second, Max: 5 * time.Minute}, Ingested: trigger}, check, nil
}

// watchTasks follows what people do with the tasks (resolve, decline,
// reopen) and notes signatures that stopped on their open tasks.
func (s *Service) watchTasks(ctx context.Context) error {
	for {
		if err := s.refreshTasks(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("refresh task states", "err", err)
		}
		if err := backoff.Sleep(ctx, 10*time.Minute); err != nil {
			return err
		}
	}
}

func (s *Service) refreshTasks(ctx context.Context) error {
	changed, err := s.Filer.Refresh(ctx)
	if err != nil {
		return err
	}
	for _, m := range changed {
		status := finding.StatusKnown
		switch m.State() {
		case filer.TaskResolved:
			status = finding.StatusResolved
		case filer.TaskSilenced:
			status = finding.StatusSilenced
		}
		if err := s.Tracker.SetStatus(ctx, m.Kind, m.Key, status); err != nil {
			return err
		}
		s.Log.Info("task status changed", "task", m.TaskID, "status", m.Status, "signature", m.Key)
	}
	if s.spikes == nil {
		return nil
	}
	stops, err := s.spikes.Stopped(ctx, time.Now())
	if err != nil {
		return err
	}
	for _, st := range stops {
		if _, err := s.Filer.Note(ctx, st.Kind, st.ID, st.Comment()); err != nil {
			return err
		}
		if err := s.spikes.NoteStopped(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// ircHealth mirrors the bot's connection state into the health registry.
func (s *Service) ircHealth(ctx context.Context) error {
	for {
		st := s.Bot.State()
		switch {
		case st.Healthy:
			s.Health.OK("irc", fmt.Sprintf("%s as %s in %s, %d queued", st.Server, st.Nick, strings.Join(st.Channels, " "), st.Pending))
		case st.LastError != "":
			s.Health.Fail("irc", st.LastError)
		default:
			s.Health.Fail("irc", fmt.Sprintf("not connected to %s; channels missing: %s", st.Server, strings.Join(st.Missing, " ")))
		}
		if err := backoff.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// driftDone records a finished drift run in health and metrics, and tells
// IRC when a bot is configured.
func (s *Service) driftDone(ctx context.Context, rec *driftrun.RunRecord) {
	if rec.Err != "" {
		s.Health.Fail("drift", rec.Err)
	} else {
		s.Health.OK("drift", rec.Summary)
	}
	for class, n := range rec.Counts {
		s.Metrics.DriftFindings.WithLabelValues(string(class)).Set(float64(n))
	}
	if s.announceLine != nil {
		s.announceLine(ctx, rec.Summary, fmt.Sprintf("drift-run-%d", rec.ID))
	}
}

// refreshMetrics copies gauges that are owned by other parts into the
// Prometheus registry.
func (s *Service) refreshMetrics(ctx context.Context) error {
	var evicted int64
	for {
		st := s.grouper.Stats()
		s.Metrics.MinerTemplates.Set(float64(st.Templates))
		if st.Evictions > evicted {
			s.Metrics.MinerEvictions.Add(float64(st.Evictions - evicted))
			evicted = st.Evictions
		}
		// Rate buckets older than the spike detector's horizon and the
		// dashboard's charts are never read again. The horizon is counted
		// back from the latest event when that is older than now (a replayed
		// or stalled source), so its charts are not emptied.
		if s.spikes != nil {
			o := s.spikes.Options()
			keep := max(time.Duration(o.History+o.StopAfter+2)*o.Window, dashboardHistory)
			ref := time.Now()
			if latest, err := s.Tracker.LatestSeen(ctx); err == nil && !latest.IsZero() && latest.Before(ref) {
				ref = latest
			}
			if err := s.Tracker.PruneBuckets(ctx, ref.Add(-keep)); err != nil && ctx.Err() == nil {
				s.Log.Warn("prune rate buckets", "err", err)
			}
		}
		if err := backoff.Sleep(ctx, 15*time.Second); err != nil {
			return err
		}
	}
}

// Close releases the database and other resources.
func (s *Service) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Once drains every source and reports once, without serving: replay and tests.
func (s *Service) Once(ctx context.Context) (pipeline.BatchStats, []filer.Result, error) {
	var total pipeline.BatchStats
	for _, in := range s.ingesters {
		st, err := in.Drain(ctx)
		total.Events += st.Events
		total.Malformed += st.Malformed
		total.Ignored += st.Ignored
		total.New += st.New
		if err != nil {
			return total, nil, err
		}
	}
	res, err := s.reporter.ReportOnce(ctx)
	return total, res, err
}
