package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/diff"
)

func TestDefaultDriftRulesParse(t *testing.T) {
	rs, err := DefaultDrift()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) == 0 {
		t.Fatal("no default drift rules")
	}
	for _, r := range rs.Rules {
		if r.Reason == "" || r.Line == 0 || !strings.HasSuffix(r.File, "defaults/drift.yaml") {
			t.Errorf("rule %+v lacks reason or position", r)
		}
	}
}

func TestParseDriftErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown top-level", "rulez: []\n", "x.yaml:1:1: unknown top-level field \"rulez\""},
		{"unknown rule field", "rules:\n  - name: a\n    reason: r\n    match: {key: k}\n    severity: high\n", "x.yaml:5:5: unknown rule field \"severity\""},
		{"missing reason", "rules:\n  - name: a\n    match: {key: k}\n", "x.yaml:2:5: rule \"a\" has no reason"},
		{"missing name", "rules:\n  - reason: r\n    match: {key: k}\n", "x.yaml:2:5: rule without a name"},
		{"bad class", "rules:\n  - name: a\n    reason: r\n    class: real\n    match: {key: k}\n", "x.yaml:4:12: unknown class \"real\""},
		{"unknown match field", "rules:\n  - name: a\n    reason: r\n    match:\n      color: red\n", "x.yaml:5:7: unknown match field \"color\""},
		{"bad source", "rules:\n  - name: a\n    reason: r\n    match: {source: hiera}\n", "x.yaml:4:21: unknown source \"hiera\""},
		{"no match nor substitute", "rules:\n  - name: a\n    reason: r\n", "x.yaml:2:5: rule \"a\" has neither match nor substitute"},
		{"half substitution", "rules:\n  - name: a\n    reason: r\n    substitute:\n      - prod: x.org\n", "x.yaml:5:9: substitute entry needs both prod and beta"},
		{"match-all pattern", "rules:\n  - name: a\n    reason: r\n    substitute:\n      - {prod: '**', beta: b}\n", "x.yaml:5:16: pattern \"**\" matches anything"},
		{"duplicate name", "rules:\n  - {name: a, reason: r, match: {key: k}}\n  - {name: a, reason: r, match: {key: j}}\n", "x.yaml:3:5: duplicate rule name \"a\" (first at line 2)"},
		{"ignore substitute", "rules:\n  - name: a\n    reason: r\n    class: ignore\n    substitute: [{prod: a.org, beta: b.org}]\n", "x.yaml:2:5: rule \"a\": substitute rules explain differences"},
		{"syntax", "rules:\n  - name: [a\n", "x.yaml:2:1: did not find expected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDrift("x.yaml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *PositionError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *PositionError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %q, want prefix %q", err, tc.want)
			}
		})
	}
}

const sample = `
rules:
  - name: hosts
    reason: Beta has its own hosts
    substitute:
      - prod: ["**.eqiad.wmnet", "*.codfw.wmnet"]
        beta: "*.deployment-prep.eqiad1.wikimedia.cloud"
  - name: domains
    reason: Beta domains
    substitute:
      - {prod: wikipedia.org, beta: wikipedia.beta.wmcloud.org}
      - {prod: wikidata.org, beta: wikidata.beta.wmcloud.org}
  - name: replicas
    class: sizing
    reason: fewer pods
    match: {source: helm, path: ["*replicas"]}
  - name: noisy
    class: ignore
    reason: not ours
    match: {source: puppet, key: ["profile::noisy::*", "other"], host: ""}
  - name: scheme
    reason: https
    substitute:
      - {prod: "//", beta: "https://"}
`

func TestRewrite(t *testing.T) {
	rs, err := ParseDrift("s.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	hosts, domains, scheme := rs.Rules[0], rs.Rules[1], rs.Rules[4]
	tests := []struct {
		r          *DriftRule
		prod, beta string
		equal      bool
	}{
		{hosts, "mw1001.eqiad.wmnet", "deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud", true},
		{hosts, "http://kubemaster.svc.eqiad.wmnet:6443/x", "http://deployment-k8s01.deployment-prep.eqiad1.wikimedia.cloud:6443/x", true},
		{hosts, "http://kubemaster.svc.eqiad.wmnet:6443/x", "http://deployment-k8s01.deployment-prep.eqiad1.wikimedia.cloud:6444/x", false},
		{hosts, "a.codfw.wmnet,b.codfw.wmnet", "x.deployment-prep.eqiad1.wikimedia.cloud,y.deployment-prep.eqiad1.wikimedia.cloud", true},
		// Beta pointing at a production host is not explained by the rule.
		{hosts, "mw1001.eqiad.wmnet", "mw1001.eqiad.wmnet", false},
		{domains, "https://en.wikipedia.org/wiki/X", "https://en.wikipedia.beta.wmcloud.org/wiki/X", true},
		{domains, "https://www.wikidata.org", "https://www.wikidata.beta.wmcloud.org", true},
		{domains, "wikipedia.org", "wikidata.beta.wmcloud.org", false},          // pairs keep their identity
		{domains, "notwikipedia.org", "notwikipedia.beta.wmcloud.org", false},   // glued to a letter: no match
		{domains, "wikipedia.organic", "wikipedia.beta.wmcloud.organic", false}, // right boundary
		{scheme, "//en.wikipedia.org", "https://en.wikipedia.org", true},        // punctuation ends touch anything
	}
	for _, tc := range tests {
		p, b := tc.r.RewriteString(tc.prod, Prod), tc.r.RewriteString(tc.beta, Beta)
		if (p == b) != tc.equal {
			t.Errorf("%s: %q vs %q rewritten to %q vs %q; equal want %v", tc.r.Name, tc.prod, tc.beta, p, b, tc.equal)
		}
	}
	got := hosts.Rewrite(map[string]any{"mw1001.eqiad.wmnet": []any{"db1001.eqiad.wmnet", int64(3)}}, Prod)
	m := got.(map[string]any)
	for k, v := range m {
		if strings.Contains(k, "wmnet") || strings.Contains(v.([]any)[0].(string), "wmnet") || v.([]any)[1] != int64(3) {
			t.Errorf("Rewrite did not reach keys and nested values: %#v", got)
		}
	}
}

func TestMatches(t *testing.T) {
	rs, err := ParseDrift("s.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	replicas, noisy := rs.Rules[2], rs.Rules[3]
	tests := []struct {
		r    *DriftRule
		f    diff.Finding
		want bool
	}{
		{replicas, diff.Finding{Source: "helm", Key: "mathoid", Path: "resources.replicas"}, true},
		{replicas, diff.Finding{Source: "puppet", Key: "mathoid", Path: "resources.replicas"}, false},
		{replicas, diff.Finding{Source: "helm", Key: "mathoid", Path: "resources.replicas_max"}, false},
		{noisy, diff.Finding{Source: "puppet", Key: "profile::noisy::x"}, true},
		{noisy, diff.Finding{Source: "puppet", Key: "other"}, true},
		{noisy, diff.Finding{Source: "puppet", Key: "other", Host: "deployment-mx02"}, false}, // host: "" matches only project-level
		{noisy, diff.Finding{Source: "puppet", Key: "profile::quiet::x"}, false},
	}
	for _, tc := range tests {
		if got := tc.r.Matches(&tc.f); got != tc.want {
			t.Errorf("%s.Matches(%+v) = %v", tc.r.Name, tc.f, got)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"*replicas", "resources.replicas", true},
		{"profile::*::port", "profile::a::b::port", true},
		{"?x", "ax", true},
		{"?x", "x", false},
		{"*a*a*a*", "aaa", true},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tc := range tests {
		if got := Glob(tc.p, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}
