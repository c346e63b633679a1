package drift

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/wikimedia/sheriff/diff"
	"github.com/wikimedia/sheriff/internal/mwconfig"
)

func val(v any, file string, line int) mwconfig.Value {
	return mwconfig.Value{V: v, Present: true, File: file, Line: line}
}

const (
	is   = "wmf-config/InitialiseSettings.php"
	labs = "wmf-config/InitialiseSettings-labs.php"
)

// fakeResult is shaped like mwconfig.Load's output for three Beta wikis.
func fakeResult() *mwconfig.Result {
	wikis := []string{"dewiki", "enwiki", "testwiki"}
	r := &mwconfig.Result{Wikis: wikis}
	for _, w := range wikis {
		// A Beta override equal to production on every wiki: stale, folded.
		r.Pairs = append(r.Pairs, mwconfig.Pair{Wiki: w, Setting: "wgSame", Overridden: true, ProdHasSetting: true,
			Prod: val(true, is, 10), Beta: val(true, labs, 20)})
		// wgServer differs per wiki, explained by the default rules.
		r.Pairs = append(r.Pairs, mwconfig.Pair{Wiki: w, Setting: "wgServer", Overridden: true, ProdHasSetting: true,
			Prod: val("//"+w[:2]+".wikipedia.org", is, 30), Beta: val("https://"+w[:2]+".wikipedia.beta.wmcloud.org", labs, 40)})
	}
	r.Pairs = append(r.Pairs,
		// A setting production removed.
		mwconfig.Pair{Wiki: "enwiki", Setting: "wgGone", Overridden: true, ProdHasSetting: false, Beta: val(1, labs, 50)},
		// Tag resolution made the values differ without an override (a
		// closed wiki in production, open in Beta): real drift, nested.
		mwconfig.Pair{Wiki: "testwiki", Setting: "wgGroupPermissions", ProdHasSetting: true,
			Prod: val(map[string]any{"*": map[string]any{"edit": false, "read": true}}, is, 60),
			Beta: val(map[string]any{"*": map[string]any{"edit": true, "read": true}}, is, 61)},
		// An explicit null counts as unset.
		mwconfig.Pair{Wiki: "dewiki", Setting: "wgNull", ProdHasSetting: true, Prod: val(nil, is, 70)},
		mwconfig.Pair{Wiki: "dewiki", Setting: "wgOnlyBeta", Overridden: true, ProdHasSetting: true, Beta: val("x", labs, 80),
			Prod: mwconfig.Value{File: is, Line: 79}},
		mwconfig.Pair{Wiki: "enwiki", Setting: "wgOnlyProd", ProdHasSetting: true, Prod: val(int64(5), is, 90),
			Beta: mwconfig.Value{File: labs, Line: 91}},
	)
	r.Services = []mwconfig.Pair{
		{Setting: "mathoid", Overridden: true, ProdHasSetting: true, Prod: val("http://localhost:6003", "wmf-config/ProductionServices.php", 66),
			Beta: val("http://deployment-docker-mathoid02.deployment-prep.eqiad1.wikimedia.cloud:10044", "wmf-config/LabsServices.php", 64)},
		{Setting: "gitlab-nets", Overridden: true, ProdHasSetting: true, Prod: val([]any{"208.80.152.0/22"}, "wmf-config/ProductionServices.php", 163),
			Beta: val([]any{"208.80.152.0/22"}, "wmf-config/LabsServices.php", 124)},
	}
	r.WikiLists = []mwconfig.Pair{
		{Setting: "dblist:all", Overridden: true, ProdHasSetting: true, Prod: val([]any{"enwiki"}, "dblists/all.dblist", 0), Beta: val([]any{"enwiki"}, "dblists/all-labs.dblist", 0)},
		{Setting: "dblist:closed", Overridden: true, ProdHasSetting: true, Prod: val([]any{"testwiki"}, "dblists/closed.dblist", 0), Beta: val([]any{}, "dblists/closed-labs.dblist", 0)},
	}
	r.Warnings = []error{&mwconfig.Warning{File: "wmf-config/ext-Foo.php", Line: 12, Msg: "unknown constant NS_FOO"}}
	return r
}

