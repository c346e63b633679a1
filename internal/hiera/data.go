package hiera

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/wikimedia/sheriff/diff"
)

// store holds every parsed YAML file of a hieradata directory, keyed by path
// relative to it.
type store struct {
	prefix   string // how file names are reported, e.g. "hieradata/"
	docs     map[string]*diff.Doc
	problems []diff.Problem
}

// loadStore parses every *.yaml file below datadir, in parallel. A file that
// does not parse is reported as a problem and treated as absent.
func loadStore(ctx context.Context, datadir, prefix string) (*store, error) {
	var paths []string
	err := filepath.WalkDir(datadir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hiera: %w", err)
	}
	type result struct {
		rel      string
		doc      *diff.Doc
		problems []diff.Problem
	}
	results := make([]result, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	workers := min(runtime.GOMAXPROCS(0), 8)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rel, _ := filepath.Rel(datadir, paths[i])
				rel = filepath.ToSlash(rel)
				name := prefix + rel
				r := result{rel: rel}
				b, err := os.ReadFile(paths[i])
				if err != nil {
					r.problems = []diff.Problem{{Source: "puppet", File: name, Message: err.Error()}}
				} else {
					doc, probs, err := diff.ParseYAML(name, b)
					r.doc, r.problems = doc, probs
					if err != nil {
						p := diff.Problem{Source: "puppet", File: name, Message: err.Error()}
						if se, ok := err.(*diff.SyntaxError); ok {
							p.Line, p.Message = se.Line, se.Msg
						}
						r.problems = append(r.problems, p)
						r.doc = nil
					} else if doc.Value != nil && doc.Index == nil {
						r.problems = append(r.problems, diff.Problem{Source: "puppet", File: name, Line: 1,
							Message: "hiera data file is not a mapping; ignored"})
						r.doc = nil
					}
				}
				for j := range r.problems {
					r.problems[j].Source = "puppet"
				}
				results[i] = r
			}
		}()
	}
	var cerr error
	for i := range paths {
		if cerr = ctx.Err(); cerr != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if cerr != nil {
		return nil, cerr
	}
	s := &store{prefix: prefix, docs: make(map[string]*diff.Doc, len(paths))}
	for _, r := range results {
		if r.doc != nil {
			s.docs[r.rel] = r.doc
		}
		s.problems = append(s.problems, r.problems...)
	}
	return s, nil
}

// expandFile is where wmflib::expand_path looks for key under base:
// a::b::c in base/a/b.yaml, plain keys in base.yaml.
func expandFile(base, key string) string {
	i := strings.LastIndex(key, "::")
	if i < 0 {
		return base + ".yaml"
	}
	return base + "/" + strings.ReplaceAll(key[:i], "::", "/") + ".yaml"
}

// layer is one data source of a side's hierarchy.
type layer struct {
	level  string
	tmpl   template
	expand bool
	// project marks layers specific to the Beta project or host (those are
	// the Beta overrides proper; the Cloud-wide ones are shared platform).
	project bool
}

// side is one resolved hierarchy: production or Beta.
type side struct {
	name     string
	store    *store
	layers   []layer
	variants []string // sorted values of the enumerated variable
	skipped  []string // levels not read, with why
	options  *lookupOptions
}

// hit is a key found in one layer.
type hit struct {
	file  string // relative to the datadir
	layer int
	entry diff.Entry
}

// sideConfig says how to resolve a hierarchy for one side.
type sideConfig struct {
	name      string
	facts     map[string]string
	enumerate string // the variable whose values are read from file names
	project   []string
}

func newSide(h *Hierarchy, st *store, datadir string, cfg sideConfig) (*side, error) {
	s := &side{name: cfg.name, store: st}
	seen := map[string]bool{}
	for _, lv := range h.Levels {
		if lv.Kind == KindUnsupported {
			s.skipped = append(s.skipped, fmt.Sprintf("%s:%d level %q: %s", h.File, lv.Line, lv.Name, lv.Skip))
			continue
		}
		for _, p := range lv.Paths {
			t, err := resolve(p, cfg.facts, cfg.enumerate)
			if err != nil {
				s.skipped = append(s.skipped, fmt.Sprintf("%s:%d level %q path %q: %v", h.File, lv.Line, lv.Name, p, err))
				continue
			}
			l := layer{level: lv.Name, tmpl: t, expand: lv.Kind == KindExpandPath, project: t.variant}
			for _, v := range cfg.project {
				if strings.Contains(p, "%{::"+v+"}") || strings.Contains(p, "%{"+v+"}") {
					l.project = true
				}
			}
			s.layers = append(s.layers, l)
			vs, err := t.variants(datadir)
			if err != nil {
				return nil, fmt.Errorf("hiera: %w", err)
			}
			for _, v := range vs {
				if !seen[v] {
					seen[v] = true
					s.variants = append(s.variants, v)
				}
			}
		}
	}
	sort.Strings(s.variants)
	s.options = s.loadOptions()
	return s, nil
}

