package hiera

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/diff"
)

const fixture = "testdata/puppet"

func find(t *testing.T, fs []diff.Finding, key, host, path string) *diff.Finding {
	t.Helper()
	for i := range fs {
		if fs[i].Key == key && fs[i].Host == host && fs[i].Path == path {
			return &fs[i]
		}
	}
	return nil
}

func TestCompareFixture(t *testing.T) {
	res, err := Compare(context.Background(), fixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		project = "hieradata/cloud/eqiad1/deployment-prep/common.yaml"
		foo     = "hieradata/common/profile/foo.yaml"
	)
	tests := []struct {
		name, key, host, path string
		class                 diff.Class
		prodAt, betaAt        string
		prod, beta            any
		reason, scope         string
		interpolated          bool
	}{
		{name: "override equal to common.yaml is redundant", key: "kafka_message_max_bytes",
			class: diff.ClassStaleOverride, prodAt: "hieradata/common.yaml:7", betaAt: project + ":3",
			reason: "redundant: hieradata/common.yaml"},
		{name: "copy of the site layer value", key: "profile::foo::port",
			class: diff.ClassStaleOverride, prodAt: "hieradata/eqiad/profile/foo.yaml:1", betaAt: project + ":4",
			reason: "repeats the production value", scope: "common"},
		{name: "host file", key: "profile::foo::port", host: "deployment-mx02",
			class: diff.ClassReal, prod: int64(8080), beta: int64(25),
			prodAt: "hieradata/eqiad/profile/foo.yaml:1", betaAt: "hieradata/cloud/eqiad1/deployment-prep/hosts/deployment-mx02.yaml:1"},
		{name: "host list compared whole", key: "profile::foo::hosts", class: diff.ClassReal,
			prod: []any{"mw1001.eqiad.wmnet", "mw1002.eqiad.wmnet"}, beta: []any{"deployment-foo01.deployment-prep.eqiad1.wikimedia.cloud"},
			prodAt: foo + ":2", betaAt: project + ":5"},
		{name: "list of maps matched by name", key: "profile::foo::listeners", path: "[name=b].port",
			class: diff.ClassReal, prod: int64(2), beta: int64(3), prodAt: foo + ":9", betaAt: project + ":9"},
		{name: "interpolation compared as text", key: "profile::foo::site_value", class: diff.ClassReal,
			prod: "%{::site}", beta: "%{::site}-beta", interpolated: true},
		{name: "redundant with a lower Beta layer", key: "profile::foo::same", class: diff.ClassStaleOverride,
			reason: "redundant: hieradata/cloud/eqiad1.yaml"},
		{name: "beta only", key: "profile::beta::only", class: diff.ClassBetaOnly, beta: "x", betaAt: project + ":15"},
		{name: "role value matched", key: "profile::mediawiki::php::enable_fpm", class: diff.ClassStaleOverride,
			scope: "role mediawiki/appserver", prodAt: "hieradata/role/common/mediawiki/appserver.yaml:2"},
		{name: "role value differs", key: "profile::mediawiki::php::workers", class: diff.ClassReal,
			prod: int64(40), beta: int64(4), scope: "role mediawiki/appserver"},
		{name: "cloud-wide layer", key: "profile::apt::use_proxy", class: diff.ClassReal,
			prod: true, beta: false, betaAt: "hieradata/cloud.yaml:1"},
		{name: "unique merge on the Beta side", key: "profile::admin::groups", class: diff.ClassReal,
			prod: []any{"ops"}, beta: []any{"beta-admins", "cloud-admins"}},
		{name: "deep merge on the Beta side", key: "profile::cache::text::settings", path: "ttl",
			class: diff.ClassBetaOnly, beta: int64(60), betaAt: project + ":19"},
		{name: "deep merge keeps the lower layer's keys", key: "profile::cache::text::settings", path: "backends.a",
			class: diff.ClassBetaOnly, beta: int64(1), betaAt: "hieradata/common.yaml:12"},
		{name: "namespaced key in common.yaml", key: "profile::legacy::flag", class: diff.ClassBetaOnly,
			reason: "production's expand_path lookup never looks"},
		{name: "production key of a class Beta configures", key: "profile::foo::only_in_prod",
			class: diff.ClassMissingInBeta, prod: true, prodAt: foo + ":11"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := find(t, res.Findings, tc.key, tc.host, tc.path)
			if f == nil {
				t.Fatalf("no finding for %s host %q path %q", tc.key, tc.host, tc.path)
			}
			if f.Source != "puppet" || f.Class != tc.class {
				t.Errorf("class = %s/%s, want %s", f.Source, f.Class, tc.class)
			}
			if tc.prodAt != "" && where(f.ProdFile, f.ProdLine) != tc.prodAt {
				t.Errorf("prod at %s:%d, want %s", f.ProdFile, f.ProdLine, tc.prodAt)
			}
			if tc.betaAt != "" && where(f.BetaFile, f.BetaLine) != tc.betaAt {
				t.Errorf("beta at %s:%d, want %s", f.BetaFile, f.BetaLine, tc.betaAt)
			}
			if tc.prod != nil && !reflect.DeepEqual(f.Prod, tc.prod) {
				t.Errorf("prod = %#v, want %#v", f.Prod, tc.prod)
			}
			if tc.beta != nil && !reflect.DeepEqual(f.Beta, tc.beta) {
				t.Errorf("beta = %#v, want %#v", f.Beta, tc.beta)
			}
			if !strings.Contains(f.Reason, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", f.Reason, tc.reason)
			}
			if tc.scope != "" && f.ProdScope != tc.scope {
				t.Errorf("scope = %q, want %q", f.ProdScope, tc.scope)
			}
			if f.Interpolated != tc.interpolated {
				t.Errorf("interpolated = %v", f.Interpolated)
			}
		})
	}
	absent := []struct{ key, why string }{
		{"cluster", "common.yaml value Beta shares, equal to the common candidate"},
		{"profile::bar::enabled", "class Beta does not configure"},
		{"site_only", "not a class parameter"},
		{"lookup_options", "hiera metadata"},
	}
	for _, a := range absent {
		for _, f := range res.Findings {
			if f.Key == a.key {
				t.Errorf("unexpected finding for %s (%s): %+v", a.key, a.why, f)
			}
		}
	}
	if res.Keys != 16 {
		t.Errorf("compared %d keys, want 16", res.Keys)
	}
}

