package diff

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc is a parsed YAML file that keeps its node tree, so that any path inside
// its value can be traced back to a line.
type Doc struct {
	File  string
	Root  *yaml.Node // the document's top node (a mapping for config files); nil when empty
	Value any        // normalized (see Normalize); nil for an empty document
	// Keys are the top-level entries when Root is a mapping, in file order.
	Keys []Entry
	// Index maps a top-level key to its position in Keys.
	Index map[string]int
}

// Entry is one top-level key of a Doc.
type Entry struct {
	Key   string
	Line  int        // line of the key
	Node  *yaml.Node // the value node
	Value any
}

// Get returns the top-level entry for key.
func (d *Doc) Get(key string) (Entry, bool) {
	if d == nil {
		return Entry{}, false
	}
	i, ok := d.Index[key]
	if !ok {
		return Entry{}, false
	}
	return d.Keys[i], true
}

// SyntaxError is a YAML file that could not be parsed.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// YAMLErrorLine returns the 1-based line of a yaml.v3 syntax error in data,
// or 0. yaml.v3 reports scanner errors 1-based but parser errors with the
// 0-based line of the enclosing construct; parsing the lines up to the
// reported one tells which: if they already fail, the line is right.
func YAMLErrorLine(data []byte, err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	line, _ := strconv.Atoi(m[1])
	if line <= 0 {
		return 0
	}
	end, n := 0, 0
	for end < len(data) && n < line {
		if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(data)
		}
		n++
	}
	var probe yaml.Node
	if yaml.Unmarshal(data[:end], &probe) == nil && end < len(data) {
		return line + 1
	}
	return line
}

// ParseYAML parses one YAML document. A syntax error is returned as
// *SyntaxError. Recoverable oddities (duplicate keys, where the last one wins
// as in Puppet's YAML loader) are returned as problems.
func ParseYAML(file string, data []byte) (*Doc, []Problem, error) {
	var top yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		se := &SyntaxError{File: file, Msg: msg, Line: YAMLErrorLine(data, err)}
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			se.Msg = strings.TrimPrefix(msg, m[0]+": ")
		}
		return nil, nil, se
	}
	d := &Doc{File: file}
	if top.Kind == 0 || len(top.Content) == 0 {
		return d, nil, nil
	}
	c := &converter{file: file}
	root := top.Content[0]
	d.Root = root
	v, err := c.value(root, 0)
	if err != nil {
		return nil, c.problems, err
	}
	d.Value = v
	if m := resolve(root); m.Kind == yaml.MappingNode {
		d.Index = make(map[string]int)
		vm, _ := v.(map[string]any)
		for _, kv := range c.pairs(m, 0) {
			d.Index[kv.key] = len(d.Keys)
			d.Keys = append(d.Keys, Entry{Key: kv.key, Line: kv.k.Line, Node: kv.v, Value: vm[kv.key]})
		}
	}
	return d, c.problems, nil
}

type converter struct {
	file     string
	problems []Problem
	reported map[*yaml.Node]bool
}

type kv struct {
	key  string
	k, v *yaml.Node
}

const maxDepth = 200

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// pairs returns the entries of mapping m with merge keys (<<) expanded; later
// duplicates replace earlier ones and explicit keys win over merged ones.
func (c *converter) pairs(m *yaml.Node, depth int) []kv {
	var merged, own []kv
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0 && k.Kind == yaml.ScalarNode && k.Tag != "!!str") {
			src := resolve(v)
			var srcs []*yaml.Node
			if src.Kind == yaml.SequenceNode {
				srcs = src.Content
			} else {
				srcs = []*yaml.Node{src}
			}
			for _, s := range srcs {
				if s = resolve(s); s.Kind == yaml.MappingNode && depth < maxDepth {
					merged = append(merged, c.pairs(s, depth+1)...)
				}
			}
			continue
		}
		key := resolve(k).Value
		own = append(own, kv{key: key, k: k, v: v})
	}
	seen := make(map[string]int, len(own))
	var out []kv
	for _, p := range own {
		if i, dup := seen[p.key]; dup {
			if c.reported == nil {
				c.reported = make(map[*yaml.Node]bool)
			}
			if !c.reported[p.k] {
				c.reported[p.k] = true
				c.problems = append(c.problems, Problem{File: c.file, Line: p.k.Line,
					Message: fmt.Sprintf("duplicate key %q (first at line %d); the last one is used", p.key, out[i].k.Line)})
			}
			out[i] = p
			continue
		}
		seen[p.key] = len(out)
		out = append(out, p)
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = len(out)
			out = append(out, p)
		}
	}
	return out
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &SyntaxError{File: c.file, Line: n.Line, Msg: "value nested too deeply (alias loop?)"}
	}
	n = resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps := c.pairs(n, depth)
		m := make(map[string]any, len(ps))
		for _, p := range ps {
			v, err := c.value(p.v, depth+1)
			if err != nil {
				return nil, err
			}
			m[p.key] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml.ScalarNode:
		// Timestamps stay text: config readers hand them over as strings.
		if n.Tag == "!!str" || n.Tag == "" || n.Tag == "!!timestamp" {
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &SyntaxError{File: c.file, Line: n.Line, Msg: err.Error()}
		}
		return Normalize(v), nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	}
	return nil, nil
}

// Line returns the line of the node at p below n (the key's line for map
// entries) and whether p was found entirely; when it was not, the line of the
// deepest node found is returned.
func Line(n *yaml.Node, p Path) (int, bool) {
	if n == nil {
		return 0, false
	}
	line := n.Line
	c := &converter{}
	for _, s := range p {
		n = resolve(n)
		switch {
		case s.Field != "":
			if n.Kind != yaml.SequenceNode {
				return line, false
			}
			var found *yaml.Node
			for _, e := range n.Content {
				e = resolve(e)
				if e.Kind != yaml.MappingNode {
					continue
				}
				for _, p := range c.pairs(e, 0) {
					if p.key == s.Field && resolve(p.v).Value == s.Key {
						found = e
						break
					}
				}
				if found != nil {
					break
				}
			}
			if found == nil {
				return line, false
			}
			n, line = found, found.Line
		case s.Index >= 0:
			if n.Kind != yaml.SequenceNode || s.Index >= len(n.Content) {
				return line, false
			}
			n = n.Content[s.Index]
			line = n.Line
		default:
			if n.Kind != yaml.MappingNode {
				return line, false
			}
			var found *kv
			for _, p := range c.pairs(n, 0) {
				if p.key == s.Key {
					found = &p
					break
				}
			}
			if found == nil {
				return line, false
			}
			n, line = found.v, found.k.Line
		}
	}
	return line, true
}

// IsSyntaxError reports whether err is (or wraps) a *SyntaxError.
func IsSyntaxError(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}
