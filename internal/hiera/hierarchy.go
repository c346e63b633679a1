// Package hiera computes the effective hiera value of each key on a Beta
// Cluster host and in production, from an operations/puppet checkout, and
// reports where they differ.
//
// The hierarchies are read from modules/puppetmaster/files/hiera/*.yaml (the
// files the puppetservers use), so that a change of hierarchy upstream is
// followed without a code change. Levels whose data is not in the repository
// (private and secret datadirs, netbox, the Horizon ENC over HTTP, the regex
// lookup) are skipped and listed in the result's notes.
package hiera

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultDatadir is the datadir that maps to <checkout>/hieradata.
const DefaultDatadir = "/etc/puppet/hieradata"

// Kind is how a hierarchy level finds a key.
type Kind int

const (
	// KindYAML reads a YAML file holding the key (data_hash: yaml_data).
	KindYAML Kind = iota
	// KindExpandPath reads key a::b::c from <path>/a/b.yaml and a key
	// without "::" from <path>.yaml (lookup_key: wmflib::expand_path).
	KindExpandPath
	// KindUnsupported levels are skipped (their data is not in git, or
	// their backend is not implemented).
	KindUnsupported
)

// Level is one level of a hiera 5 hierarchy.
type Level struct {
	Name  string
	Paths []string // path templates relative to the datadir, with %{...} variables
	Kind  Kind
	// Skip says why a KindUnsupported level is skipped.
	Skip string
	Line int
}

// Hierarchy is a parsed hiera.yaml (version 5).
type Hierarchy struct {
	File   string
	Levels []Level
}

// HierarchyDir is where operations/puppet keeps the puppetservers' hiera.yaml
// files, relative to the checkout.
const HierarchyDir = "modules/puppetmaster/files/hiera"

// LoadHierarchy reads a hiera.yaml file; name is what errors report it as.
func LoadHierarchy(path, name string) (*Hierarchy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hiera: %w", err)
	}
	return ParseHierarchy(name, b)
}

