package miner

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

//go:generate go run ./testdata/gen -out testdata/corpus

// Record is one labelled line of an evaluation corpus.
type Record struct {
	Label string // the event type that printed the line
	Line  string
}

// ErrCorpus is wrapped by errors caused by a malformed corpus file.
var ErrCorpus = errors.New("malformed corpus")

// ReadCorpus reads "<label>\t<line>" records, one per line.
func ReadCorpus(r io.Reader, name string) ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if text == "" {
			continue
		}
		label, line, ok := strings.Cut(text, "\t")
		if !ok || label == "" {
			return nil, fmt.Errorf("%w: %s:%d: want <label>TAB<line>", ErrCorpus, name, n)
		}
		recs = append(recs, Record{Label: label, Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return recs, nil
}

// ReadCorpusDir reads every *.tsv and *.tsv.gz file of dir, keyed by base
// name without extension.
func ReadCorpusDir(dir string) (map[string][]Record, error) {
	plain, err := filepath.Glob(filepath.Join(dir, "*.tsv"))
	if err != nil {
		return nil, err
	}
	gz, _ := filepath.Glob(filepath.Join(dir, "*.tsv.gz"))
	paths := append(plain, gz...)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no *.tsv or *.tsv.gz file in %s", ErrCorpus, dir)
	}
	out := map[string][]Record{}
	for _, p := range paths {
		recs, err := readCorpusFile(p)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".gz"), ".tsv")
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: %s: corpus %q given twice (plain and compressed)", ErrCorpus, p, name)
		}
		out[name] = recs
	}
	return out, nil
}

func readCorpusFile(p string) ([]Record, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorpus, p, err)
		}
		defer zr.Close()
		r = zr
	}
	return ReadCorpus(r, p)
}

// Accuracy is the outcome of comparing a grouping with the truth.
type Accuracy struct {
	Lines      int
	Correct    int     // lines whose predicted group is exactly their true group
	GA         float64 // Correct / Lines (Zhu et al., ICSE-SEIP 2019)
	TrueGroups int
	Predicted  int
	Split      int // true groups spread over several predicted groups
	Mixed      int // predicted groups holding lines of several true groups
}

// GroupingAccuracy compares predicted group keys with true labels, line by
// line (both slices in the same order).
func GroupingAccuracy(truth, pred []string) Accuracy {
	trueSize := map[string]int{}
	predLabels := map[string]map[string]int{}
	truePreds := map[string]map[string]bool{}
	for i := range truth {
		trueSize[truth[i]]++
		if predLabels[pred[i]] == nil {
			predLabels[pred[i]] = map[string]int{}
		}
		predLabels[pred[i]][truth[i]]++
		if truePreds[truth[i]] == nil {
			truePreds[truth[i]] = map[string]bool{}
		}
		truePreds[truth[i]][pred[i]] = true
	}
	a := Accuracy{Lines: len(truth), TrueGroups: len(trueSize), Predicted: len(predLabels)}
	for _, labels := range predLabels {
		if len(labels) > 1 {
			a.Mixed++
			continue
		}
		for label, n := range labels {
			if n == trueSize[label] {
				a.Correct += n
			}
		}
	}
	for _, ps := range truePreds {
		if len(ps) > 1 {
			a.Split++
		}
	}
	if a.Lines > 0 {
		a.GA = float64(a.Correct) / float64(a.Lines)
	}
	return a
}

// Evaluate runs a fresh Miner over recs and scores its final grouping (ids
// resolved through aliases after the last line).
func Evaluate(recs []Record, opt Options) Accuracy {
	m := New(opt)
	ids := make([]string, len(recs))
	truth := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = m.Add(r.Line).ID
		truth[i] = r.Label
	}
	for i := range ids {
		ids[i] = m.Resolve(ids[i])
	}
	return GroupingAccuracy(truth, ids)
}

// EvalResult is one row of an evaluation table.
type EvalResult struct {
	Name string
	Accuracy
}

// EvaluateDir evaluates every corpus of dir, sorted by name.
func EvaluateDir(dir string, opt Options) ([]EvalResult, error) {
	corpora, err := ReadCorpusDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(corpora))
	for n := range corpora {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]EvalResult, 0, len(names))
	for _, n := range names {
		out = append(out, EvalResult{Name: n, Accuracy: Evaluate(corpora[n], opt)})
	}
	return out, nil
}

