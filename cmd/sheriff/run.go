package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/wikimedia/sheriff/internal/app"
	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/redact"
)

func cmdRun(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "config file (default: built-in demo configuration)")
	dataDir := fs.String("data-dir", "", "state directory (default ./sheriff-data, or data_dir from the config)")
	listen := fs.String("listen", "", "HTTP listen address (default 127.0.0.1:8080, or listen from the config)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	svc, log, err := openService(ctx, *configFile, *dataDir, stderr, func(cfg *config.Config) {
		if *listen != "" {
			cfg.Listen = *listen
		}
	})
	if err != nil {
		fmt.Fprintln(stderr, "sheriff: start-up failed:", err)
		return 1
	}
	defer svc.Close()
	if err := svc.Run(ctx, svc.Config.Listen); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("sheriff stopped", "err", err)
		return 1
	}
	log.Info("sheriff stopped cleanly")
	return 0
}

// openService loads the configuration (adjusted by override, may be nil),
// points it at dataDir when given, and builds the service with a redacting
// logger on stderr.
func openService(ctx context.Context, configFile, dataDir string, stderr io.Writer, override func(*config.Config)) (*app.Service, *slog.Logger, error) {
	cfg, err := loadConfig(configFile)
	if err != nil {
		return nil, nil, err
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	if override != nil {
		override(cfg)
	}
	log, err := newLogger(stderr, cfg)
	if err != nil {
		return nil, nil, err
	}
	svc, err := app.New(ctx, cfg, log)
	return svc, log, err
}

func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Default(), nil
	}
	return config.Load(file)
}

// newLogger logs text to w, redacting every string and error value: log
// lines end up in places as public as tasks.
func newLogger(w io.Writer, cfg *config.Config) (*slog.Logger, error) {
	red, err := redact.New(redact.Config{Patterns: cfg.Redact.Patterns, Fields: cfg.Redact.Fields})
	if err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log_level: %w", err)
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(red.String(a.Value.String()))
		case slog.KindAny:
			if e, ok := a.Value.Any().(error); ok {
				a.Value = slog.StringValue(red.String(e.Error()))
			}
		}
		return a
	}})
	return slog.New(h), nil
}
