package drift

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wikimedia/sheriff/diff"
)

// ReasonPlaceholder is the reason written for newly accepted findings; it is
// meant to be replaced by a human.
const ReasonPlaceholder = "TODO: explain why this difference is accepted"

// Baseline is a file of accepted findings, in the spirit of
// `driftctl gen-driftignore`: findings listed there are still in the report
// (marked accepted) but do not count as drift. A finding is matched by
// source, key, wiki, host and path, not by value.
type Baseline struct {
	File    string
	Entries []BaselineEntry
	index   map[string]int
}

// BaselineEntry accepts one finding.
type BaselineEntry struct {
	Source string `yaml:"source"`
	Key    string `yaml:"key"`
	Wiki   string `yaml:"wiki,omitempty"`
	Host   string `yaml:"host,omitempty"`
	Path   string `yaml:"path,omitempty"`
	Class  string `yaml:"class,omitempty"`
	Reason string `yaml:"reason"`
	// Prod and Beta record the values when the entry was written, for the
	// reader; they are not matched.
	Prod string `yaml:"prod,omitempty"`
	Beta string `yaml:"beta,omitempty"`
	Line int    `yaml:"-"`
}

func (e *BaselineEntry) id() string {
	f := diff.Finding{Source: e.Source, Key: e.Key, Wiki: e.Wiki, Host: e.Host, Path: e.Path}
	return f.ID()
}

// LoadBaseline reads a baseline file. A missing file is an error wrapping
// os.ErrNotExist.
func LoadBaseline(path string) (*Baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("drift baseline: %w", err)
	}
	return ParseBaseline(path, b)
}

// ParseBaseline parses a baseline document.
func ParseBaseline(file string, data []byte) (*Baseline, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("drift baseline: %s: %w", file, err)
	}
	bl := &Baseline{File: file, index: map[string]int{}}
	if len(doc.Content) == 0 {
		return bl, nil
	}
	root := doc.Content[0]
	errf := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("drift baseline: %s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, args...))
	}
	if root.Kind != yaml.MappingNode {
		return nil, errf(root, "a baseline is a mapping with an `accepted` list")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "accepted" {
			return nil, errf(k, "unknown field %q (want `accepted`)", k.Value)
		}
		if v.Kind != yaml.SequenceNode {
			if v.Tag == "!!null" {
				continue
			}
			return nil, errf(v, "`accepted` must be a list")
		}
		for _, en := range v.Content {
			if en.Kind != yaml.MappingNode {
				return nil, errf(en, "an accepted entry is a mapping with source, key, path and reason")
			}
			known := map[string]bool{"source": true, "key": true, "wiki": true, "host": true, "path": true,
				"class": true, "reason": true, "prod": true, "beta": true}
			for j := 0; j+1 < len(en.Content); j += 2 {
				if !known[en.Content[j].Value] {
					return nil, errf(en.Content[j], "unknown field %q in accepted entry", en.Content[j].Value)
				}
			}
			var e BaselineEntry
			if err := en.Decode(&e); err != nil {
				return nil, errf(en, "%v", err)
			}
			e.Line = en.Line
			switch {
			case e.Source == "" || e.Key == "":
				return nil, errf(en, "accepted entry needs source and key")
			case strings.TrimSpace(e.Reason) == "":
				return nil, errf(en, "accepted entry for %s has no reason (use %q if you must)", e.Key, ReasonPlaceholder)
			}
			if prev, dup := bl.index[e.id()]; dup {
				return nil, errf(en, "duplicate entry (first at line %d)", bl.Entries[prev].Line)
			}
			bl.index[e.id()] = len(bl.Entries)
			bl.Entries = append(bl.Entries, e)
		}
	}
	return bl, nil
}

// needsAcceptance are the classes a baseline records: the ones rules did not
// already explain.
func needsAcceptance(c diff.Class) bool {
	return c != diff.ClassExpected && c != diff.ClassSizing
}

// Apply marks the findings the baseline accepts and returns the entries that
// matched nothing (stale entries worth deleting).
func (b *Baseline) Apply(fs []diff.Finding) []BaselineEntry {
	used := make([]bool, len(b.Entries))
	for i := range fs {
		f := &fs[i]
		if !needsAcceptance(f.Class) {
			continue
		}
		if j, ok := b.index[f.ID()]; ok {
			used[j] = true
			f.Accepted, f.AcceptedReason = true, b.Entries[j].Reason
		}
	}
	var unused []BaselineEntry
	for j, u := range used {
		if !u {
			unused = append(unused, b.Entries[j])
		}
	}
	return unused
}

// NewBaseline builds a baseline accepting every finding that needs it,
// keeping the reasons of prev (may be nil) for findings it already accepted.
func NewBaseline(file string, fs []diff.Finding, prev *Baseline) *Baseline {
	bl := &Baseline{File: file, index: map[string]int{}}
	for i := range fs {
		f := &fs[i]
		if !needsAcceptance(f.Class) {
			continue
		}
		if _, dup := bl.index[f.ID()]; dup {
			continue
		}
		e := BaselineEntry{Source: f.Source, Key: f.Key, Wiki: f.Wiki, Host: f.Host, Path: f.Path,
			Class: string(f.Class), Reason: ReasonPlaceholder}
		if f.ProdPresent {
			e.Prod = short(f.Prod, 200)
		}
		if f.BetaPresent {
			e.Beta = short(f.Beta, 200)
		}
		if prev != nil {
			if j, ok := prev.index[f.ID()]; ok {
				e.Reason = prev.Entries[j].Reason
			}
		}
		bl.index[f.ID()] = len(bl.Entries)
		bl.Entries = append(bl.Entries, e)
	}
	sort.SliceStable(bl.Entries, func(i, j int) bool { return bl.Entries[i].id() < bl.Entries[j].id() })
	for i := range bl.Entries {
		bl.index[bl.Entries[i].id()] = i
	}
	return bl
}

// Write saves the baseline atomically.
func (b *Baseline) Write(now time.Time) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# sheriff drift baseline: differences between production and Beta accepted as they are.\n")
	fmt.Fprintf(&sb, "# Written %s. Replace each %q with the real reason;\n", now.UTC().Format(time.RFC3339), ReasonPlaceholder)
	fmt.Fprintf(&sb, "# delete an entry to have its finding reported again. Entries match by\n")
	fmt.Fprintf(&sb, "# source, key, wiki, host and path; prod and beta are for reference only.\n")
	out, err := yaml.Marshal(struct {
		Accepted []BaselineEntry `yaml:"accepted"`
	}{b.Entries})
	if err != nil {
		return fmt.Errorf("drift baseline: %w", err)
	}
	sb.Write(out)
	return writeFileAtomic(b.File, []byte(sb.String()))
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	// Reports and baselines are meant to be read (and served) by others.
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Chmod(0o644)
	}
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("drift: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("drift: write %s: %w", path, err)
	}
	return nil
}