// ParseHierarchy parses the hierarchy of a hiera 5 configuration.
func ParseHierarchy(file string, data []byte) (*Hierarchy, error) {
	var cfg struct {
		Version  int `yaml:"version"`
		Defaults struct {
			Datadir   string `yaml:"datadir"`
			DataHash  string `yaml:"data_hash"`
			LookupKey string `yaml:"lookup_key"`
		} `yaml:"defaults"`
		Hierarchy []yaml.Node `yaml:"hierarchy"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("hiera: %s: %w", file, err)
	}
	if cfg.Version != 5 {
		return nil, fmt.Errorf("hiera: %s: version %d, only version 5 is supported", file, cfg.Version)
	}
	if len(cfg.Hierarchy) == 0 {
		return nil, fmt.Errorf("hiera: %s: no hierarchy", file)
	}
	h := &Hierarchy{File: file}
	for _, n := range cfg.Hierarchy {
		var l struct {
			Name      string   `yaml:"name"`
			Path      string   `yaml:"path"`
			Paths     []string `yaml:"paths"`
			Glob      string   `yaml:"glob"`
			Globs     []string `yaml:"globs"`
			URI       string   `yaml:"uri"`
			Datadir   string   `yaml:"datadir"`
			DataHash  string   `yaml:"data_hash"`
			LookupKey string   `yaml:"lookup_key"`
		}
		if err := n.Decode(&l); err != nil {
			return nil, fmt.Errorf("hiera: %s:%d: %w", file, n.Line, err)
		}
		lv := Level{Name: l.Name, Line: n.Line}
		if l.Path != "" {
			lv.Paths = append(lv.Paths, l.Path)
		}
		lv.Paths = append(lv.Paths, l.Paths...)
		datadir := l.Datadir
		if datadir == "" {
			datadir = cfg.Defaults.Datadir
		}
		dataHash, lookupKey := l.DataHash, l.LookupKey
		if dataHash == "" && lookupKey == "" {
			dataHash, lookupKey = cfg.Defaults.DataHash, cfg.Defaults.LookupKey
		}
		switch {
		case l.URI != "" || len(lv.Paths) == 0:
			lv.Kind, lv.Skip = KindUnsupported, "no file path (remote data is not in the repository)"
		case l.Glob != "" || len(l.Globs) > 0:
			lv.Kind, lv.Skip = KindUnsupported, "glob levels are not supported"
		case datadir != "" && strings.TrimSuffix(datadir, "/") != DefaultDatadir:
			lv.Kind, lv.Skip = KindUnsupported, "datadir "+datadir+" is not in the repository"
		case lookupKey == "wmflib::expand_path":
			lv.Kind = KindExpandPath
		case lookupKey != "":
			lv.Kind, lv.Skip = KindUnsupported, "lookup_key "+lookupKey+" is not supported"
		case dataHash == "" || dataHash == "yaml_data":
			lv.Kind = KindYAML
		default:
			lv.Kind, lv.Skip = KindUnsupported, "data_hash "+dataHash+" is not supported"
		}
		h.Levels = append(h.Levels, lv)
	}
	return h, nil
}

// Built-in hierarchies, used when the checkout has no
// modules/puppetmaster/files/hiera (they mirror operations/puppet as of 2024).
const (
	defaultProduction = `version: 5
defaults: {datadir: /etc/puppet/hieradata, data_hash: yaml_data}
hierarchy:
  - {name: "node hierarchy", path: "hosts/%{::hostname}.yaml"}
  - {name: "role", paths: ["role/%{::site}/%{::_role}.yaml", "role/common/%{::_role}.yaml"]}
  - {name: "expand_path site", path: "%{::site}", lookup_key: wmflib::expand_path}
  - {name: "common", path: "common", lookup_key: wmflib::expand_path}
`
	defaultCloud = `version: 5
defaults: {datadir: /etc/puppet/hieradata, data_hash: yaml_data}
hierarchy:
  - name: "cloud hierarchy"
    paths:
      - "cloud/%{::wmcs_deployment}/%{::wmcs_project}/hosts/%{::hostname}.yaml"
      - "cloud/%{::wmcs_deployment}/%{::wmcs_project}/common.yaml"
      - "cloud/%{::wmcs_deployment}.yaml"
      - "cloud.yaml"
  - {name: "Common hierarchy", path: "common.yaml"}
`
)

// variable is one %{...} of a path template.
var variableRE = regexp.MustCompile(`%\{([^}]*)\}`)

// varName strips the scope and facts prefixes: %{::site}, %{site},
// %{facts.site} and %{::facts.site} all name "site".
func varName(raw string) string {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "::")
	s = strings.TrimPrefix(s, "facts.")
	return s
}

// template is a resolved path template: fixed text, or prefix + the value of
// the enumerated variable + suffix.
type template struct {
	raw            string
	prefix, suffix string
	variant        bool
}

// resolve substitutes facts into a path template. It fails when the template
// uses a variable that is neither a fact nor the enumerated one, or the
// enumerated variable more than once.
func resolve(tmpl string, facts map[string]string, enumerate string) (template, error) {
	t := template{raw: tmpl}
	var b strings.Builder
	last := 0
	for _, m := range variableRE.FindAllStringSubmatchIndex(tmpl, -1) {
		b.WriteString(tmpl[last:m[0]])
		last = m[1]
		name := varName(tmpl[m[2]:m[3]])
		if v, ok := facts[name]; ok {
			b.WriteString(v)
			continue
		}
		if name == enumerate && enumerate != "" && !t.variant {
			t.variant = true
			t.prefix = b.String()
			b.Reset()
			continue
		}
		return t, fmt.Errorf("variable %%{%s} has no value here", tmpl[m[2]:m[3]])
	}
	b.WriteString(tmpl[last:])
	if t.variant {
		t.suffix = b.String()
	} else {
		t.prefix = b.String()
	}
	if strings.Contains(t.prefix+t.suffix, "..") {
		return t, fmt.Errorf("path %q leaves the datadir", tmpl)
	}
	return t, nil
}

// file returns the file (relative to the datadir) for variant v.
func (t template) file(v string) string {
	if !t.variant {
		return t.prefix
	}
	return t.prefix + v + t.suffix
}

// variants lists the values of the enumerated variable for which the
// template names an existing file under datadir.
func (t template) variants(datadir string) ([]string, error) {
	if !t.variant {
		return nil, nil
	}
	dir := filepath.Join(datadir, filepath.FromSlash(t.prefix))
	if !strings.HasSuffix(t.prefix, "/") {
		dir = filepath.Dir(dir)
	}
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(datadir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, t.prefix) && strings.HasSuffix(rel, t.suffix) && len(rel) > len(t.prefix)+len(t.suffix) {
			out = append(out, rel[len(t.prefix):len(rel)-len(t.suffix)])
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return out, nil
}
