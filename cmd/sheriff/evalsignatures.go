package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/wikimedia/sheriff/internal/demo"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/miner"
	"github.com/wikimedia/sheriff/internal/mwcorpus"
	"github.com/wikimedia/sheriff/internal/pipeline"
	"github.com/wikimedia/sheriff/rules"
)

// evalTrain is the train the real corpus is rewritten to; its next-train
// variant is evalTrain+1.
const evalTrain = 16

// cmdEvalSignatures measures MediaWiki signatures on labelled corpora of
// real MediaWiki events (default: the committed MediaWiki 1.39 corpus),
// through the pipeline's own keying (rules applied, as in replay), in the
// production shape. It prints, per corpus and for its development and
// held-out site families: grouping accuracy (Zhu et al.), split and mixed
// groups, the ids the next train (line numbers moved by code motion) moved,
// and the events whose ECS-shaped twin got another id. The generated demo
// sample has no labels: only its stability figures are printed, apart.
func cmdEvalSignatures(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval-signatures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	minGA := fs.Float64("min", 0, "exit non-zero when the total GA of a corpus is below this, or ids move, or shapes differ")
	configFile := fs.String("config", "", "config file whose rules to apply (default rules without it)")
	asJSON := fs.Bool("json", false, "print JSON")
	verbose := fs.Bool("v", false, "list the split labels and mixed groups (of the development part only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sheriff eval-signatures [--config FILE] [-min GA] [--json] [LABELLED.ndjson[.gz]...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*configFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	set, err := rules.Load(cfg.Rules.Files, cfg.Rules.NoDefaults)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{defaultCorpus()}
	}
	var rows []evalRow
	failed := false
	for _, f := range files {
		docs, err := mwcorpus.Load(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		name := "real " + strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".gz"), ".ndjson")
		rs, err := evalCorpus(name, docs, set)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		rows = append(rows, rs...)
		if *verbose {
			explain(stderr, docs, set)
		}
		total := rs[len(rs)-1]
		if total.GA < *minGA || total.Moved > 0 || total.ShapeDiff > 0 || total.SharedTitles > 0 {
			failed = true
		}
	}
	demoRow, err := evalDemo(set)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"real": rows, "generated": demoRow}); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	} else {
		printEval(stdout, rows, demoRow)
	}
	if failed && *minGA > 0 {
		fmt.Fprintf(stderr, "eval-signatures: below the threshold (GA >= %.3f, 0 ids moved, shapes equal, no shared titles)\n", *minGA)
		return 1
	}
	return 0
}

// defaultCorpus finds the committed corpus from the source tree.
func defaultCorpus() string {
	_, file, _, ok := runtime.Caller(0)
	rel := filepath.Join("internal", "mwcorpus", "testdata", "mediawiki-1.39.ndjson.gz")
	if !ok {
		return rel
	}
	return filepath.Join(filepath.Dir(file), "..", "..", rel)
}

type evalRow struct {
	Corpus       string  `json:"corpus"`
	Part         string  `json:"part"`
	Events       int     `json:"events"`
	Labels       int     `json:"labels"`
	Groups       int     `json:"groups"`
	GA           float64 `json:"ga"`
	Split        int     `json:"split"`
	Mixed        int     `json:"mixed"`
	Moved        int     `json:"ids_moved_by_train"`
	ShapeDiff    int     `json:"ecs_events_differing"`
	SharedTitles int     `json:"titles_shared"`
}

// keyAll keys events like the pipeline: rules, then pipeline.Keyer with a
// fresh template miner. Ignored events get "".
func keyAll(docs []mwcorpus.Doc, set *rules.Set) ([]pipeline.Key, error) {
	keyer := pipeline.Keyer{Generic: lineMiner{miner.New(miner.Options{})}}
	keys := make([]pipeline.Key, len(docs))
	for i, d := range docs {
		ev, err := event.Decode(d.JSON())
		if err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i+1, d.Label, err)
		}
		if dec := set.Evaluate(&ev); !dec.Ignore {
			keys[i] = keyer.Key(&ev, dec)
		}
	}
	return keys, nil
}

