package drift

import (
	"testing"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/rules"
)

const testRules = `
rules:
  - name: quiet
    class: ignore
    reason: not ours
    match: {source: puppet, key: "profile::noisy::*"}
  - name: machines
    reason: Beta has its own machines
    substitute:
      - prod: ["**.eqiad.wmnet", "10.*.*.*"]
        beta: ["**.deployment-prep.eqiad1.wikimedia.cloud", "172.16.*.*"]
  - name: domains
    reason: Beta domains
    substitute:
      - {prod: wikipedia.org, beta: wikipedia.beta.wmcloud.org}
  - name: replicas
    class: sizing
    reason: fewer pods
    match: {source: helm, path: "*replicas"}
  - name: platform
    reason: Cloud VPS defaults
    match: {source: puppet, beta_file: "hieradata/cloud.yaml"}
`

func mustRules(t *testing.T, src string) *rules.DriftRules {
	t.Helper()
	rs, err := rules.ParseDrift("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestClassify(t *testing.T) {
	rs := mustRules(t, testRules)
	both := func(f diff.Finding) diff.Finding { f.ProdPresent, f.BetaPresent = true, true; return f }
	tests := []struct {
		name   string
		f      diff.Finding
		ignore bool
		class  diff.Class
		rule   string
	}{
		{"ignored whatever its class", diff.Finding{Source: "puppet", Key: "profile::noisy::x", Class: diff.ClassStaleOverride}, true, diff.ClassStaleOverride, ""},
		{"host substitution", both(diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassReal,
			Prod: "mw1001.eqiad.wmnet", Beta: "deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud"}), false, diff.ClassExpected, "machines"},
		{"host lists compare as sets after substitution", both(diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassReal,
			Prod: []any{"mw1001.eqiad.wmnet", "mw1002.eqiad.wmnet", "10.64.0.1"}, Beta: []any{"172.16.3.4", "deployment-mw01.deployment-prep.eqiad1.wikimedia.cloud"}}),
			false, diff.ClassExpected, "machines"},
		{"substitutions combine", both(diff.Finding{Source: "mediawiki-config", Key: "k", Class: diff.ClassReal,
			Prod: map[string]any{"api": "http://mw1001.eqiad.wmnet/en.wikipedia.org"}, Beta: map[string]any{"api": "http://x.deployment-prep.eqiad1.wikimedia.cloud/en.wikipedia.beta.wmcloud.org"}}),
			false, diff.ClassExpected, "machines+domains"},
		{"unexplained part stays real", both(diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassReal,
			Prod: "http://mw1001.eqiad.wmnet:80", Beta: "http://x.deployment-prep.eqiad1.wikimedia.cloud:8080"}), false, diff.ClassReal, ""},
		{"Beta pointing at a production host is not explained", both(diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassReal,
			Prod: "db1001.eqiad.wmnet", Beta: "db1002.eqiad.wmnet"}), false, diff.ClassReal, ""},
		{"substitution needs both sides", diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassMissingInBeta,
			Prod: "mw1001.eqiad.wmnet", ProdPresent: true}, false, diff.ClassMissingInBeta, ""},
		{"sizing", both(diff.Finding{Source: "helm", Key: "svc", Path: "resources.replicas", Class: diff.ClassReal, Prod: 8, Beta: 1}), false, diff.ClassSizing, "replicas"},
		{"sizing rule scoped by source", both(diff.Finding{Source: "puppet", Key: "svc", Path: "resources.replicas", Class: diff.ClassReal, Prod: 8, Beta: 1}), false, diff.ClassReal, ""},
		{"match by Beta file", diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassBetaOnly, BetaFile: "hieradata/cloud.yaml", Beta: 1, BetaPresent: true}, false, diff.ClassExpected, "platform"},
		{"stale overrides are not explained away", both(diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassStaleOverride,
			BetaFile: "hieradata/cloud.yaml", Prod: 1, Beta: 1}), false, diff.ClassStaleOverride, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			ignore := classify(&f, rs)
			if ignore != tc.ignore || f.Class != tc.class || f.Rule != tc.rule {
				t.Errorf("got ignore=%v class=%s rule=%q, want %v %s %q", ignore, f.Class, f.Rule, tc.ignore, tc.class, tc.rule)
			}
			if f.Rule != "" && f.Reason == "" {
				t.Error("a rule applied without its reason")
			}
		})
	}
	f := diff.Finding{Class: diff.ClassReal}
	if classify(&f, nil) || f.Class != diff.ClassReal {
		t.Error("nil rules changed the finding")
	}
}

func TestDefaultRulesExplainKnownDifferences(t *testing.T) {
	rs, err := rules.DefaultDrift()
	if err != nil {
		t.Fatal(err)
	}
	both := func(f diff.Finding) diff.Finding { f.ProdPresent, f.BetaPresent = true, true; return f }
	tests := []struct {
		f     diff.Finding
		class diff.Class
	}{
		{both(diff.Finding{Source: "mediawiki-config", Key: "wgServer", Wiki: "enwiki", Class: diff.ClassReal,
			Prod: "//en.wikipedia.org", Beta: "https://en.wikipedia.beta.wmcloud.org"}), diff.ClassExpected},
		{both(diff.Finding{Source: "mediawiki-config", Key: "wgServer", Wiki: "commonswiki", Class: diff.ClassReal,
			Prod: "//commons.wikimedia.org", Beta: "https://commons.wikimedia.beta.wmcloud.org"}), diff.ClassExpected},
		{both(diff.Finding{Source: "mediawiki-config", Key: "service:mathoid", Class: diff.ClassReal,
			Prod: "http://localhost:6003", Beta: "http://deployment-docker-mathoid02.deployment-prep.eqiad1.wikimedia.cloud:10044"}), diff.ClassExpected},
		{both(diff.Finding{Source: "puppet", Key: "cache_hosts", Class: diff.ClassReal,
			Prod: []any{"10.64.0.79", "10.64.0.229"}, Beta: []any{"172.16.5.238"}}), diff.ClassExpected},
		{both(diff.Finding{Source: "helm", Key: "mathoid", Path: "resources.replicas", Class: diff.ClassReal, Prod: 10, Beta: 1}), diff.ClassSizing},
		{both(diff.Finding{Source: "helm", Key: "eventgate", Path: "main_app.conf.topic_prefix", Class: diff.ClassReal, Prod: "eqiad.", Beta: "staging."}), diff.ClassExpected},
		{both(diff.Finding{Source: "mediawiki-config", Key: "wgServer", Wiki: "enwiki", Class: diff.ClassReal,
			Prod: "//en.wikipedia.org", Beta: "https://de.wikipedia.beta.wmcloud.org"}), diff.ClassReal},
	}
	for _, tc := range tests {
		f := tc.f
		classify(&f, rs)
		if f.Class != tc.class {
			t.Errorf("%s %s %v -> %v: class %s (rule %q), want %s", f.Source, f.Key, f.Prod, f.Beta, f.Class, f.Rule, tc.class)
		}
	}
}
