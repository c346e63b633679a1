package drift

import (
	"context"
	"github.com/wikimedia/sheriff/internal/memstat"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/rules"
)

// wmfConfig locates the snapshot of real Wikimedia configuration described
// in shared/wmf-config/SOURCES.md: $SHERIFF_WMF_CONFIG, else
// ../../../shared/wmf-config from this package's directory.
func wmfConfig(tb testing.TB) Sources {
	tb.Helper()
	root := os.Getenv("SHERIFF_WMF_CONFIG")
	if root == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			tb.Skip("cannot locate the package directory")
		}
		root = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "wmf-config")
	}
	src := Sources{
		Puppet:          filepath.Join(root, "operations-puppet"),
		MediaWikiConfig: filepath.Join(root, "operations-mediawiki-config"),
		Charts:          filepath.Join(root, "operations-deployment-charts"),
	}
	for _, d := range []string{src.Puppet, src.MediaWikiConfig, src.Charts} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			tb.Skipf("real configuration data not available (%s)", d)
		}
	}
	return src
}

func TestAcceptanceRealData(t *testing.T) {
	src := wmfConfig(t)
	rep, err := (&Checker{Rules: defaultRules(t)}).Check(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	type q struct{ source, key, host, path string }
	byKey := map[q][]*diff.Finding{}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		k := q{f.Source, f.Key, f.Host, f.Path}
		byKey[k] = append(byKey[k], f)
	}
	one := func(k q) *diff.Finding {
		t.Helper()
		fs := byKey[k]
		if len(fs) != 1 {
			t.Errorf("%+v: %d findings, want 1", k, len(fs))
			return &diff.Finding{}
		}
		return fs[0]
	}
	expect := func(f *diff.Finding, class diff.Class, rule, prodAt, betaAt string) {
		t.Helper()
		if f.Class != class || !strings.Contains(f.Rule, rule) {
			t.Errorf("%s %s %s: class %s rule %q, want %s %q", f.Source, f.Key, f.Path, f.Class, f.Rule, class, rule)
		}
		if prodAt != "" && where(f.ProdFile, f.ProdLine) != prodAt {
			t.Errorf("%s %s: prod at %s, want %s", f.Source, f.Key, where(f.ProdFile, f.ProdLine), prodAt)
		}
		if betaAt != "" && where(f.BetaFile, f.BetaLine) != betaAt {
			t.Errorf("%s %s: beta at %s, want %s", f.Source, f.Key, where(f.BetaFile, f.BetaLine), betaAt)
		}
	}
	const project = "hieradata/cloud/eqiad1/deployment-prep/common.yaml"

	// Puppet: host substitutions are expected.
	expect(one(q{"puppet", "arclamp_host", "", ""}), diff.ClassExpected, "beta-machines", "hieradata/eqiad.yaml:20", project+":313")
	expect(one(q{"puppet", "cache_hosts", "", ""}), diff.ClassExpected, "beta-machines", "hieradata/common.yaml:1440", project+":3")
	// Puppet: stale overrides, redundant with common.yaml or copying production.
	f := one(q{"puppet", "kafka_message_max_bytes", "", ""})
	expect(f, diff.ClassStaleOverride, "", "hieradata/common.yaml:774", project+":30")
	if !strings.Contains(f.Reason, "redundant: hieradata/common.yaml") {
		t.Errorf("kafka_message_max_bytes reason %q", f.Reason)
	}
	expect(one(q{"puppet", "profile::apt::purge_sources", "", ""}), diff.ClassStaleOverride, "", "hieradata/common/profile/apt.yaml:1", project+":11")
	// Puppet: the host layer.
	expect(one(q{"puppet", "profile::mail::default_mail_relay::enabled", "deployment-mx02", ""}), diff.ClassStaleOverride, "",
		"", "hieradata/cloud/eqiad1/deployment-prep/hosts/deployment-mx02.yaml:1")
	// Puppet: the Cloud VPS platform layer differs on purpose.
	expect(one(q{"puppet", "profile::apt::use_proxy", "", ""}), diff.ClassExpected, "cloud-vps-platform", "", "hieradata/cloud.yaml:84")

	// Helm.
	f = one(q{"helm", "mathoid", "", "resources.replicas"})
	expect(f, diff.ClassSizing, "replicas", "helmfile.d/services/mathoid/values.yaml:20", "helmfile.d/services/mathoid/values-staging.yaml:2")
	if f.Prod != int64(10) || f.Beta != int64(1) {
		t.Errorf("mathoid replicas %v -> %v", f.Prod, f.Beta)
	}
	expect(one(q{"helm", "cxserver", "", "main_app.proxy"}), diff.ClassStaleOverride, "",
		"helmfile.d/services/cxserver/values-eqiad.yaml:5", "helmfile.d/services/cxserver/values-staging.yaml:3")

	// mediawiki-config: domain and scheme substitutions.
	var wgServer *diff.Finding
	for _, f := range byKey[q{"mediawiki-config", "wgServer", "", ""}] {
		if slices.Contains(f.Wikis, "enwiki") {
			wgServer = f
		}
	}
	if wgServer == nil {
		t.Fatal("no wgServer finding covering enwiki")
	}
	expect(wgServer, diff.ClassExpected, "wiki-domains", "", "")
	// Service mesh endpoints against Beta hosts.
	expect(one(q{"mediawiki-config", "service:mathoid", "", ""}), diff.ClassExpected, "service-mesh",
		"wmf-config/ProductionServices.php:66", "wmf-config/LabsServices.php:64")

	// Tag resolution: wgAbuseFilterEmergencyDisableCount has Beta overrides
	// for 'default' and zhwiki; enwiki, commonswiki and metawiki keep their
	// own production entries on both sides, so they are not drift, and only
	// zhwiki's 'default' differs.
	var abuse []*diff.Finding
	for k, fs := range byKey {
		if k.key == "wgAbuseFilterEmergencyDisableCount" {
			abuse = append(abuse, fs...)
		}
	}
	if len(abuse) == 0 {
		t.Fatal("no wgAbuseFilterEmergencyDisableCount findings")
	}
	for _, f := range abuse {
		wikis := f.Wikis
		if len(wikis) == 0 {
			wikis = []string{f.Wiki}
		}
		for _, w := range []string{"enwiki", "commonswiki", "metawiki"} {
			if slices.Contains(wikis, w) {
				t.Errorf("%s resolved without its own tag entry: %+v", w, f)
			}
		}
		if f.Path == "default" && (f.Wiki != "zhwiki" || f.Class != diff.ClassReal) {
			t.Errorf("default differs beyond zhwiki: %+v", f)
		}
	}
	// Closed wikis: production resolves the 'closed' tag for aawiki and
	// enwikinews, Beta's closed-labs list is empty.
	gr := byKey[q{"mediawiki-config", "groupOverrides", "", ""}]
	if len(gr) != 1 || !slices.Equal(gr[0].Wikis, []string{"aawiki", "enwikinews"}) || gr[0].Class != diff.ClassReal {
		t.Errorf("groupOverrides findings = %+v", gr)
	}
	// Only Beta wikis are compared.
	wikis := map[string]bool{}
	for _, f := range rep.Findings {
		ws := f.Wikis
		if len(ws) == 0 && f.Wiki != "" {
			ws = []string{f.Wiki}
		}
		for _, w := range ws {
			wikis[w] = true
		}
	}
	if wikis["mediawikiwiki"] || wikis["frwikisource"] || len(wikis) > rep.Run.Stats["mediawiki_wikis"] {
		t.Errorf("findings name wikis Beta does not have: %d wikis", len(wikis))
	}
	if rep.Run.Stats["mediawiki_wikis"] != 47 {
		t.Errorf("compared %d Beta wikis, want the 47 of wikiversions-labs.json", rep.Run.Stats["mediawiki_wikis"])
	}

	// Problems are reported with file and line, and did not stop the run.
	var misplaced bool
	for _, p := range rep.Problems {
		if p.File == "hieradata/common/profile/puppetboard.yaml" && p.Line == 8 {
			misplaced = true
		}
	}
	if !misplaced {
		t.Error("misplaced profile::puppetboard:page_title not reported")
	}
	s := rep.Summary
	t.Logf("summary: real %d, by class %v, problems %d", s.Real, s.ByClass, s.Problems)
	if s.Real == 0 || s.ByClass[diff.ClassExpected] < 100 || s.ByClass[diff.ClassStaleOverride] < 100 {
		t.Errorf("implausible summary %+v", s)
	}
}

// BenchmarkFullRun checks everything under shared/wmf-config with the
// default rules and renders every format; the budget is 2 s and 300 MB
// resident. It reports the peak resident set size (VmHWM) of the process.
func BenchmarkFullRun(b *testing.B) {
	src := wmfConfig(b)
	rs, err := rules.DefaultDrift()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := (&Checker{Rules: rs}).Check(context.Background(), src)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range formats {
			if err := rep.Write(f, discard{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if hwm := memstat.PeakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "MB-peak-rss")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
