package mwconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	fixtureIS   = "wmf-config/InitialiseSettings.php"
	fixtureLabs = "wmf-config/InitialiseSettings-labs.php"
)

func loadFixture(t *testing.T, dir string) *Result {
	t.Helper()
	r, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return r
}

// pairsBy indexes pairs by "wiki/setting".
func pairsBy(ps []Pair) map[string]Pair {
	m := make(map[string]Pair, len(ps))
	for _, p := range ps {
		m[p.Wiki+"/"+p.Setting] = p
	}
	return m
}

func TestLoadFixture(t *testing.T) {
	r := loadFixture(t, "testdata/checkout")

	if diff := cmp.Diff([]string{"aawiki", "commonswiki", "dewiki", "enwiki", "enwiktionary"}, r.Wikis); diff != "" {
		t.Errorf("Wikis (-want +got):\n%s", diff)
	}

	got := pairsBy(r.Pairs)
	v := func(x any, file string, line int) Value { return Value{V: x, Present: true, File: file, Line: line} }
	want := map[string]Pair{
		// Tag order: aawiki's tags are [wikipedia closed small]; Beta's
		// closed-labs list is empty, so on Beta 'small' applies instead.
		"aawiki/wgTagOrder": {Prod: v("closed", fixtureIS, 24), Beta: v("small", fixtureIS, 23), ProdHasSetting: true},
		// flow-labs replaces flow: enwiki gains the tag, enwiktionary loses it.
		"enwiki/wmgUseFlow":       {Prod: v(false, fixtureIS, 27), Beta: v(true, fixtureIS, 28), ProdHasSetting: true},
		"enwiktionary/wmgUseFlow": {Prod: v(true, fixtureIS, 28), Beta: v(false, fixtureIS, 27), ProdHasSetting: true},
		// "-wgServer" replaces the whole setting; $lang is substituted.
		"enwiki/wgServer":      {Prod: v("//en.wikipedia.org", fixtureIS, 15), Beta: v("https://en.wikipedia.beta.wmcloud.org", fixtureLabs, 10), Overridden: true, ProdHasSetting: true},
		"aawiki/wgServer":      {Prod: v("//aa.wikipedia.org", fixtureIS, 15), Beta: v("https://aa.wikipedia.beta.wmcloud.org", fixtureLabs, 10), Overridden: true, ProdHasSetting: true},
		"dewiki/wgServer":      {Prod: v("//de.wikipedia.org", fixtureIS, 15), Beta: v("https://de.wikipedia.beta.wmcloud.org", fixtureLabs, 10), Overridden: true, ProdHasSetting: true},
		"commonswiki/wgServer": {Prod: v("//commons.wikimedia.org", fixtureIS, 17), Beta: v("https://commons.wikimedia.beta.wmcloud.org", fixtureLabs, 11), Overridden: true, ProdHasSetting: true},
		// Beta's replacement has no value for wiktionaries: absent, and the
		// Beta side points at the "-wgServer" override that removed it.
		"enwiktionary/wgServer": {Prod: v("//en.wiktionary.org", fixtureIS, 16), Beta: Value{File: fixtureLabs, Line: 9}, Overridden: true, ProdHasSetting: true},
		// "-wgReplaced": default 3 replaces both production entries.
		"enwiki/wgReplaced":       {Prod: v(int64(2), fixtureIS, 40), Beta: v(int64(3), fixtureLabs, 19), Overridden: true, ProdHasSetting: true},
		"aawiki/wgReplaced":       {Prod: v(int64(1), fixtureIS, 39), Beta: v(int64(3), fixtureLabs, 19), Overridden: true, ProdHasSetting: true},
		"commonswiki/wgReplaced":  {Prod: v(int64(1), fixtureIS, 39), Beta: v(int64(3), fixtureLabs, 19), Overridden: true, ProdHasSetting: true},
		"dewiki/wgReplaced":       {Prod: v(int64(1), fixtureIS, 39), Beta: v(int64(3), fixtureLabs, 19), Overridden: true, ProdHasSetting: true},
		"enwiktionary/wgReplaced": {Prod: v(int64(1), fixtureIS, 39), Beta: v(int64(3), fixtureLabs, 19), Overridden: true, ProdHasSetting: true},
		// Overrides equal to production are reported (stale overrides).
		"enwiki/wgStale": {Prod: v("same", fixtureIS, 43), Beta: v("same", fixtureLabs, 23), Overridden: true, ProdHasSetting: true},
		"enwiki/wgClass": {Prod: v(`MediaWiki\Foo\Bar`, fixtureIS, 46), Beta: v(`MediaWiki\Foo\Bar`, fixtureLabs, 27), Overridden: true, ProdHasSetting: true},
		"enwiki/wgBits":  {Prod: v(int64(10), fixtureIS, 49), Beta: v(int64(10), fixtureLabs, 31), Overridden: true, ProdHasSetting: true},
		"enwiki/wgExt":   {Prod: v(map[string]any{"a": int64(1), "b": int64(2)}, "wmf-config/ext-Sample.php", 7), Beta: v(map[string]any{"a": int64(1), "b": int64(2)}, fixtureLabs, 47), Overridden: true, ProdHasSetting: true},
		"enwiki/wgArith": {Prod: v(int64(-1), fixtureIS, 64), Beta: v(int64(-1), fixtureLabs, 51), Overridden: true, ProdHasSetting: true},
		"dewiki/wgArith": {Prod: v(int64(86400), fixtureIS, 63), Beta: v(86400.0, fixtureLabs, 52), Overridden: true, ProdHasSetting: true},
		// A Beta "+enwiki" replaces production's "+enwiki" (array_merge by
		// tag), then merges with the default.
		"enwiki/wgNamespacesWithSubpages": {
			Prod:       v(map[string]any{"100": true, "1": true, "2": true}, fixtureIS, 53),
			Beta:       v(map[string]any{"101": true, "1": true, "2": true}, fixtureLabs, 35),
			Overridden: true, ProdHasSetting: true,
		},
		// A setting production does not have.
		"enwiki/wgBetaOnly": {Beta: v(true, fixtureLabs, 39), Overridden: true},
		// The language tag "de" beats Beta's new default for dewiki only.
		"enwiki/wgLangTag": {Prod: v("x", fixtureIS, 56), Beta: v("y", fixtureLabs, 43), Overridden: true, ProdHasSetting: true},
	}
	for k, w := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("missing pair %s", k)
			continue
		}
		w.Wiki, w.Setting, _ = strings.Cut(k, "/")
		if diff := cmp.Diff(w, p); diff != "" {
			t.Errorf("pair %s (-want +got):\n%s", k, diff)
		}
	}

	// Settings that must produce no pair at all.
	for _, k := range []string{
		"aawiki/wgTagResolved", "commonswiki/wgTagResolved", "dewiki/wgTagResolved", "enwiki/wgTagResolved", "enwiktionary/wgTagResolved",
		"dewiki/wgLangTag",        // resolved through the language tag on both sides
		"enwiktionary/wgTagOrder", // 'small' on both sides
		"dewiki/wmgUseFlow",
		"enwiki/wgUnknown", // unknown constant, same placeholder on both sides
		"enwiki/wmgSiteLogo1x",
		"enwiki/@replaceableSettings",
		"enwiki/wgLanguageCode",
		"dewiki/wgExt", // only enwiki is overridden
	} {
		if p, ok := got[k]; ok {
			t.Errorf("unexpected pair %s: %+v", k, p)
		}
	}
	for _, p := range r.Pairs {
		if !p.Overridden && cmp.Equal(p.Prod, p.Beta) {
			t.Errorf("pair %s/%s is neither overridden nor different", p.Wiki, p.Setting)
		}
	}

	var warns []string
	for _, w := range r.Warnings {
		warns = append(warns, w.Error())
	}
	for _, sub := range []string{
		"wmf-config/InitialiseSettings.php:60: unknown constant WHAT_IS_THIS",
		"wmf-config/ext-Sample.php:10: setting wgStale already defined at wmf-config/InitialiseSettings.php:42",
	} {
		if !strings.Contains(strings.Join(warns, "\n"), sub) {
			t.Errorf("warnings %q lack %q", warns, sub)
		}
	}
}

