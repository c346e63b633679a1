package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/miner"
	"github.com/wikimedia/sheriff/internal/pipeline"
	"github.com/wikimedia/sheriff/rules"
)

// cmdFingerprint prints one "<signature-id>\t<template>" line per input line.
//
// Raw lines go through the generic template miner, which learns as it reads:
// by default the output is the final grouping (every line resolved through
// aliases once all input is read); --stream prints each line's id as it was
// assigned on arrival, which is what the filer would have used.
// With --json each line is a logstash event, keyed by the pipeline's own
// code path (pipeline.Keyer) after the rules of --config and --rules (the
// defaults without --config), as in `sheriff replay`: the printed ids are
// the ids the pipeline records. Events a rule ignores print "-".
func cmdFingerprint(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fingerprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "input lines are NDJSON logstash events")
	stream := fs.Bool("stream", false, "print ids as assigned on arrival instead of the final grouping")
	configFile := fs.String("config", "", "with --json: config file whose rules to apply")
	var ruleFiles multiFlag
	fs.Var(&ruleFiles, "rules", "with --json: extra rule file (repeatable), applied after the config's")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !*asJSON {
		if err := miner.FingerprintLines(stdin, stdout, *stream); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	cfg, err := loadConfig(*configFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	set, err := rules.Load(append(cfg.Rules.Files, ruleFiles...), cfg.Rules.NoDefaults)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := fingerprintEvents(stdin, stdout, stderr, set, *stream); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// lineMiner groups untemplated events with an in-memory template miner.
type lineMiner struct{ m *miner.Miner }

func (l lineMiner) Group(ev *event.Event) (string, string) {
	mt := l.m.Add(pipeline.GroupLine(ev))
	return mt.ID, mt.Template
}

func fingerprintEvents(stdin io.Reader, stdout, stderr io.Writer, set *rules.Set, stream bool) error {
	m := miner.New(miner.Options{})
	keyer := pipeline.Keyer{Generic: lineMiner{m}}
	type row struct {
		id, tmpl string
		mined    bool
	}
	var rows []row
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		ev, err := event.Decode(sc.Bytes())
		if err != nil {
			fmt.Fprintf(stderr, "line %d: %v\n", n, err)
			rows = append(rows, row{id: "-", tmpl: "malformed"})
			continue
		}
		var r row
		if d := set.Evaluate(&ev); d.Ignore {
			r = row{id: "-", tmpl: "ignored by " + d.IgnoredBy}
		} else {
			k := keyer.Key(&ev, d)
			r = row{id: k.ID, tmpl: k.Template, mined: k.Generic}
		}
		if stream {
			fmt.Fprintf(out, "%s\t%s\n", r.id, oneLine(r.tmpl))
			continue
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	final := map[string]string{}
	for _, t := range m.Templates() {
		final[t.ID] = t.Template
	}
	for _, r := range rows {
		if r.mined {
			r.id = m.Resolve(r.id)
			if t, ok := final[r.id]; ok {
				r.tmpl = t
			}
		}
		fmt.Fprintf(out, "%s\t%s\n", r.id, oneLine(r.tmpl))
	}
	return nil
}

// oneLine keeps the output one line per input line: exception messages
// (and so templates) can span lines.
func oneLine(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r", "\t", "\\t").Replace(s)
}