// lookup returns the hits for key in priority order. Variant layers are
// consulted only when variant is not empty.
func (s *side) lookup(key, variant string) []hit {
	var hits []hit
	for i, l := range s.layers {
		if l.tmpl.variant && variant == "" {
			continue
		}
		f := l.tmpl.file(variant)
		if l.expand {
			f = expandFile(f, key)
		}
		if e, ok := s.store.docs[f].Get(key); ok {
			hits = append(hits, hit{file: f, layer: i, entry: e})
		}
	}
	return hits
}

// layerKeys returns the keys a layer defines (for variant v), with the file
// and line of each; keys an expand_path layer holds in a file where
// expand_path never looks are reported through misplaced.
func (s *side) layerKeys(l layer, v string, misplaced func(file string, e diff.Entry, want string)) map[string]string {
	out := map[string]string{}
	f := l.tmpl.file(v)
	if !l.expand {
		if d := s.store.docs[f]; d != nil {
			for _, e := range d.Keys {
				out[e.Key] = f
			}
		}
		return out
	}
	for rel, d := range s.store.docs {
		if rel != f+".yaml" && !strings.HasPrefix(rel, f+"/") {
			continue
		}
		for _, e := range d.Keys {
			if want := expandFile(f, e.Key); want == rel {
				out[e.Key] = rel
			} else if misplaced != nil {
				misplaced(rel, e, want)
			}
		}
	}
	return out
}

// value is a key's effective value on one side.
type value struct {
	v    any
	hits []hit
}

func (s *side) effective(key, variant string) (value, bool) {
	hits := s.lookup(key, variant)
	if len(hits) == 0 {
		return value{}, false
	}
	return value{v: s.options.merge(key, hits), hits: hits}, true
}

// locate returns the file (with the store prefix) and line of the value at
// p: the first contributing layer in which p exists.
func (s *side) locate(v value, p diff.Path) (string, int) {
	for _, h := range v.hits {
		if line, ok := diff.Line(h.entry.Node, p); ok {
			if len(p) == 0 {
				line = h.entry.Line
			}
			return s.store.prefix + h.file, line
		}
	}
	if len(v.hits) == 0 {
		return "", 0
	}
	line, _ := diff.Line(v.hits[0].entry.Node, p)
	return s.store.prefix + v.hits[0].file, line
}

// lookupOptions are the merged lookup_options of a side.
type lookupOptions struct {
	exact   map[string]string
	regexps []optionRE
}

type optionRE struct {
	re       *regexp.Regexp
	strategy string
}

// loadOptions merges lookup_options over the hierarchy (a hash merge, higher
// layers winning, as hiera does) and keeps the merge strategy of each key.
func (s *side) loadOptions() *lookupOptions {
	o := &lookupOptions{exact: map[string]string{}}
	hits := s.lookup("lookup_options", "")
	merged := map[string]any{}
	for i := len(hits) - 1; i >= 0; i-- {
		if m, ok := hits[i].entry.Value.(map[string]any); ok {
			for k, v := range m {
				merged[k] = v
			}
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		strategy := ""
		switch t := merged[k].(type) {
		case map[string]any:
			switch m := t["merge"].(type) {
			case string:
				strategy = m
			case map[string]any:
				strategy, _ = m["strategy"].(string)
			}
		}
		if strategy == "" {
			continue
		}
		if strings.HasPrefix(k, "^") {
			if re, err := regexp.Compile(k); err == nil {
				o.regexps = append(o.regexps, optionRE{re: re, strategy: strategy})
			}
			continue
		}
		o.exact[k] = strategy
	}
	return o
}

func (o *lookupOptions) strategy(key string) string {
	if s, ok := o.exact[key]; ok {
		return s
	}
	for _, r := range o.regexps {
		if r.re.MatchString(key) {
			return r.strategy
		}
	}
	return "first"
}

// merge combines the hits per the key's lookup strategy.
func (o *lookupOptions) merge(key string, hits []hit) any {
	switch o.strategy(key) {
	case "unique":
		var out []any
		for _, h := range hits {
			out = appendUnique(out, h.entry.Value)
		}
		return out
	case "hash":
		out := map[string]any{}
		for i := len(hits) - 1; i >= 0; i-- {
			m, ok := hits[i].entry.Value.(map[string]any)
			if !ok {
				return hits[0].entry.Value
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	case "deep":
		var out any
		for i := len(hits) - 1; i >= 0; i-- {
			out = deepMerge(out, hits[i].entry.Value)
		}
		return out
	}
	return hits[0].entry.Value
}

func appendUnique(out []any, v any) []any {
	vals, ok := v.([]any)
	if !ok {
		vals = []any{v}
	}
	for _, e := range vals {
		dup := false
		for _, o := range out {
			if diff.Equal(o, e) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out
}

// deepMerge merges over into base: maps recursively, arrays as a union with
// the higher-priority elements first, anything else replaced.
func deepMerge(base, over any) any {
	switch o := over.(type) {
	case map[string]any:
		b, ok := base.(map[string]any)
		if !ok {
			return o
		}
		out := make(map[string]any, len(b)+len(o))
		for k, v := range b {
			out[k] = v
		}
		for k, v := range o {
			if bv, ok := out[k]; ok {
				out[k] = deepMerge(bv, v)
			} else {
				out[k] = v
			}
		}
		return out
	case []any:
		b, ok := base.([]any)
		if !ok {
			return o
		}
		return appendUnique(appendUnique(nil, o), b)
	}
	return over
}