func TestMediaWikiFindings(t *testing.T) {
	c := &Checker{Rules: defaultRules(t), LoadMediaWikiConfig: func(ctx context.Context, dir string) (*mwconfig.Result, error) {
		if dir != "mw" {
			t.Errorf("dir = %q", dir)
		}
		return fakeResult(), nil
	}}
	rep, err := c.Check(context.Background(), Sources{MediaWikiConfig: "mw"})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ key, wiki, path string }
	got := map[key]diff.Finding{}
	for _, f := range rep.Findings {
		if f.Source != SourceMediaWikiConfig {
			t.Errorf("source %q", f.Source)
		}
		got[key{f.Key, f.Wiki, f.Path}] = f
	}
	check := func(k key, class diff.Class, wikis []string, prodAt, betaAt string) *diff.Finding {
		t.Helper()
		f, ok := got[k]
		if !ok {
			t.Errorf("no finding %+v; have %v", k, keysOf(got))
			return nil
		}
		if f.Class != class {
			t.Errorf("%+v: class %s, want %s", k, f.Class, class)
		}
		if !reflect.DeepEqual(f.Wikis, wikis) {
			t.Errorf("%+v: wikis %v, want %v", k, f.Wikis, wikis)
		}
		if prodAt != "" && where(f.ProdFile, f.ProdLine) != prodAt {
			t.Errorf("%+v: prod at %s", k, where(f.ProdFile, f.ProdLine))
		}
		if betaAt != "" && where(f.BetaFile, f.BetaLine) != betaAt {
			t.Errorf("%+v: beta at %s", k, where(f.BetaFile, f.BetaLine))
		}
		return &f
	}
	all := []string{"dewiki", "enwiki", "testwiki"}
	check(key{"wgSame", AllWikis, ""}, diff.ClassStaleOverride, all, is+":10", labs+":20")
	if f := check(key{"wgServer", AllWikis, ""}, diff.ClassExpected, all, "", ""); f != nil && f.Rule == "" {
		t.Error("wgServer explained without a rule")
	}
	check(key{"wgGone", "enwiki", ""}, diff.ClassStaleOverride, nil, "", labs+":50")
	if f := check(key{"wgGroupPermissions", "testwiki", `["*"].edit`}, diff.ClassReal, nil, is+":60", is+":61"); f != nil {
		if f.Prod != false || f.Beta != true {
			t.Errorf("wgGroupPermissions values %v %v", f.Prod, f.Beta)
		}
	}
	check(key{"wgOnlyBeta", "dewiki", ""}, diff.ClassBetaOnly, nil, is+":79", labs+":80")
	check(key{"wgOnlyProd", "enwiki", ""}, diff.ClassMissingInBeta, nil, is+":90", labs+":91")
	check(key{"service:mathoid", "", ""}, diff.ClassExpected, nil, "", "")
	check(key{"service:gitlab-nets", "", ""}, diff.ClassStaleOverride, nil, "", "")
	check(key{"dblist:closed", "", ""}, diff.ClassReal, nil, "dblists/closed.dblist", "")
	for _, k := range []key{{"wgNull", "dewiki", ""}, {"dblist:all", "", ""}} {
		if f, ok := got[k]; ok {
			t.Errorf("unexpected finding %+v: %+v", k, f)
		}
	}
	if len(rep.Problems) != 1 || rep.Problems[0].File != "wmf-config/ext-Foo.php" || rep.Problems[0].Line != 12 {
		t.Errorf("problems = %+v", rep.Problems)
	}
	if rep.Run.Stats["mediawiki_wikis"] != 3 {
		t.Errorf("stats = %v", rep.Run.Stats)
	}
}

func keysOf[K comparable, V any](m map[K]V) []K {
	var out []K
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMediaWikiLoadError(t *testing.T) {
	c := &Checker{LoadMediaWikiConfig: func(context.Context, string) (*mwconfig.Result, error) {
		return nil, mwconfig.ErrNotCheckout
	}}
	_, err := c.Check(context.Background(), Sources{MediaWikiConfig: "x"})
	if !errors.Is(err, mwconfig.ErrNotCheckout) {
		t.Errorf("err = %v", err)
	}
}

func TestAggregateWikisPartial(t *testing.T) {
	fs := []diff.Finding{
		{Source: "mediawiki-config", Key: "k", Wiki: "a", Class: diff.ClassReal, Prod: 1, Beta: 2, ProdPresent: true, BetaPresent: true},
		{Source: "mediawiki-config", Key: "k", Wiki: "b", Class: diff.ClassReal, Prod: 1, Beta: 2, ProdPresent: true, BetaPresent: true},
		{Source: "mediawiki-config", Key: "k", Wiki: "c", Class: diff.ClassReal, Prod: 1, Beta: 3, ProdPresent: true, BetaPresent: true},
		{Source: "mediawiki-config", Key: "service:x", Class: diff.ClassReal},
	}
	out := aggregateWikis(fs, []string{"a", "b", "c"})
	if len(out) != 3 || out[0].Wiki != "a,b" || !reflect.DeepEqual(out[0].Wikis, []string{"a", "b"}) || out[1].Wiki != "c" || out[2].Key != "service:x" {
		t.Errorf("aggregate = %+v", out)
	}
}
