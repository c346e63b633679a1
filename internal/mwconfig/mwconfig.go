// Package mwconfig reads a checkout of operations/mediawiki-config
// statically and resolves every setting per Beta Cluster wiki, once as
// production computes it and once with the Beta overrides and Beta wiki
// lists, so the drift checker can compare the two.
//
// The PHP files are parsed with a real PHP parser and only their static
// arrays are evaluated; nothing is executed. Anything that cannot be known
// statically (unknown constants, closures, function calls) becomes a
// placeholder string plus a warning, never an error.
package mwconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Value is one resolved value. V holds JSON-like Go values: nil, bool,
// int64, float64, string, []any (a PHP list) or map[string]any (any other
// PHP array; integer keys as decimal strings). Values are freshly built for
// each Pair, so callers may modify them.
//
// Present reports that some entry of the setting applied to the wiki (V may
// still be nil for an explicit null). File and Line point at that entry;
// when Present is false they point, where known, at what caused the absence:
// the Beta "-setting" override, or the production setting that has no
// value for this wiki.
type Value struct {
	V       any
	Present bool
	File    string
	Line    int
}

// Pair is one setting of one wiki on both sides.
type Pair struct {
	Wiki, Setting  string
	Prod, Beta     Value
	Overridden     bool // InitialiseSettings-labs.php touches this setting for this wiki
	ProdHasSetting bool // production config defines the setting at all
}

// Result is everything Load found.
type Result struct {
	// Wikis are the Beta wikis compared (wikiversions-labs.json together
	// with dblists/all-labs.dblist), sorted.
	Wikis []string
	// Pairs holds every (wiki, setting) where the Beta overrides contribute
	// to the value or where the resolved values differ. Overridden pairs are
	// included even when equal, so stale overrides can be found. A value
	// that resolves to null counts as equal to an absent one, because
	// MediaWiki does not set either.
	Pairs []Pair
	// Services compares ProductionServices.php (eqiad) with
	// LabsServices.php (eqiad), one pair per service key, Wiki "".
	Services []Pair
	// WikiLists compares each wiki list that has a Beta variant: Setting
	// "dblist:NAME", Prod = members of NAME that are Beta wikis, Beta =
	// members of NAME-labs, both sorted.
	WikiLists []Pair
	// Warnings are *Warning values ("file:line: message"), never fatal.
	Warnings []error
}

// ErrNotCheckout is returned when dir does not look like a checkout of
// operations/mediawiki-config.
var ErrNotCheckout = errors.New("not an operations/mediawiki-config checkout")

const (
	configDir = "wmf-config"
	labsFile  = configDir + "/InitialiseSettings-labs.php"
	// labsEntry is the function InitialiseSettings-labs.php returns its
	// overrides from (called by WmfConfig::applyOverrides()).
	labsEntry = "wmfGetOverrideSettings"
)

// prodFileOrder lists the static settings files in the order
// WmfConfig::getStaticConfig() unions them (first file wins on a duplicate
// key); other core-*, ext-* and skin-* files found are added after them.
var prodFileOrder = []string{
	"logos.php",
	"InitialiseSettings.php",
	"core-Namespaces.php",
	"core-Permissions.php",
	"ext-ORES.php",
	"ext-CirrusSearch.php",
	"ext-EventLogging.php",
	"ext-EventStreamConfig.php",
	"ext-FlaggedRevs.php",
	"ext-GrowthExperiments.php",
	"skin-Minerva.php",
}