// WriteTable prints results and their average GA.
func WriteTable(w io.Writer, results []EvalResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "corpus\tlines\tevents\tgroups\tGA\tsplit\tmixed\t")
	var sum float64
	var lines, split, mixed int
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.4f\t%d\t%d\t\n", r.Name, r.Lines, r.TrueGroups, r.Predicted, r.GA, r.Split, r.Mixed)
		sum += r.GA
		lines += r.Lines
		split += r.Split
		mixed += r.Mixed
	}
	if len(results) > 0 {
		fmt.Fprintf(tw, "average\t%d\t\t\t%.4f\t%d\t%d\t\n", lines, sum/float64(len(results)), split, mixed)
	}
	return tw.Flush()
}

// AverageGA is the mean GA over results.
func AverageGA(results []EvalResult) float64 {
	if len(results) == 0 {
		return 0
	}
	var sum float64
	for _, r := range results {
		sum += r.GA
	}
	return sum / float64(len(results))
}

// DefaultCorpusDir is the generated in-repo corpus, relative to the
// repository root; DefaultRealDir holds the captures of real programs
// (scripts/minercapture). They are reported separately.
const (
	DefaultCorpusDir = "internal/miner/testdata/corpus"
	DefaultRealDir   = "internal/miner/testdata/real"
)

// EvalMain implements "sheriff eval-miner [-v] [-min GA] [-min-real GA]
// [DIR...]": it prints GA, split and mixed per corpus and the average GA of
// each directory: by default the real captures and the generated corpus,
// each with its own table and threshold. It returns the exit status.
func EvalMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval-miner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "list the split and mixed groups of each corpus")
	min := fs.Float64("min", 0, "exit with status 1 when the average GA of the generated corpus (or of each DIR given) is below this")
	minReal := fs.Float64("min-real", 0, "exit with status 1 when the average GA of the real captures is below this")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: eval-miner [-v] [-min GA] [-min-real GA] [DIR...]\n\nEach DIR holds <name>.tsv or <name>.tsv.gz files of <label>TAB<line> records\n(default: %s, real captures, and %s, generated).\n", DefaultRealDir, DefaultCorpusDir)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	type set struct {
		title, dir string
		min        float64
	}
	sets := []set{{"real captures", DefaultRealDir, *minReal}, {"generated", DefaultCorpusDir, *min}}
	if fs.NArg() > 0 {
		sets = sets[:0]
		for _, d := range fs.Args() {
			sets = append(sets, set{d, d, *min})
		}
	}
	status := 0
	for i, s := range sets {
		if err := ctx.Err(); err != nil {
			fmt.Fprintln(stderr, "eval-miner:", err)
			return 1
		}
		results, err := EvaluateDir(s.dir, Options{})
		if err != nil {
			fmt.Fprintln(stderr, "eval-miner:", err)
			return 1
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s (%s)\n", s.title, s.dir)
		if err := WriteTable(stdout, results); err != nil {
			fmt.Fprintln(stderr, "eval-miner:", err)
			return 1
		}
		if *verbose {
			corpora, _ := ReadCorpusDir(s.dir)
			for _, r := range results {
				writeErrors(stdout, r.Name, corpora[r.Name])
			}
		}
		if avg := AverageGA(results); avg < s.min {
			fmt.Fprintf(stderr, "eval-miner: %s: average GA %.4f below %.4f\n", s.title, avg, s.min)
			status = 1
		}
	}
	return status
}

// writeErrors lists, for one corpus, the true groups that were split and the
// predicted groups that were mixed, with their templates.
func writeErrors(w io.Writer, name string, recs []Record) {
	m := New(Options{})
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = m.Add(r.Line).ID
	}
	tmpl := map[string]string{}
	for _, t := range m.Templates() {
		tmpl[t.ID] = t.Template
	}
	byLabel := map[string]map[string]int{}
	byID := map[string]map[string]int{}
	for i, r := range recs {
		id := m.Resolve(ids[i])
		if byLabel[r.Label] == nil {
			byLabel[r.Label] = map[string]int{}
		}
		byLabel[r.Label][id]++
		if byID[id] == nil {
			byID[id] = map[string]int{}
		}
		byID[id][r.Label]++
	}
	labels := make([]string, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		if len(byLabel[l]) > 1 {
			fmt.Fprintf(w, "%s: split %s:\n", name, l)
			for _, id := range sortedKeys(byLabel[l]) {
				fmt.Fprintf(w, "    %5d %s\n", byLabel[l][id], tmpl[id])
			}
		}
	}
	for _, id := range sortedKeys(byID) {
		if len(byID[id]) > 1 {
			fmt.Fprintf(w, "%s: mixed %s %v\n", name, tmpl[id], byID[id])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
