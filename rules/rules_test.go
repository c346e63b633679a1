package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/event"
)

func TestParseErrorsNamePosition(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "rules:\n  - name: a\n    match: {channel: [\n", "bad.yaml:"},
		{"unknown top key", "rulez: []\n", "bad.yaml:1:1: unknown key \"rulez\""},
		{"unknown rule key", "rules:\n  - name: a\n    actoin: ignore\n", "bad.yaml:3:5: unknown key \"actoin\""},
		{"unknown field", "rules:\n  - name: a\n    reason: r\n    match: {chanel: x}\n    action: ignore\n", "bad.yaml:4:13: unknown field \"chanel\""},
		{"bad regexp", "rules:\n  - name: a\n    reason: r\n    match: {channel: \"~(\"}\n    action: ignore\n", "bad.yaml:4:22: bad regular expression"},
		{"bad action", "rules:\n  - name: a\n    match: {channel: x}\n    action: delete\n", "bad.yaml:4:13: unknown action \"delete\""},
		{"ignore needs reason", "rules:\n  - name: a\n    match: {channel: x}\n    action: ignore\n", "bad.yaml:2:5: ignore rule \"a\" needs a reason"},
		{"bad severity", "rules:\n  - name: a\n    match: {channel: x}\n    action: route\n    severity: urgent\n", "bad.yaml:5:15: severity \"urgent\""},
		{"no match", "rules:\n  - name: a\n    action: route\n    severity: low\n", "bad.yaml:2:5: rule \"a\" has no match"},
		{"projects type", "rules:\n  - name: a\n    match: {channel: x}\n    action: route\n    projects: x\n", "bad.yaml:5:15: projects must be a list"},
		{"fingerprint missing", "rules:\n  - name: a\n    match: {channel: x}\n    action: fingerprint\n", "fingerprint rule \"a\" has no fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			var pe *PositionError
			if !errors.As(err, &pe) || pe.Line == 0 {
				t.Fatalf("error %v is not a PositionError with a line", err)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	set, err := Parse("r.yaml", []byte(`
rules:
  - name: ignore-test-wiki
    reason: test wikis are noise
    match: {wiki: "test*wiki", channel: error}
    action: ignore
  - name: group-db
    match: {exception.class: 'Wikimedia\Rdbms\*'}
    action: fingerprint
    fingerprint: db
  - name: group-db-2
    match: {exception.class: 'Wikimedia\Rdbms\DBQueryError'}
    action: fingerprint
    fingerprint: never-used-first-wins
  - name: route-wikibase
    match: {exception.class: "~^Wikibase\\\\"}
    action: route
    severity: high
    projects: [wikidata]
  - name: refine
    match: {wiki: wikidatawiki}
    action: route
    severity: unbreak
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   event.Event
		want Decision
	}{
		{"ignored", event.Event{Wiki: "test2wiki", Channel: "error"}, Decision{Ignore: true, IgnoredBy: "ignore-test-wiki"}},
		{"not ignored on other channel", event.Event{Wiki: "test2wiki", Channel: "exception"}, Decision{}},
		{"first fingerprint wins", event.Event{ExcClass: `Wikimedia\Rdbms\DBQueryError`}, Decision{Fingerprint: "db"}},
		{"route", event.Event{ExcClass: `Wikibase\Lib\Store\StorageException`}, Decision{Severity: "high", Projects: []string{"wikidata"}}},
		{"later route refines", event.Event{ExcClass: `Wikibase\X`, Wiki: "wikidatawiki"}, Decision{Severity: "unbreak", Projects: []string{"wikidata"}}},
		{"no match", event.Event{Channel: "fatal"}, Decision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := set.Evaluate(&tt.ev)
			if got.Ignore != tt.want.Ignore || got.IgnoredBy != tt.want.IgnoredBy || got.Fingerprint != tt.want.Fingerprint ||
				got.Severity != tt.want.Severity || strings.Join(got.Projects, ",") != strings.Join(tt.want.Projects, ",") {
				t.Fatalf("Evaluate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"a*", "a/b\\c", true},
		{"*SERVER HAS FAILED*", "x SERVER HAS FAILED y", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*Service[nginx]*", "(/Stage[main]/Nginx/Service[nginx]/ensure) failed", true}, // [ is literal
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestDefaultsLoadAndDuplicateNames(t *testing.T) {
	set, err := Load(nil, false)
	if err != nil {
		t.Fatalf("defaults do not load: %v", err)
	}
	if len(set.Rules) == 0 {
		t.Fatal("no default rules")
	}
	mc := event.Event{Channel: "memcached", Message: "Memcached error for key \"x\" on server \"127.0.0.1:11211\": SERVER HAS FAILED AND IS DISABLED UNTIL TIMED RETRY"}
	if d := set.Evaluate(&mc); d.Fingerprint != "memcached-server-marked-failed" {
		t.Fatalf("default memcached rule did not apply: %+v", d)
	}
	dir := t.TempDir()
	f := dir + "/dup.yaml"
	writeFile(t, f, "rules:\n  - name: fatals-are-high\n    match: {channel: x}\n    action: route\n    severity: low\n")
	if _, err := Load([]string{f}, false); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("duplicate rule name accepted: %v", err)
	}
}