// Load reads the checkout at dir and resolves production and Beta values
// for every Beta wiki.
func Load(ctx context.Context, dir string) (*Result, error) {
	if _, err := os.Stat(filepath.Join(dir, configDir, "InitialiseSettings.php")); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", dir, ErrNotCheckout, err)
	}
	sink := newWarnSink()

	prodFiles, err := settingsFiles(dir)
	if err != nil {
		return nil, err
	}
	type job struct {
		rel, entry string
		optional   bool
	}
	jobs := make([]job, 0, len(prodFiles)+3)
	for _, f := range prodFiles {
		jobs = append(jobs, job{rel: configDir + "/" + f})
	}
	jobs = append(jobs,
		job{rel: labsFile, entry: labsEntry, optional: true},
		job{rel: configDir + "/ProductionServices.php", optional: true},
		job{rel: configDir + "/LabsServices.php", optional: true},
	)
	parsed := make([]phpFile, len(jobs))
	present := make([]bool, len(jobs))
	if err := parallel(ctx, len(jobs), func(i int) {
		j := jobs[i]
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(j.rel)))
		if err != nil {
			if !(j.optional && errors.Is(err, fs.ErrNotExist)) {
				sink.add(pos{j.rel, 0}, "cannot read: %v", err)
			} else {
				sink.add(pos{j.rel, 0}, "missing; skipped")
			}
			return
		}
		present[i] = true
		parsed[i] = evalPHPFile(b, j.rel, j.entry, sink)
	}); err != nil {
		return nil, err
	}
	lists := loadDBLists(dir, sink)
	lists.loadIndex(dir, sink)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	prod := newSettings()
	for i := range prodFiles {
		if !present[i] {
			continue
		}
		addSettingsFile(prod, jobs[i].rel, parsed[i], sink)
	}
	labs := newArray(0)
	li := len(prodFiles)
	if present[li] {
		if a, ok := parsed[li].ret.(*array); ok {
			labs = a
		} else {
			sink.add(pos{labsFile, 0}, "%s() does not return an array; no Beta overrides applied", labsEntry)
		}
	}
	beta, replaced := applyOverrides(prod, labs, labsFile, sink)

	res := &Result{Wikis: betaWikis(dir, lists, sink)}
	c := newComparer(prod, beta, replaced, labs, lists)
	for _, w := range res.Wikis {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Pairs = append(res.Pairs, c.compareWiki(w)...)
	}
	res.Services = compareServices(parsed[li+1], present[li+1], parsed[li+2], present[li+2], sink)
	res.WikiLists = compareLists(lists, res.Wikis)
	res.Warnings = sink.errors()
	return res, nil
}

// settingsFiles lists the production settings files present, in union order.
func settingsFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, configDir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name()] = true
	}
	var out []string
	known := map[string]bool{}
	for _, f := range prodFileOrder {
		known[f] = true
		if have[f] {
			out = append(out, f)
		}
	}
	var extra []string
	for _, e := range ents {
		n := e.Name()
		if known[n] || !strings.HasSuffix(n, ".php") {
			continue
		}
		if strings.HasPrefix(n, "core-") || strings.HasPrefix(n, "ext-") || strings.HasPrefix(n, "skin-") {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(out, extra...), nil
}

func addSettingsFile(s *settings, rel string, f phpFile, sink *warnSink) {
	arr, ok := f.ret.(*array)
	if !ok {
		if f.returned {
			sink.add(pos{rel, 0}, "returns %s, not an array of settings; skipped", phpType(f.ret))
		} else {
			sink.add(pos{rel, 0}, "no `return [ ... ]` of settings found; skipped")
		}
		return
	}
	for _, e := range arr.entries {
		name := e.k.String()
		vals, ok := e.v.(*array)
		if !ok {
			sink.add(e.pos, "setting %s is %s, not an array of tag => value; skipped", name, phpType(e.v))
			continue
		}
		if prev, dup := s.m[name]; dup {
			sink.add(e.pos, "setting %s already defined at %s:%d; the first definition wins", name, prev.pos.file, prev.pos.line)
			continue
		}
		s.add(name, &setting{vals: vals, pos: e.pos})
	}
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines.
func parallel(ctx context.Context, n int, f func(int)) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	var err error
loop:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(next)
	wg.Wait()
	return err
}

// betaWikis reads the Beta wiki list from wikiversions-labs.json and
// dblists/all-labs.dblist, warning when they disagree.
func betaWikis(dir string, lists *dblists, sink *warnSink) []string {
	const rel = "wikiversions-labs.json"
	set := map[string]bool{}
	var fromJSON map[string]bool
	if b, err := os.ReadFile(filepath.Join(dir, rel)); err != nil {
		sink.add(pos{rel, 0}, "cannot read: %v", err)
	} else {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			sink.add(pos{rel, jsonErrLine(b, err)}, "invalid JSON: %v", err)
		} else {
			fromJSON = map[string]bool{}
			for w := range m {
				fromJSON[w] = true
				set[w] = true
			}
		}
	}
	allLabs, ok := lists.lists["all"+labsSuffix]
	if ok {
		for w := range allLabs {
			set[w] = true
		}
	}
	if fromJSON != nil && ok {
		for _, w := range sortedStrings(set) {
			switch {
			case !fromJSON[w]:
				sink.add(pos{rel, 0}, "%s is in dblists/all-labs.dblist but not in %s", w, rel)
			case !allLabs[w]:
				sink.add(pos{"dblists/all-labs.dblist", 0}, "%s is in %s but not in dblists/all-labs.dblist", w, rel)
			}
		}
	}
	return sortedStrings(set)
}

func jsonErrLine(b []byte, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && int(se.Offset) <= len(b) {
		return 1 + strings.Count(string(b[:se.Offset]), "\n")
	}
	return 0
}
