package rules

// Drift rules explain expected differences between production and Beta
// configuration. The shipped defaults are defaults/drift.yaml, read from
// Defaults (the package's embed of defaults/*.yaml).

import (
	"fmt"
	"github.com/wikimedia/sheriff/internal/textscan"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wikimedia/sheriff/diff"
)

// DefaultDriftRules is the shipped drift rules file inside Defaults.
const DefaultDriftRules = "defaults/drift.yaml"

// Drift rule classes. A rule without class explains a difference (expected).
const (
	DriftExpected = "expected"
	DriftSizing   = "sizing"
	DriftIgnore   = "ignore" // drop the finding from the report (counted only)
)

// DriftRules is an ordered list of rules; the first applicable rule wins.
type DriftRules struct {
	Rules []*DriftRule
}

// DriftRule is one rule of a drift rules file.
type DriftRule struct {
	Name   string
	Reason string
	Class  string // DriftExpected, DriftSizing or DriftIgnore
	Match  DriftMatch
	// Substitute, when set, makes the rule apply only to findings whose two
	// values are equal once every substitution has been applied.
	Substitute []Substitution
	File       string
	Line       int
}

// DriftMatch restricts a rule to some findings. Each field is a list of globs
// (`*` any run of characters, `?` one character); an empty list matches
// anything, including an empty value.
type DriftMatch struct {
	Source, Key, Path, Wiki, Host, BetaFile, ProdFile []string
}

// Substitution maps production text to the equivalent Beta text. Patterns
// are literal except `*` (one DNS label or number: letters, digits, `_`, `-`)
// and `**` (several labels, dots included). A match must not be glued to a
// letter or digit on either side, so `wikipedia.org` does not match inside
// `notwikipedia.org`.
type Substitution struct {
	Prod, Beta []string
	prod, beta []pattern
	token      string
}

// pattern is a compiled substitution pattern. The boundary checks apply only
// at ends that are label characters: "//" may touch anything.
type pattern struct {
	re          *regexp.Regexp
	left, right bool
}

// DefaultDrift returns the shipped default rules.
func DefaultDrift() (*DriftRules, error) {
	b, err := fs.ReadFile(Defaults, DefaultDriftRules)
	if err != nil {
		return nil, fmt.Errorf("drift rules: %w", err)
	}
	return ParseDrift("rules/"+DefaultDriftRules, b)
}

// LoadDrift reads a rules file.
func LoadDrift(path string) (*DriftRules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("drift rules: %w", err)
	}
	return ParseDrift(path, b)
}

// Concat returns the rules of every set in order (earlier sets take precedence).
func Concat(sets ...*DriftRules) *DriftRules {
	out := &DriftRules{}
	for _, s := range sets {
		if s != nil {
			out.Rules = append(out.Rules, s.Rules...)
		}
	}
	return out
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

type parser struct{ file string }

func (p parser) errf(n *yaml.Node, format string, args ...any) error {
	return &PositionError{File: p.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// ParseDrift parses a drift rules document:
//
//	rules:
//	  - name: beta-hostnames
//	    reason: Beta runs its own hosts
//	    class: expected            # expected (default), sizing, ignore
//	    match: {source: puppet, key: "profile::*"}
//	    substitute:
//	      - prod: ["**.eqiad.wmnet"]
//	        beta: ["**.deployment-prep.eqiad1.wikimedia.cloud"]
func ParseDrift(file string, data []byte) (*DriftRules, error) {
	p := parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pe := &PositionError{File: file, Line: 1, Column: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRE.FindStringSubmatch(pe.Msg); m != nil {
			pe.Line = diff.YAMLErrorLine(data, err)
			pe.Msg = strings.TrimPrefix(pe.Msg, m[0]+": ")
		}
		return nil, pe
	}
	out := &DriftRules{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "drift rules must be a mapping with a `rules` list")
	}
	names := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "rules":
			if v.Kind != yaml.SequenceNode {
				if v.Tag == "!!null" {
					continue
				}
				return nil, p.errf(v, "`rules` must be a list")
			}
			for _, rn := range v.Content {
				r, err := p.rule(rn)
				if err != nil {
					return nil, err
				}
				if line, dup := names[r.Name]; dup {
					return nil, p.errf(rn, "duplicate rule name %q (first at line %d)", r.Name, line)
				}
				names[r.Name] = r.Line
				out.Rules = append(out.Rules, r)
			}
		default:
			return nil, p.errf(k, "unknown top-level field %q (want `rules`)", k.Value)
		}
	}
	return out, nil
}