func TestLoadFixtureServicesAndLists(t *testing.T) {
	r := loadFixture(t, "testdata/checkout")
	const ps, ls = "wmf-config/ProductionServices.php", "wmf-config/LabsServices.php"
	v := func(x any, file string, line int) Value { return Value{V: x, Present: true, File: file, Line: line} }
	want := []Pair{
		{Setting: "device-analytics", Beta: v(nil, ls, 11), Overridden: true},
		{Setting: "logstash", Prod: v([]any{"10.2.2.36"}, ps, 4), Beta: v([]any{"10.2.2.36"}, ls, 5), Overridden: true, ProdHasSetting: true},
		{Setting: "poolcounter", Prod: v([]any{"10.64.0.150"}, ps, 11), Beta: v([]any{"deployment-poolcounter07.deployment-prep.eqiad1.wikimedia.cloud"}, ls, 8), Overridden: true, ProdHasSetting: true},
		{Setting: "search-chi", Prod: v([]any{map[string]any{"transport": `CirrusSearch\Elastica\DeprecationLoggedHttp`, "port": int64(6102)}}, ps, 14), ProdHasSetting: true},
		{Setting: "statsd", Prod: v("10.64.16.81", ps, 3), Beta: v("prometheus-labmon.eqiad.wmnet", ls, 4), Overridden: true, ProdHasSetting: true},
	}
	if diff := cmp.Diff(want, r.Services); diff != "" {
		t.Errorf("Services (-want +got):\n%s", diff)
	}

	lists := map[string][2]any{}
	for _, p := range r.WikiLists {
		lists[p.Setting] = [2]any{p.Prod.V, p.Beta.V}
	}
	wantLists := map[string][2]any{
		"dblist:all":    {[]any{"aawiki", "commonswiki", "dewiki", "enwiki", "enwiktionary"}, []any{"aawiki", "commonswiki", "dewiki", "enwiki", "enwiktionary"}},
		"dblist:closed": {[]any{"aawiki"}, []any{}},
		"dblist:flow":   {[]any{"enwiktionary"}, []any{"enwiki"}},
	}
	if diff := cmp.Diff(wantLists, lists); diff != "" {
		t.Errorf("WikiLists (-want +got):\n%s", diff)
	}
}

