// Package rules decides what sheriff does with an event before it becomes a
// signature: ignore it, group it under an explicit fingerprint, or route it
// (severity, Phabricator projects). Rules are YAML; a default set ships in
// the binary and operators add their own files.
//
// A rule file looks like:
//
//	rules:
//	  - name: ignore-deprecations
//	    reason: Deprecation notices are tracked by the train blockers, not by sheriff.
//	    match:
//	      channel: error
//	      message: "~^PHP Deprecated:"   # "~" starts a regular expression
//	    action: ignore
//	  - name: rdbms-lock-timeouts
//	    reason: Lock wait timeouts are one problem whatever the query.
//	    match:
//	      exception.class: 'Wikimedia\Rdbms\DBQueryError'
//	      exception.message: "Error 1205: *"                 # glob
//	    action: fingerprint
//	    fingerprint: rdbms-lock-wait-timeout
//	  - name: wikibase-to-wikidata
//	    match: {exception.class: 'Wikibase\*'}
//	    action: route
//	    severity: high
//	    projects: [wikidata]
//
// All matchers of a rule must match. Values are globs (`*`, `?`) unless they
// start with `~`, which makes them regular expressions. The first matching
// ignore or fingerprint rule wins; route rules apply in order, later ones
// overriding fields set by earlier ones, so site files can refine defaults.
package rules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wikimedia/sheriff/internal/event"
)

// Defaults holds the rule files shipped in the binary.
//
//go:embed defaults/*.yaml
var Defaults embed.FS

// DefaultEventRules is the name of the default event rule file inside Defaults.
const DefaultEventRules = "defaults/events.yaml"

// Action is what a rule does with a matching event.
type Action string

const (
	ActionIgnore      Action = "ignore"
	ActionFingerprint Action = "fingerprint"
	ActionRoute       Action = "route"
)

// Severities accepted by route rules, in Phabricator priority order.
var severities = []string{"low", "normal", "high", "unbreak"}

// Rule is one compiled rule.
type Rule struct {
	Name        string
	Reason      string
	Action      Action
	Fingerprint string
	Severity    string
	Projects    []string
	Source      string // file:line where the rule is defined
	matchers    []matcher
}

type matcher struct {
	field string
	glob  string
	re    *regexp.Regexp
}

// Set is an ordered list of rules from one or more files.
type Set struct {
	Rules []Rule
}

// Decision is the outcome of evaluating a Set against one event.
type Decision struct {
	Ignore      bool
	IgnoredBy   string // rule name
	Fingerprint string // explicit fingerprint, "" for the computed one
	Severity    string
	Projects    []string
}

// PositionError is a rule file error with its position.
type PositionError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Load reads the default rules (unless noDefaults) followed by files, in order.
func Load(files []string, noDefaults bool) (*Set, error) {
	var set Set
	if !noDefaults {
		data, err := fs.ReadFile(Defaults, DefaultEventRules)
		if err != nil {
			return nil, fmt.Errorf("rules: read defaults: %w", err)
		}
		rs, err := Parse("(builtin)/"+DefaultEventRules, data)
		if err != nil {
			return nil, err
		}
		set.Rules = append(set.Rules, rs.Rules...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		rs, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		set.Rules = append(set.Rules, rs.Rules...)
	}
	names := map[string]string{}
	for _, r := range set.Rules {
		if prev, ok := names[r.Name]; ok {
			return nil, fmt.Errorf("%s: rule %q already defined at %s", r.Source, r.Name, prev)
		}
		names[r.Name] = r.Source
	}
	return &set, nil
}

// Parse compiles one rule file. Every error names file, line and column.
func Parse(file string, data []byte) (*Set, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Set{}, nil
		}
		return nil, yamlError(file, err)
	}
	if len(doc.Content) == 0 {
		return &Set{}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, posErr(file, root, "expected a mapping with a 'rules' list")
	}
	var set Set
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "rules" {
			return nil, posErr(file, k, "unknown key %q (want 'rules')", k.Value)
		}
		if v.Kind != yaml.SequenceNode {
			return nil, posErr(file, v, "'rules' must be a list")
		}
		for _, item := range v.Content {
			r, err := parseRule(file, item)
			if err != nil {
				return nil, err
			}
			set.Rules = append(set.Rules, r)
		}
	}
	return &set, nil
}

