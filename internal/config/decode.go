package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error is a configuration error with its position and key path.
type Error struct {
	File   string
	Line   int
	Column int
	Key    string // dotted path, e.g. "logstash.poll_interval"
	Msg    string
}

func (e *Error) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Key == "" {
		return pos + ": " + e.Msg
	}
	return fmt.Sprintf("%s: %s: %s", pos, e.Key, e.Msg)
}

// Errors collects every problem of a file, so one check-config run shows all of them.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Duration is a time.Duration written as "90s", "5m", "24h" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration such as 30s, 5m or 24h")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("bad duration %q: want a duration such as 30s, 5m or 24h", n.Value)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// JSON holds an arbitrary YAML value converted to JSON, e.g. an
// Elasticsearch query clause written in YAML.
type JSON json.RawMessage

// UnmarshalYAML implements yaml.Unmarshaler.
func (j *JSON) UnmarshalYAML(n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("not representable as JSON: %v", err)
	}
	*j = b
	return nil
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decodeStrict decodes n into the struct pointed to by out, rejecting unknown
// keys and attributing every error to its key and position.
// It returns the node of every key path it decoded, for later validation errors.
func decodeStrict(file string, n *yaml.Node, out any) (map[string]*yaml.Node, error) {
	d := decoder{file: file, pos: map[string]*yaml.Node{}}
	d.walk("", n, reflect.ValueOf(out).Elem())
	if len(d.errs) > 0 {
		return d.pos, d.errs
	}
	return d.pos, nil
}

type decoder struct {
	file string
	errs Errors
	pos  map[string]*yaml.Node
}

func (d *decoder) walk(path string, n *yaml.Node, v reflect.Value) {
	file, errs := d.file, &d.errs
	if path != "" {
		d.pos[path] = n
	}
	add := func(n *yaml.Node, key, format string, args ...any) {
		*errs = append(*errs, &Error{File: file, Line: n.Line, Column: n.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Kind() == reflect.Pointer {
		if n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			add(n, path, "%s", trimYAML(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return
			}
			add(n, path, "want a mapping, got %s", describe(n))
			return
		}
		fields := map[string]int{}
		var names []string
		for i := range v.NumField() {
			tag := v.Type().Field(i).Tag.Get("yaml")
			name, _, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = i
			names = append(names, name)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			idx, ok := fields[k.Value]
			if !ok {
				add(k, key, "unknown key (known keys here: %s)", strings.Join(names, ", "))
				continue
			}
			if seen[k.Value] {
				add(k, key, "key given twice")
				continue
			}
			seen[k.Value] = true
			d.walk(key, val, v.Field(idx))
		}
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			add(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.walk(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			add(n, path, "want a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			d.walk(join(path, k.Value), val, ev)
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode {
			add(n, path, "want a %s, got %s", kindName(v.Kind()), describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			add(n, path, "want a %s, got %q", kindName(v.Kind()), n.Value)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "whole number"
	case reflect.Float64:
		return "number"
	}
	return k.String()
}

func trimYAML(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n  ")
	return s
}