func (p parser) rule(n *yaml.Node) (*DriftRule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "a rule must be a mapping with name, reason and match and/or substitute")
	}
	r := &DriftRule{File: p.file, Line: n.Line, Class: DriftExpected}
	var hasMatch bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "name":
			r.Name, err = p.str(v, "name")
		case "reason":
			r.Reason, err = p.str(v, "reason")
		case "class":
			r.Class, err = p.str(v, "class")
			if err == nil && r.Class != DriftExpected && r.Class != DriftSizing && r.Class != DriftIgnore {
				err = p.errf(v, "unknown class %q (want expected, sizing or ignore)", r.Class)
			}
		case "match":
			hasMatch = true
			err = p.match(v, &r.Match)
		case "substitute":
			r.Substitute, err = p.substitutions(v)
		default:
			err = p.errf(k, "unknown rule field %q (want name, reason, class, match, substitute)", k.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case r.Name == "":
		return nil, p.errf(n, "rule without a name")
	case strings.TrimSpace(r.Reason) == "":
		return nil, p.errf(n, "rule %q has no reason; every rule must say why the difference is acceptable", r.Name)
	case !hasMatch && len(r.Substitute) == 0:
		return nil, p.errf(n, "rule %q has neither match nor substitute and would apply to everything", r.Name)
	case len(r.Substitute) > 0 && r.Class == DriftIgnore:
		return nil, p.errf(n, "rule %q: substitute rules explain differences; they cannot have class ignore", r.Name)
	}
	for i := range r.Substitute {
		r.Substitute[i].token = fmt.Sprintf("\x00%s#%d\x00", r.Name, i)
	}
	return r, nil
}

func (p parser) str(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s must be a string", field)
	}
	return n.Value, nil
}

func (p parser) strs(n *yaml.Node, field string) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, p.errf(e, "%s must be a string or a list of strings", field)
			}
			out = append(out, e.Value)
		}
		return out, nil
	}
	return nil, p.errf(n, "%s must be a string or a list of strings", field)
}

func (p parser) match(n *yaml.Node, m *DriftMatch) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "match must be a mapping of field: glob")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var dst *[]string
		switch k.Value {
		case "source":
			dst = &m.Source
		case "key":
			dst = &m.Key
		case "path":
			dst = &m.Path
		case "wiki":
			dst = &m.Wiki
		case "host":
			dst = &m.Host
		case "beta_file":
			dst = &m.BetaFile
		case "prod_file":
			dst = &m.ProdFile
		default:
			return p.errf(k, "unknown match field %q (want source, key, path, wiki, host, beta_file, prod_file)", k.Value)
		}
		globs, err := p.strs(v, "match."+k.Value)
		if err != nil {
			return err
		}
		if k.Value == "source" {
			for _, g := range globs {
				if g != "puppet" && g != "helm" && g != "mediawiki-config" && !strings.ContainsAny(g, "*?") {
					return p.errf(v, "unknown source %q (want puppet, helm or mediawiki-config)", g)
				}
			}
		}
		*dst = globs
	}
	return nil
}

