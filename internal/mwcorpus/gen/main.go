// Command gen turns the raw JSON lines written by the corpus wiki's logstash
// handler (see scripts/mwcorpus) into the labelled corpus
// internal/mwcorpus/testdata/mediawiki-1.39.ndjson.gz.
//
// It keeps the documents byte for byte as MediaWiki wrote them and only adds
// one top-level field, "sheriff_label", computed from what MediaWiki printed
// (exception.file and the trace). It is not run in CI: scripts/mwcorpus/
// generate.sh runs it after driving a throwaway wiki.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

func main() {
	out := flag.String("out", "", "output .ndjson.gz (required)")
	sites := flag.String("sites", "", "write label counts (TSV) here")
	minLevel := flag.String("min-level", "WARNING", "drop documents below this Monolog level")
	verify := flag.Bool("verify", true, "check the no-trace site table against "+mwRoot)
	flag.Parse()
	if *verify {
		if err := verifySources(mwRoot); err != nil {
			slog.Error("no-trace site table is stale", "err", err)
			os.Exit(1)
		}
	}
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out corpus.ndjson.gz [-sites sites.tsv] raw.ndjson...")
		os.Exit(2)
	}
	if err := run(flag.Args(), *out, *sites, *minLevel); err != nil {
		slog.Error("gen failed", "err", err)
		os.Exit(1)
	}
}

var levels = map[string]int{"DEBUG": 100, "INFO": 200, "NOTICE": 250, "WARNING": 300,
	"ERROR": 400, "CRITICAL": 500, "ALERT": 550, "EMERGENCY": 600}

// dropChannels duplicate other channels' events and never reach logstash in
// Wikimedia's setup.
var dropChannels = map[string]bool{"exception-json": true}

func run(inputs []string, out, sitesPath, minLevel string) error {
	min, ok := levels[strings.ToUpper(minLevel)]
	if !ok {
		return fmt.Errorf("unknown level %q", minLevel)
	}
	var buf bytes.Buffer
	counts := map[string]int{}
	var kept, dropped int
	for _, in := range inputs {
		n, d, err := labelFile(in, min, &buf, counts)
		if err != nil {
			return err
		}
		kept += n
		dropped += d
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	slog.Info("corpus written", "out", out, "events", kept, "dropped", dropped, "labels", len(counts))
	if sitesPath != "" {
		return writeSites(sitesPath, counts)
	}
	return nil
}

func labelFile(path string, min int, w *bytes.Buffer, counts map[string]int) (kept, dropped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, rerr := r.ReadBytes('\n')
		line = bytes.TrimRight(line, "\n")
		if len(line) > 0 {
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				return kept, dropped, fmt.Errorf("%s:%d: %w", path, lineNo, err)
			}
			lvl, _ := doc["level"].(string)
			ch, _ := doc["channel"].(string)
			if levels[lvl] < min || dropChannels[ch] {
				dropped++
			} else {
				label, err := Label(doc)
				if err != nil {
					return kept, dropped, fmt.Errorf("%s:%d: channel %s: %w", path, lineNo, ch, err)
				}
				// Append the field textually so that the document stays
				// byte-identical to what MediaWiki wrote.
				lj, _ := json.Marshal(label)
				w.Write(line[:len(line)-1])
				w.WriteString(`,"sheriff_label":`)
				w.Write(lj)
				w.WriteString("}\n")
				counts[label]++
				kept++
			}
		}
		if rerr == io.EOF {
			return kept, dropped, nil
		}
		if rerr != nil {
			return kept, dropped, rerr
		}
	}
}

func writeSites(path string, counts map[string]int) error {
	labels := make([]string, 0, len(counts))
	for l := range counts {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	var b strings.Builder
	for _, l := range labels {
		fmt.Fprintf(&b, "%d\t%s\n", counts[l], l)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// verifySources checks every noTraceSites entry against the installed
// MediaWiki source, so that a table entry cannot silently point elsewhere.
func verifySources(root string) error {
	for _, s := range noTraceSites {
		f, l := splitFileLine(s.site)
		data, err := os.ReadFile(root + f)
		if err != nil {
			return err
		}
		lines := strings.Split(string(data), "\n")
		var n int
		fmt.Sscan(l, &n)
		if n < 1 || n > len(lines) || !strings.Contains(lines[n-1], s.needle) {
			return fmt.Errorf("%s: line does not contain %q", s.site, s.needle)
		}
	}
	return nil
}