func evalCorpus(name string, docs []mwcorpus.Doc, set *rules.Set) ([]evalRow, error) {
	prod := make([]mwcorpus.Doc, len(docs))
	next := make([]mwcorpus.Doc, len(docs))
	ecs := make([]mwcorpus.Doc, len(docs))
	for i, d := range docs {
		prod[i] = mwcorpus.Production(d, i, evalTrain)
		next[i] = mwcorpus.NextTrain(prod[i], evalTrain)
		ecs[i] = mwcorpus.ECS(prod[i])
	}
	kp, err := keyAll(prod, set)
	if err != nil {
		return nil, err
	}
	kn, err := keyAll(next, set)
	if err != nil {
		return nil, err
	}
	ke, err := keyAll(ecs, set)
	if err != nil {
		return nil, err
	}
	var rows []evalRow
	for _, part := range []string{"development", "held-out", "total"} {
		var labels, ids []string
		moved := map[string]bool{}
		r := evalRow{Corpus: name, Part: part}
		titles := map[string]map[string]bool{}
		for i, d := range prod {
			if part != "total" && mwcorpus.HeldOut(d.Label) != (part == "held-out") {
				continue
			}
			labels = append(labels, d.Label)
			ids = append(ids, kp[i].ID)
			if kn[i].ID != kp[i].ID {
				moved[kp[i].ID] = true
			}
			if ke[i].ID != kp[i].ID {
				r.ShapeDiff++
			}
			if titles[kp[i].Title] == nil {
				titles[kp[i].Title] = map[string]bool{}
			}
			titles[kp[i].Title][kp[i].ID] = true
		}
		s := mwcorpus.Score(labels, ids)
		r.Events, r.Labels, r.Groups, r.GA, r.Split, r.Mixed, r.Moved = s.Events, s.Labels, s.Groups, s.GA, s.Split, s.Mixed, len(moved)
		for _, byID := range titles {
			if len(byID) > 1 {
				r.SharedTitles++
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// evalDemo measures only stability on the generated demo sample: it has no
// labels, and no figure of grouping quality may come from generated text.
func evalDemo(set *rules.Set) (evalRow, error) {
	var docs []mwcorpus.Doc
	for i, line := range strings.Split(strings.TrimSpace(string(demo.Sample())), "\n") {
		var m map[string]any
		if _, err := event.Decode([]byte(line)); err != nil {
			continue // the sample holds malformed lines on purpose
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return evalRow{}, fmt.Errorf("demo sample line %d: %w", i+1, err)
		}
		docs = append(docs, mwcorpus.Doc{Label: "-", Fields: m})
	}
	next := make([]mwcorpus.Doc, len(docs))
	ecs := make([]mwcorpus.Doc, len(docs))
	for i, d := range docs {
		next[i] = mwcorpus.NextTrain(d, evalTrain)
		ecs[i] = mwcorpus.ECS(d)
	}
	kp, err := keyAll(docs, set)
	if err != nil {
		return evalRow{}, err
	}
	kn, err := keyAll(next, set)
	if err != nil {
		return evalRow{}, err
	}
	ke, err := keyAll(ecs, set)
	if err != nil {
		return evalRow{}, err
	}
	r := evalRow{Corpus: "generated demo sample", Part: "stability only", Events: len(docs)}
	groups, moved := map[string]bool{}, map[string]bool{}
	for i := range docs {
		groups[kp[i].ID] = true
		if kn[i].ID != kp[i].ID {
			moved[kp[i].ID] = true
		}
		if ke[i].ID != kp[i].ID {
			r.ShapeDiff++
		}
	}
	r.Groups, r.Moved = len(groups), len(moved)
	return r, nil
}

func printEval(w io.Writer, rows []evalRow, demoRow evalRow) {
	fmt.Fprintln(w, "Real MediaWiki events, production shape (train bump: next train with code motion; ECS: same events ECS-shaped):")
	fmt.Fprintf(w, "%-28s %-12s %7s %6s %6s %6s %5s %5s %9s %9s %13s\n", "corpus", "part", "events", "labels", "groups", "GA", "split", "mixed", "ids moved", "ECS diff", "shared titles")
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Corpus < rows[j].Corpus })
	for _, r := range rows {
		fmt.Fprintf(w, "%-28s %-12s %7d %6d %6d %6.3f %5d %5d %9d %9d %13d\n", r.Corpus, r.Part, r.Events, r.Labels, r.Groups, r.GA, r.Split, r.Mixed, r.Moved, r.ShapeDiff, r.SharedTitles)
	}
	fmt.Fprintln(w, "\nGenerated demo sample (no labels: no grouping-quality figure, stability only):")
	fmt.Fprintf(w, "%-28s %7d events %6d signatures %9d ids moved %9d ECS diff\n", demoRow.Corpus, demoRow.Events, demoRow.Groups, demoRow.Moved, demoRow.ShapeDiff)
}

// explain lists, for the development part, every label split over several
// signatures and every signature holding several labels, with titles.
func explain(w io.Writer, docs []mwcorpus.Doc, set *rules.Set) {
	var dev []mwcorpus.Doc
	for i, d := range docs {
		if !mwcorpus.HeldOut(d.Label) {
			dev = append(dev, mwcorpus.Production(d, i, evalTrain))
		}
	}
	keys, err := keyAll(dev, set)
	if err != nil {
		fmt.Fprintln(w, err)
		return
	}
	byLabel := map[string]map[string]string{}
	byID := map[string]map[string]bool{}
	for i, d := range dev {
		if byLabel[d.Label] == nil {
			byLabel[d.Label] = map[string]string{}
		}
		byLabel[d.Label][keys[i].ID] = keys[i].Title
		if byID[keys[i].ID] == nil {
			byID[keys[i].ID] = map[string]bool{}
		}
		byID[keys[i].ID][d.Label] = true
	}
	for l, ids := range byLabel {
		if len(ids) > 1 {
			fmt.Fprintf(w, "split %s\n", l)
			for id, t := range ids {
				fmt.Fprintf(w, "    %s %s\n", id, t)
			}
		}
	}
	for id, ls := range byID {
		if len(ls) > 1 {
			fmt.Fprintf(w, "mixed %s\n", id)
			for l := range ls {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
}