func (p parser) substitutions(n *yaml.Node) ([]Substitution, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "substitute must be a list of {prod, beta} pairs")
	}
	var out []Substitution
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode {
			return nil, p.errf(e, "substitute entry must be a mapping with prod and beta")
		}
		var s Substitution
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, v := e.Content[i], e.Content[i+1]
			var err error
			switch k.Value {
			case "prod":
				s.Prod, err = p.strs(v, "prod")
			case "beta":
				s.Beta, err = p.strs(v, "beta")
			default:
				err = p.errf(k, "unknown substitute field %q (want prod, beta)", k.Value)
			}
			if err != nil {
				return nil, err
			}
			for _, pat := range s.Prod {
				if strings.Trim(pat, "*") == "" {
					return nil, p.errf(v, "pattern %q matches anything", pat)
				}
			}
			for _, pat := range s.Beta {
				if strings.Trim(pat, "*") == "" {
					return nil, p.errf(v, "pattern %q matches anything", pat)
				}
			}
		}
		if len(s.Prod) == 0 || len(s.Beta) == 0 {
			return nil, p.errf(e, "substitute entry needs both prod and beta patterns")
		}
		s.prod = compilePatterns(s.Prod)
		s.beta = compilePatterns(s.Beta)
		out = append(out, s)
	}
	return out, nil
}

// compilePatterns compiles the patterns longest first so that the most
// specific one wins where several match at the same place.
func compilePatterns(pats []string) []pattern {
	sorted := append([]string(nil), pats...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	out := make([]pattern, len(sorted))
	for i, pat := range sorted {
		var b strings.Builder
		for j := 0; j < len(pat); j++ {
			switch {
			case strings.HasPrefix(pat[j:], "**"):
				b.WriteString(`[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*`)
				j++
			case pat[j] == '*':
				b.WriteString(`[A-Za-z0-9_-]+`)
			default:
				b.WriteString(regexp.QuoteMeta(pat[j : j+1]))
			}
		}
		first, last := pat[0], pat[len(pat)-1]
		out[i] = pattern{re: regexp.MustCompile(b.String()),
			left: first == '*' || labelChar(first), right: last == '*' || labelChar(last)}
	}
	return out
}

// labelChar are the characters a match may not be glued to. Punctuation,
// '-' and '_' included, separates, so "eqiad" matches in "wikikube-eqiad".
func labelChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func replaceBounded(s string, pats []pattern, token string) string {
	for _, p := range pats {
		idx := p.re.FindAllStringIndex(s, -1)
		if idx == nil {
			continue
		}
		var b strings.Builder
		last := 0
		for _, m := range idx {
			if p.left && m[0] > 0 && labelChar(s[m[0]-1]) || p.right && m[1] < len(s) && labelChar(s[m[1]]) {
				continue
			}
			b.WriteString(s[last:m[0]])
			b.WriteString(token)
			last = m[1]
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// Side says which value a substitution rewrites.
type Side int

const (
	Prod Side = iota
	Beta
)

// RewriteString applies the rule's substitutions for one side to s.
func (r *DriftRule) RewriteString(s string, side Side) string {
	for i := range r.Substitute {
		sub := &r.Substitute[i]
		pats := sub.prod
		if side == Beta {
			pats = sub.beta
		}
		s = replaceBounded(s, pats, sub.token)
	}
	return s
}

// Rewrite applies the rule's substitutions to every string and map key in v
// (a value normalized by diff.Normalize) and returns the rewritten copy.
func (r *DriftRule) Rewrite(v any, side Side) any {
	switch t := v.(type) {
	case string:
		return r.RewriteString(t, side)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[r.RewriteString(k, side)] = r.Rewrite(e, side)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.Rewrite(e, side)
		}
		return out
	}
	return v
}

// Matches reports whether the rule's match fields all accept f.
func (r *DriftRule) Matches(f *diff.Finding) bool {
	m := &r.Match
	return globAny(m.Source, f.Source) && globAny(m.Key, f.Key) && globAny(m.Path, f.Path) &&
		globAny(m.Wiki, f.Wiki) && globAny(m.Host, f.Host) &&
		globAny(m.BetaFile, f.BetaFile) && globAny(m.ProdFile, f.ProdFile)
}

// String names the rule and where it is defined.
func (r *DriftRule) String() string { return fmt.Sprintf("%s (%s:%d)", r.Name, r.File, r.Line) }

func globAny(globs []string, s string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if Glob(g, s) {
			return true
		}
	}
	return false
}

// Glob matches s against pattern where `*` matches any run of characters
// (slashes, dots and colons included) and `?` exactly one; see
// textscan.Glob, which event rules and silences use too.
func Glob(pattern, s string) bool { return textscan.Glob(pattern, s) }
