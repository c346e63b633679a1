package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wikimedia/sheriff/internal/app"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// cmdReplay runs the real pipeline over recorded events with throwaway state
// and a dry-run filer, so people can see what a rule change would file
// before deploying it.
func cmdReplay(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "config file whose rules and redaction to use")
	var ruleFiles multiFlag
	fs.Var(&ruleFiles, "rules", "extra rule file (repeatable), applied after the config's")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	keep := fs.String("keep", "", "keep the state and outbox in this directory instead of a temporary one")
	verbose := fs.Bool("v", false, "log progress to stderr")
	puppetFile := fs.String("puppet", "", "NDJSON export of puppet agent documents, read by the puppet check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sheriff replay [--config FILE] [--rules FILE]... [--puppet FILE.ndjson] [--json] [--keep DIR] FILE.ndjson")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := loadConfig(*configFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	input, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := os.Stat(input); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// A replay never talks to anything: no logstash, no Phabricator, no IRC, no drift.
	// The puppet check stays: it reads the recorded files (see app.ReplayPuppet).
	cfg.Logstash, cfg.IRC, cfg.Drift = nil, nil, nil
	if err := app.ReplayPuppet(cfg, *puppetFile); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cfg.Phabricator.URL = ""
	cfg.Sample = input
	cfg.Rules.Files = append(cfg.Rules.Files, ruleFiles...)
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sheriff-replay-"); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
	}
	cfg.DataDir = dir
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	log, err := newLogger(logOut, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	svc, err := app.New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer svc.Close()
	stats, results, err := svc.Once(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	sigs := map[string]tracker.Signature{}
	for _, r := range results {
		if s, err := svc.Tracker.Get(ctx, r.Kind, r.Key); err == nil {
			sigs[r.Key] = s
		}
	}
	if *asJSON {
		return printReplayJSON(stdout, stderr, stats.Events, stats.Malformed, stats.Ignored, results, sigs)
	}
	printReplayText(stdout, stats.Events, stats.Malformed, stats.Ignored, app.NotPuppet(results), sigs)
	if err := svc.PuppetReplayText(ctx, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

type replayTask struct {
	Signature string        `json:"signature"`
	Kind      finding.Kind  `json:"kind"`
	Action    filer.Action  `json:"action"`
	Title     string        `json:"title"`
	Count     int64         `json:"count"`
	Severity  string        `json:"severity,omitempty"`
	Projects  []string      `json:"projects,omitempty"`
	Wikis     finding.Facet `json:"wikis,omitempty"`
	Versions  finding.Facet `json:"versions,omitempty"`
	Outbox    string        `json:"outbox,omitempty"`
}

func replayTasks(results []filer.Result, sigs map[string]tracker.Signature) []replayTask {
	var out []replayTask
	for _, r := range results {
		s := sigs[r.Key]
		out = append(out, replayTask{Signature: r.Key, Kind: r.Kind, Action: r.Action, Title: s.Title, Count: s.Count,
			Severity: s.Severity, Projects: s.Projects, Wikis: s.Facets["wiki"], Versions: s.Facets["version"], Outbox: r.URL})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

func printReplayJSON(stdout, stderr io.Writer, events, malformed, ignored int, results []filer.Result, sigs map[string]tracker.Signature) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	err := enc.Encode(map[string]any{
		"events": events, "malformed": malformed, "ignored": ignored, "tasks": replayTasks(results, sigs),
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func printReplayText(w io.Writer, events, malformed, ignored int, results []filer.Result, sigs map[string]tracker.Signature) {
	tasks := replayTasks(results, sigs)
	fmt.Fprintf(w, "%d events read, %d malformed (skipped), %d ignored by rules: %d tasks would be filed.\n\n",
		events, malformed, ignored, len(tasks))
	for _, t := range tasks {
		fmt.Fprintf(w, "%-9s %s\n", t.Action, t.Title)
		fmt.Fprintf(w, "          signature %s, %d events", t.Signature, t.Count)
		if t.Severity != "" {
			fmt.Fprintf(w, ", severity %s", t.Severity)
		}
		if len(t.Projects) > 0 {
			fmt.Fprintf(w, ", projects %s", strings.Join(t.Projects, ", "))
		}
		fmt.Fprintf(w, "\n          wikis: %s\n", topFacet(t.Wikis, 5))
		if len(t.Versions) > 0 {
			fmt.Fprintf(w, "          versions: %s\n", topFacet(t.Versions, 3))
		}
	}
}

func topFacet(f finding.Facet, n int) string {
	type kv struct {
		k string
		v int64
	}
	var kvs []kv
	for k, v := range f {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].v != kvs[j].v {
			return kvs[i].v > kvs[j].v
		}
		return kvs[i].k < kvs[j].k
	})
	var parts []string
	for i, e := range kvs {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(kvs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", e.k, e.v))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
