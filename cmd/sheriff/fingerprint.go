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
	"github.com/wikimedia/sheriff/internal/signature"
)

// cmdFingerprint prints one "<signature-id>\t<template>" line per input line.
//
// Raw lines go through the generic template miner, which learns as it reads:
// by default the output is the final grouping (every line resolved through
// aliases once all input is read); --stream prints each line's id as it was
// assigned on arrival, which is what the filer would have used.
// With --json each line is a logstash event: MediaWiki events get their
// MediaWiki signature, untemplated ones (syslog, puppet) go to the miner.
func cmdFingerprint(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fingerprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "input lines are NDJSON logstash events")
	stream := fs.Bool("stream", false, "print ids as assigned on arrival instead of the final grouping")
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
	if err := fingerprintEvents(stdin, stdout, stderr, *stream); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func fingerprintEvents(stdin io.Reader, stdout, stderr io.Writer, stream bool) error {
	fp := signature.NewFingerprinter()
	m := miner.New(miner.Options{})
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
		if ev.Normalized == "" && ev.ExcClass == "" && ev.Type != "mediawiki" {
			mt := m.Add(ev.Message)
			r = row{id: mt.ID, tmpl: mt.Template, mined: true}
		} else {
			s := fp.Compute(&ev)
			r = row{id: s.ID, tmpl: s.Template}
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
