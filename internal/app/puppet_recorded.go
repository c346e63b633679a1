package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/esfake"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
)

// Recorded events with the puppet check (sample: with puppet:, or sheriff
// replay): the recorded NDJSON files are loaded into an in-process logstash
// (esfake, on loopback) and both watchers read it with their real queries,
// so each document goes where the queries would send it in production. With
// puppet.sample the puppet documents come from a file of their own.
const (
	recordedIndex       = "sheriff-recorded"
	recordedPuppetIndex = "sheriff-recorded-puppet"
)

// useRecorded switches a configuration with puppet and recorded events to
// the in-process logstash. It returns the configuration to use (a copy)
// and whether it did.
func (s *Service) useRecorded() (*config.Config, bool, error) {
	cfg := s.Config
	if cfg.Puppet == nil || cfg.Logstash != nil || (cfg.Sample == "" && cfg.Puppet.Sample == "") {
		return cfg, false, nil
	}
	es := esfake.New()
	s.closers = append(s.closers, func() error { es.Close(); return nil })
	var first time.Time
	load := func(file, index string) error {
		n, at, err := indexRecorded(es, file, index, s.Log)
		if err != nil {
			return err
		}
		if !at.IsZero() && (first.IsZero() || at.Before(first)) {
			first = at
		}
		s.Log.Info("recorded events loaded", "file", file, "documents", n, "index", index)
		return nil
	}
	c := *cfg
	pc := *cfg.Puppet
	c.Puppet = &pc
	if cfg.Sample != "" {
		if err := load(cfg.Sample, recordedIndex); err != nil {
			return nil, false, err
		}
	}
	pc.Index = ""
	if pc.Sample != "" {
		if err := load(pc.Sample, recordedPuppetIndex); err != nil {
			return nil, false, err
		}
		pc.Index = recordedPuppetIndex
	}
	if first.IsZero() {
		first = time.Now()
	}
	// Only the main watcher's query survives from a logstash section: the
	// replay keeps the site's routing.
	c.Logstash = &config.Logstash{URLs: []string{es.URL()}, Index: recordedIndex,
		PollInterval: config.Duration(time.Second), BatchSize: 500, TieBreaker: "_id",
		Start: first.Add(-time.Second).UTC().Format(time.RFC3339Nano)}
	if cfg.Sample == "" {
		c.Logstash.Index = recordedIndex + "-none-*" // no documents: a pattern matching nothing is no error
	}
	c.Sample = ""
	return &c, true, nil
}

// indexRecorded loads one NDJSON export into index. Lines that are not JSON
// objects with an @timestamp are skipped with a warning naming file and line.
func indexRecorded(es *esfake.Server, file, index string, log interface{ Warn(string, ...any) }) (int, time.Time, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("recorded events: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("recorded events: %s: %w", file, err)
	}
	n, bad := 0, 0
	var first time.Time
	for i, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		var doc struct {
			Timestamp string `json:"@timestamp"`
		}
		at, terr := time.Time{}, json.Unmarshal(l, &doc)
		if terr == nil {
			at, terr = time.Parse(time.RFC3339Nano, doc.Timestamp)
		}
		if terr == nil {
			// Zero-padded: the tie-breaker sorts ids as text, and the lines
			// of one message share a timestamp.
			terr = es.IndexJSON(index, fmt.Sprintf("%s-%09d", filepath.Base(file), i+1), l)
		}
		if terr != nil {
			if bad++; bad <= 10 {
				log.Warn("recorded events: line skipped", "file", file, "line", i+1, "err", terr)
			}
			continue
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		n++
	}
	if bad > 0 {
		log.Warn("recorded events: lines skipped", "file", file, "count", bad)
	}
	return n, first, nil
}

// PuppetReplayText prints what the puppet check would have filed and when:
// every transition of every cause, at its event time.
func (s *Service) PuppetReplayText(ctx context.Context, w io.Writer) error {
	if s.Puppet == nil {
		return nil
	}
	trs, err := s.Puppet.Timeline(ctx)
	if err != nil {
		return err
	}
	causes, err := s.Puppet.Causes(ctx)
	if err != nil {
		return err
	}
	open := 0
	for _, c := range causes {
		if c.Open {
			open++
		}
	}
	fmt.Fprintf(w, "\nPuppet: %d causes (%d still open), %d task updates:\n", len(causes), open, len(trs))
	for _, tr := range trs {
		hosts := fmt.Sprintf("%d host(s)", len(tr.Hosts))
		if len(tr.Hidden) > 0 {
			hosts += fmt.Sprintf(", %d hidden", len(tr.Hidden))
		}
		if len(tr.Hosts) <= 3 {
			var hs []string
			for _, h := range tr.Hosts {
				short, _, _ := strings.Cut(h, ".")
				if slices.Contains(tr.Hidden, h) {
					short += " (hidden)"
				}
				hs = append(hs, short)
			}
			hosts = strings.Join(hs, ", ")
		}
		if hosts == "" {
			hosts = "no host"
		}
		fmt.Fprintf(w, "%s  %-9s %s — %s\n", tr.At.UTC().Format("2006-01-02 15:04:05"), tr.Status, tr.Title, hosts)
	}
	return nil
}

// ReplayPuppet makes a replay read the puppet agent documents of file
// (NDJSON) with the puppet check, with the configuration's puppet section
// or the defaults.
func ReplayPuppet(cfg *config.Config, file string) error {
	if file == "" {
		return nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	if cfg.Puppet == nil {
		cfg.Puppet = &config.Puppet{Programs: []string{"puppet-agent", "puppet"}}
	}
	cfg.Puppet.Sample = abs
	return nil
}

// NotPuppet drops the puppet results (PuppetReplayText shows them).
func NotPuppet(rs []filer.Result) []filer.Result {
	var out []filer.Result
	for _, r := range rs {
		if r.Kind != finding.KindPuppet {
			out = append(out, r)
		}
	}
	return out
}