func TestDBLists(t *testing.T) {
	sink := newWarnSink()
	d := loadDBLists("testdata/checkout", sink)
	d.loadIndex("testdata/checkout", sink)
	if ws := sink.errors(); len(ws) > 0 {
		t.Fatalf("warnings: %v", ws)
	}
	// open.dbexpr has no generated .dblist: it is evaluated.
	if diff := cmp.Diff([]string{"commonswiki", "dewiki", "enwiki", "enwiktionary", "frwiki"}, sortedStrings(d.lists["open"])); diff != "" {
		t.Errorf("open (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"wikipedia", "closed", "special", "flow", "small"}, d.tagOrder); diff != "" {
		t.Errorf("tag order (-want +got):\n%s", diff)
	}
	tests := []struct {
		wiki       string
		prod, beta []string
	}{
		{"aawiki", []string{"wikipedia", "closed", "small"}, []string{"wikipedia", "small"}},
		{"enwiki", []string{"wikipedia"}, []string{"wikipedia", "flow"}},
		{"enwiktionary", []string{"flow", "small"}, []string{"small"}},
		{"commonswiki", []string{"special"}, []string{"special"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.prod, d.prodTags(tt.wiki)); diff != "" {
			t.Errorf("prodTags(%s) (-want +got):\n%s", tt.wiki, diff)
		}
		if diff := cmp.Diff(tt.beta, d.betaTags(tt.wiki)); diff != "" {
			t.Errorf("betaTags(%s) (-want +got):\n%s", tt.wiki, diff)
		}
	}
}

// TestLoadMalformed: broken files are reported with file and line and the
// rest of the checkout is still compared.
func TestLoadMalformed(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("wmf-config/InitialiseSettings.php", "<?php\nreturn [\n'wgGood' => [ 'default' => 1 ],\n];\n")
	write("wmf-config/ext-Broken.php", "<?php\nreturn [\n'wgBroken' => [\n\t'default' => [ 1 2 ],\n],\n];\n")
	write("wmf-config/InitialiseSettings-labs.php", "<?php\nfunction wmfGetOverrideSettings() {\n\treturn [ 'wgGood' => [ 'default' => 2 ] ];\n}\n")
	write("wikiversions-labs.json", "{\n  \"enwiki\": \"php-master\",\n  oops\n}\n")
	write("dblists/all-labs.dblist", "enwiki\n")
	write("dblists/wikipedia.dblist", "enwiki\n")

	r, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	all := ""
	for _, w := range r.Warnings {
		all += w.Error() + "\n"
	}
	for _, sub := range []string{
		"wmf-config/ext-Broken.php:4: PHP syntax error",
		"wikiversions-labs.json:3: invalid JSON",
		"dblists-index.php: no tag index",
	} {
		if !strings.Contains(all, sub) {
			t.Errorf("warnings lack %q:\n%s", sub, all)
		}
	}
	if diff := cmp.Diff([]string{"enwiki"}, r.Wikis); diff != "" {
		t.Errorf("Wikis (-want +got):\n%s", diff)
	}
	p, ok := pairsBy(r.Pairs)["enwiki/wgGood"]
	if !ok || p.Prod.V != int64(1) || p.Beta.V != int64(2) || !p.Overridden {
		t.Errorf("enwiki/wgGood = %+v (found %v), want prod 1, beta 2, overridden", p, ok)
	}
}

func TestLoadNotACheckout(t *testing.T) {
	_, err := Load(context.Background(), t.TempDir())
	if !errors.Is(err, ErrNotCheckout) {
		t.Errorf("err = %v, want ErrNotCheckout", err)
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, "testdata/checkout"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
