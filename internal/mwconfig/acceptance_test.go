package mwconfig

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// realCheckout locates the shared snapshot of operations/mediawiki-config
// (see /work/shared/wmf-config/SOURCES.md) relative to this package.
func realCheckout(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "wmf-config", "operations-mediawiki-config")
	if _, err := os.Stat(filepath.Join(dir, configDir, "InitialiseSettings.php")); err != nil {
		tb.Skipf("real mediawiki-config data not available: %v", err)
	}
	return dir
}

// lineOf returns the 1-based line of the first line matching want after
// the first line matching after (both substrings).
func lineOf(t *testing.T, path, after, want string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, seen := 0, after == ""
	for sc.Scan() {
		n++
		if !seen {
			seen = strings.Contains(sc.Text(), after)
			continue
		}
		if strings.Contains(sc.Text(), want) {
			return n
		}
	}
	t.Fatalf("%s: no line %q after %q", path, want, after)
	return 0
}

func readList(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := parseDBList(b)
	return l
}

func TestAcceptanceRealCheckout(t *testing.T) {
	dir := realCheckout(t)
	r, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	pairs := pairsBy(r.Pairs)

	t.Run("Beta wikis come from wikiversions-labs.json", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "wikiversions-labs.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var want []string
		for w := range m {
			want = append(want, w)
		}
		sort.Strings(want)
		if strings.Join(want, ",") != strings.Join(r.Wikis, ",") {
			t.Errorf("Wikis = %v, want %v", r.Wikis, want)
		}
	})

	t.Run("known override with file and line", func(t *testing.T) {
		p, ok := pairs["enwiki/wgServer"]
		if !ok {
			t.Fatal("no pair for enwiki/wgServer")
		}
		line := lineOf(t, filepath.Join(dir, labsFile), "'-wgServer' => [", "'wikipedia' => ")
		if !p.Overridden || !p.ProdHasSetting ||
			p.Prod.V != "//en.wikipedia.org" ||
			p.Beta.V != "https://en.wikipedia.beta.wmcloud.org" ||
			p.Beta.File != labsFile || p.Beta.Line != line {
			t.Errorf("enwiki/wgServer = %+v, want prod //en.wikipedia.org, beta https://en.wikipedia.beta.wmcloud.org at %s:%d", p, labsFile, line)
		}
		if p.Prod.File != "wmf-config/InitialiseSettings.php" || p.Prod.Line == 0 {
			t.Errorf("production side has no location: %+v", p.Prod)
		}
	})

	t.Run("Beta default differs but tags resolve equal: no pair", func(t *testing.T) {
		// Production: 'default' => false, 'sul' => true. Beta: 'default' => true.
		// Every Beta wiki in sul resolves to true on both sides through the tag.
		sul := readList(t, filepath.Join(dir, "dblists", "sul.dblist"))
		inSul := 0
		for _, w := range r.Wikis {
			p, ok := pairs[w+"/wmgUseTheWikipediaLibrary"]
			if sul[w] {
				inSul++
				if ok {
					t.Errorf("%s is in sul but has a pair: %+v", w, p)
				}
				continue
			}
			if !ok || p.Prod.V != false || p.Beta.V != true || !p.Overridden {
				t.Errorf("%s is not in sul: want prod false / beta true from the Beta default, got %+v (found %v)", w, p, ok)
			}
		}
		if inSul < 40 {
			t.Errorf("only %d Beta wikis in sul; the fact checked here no longer holds", inSul)
		}
	})

	t.Run("Beta wiki lists replace production's", func(t *testing.T) {
		// enwiki is in flow-labs but not in flow: Beta enables Flow through
		// the tag alone, without an override.
		p, ok := pairs["enwiki/wmgUseFlow"]
		if !ok || p.Overridden || p.Prod.V != false || p.Beta.V != true {
			t.Errorf("enwiki/wmgUseFlow = %+v (found %v), want prod false, beta true, not overridden", p, ok)
		}
		// aawiki is closed in production only (closed-labs is empty).
		lists := pairsBy(r.WikiLists)
		cl := lists["/dblist:closed"]
		if prod, _ := cl.Prod.V.([]any); len(prod) == 0 || prod[0] != "aawiki" {
			t.Errorf("dblist:closed prod = %v, want aawiki", cl.Prod.V)
		}
		if beta, _ := cl.Beta.V.([]any); len(beta) != 0 {
			t.Errorf("dblist:closed beta = %v, want empty", cl.Beta.V)
		}
	})

	t.Run("stale overrides are reported", func(t *testing.T) {
		// Beta sets wgDefaultSkin 'default' => 'vector-2022', as production does.
		for _, w := range r.Wikis {
			p, ok := pairs[w+"/wgDefaultSkin"]
			if !ok || !p.Overridden || p.Prod.V != "vector-2022" || p.Beta.V != "vector-2022" || p.Beta.File != labsFile {
				t.Errorf("%s/wgDefaultSkin = %+v (found %v), want an overridden pair equal to production", w, p, ok)
			}
		}
		// wmgUseChessBrowser is overridden but production has no such setting.
		p, ok := pairs["enwiki/wmgUseChessBrowser"]
		if !ok || !p.Overridden || p.ProdHasSetting || p.Prod.Present {
			t.Errorf("enwiki/wmgUseChessBrowser = %+v (found %v), want Beta-only override", p, ok)
		}
	})

	t.Run("services", func(t *testing.T) {
		svc := pairsBy(r.Services)
		pc := svc["/poolcounter"]
		if l, _ := pc.Beta.V.([]any); len(l) == 0 || !strings.HasPrefix(l[0].(string), "deployment-poolcounter") {
			t.Errorf("poolcounter beta = %v", pc.Beta.V)
		}
		if l, _ := pc.Prod.V.([]any); len(l) == 0 || !strings.HasSuffix(pc.Prod.File, "ProductionServices.php") {
			t.Errorf("poolcounter prod = %+v", pc.Prod)
		}
		// "$common + [...]" keeps the shared keys in eqiad.
		if lg := svc["/logstash"]; !lg.ProdHasSetting {
			t.Errorf("logstash missing from production eqiad: %+v", lg)
		}
		// ::class constants inside the eqiad section.
		sc := svc["/search-chi"]
		l, _ := sc.Prod.V.([]any)
		if len(l) == 0 || l[0].(map[string]any)["transport"] != `CirrusSearch\Elastica\DeprecationLoggedHttp` {
			t.Errorf("search-chi prod = %v", sc.Prod.V)
		}
	})

	t.Run("warnings are located and there are no syntax errors", func(t *testing.T) {
		for _, e := range r.Warnings {
			var w *Warning
			if !errors.As(e, &w) || w.File == "" {
				t.Errorf("warning without location: %v", e)
			}
			if strings.Contains(e.Error(), "syntax error") {
				t.Errorf("real data does not parse: %v", e)
			}
		}
	})

	t.Run("contract: pairs are overridden or differ", func(t *testing.T) {
		for _, p := range r.Pairs {
			if !p.Overridden && sameExported(p.Prod, p.Beta) {
				t.Errorf("pair %s/%s neither overridden nor different", p.Wiki, p.Setting)
			}
		}
	})
}

// sameExported applies the documented equality: null equals absent.
func sameExported(a, b Value) bool {
	aSet, bSet := a.Present && a.V != nil, b.Present && b.V != nil
	if aSet != bSet {
		return false
	}
	if !aSet {
		return true
	}
	x, _ := json.Marshal(a.V)
	y, _ := json.Marshal(b.V)
	return string(x) == string(y)
}

// BenchmarkLoadReal measures a full Load over the real checkout.
// Run: go test -run '^$' -bench LoadReal -benchmem ./internal/mwconfig/
func BenchmarkLoadReal(b *testing.B) {
	dir := realCheckout(b)
	b.ReportAllocs()
	var pairs int
	for b.Loop() {
		r, err := Load(context.Background(), dir)
		if err != nil {
			b.Fatal(err)
		}
		pairs = len(r.Pairs)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(pairs), "pairs")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
}
