package hiera

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// reads is what the puppet tree looks up in hiera: class parameters (looked
// up automatically as <class>::<param>) and explicit lookup()/hiera() calls
// and interpolations.
type reads struct {
	keys map[string]bool
}

func (r *reads) has(key string) bool { return r.keys[key] }

var (
	classRE  = regexp.MustCompile(`(?m)^\s*class\s+([a-z][a-z0-9_]*(?:::[a-z][a-z0-9_]*)*)\s*\(`)
	paramRE  = regexp.MustCompile(`\$([a-z_][a-zA-Z0-9_]*)\s*(?:=|,|\)|$)`)
	lookupRE = regexp.MustCompile(`\b(?:lookup|hiera|hiera_array|hiera_hash|hiera_include|alias)\(\s*['"]([^'"]+)['"]`)
)

// readKeys scans the manifests of the checkout. It returns nil when the
// checkout has none (a data-only copy), because then every key would look
// dead.
func readKeys(root string, st *store) (*reads, error) {
	r := &reads{keys: map[string]bool{}}
	found := false
	for _, dir := range []string{"modules", "manifests"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".pp") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			found = true
			r.scanManifest(string(b))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, nil
	}
	for _, d := range st.docs {
		for _, e := range d.Keys {
			r.scanValue(e.Value)
		}
	}
	return r, nil
}

func (r *reads) scanManifest(src string) {
	for _, m := range lookupRE.FindAllStringSubmatch(src, -1) {
		r.keys[m[1]] = true
	}
	for _, loc := range classRE.FindAllStringSubmatchIndex(src, -1) {
		name := src[loc[2]:loc[3]]
		params := balanced(src[loc[1]-1:])
		for _, p := range paramRE.FindAllStringSubmatch(params, -1) {
			r.keys[name+"::"+p[1]] = true
		}
	}
}

// balanced returns the parenthesised text at the start of s, skipping
// quoted strings and comments.
func balanced(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		case '\'', '"':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		}
	}
	return s
}

func (r *reads) scanValue(v any) {
	switch t := v.(type) {
	case string:
		if strings.Contains(t, "%{") {
			for _, m := range lookupRE.FindAllStringSubmatch(t, -1) {
				r.keys[m[1]] = true
			}
		}
	case map[string]any:
		for _, e := range t {
			r.scanValue(e)
		}
	case []any:
		for _, e := range t {
			r.scanValue(e)
		}
	}
}