func parseRule(file string, n *yaml.Node) (Rule, error) {
	if n.Kind != yaml.MappingNode {
		return Rule{}, posErr(file, n, "a rule must be a mapping")
	}
	r := Rule{Source: fmt.Sprintf("%s:%d", file, n.Line)}
	var actionNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name", "reason", "action", "fingerprint", "severity":
			if v.Kind != yaml.ScalarNode {
				return Rule{}, posErr(file, v, "%s must be a string", k.Value)
			}
		}
		switch k.Value {
		case "name":
			r.Name = v.Value
		case "reason":
			r.Reason = v.Value
		case "action":
			r.Action = Action(v.Value)
			actionNode = v
		case "fingerprint":
			r.Fingerprint = v.Value
		case "severity":
			if !slices.Contains(severities, v.Value) {
				return Rule{}, posErr(file, v, "severity %q: want one of %s", v.Value, strings.Join(severities, ", "))
			}
			r.Severity = v.Value
		case "projects":
			if v.Kind != yaml.SequenceNode {
				return Rule{}, posErr(file, v, "projects must be a list of project names")
			}
			for _, p := range v.Content {
				if p.Kind != yaml.ScalarNode || p.Value == "" {
					return Rule{}, posErr(file, p, "project must be a non-empty string")
				}
				r.Projects = append(r.Projects, p.Value)
			}
		case "match":
			ms, err := parseMatch(file, v)
			if err != nil {
				return Rule{}, err
			}
			r.matchers = ms
		default:
			return Rule{}, posErr(file, k, "unknown key %q in rule (want name, reason, match, action, fingerprint, severity, projects)", k.Value)
		}
	}
	switch {
	case r.Name == "":
		return Rule{}, posErr(file, n, "rule has no name")
	case len(r.matchers) == 0:
		return Rule{}, posErr(file, n, "rule %q has no match", r.Name)
	}
	switch r.Action {
	case ActionIgnore:
		if r.Reason == "" {
			return Rule{}, posErr(file, n, "ignore rule %q needs a reason: people reading it later must know why", r.Name)
		}
	case ActionFingerprint:
		if r.Fingerprint == "" {
			return Rule{}, posErr(file, n, "fingerprint rule %q has no fingerprint", r.Name)
		}
	case ActionRoute:
		if r.Severity == "" && len(r.Projects) == 0 {
			return Rule{}, posErr(file, n, "route rule %q sets neither severity nor projects", r.Name)
		}
	case "":
		return Rule{}, posErr(file, n, "rule %q has no action (want ignore, fingerprint or route)", r.Name)
	default:
		return Rule{}, posErr(file, actionNode, "unknown action %q (want ignore, fingerprint or route)", r.Action)
	}
	return r, nil
}

func parseMatch(file string, n *yaml.Node) ([]matcher, error) {
	if n.Kind != yaml.MappingNode {
		return nil, posErr(file, n, "match must be a mapping of field: pattern")
	}
	var ms []matcher
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, ok := (&event.Event{}).Field(k.Value); !ok {
			return nil, posErr(file, k, "unknown field %q (known: %s)", k.Value, strings.Join(event.FieldNames(), ", "))
		}
		if v.Kind != yaml.ScalarNode {
			return nil, posErr(file, v, "pattern for %s must be a string", k.Value)
		}
		m := matcher{field: k.Value}
		if expr, ok := strings.CutPrefix(v.Value, "~"); ok {
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, posErr(file, v, "bad regular expression for %s: %v", k.Value, err)
			}
			m.re = re
		} else {
			// Globs have no syntax to get wrong: only * and ? are special,
			// so puppet titles like Service[nginx] match literally.
			m.glob = v.Value
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Matches reports whether every matcher of r matches ev.
func (r *Rule) Matches(ev *event.Event) bool {
	for _, m := range r.matchers {
		v, _ := ev.Field(m.field)
		if m.re != nil {
			if !m.re.MatchString(v) {
				return false
			}
			continue
		}
		if !Glob(m.glob, v) {
			return false
		}
	}
	return true
}

// Evaluate applies the set to ev.
func (s *Set) Evaluate(ev *event.Event) Decision {
	var d Decision
	if s == nil {
		return d
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		if r.Action == ActionFingerprint && d.Fingerprint != "" {
			continue
		}
		if !r.Matches(ev) {
			continue
		}
		switch r.Action {
		case ActionIgnore:
			return Decision{Ignore: true, IgnoredBy: r.Name}
		case ActionFingerprint:
			d.Fingerprint = r.Fingerprint
			if r.Severity != "" {
				d.Severity = r.Severity
			}
			if len(r.Projects) > 0 {
				d.Projects = r.Projects
			}
		case ActionRoute:
			if r.Severity != "" {
				d.Severity = r.Severity
			}
			if len(r.Projects) > 0 {
				d.Projects = r.Projects
			}
		}
	}
	return d
}

func posErr(file string, n *yaml.Node, format string, args ...any) error {
	return &PositionError{File: file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into a
// PositionError so every rule error reads the same way.
func yamlError(file string, err error) error {
	msg := err.Error()
	var line int
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
		_, rest, _ := strings.Cut(msg, ": ")
		_, rest, _ = strings.Cut(rest, ": ")
		return &PositionError{File: file, Line: line, Column: 1, Msg: rest}
	}
	return fmt.Errorf("%s: %w", file, err)
}
