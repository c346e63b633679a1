package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/wikimedia/sheriff/internal/config"
)

// puppetQuery is what the puppet watcher reads: puppet.query, or by default
// the agent's syslog programs.
func puppetQuery(p *config.Puppet) []byte {
	if q := bytes.TrimSpace(p.Query); len(q) > 0 {
		return q
	}
	q, _ := json.Marshal(map[string]any{"terms": map[string]any{"program": p.Programs}})
	return q
}

// puppetIndex is the index pattern of the puppet watcher.
func puppetIndex(cfg *config.Config) string {
	if cfg.Puppet.Index != "" {
		return cfg.Puppet.Index
	}
	return cfg.Logstash.Index
}

// mainQuery is the main watcher's query. By default (no logstash.query) it
// leaves the documents of the puppet watcher to that watcher: otherwise
// every agent line ("Applied catalog in <*> seconds") would also become a
// generic signature with a task of its own beside the puppet cause.
func mainQuery(cfg *config.Config) []byte {
	l := cfg.Logstash
	if len(bytes.TrimSpace(l.Query)) > 0 || cfg.Puppet == nil || !indexesOverlap(l.Index, puppetIndex(cfg)) {
		return l.Query
	}
	pq := puppetQuery(cfg.Puppet)
	if bytes.HasPrefix(pq, []byte("[")) {
		// A list of clauses is their conjunction: negate it as one.
		pq = []byte(`{"bool":{"filter":` + string(pq) + `}}`)
	}
	return []byte(`[{"bool":{"must_not":[` + string(pq) + `]}}]`)
}

// indexesOverlap reports whether two index patterns may name the same index.
func indexesOverlap(a, b string) bool {
	if a == b {
		return true
	}
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if ok, _ := path.Match(p[0], p[1]); ok {
			return true
		}
	}
	// Both wildcards: they overlap when one literal prefix extends the other.
	pa, _, _ := strings.Cut(a, "*")
	pb, _, _ := strings.Cut(b, "*")
	return strings.Contains(a, "*") && strings.Contains(b, "*") && (strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa))
}

// ConfigWarnings are problems of a valid configuration that make sheriff
// file the wrong things (check-config prints them).
func ConfigWarnings(cfg *config.Config) []string {
	var out []string
	if cfg.Puppet != nil && cfg.Logstash != nil {
		l := cfg.Logstash
		pi := puppetIndex(cfg)
		if len(bytes.TrimSpace(l.Query)) > 0 && indexesOverlap(l.Index, pi) && !bytes.Contains(l.Query, []byte("must_not")) {
			out = append(out, fmt.Sprintf("logstash and puppet both read index %q and logstash.query does not exclude the puppet documents: "+
				"the main watcher would file generic tasks for puppet agent lines; add a must_not clause for them to logstash.query, "+
				"or remove logstash.query to get the default, which leaves them to the puppet watcher", pi))
		}
	}
	return out
}