func where(file string, line int) string {
	if line == 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}

func TestCompareReportsBrokenFilesAndGoesOn(t *testing.T) {
	res, err := Compare(context.Background(), fixture, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var broken, misplaced bool
	for _, p := range res.Problems {
		if p.File == "hieradata/role/common/broken.yaml" && p.Line == 2 && p.Source == "puppet" {
			broken = true
		}
		if p.File == "hieradata/common/profile/bar.yaml" && p.Line == 3 && strings.Contains(p.Message, "profile::baz::x") {
			misplaced = true
		}
	}
	if !broken || !misplaced {
		t.Errorf("problems = %v; want broken.yaml:2 and the misplaced profile::baz::x at bar.yaml:3", res.Problems)
	}
	// The rest of the run went on: the fixture's findings are there.
	if find(t, res.Findings, "profile::foo::workers", "", "") == nil {
		t.Error("findings missing after a broken file")
	}
	var skipped int
	for _, n := range res.Notes {
		if strings.Contains(n, "is not in the repository") || strings.Contains(n, "not supported") {
			skipped++
		}
	}
	if skipped < 3 {
		t.Errorf("notes = %v; want the skipped private/regex/http levels listed", res.Notes)
	}
}

// copyTree copies the fixture into a temporary directory the test can add to.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestDeadKeys(t *testing.T) {
	root := copyTree(t, fixture)
	manifest := `# SPDX-License-Identifier: Apache-2.0
class profile::foo (
    Stdlib::Port $port = lookup('profile::foo::port'), # (nested) parens
    Array[Stdlib::Host] $hosts = [],
    Array[Hash] $listeners,
    Integer $workers,
    String $site_value,
    String $same,
) {
    $x = lookup('kafka_message_max_bytes', {'default_value' => 1})
}
class profile::mediawiki::php(
    Boolean $enable_fpm,
) {}
`
	dir := filepath.Join(root, "modules/profile/manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "foo.pp"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Compare(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dead := map[string]bool{}
	for _, f := range res.Findings {
		if f.Class == diff.ClassDeadKey {
			dead[f.Key] = true
		}
	}
	for _, k := range []string{"profile::beta::only", "profile::mediawiki::php::workers"} {
		if !dead[k] {
			t.Errorf("%s is read by nothing but not reported dead (dead: %v)", k, dead)
		}
	}
	for _, k := range []string{"profile::foo::port", "profile::foo::workers", "kafka_message_max_bytes", "profile::mediawiki::php::enable_fpm"} {
		if dead[k] {
			t.Errorf("%s is read but reported dead", k)
		}
	}
	// Keys only in the shared common.yaml are production's business.
	if dead["cluster"] {
		t.Error("common.yaml key reported dead")
	}
}

func TestBuiltInHierarchyWhenDefinitionsAreAbsent(t *testing.T) {
	root := copyTree(t, fixture)
	if err := os.RemoveAll(filepath.Join(root, "modules")); err != nil {
		t.Fatal(err)
	}
	res, err := Compare(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var note bool
	for _, n := range res.Notes {
		note = note || strings.Contains(n, "built-in copy")
	}
	if !note {
		t.Errorf("notes = %v; want the fallback mentioned", res.Notes)
	}
	if f := find(t, res.Findings, "profile::foo::port", "deployment-mx02", ""); f == nil || f.Class != diff.ClassReal {
		t.Errorf("built-in hierarchy lost the host layer: %+v", f)
	}
}

func TestCompareNotACheckout(t *testing.T) {
	if _, err := Compare(context.Background(), t.TempDir(), Options{}); err == nil {
		t.Error("no error for a directory without hieradata")
	}
}

func TestParseHierarchy(t *testing.T) {
	h, err := LoadHierarchy(filepath.Join(fixture, HierarchyDir, "production.yaml"), "production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Kind
	for _, l := range h.Levels {
		kinds = append(kinds, l.Kind)
	}
	want := []Kind{KindUnsupported, KindYAML, KindUnsupported, KindYAML, KindExpandPath, KindExpandPath}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	for _, bad := range []string{"version: 3\nhierarchy: [{name: x, path: y}]\n", "version: 5\n", "version: 5\nhierarchy: [1\n"} {
		if _, err := ParseHierarchy("h.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "h.yaml") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestResolveTemplate(t *testing.T) {
	facts := map[string]string{"site": "eqiad"}
	tests := []struct {
		tmpl, enumerate string
		file            string // for variant "v"
		err             bool
	}{
		{"role/%{::site}/%{::_role}.yaml", "_role", "role/eqiad/v.yaml", false},
		{"%{site}", "", "eqiad", false},
		{"%{facts.site}.yaml", "", "eqiad.yaml", false},
		{"hosts/%{::hostname}.yaml", "", "", true},
		{"a/%{::_role}/%{::_role}.yaml", "_role", "", true},
		{"../%{::site}.yaml", "", "", true},
	}
	for _, tc := range tests {
		tp, err := resolve(tc.tmpl, facts, tc.enumerate)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.tmpl, err)
			continue
		}
		if err == nil && tp.file("v") != tc.file {
			t.Errorf("%s: file = %q, want %q", tc.tmpl, tp.file("v"), tc.file)
		}
	}
}

func TestExpandFile(t *testing.T) {
	for key, want := range map[string]string{
		"cluster":                 "common.yaml",
		"cache::nodes":            "common/cache.yaml",
		"profile::apt::use_proxy": "common/profile/apt.yaml",
		"lvs::interfaces::vlan":   "common/lvs/interfaces.yaml",
	} {
		if got := expandFile("common", key); got != want {
			t.Errorf("expandFile(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestMergeStrategies(t *testing.T) {
	o := &lookupOptions{exact: map[string]string{"u": "unique", "h": "hash", "d": "deep"}}
	hits := func(vs ...any) []hit {
		var out []hit
		for _, v := range vs {
			out = append(out, hit{entry: diff.Entry{Value: v}})
		}
		return out
	}
	tests := []struct {
		key  string
		hits []hit
		want any
	}{
		{"first", hits("a", "b"), "a"},
		{"u", hits([]any{"a", "b"}, []any{"b", "c"}, "d"), []any{"a", "b", "c", "d"}},
		{"h", hits(map[string]any{"x": map[string]any{"a": 1}}, map[string]any{"x": map[string]any{"b": 2}, "y": 3}),
			map[string]any{"x": map[string]any{"a": 1}, "y": 3}},
		{"d", hits(map[string]any{"x": map[string]any{"a": 1}, "l": []any{"p"}}, map[string]any{"x": map[string]any{"b": 2}, "l": []any{"q"}}),
			map[string]any{"x": map[string]any{"a": 1, "b": 2}, "l": []any{"p", "q"}}},
	}
	for _, tc := range tests {
		if got := o.merge(tc.key, tc.hits); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("merge %s = %#v, want %#v", tc.key, got, tc.want)
		}
	}
}
