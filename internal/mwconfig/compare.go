package mwconfig

import (
	"slices"
	"sort"
	"strings"
)

// realm is one side of the comparison: its settings and how tags are
// computed for a wiki.
type realm struct {
	s           *settings
	replaceable map[string]bool // nil: substitute in every setting
	tags        func(wiki string) []string
}

type comparer struct {
	prod, beta realm
	replaced   map[string]bool // settings Beta replaces wholesale ("-name")
	touched    map[string]bool // settings named in the Beta overrides
	labsPos    map[string]pos  // where each Beta override key is written
	names      []string
}

func newComparer(prod, beta *settings, replaced map[string]bool, labs *array, lists *dblists) *comparer {
	c := &comparer{
		prod:     realm{s: prod, replaceable: replaceableSettings(prod), tags: lists.prodTags},
		beta:     realm{s: beta, replaceable: replaceableSettings(beta), tags: lists.betaTags},
		replaced: replaced,
		touched:  map[string]bool{},
		labsPos:  map[string]pos{},
	}
	for _, e := range labs.entries {
		name := strings.TrimPrefix(e.k.String(), "-")
		c.touched[name] = true
		c.labsPos[name] = e.pos
	}
	seen := map[string]bool{}
	for _, s := range []*settings{prod, beta} {
		for _, n := range s.names {
			if !seen[n] && !strings.HasPrefix(n, "@") {
				seen[n] = true
				c.names = append(c.names, n)
			}
		}
	}
	sort.Strings(c.names)
	return c
}

// wikiCtx is what a realm needs to resolve settings for one wiki.
type wikiCtx struct {
	tags []string
	repl *strings.Replacer
}

func (c *comparer) context(r realm, wiki string) wikiCtx {
	site, lang, suffix := siteFromDB(wiki)
	repl := strings.NewReplacer("$lang", lang, "$site", site, "$wiki", wiki)
	tags := slices.Clone(r.tags(wiki))
	// WmfConfig adds the wiki's language code as a tag (resolved with the
	// tags and family known so far), then SiteConfiguration tries the
	// family suffix after all tags.
	base := tags
	if suffix != "" {
		base = append(slices.Clone(tags), suffix)
	}
	if st, ok := r.s.m["wgLanguageCode"]; ok {
		res := resolve(st.vals, wiki, base, labsFile)
		v := res.v
		if r.replaceable == nil || r.replaceable["wgLanguageCode"] {
			v = doReplacements(v, repl)
		}
		if code, ok := v.(string); ok && code != "" && !slices.Contains(tags, code) {
			tags = append(tags, code)
		}
	}
	if suffix != "" && !slices.Contains(tags, suffix) {
		tags = append(tags, suffix)
	}
	return wikiCtx{tags: tags, repl: repl}
}

func (c *comparer) compareWiki(wiki string) []Pair {
	pc := c.context(c.prod, wiki)
	bc := c.context(c.beta, wiki)
	sameTags := slices.Equal(pc.tags, bc.tags)
	var out []Pair
	for _, name := range c.names {
		ps, pok := c.prod.s.m[name]
		bs, bok := c.beta.s.m[name]
		if pok && bok && ps == bs && sameTags {
			continue // untouched by Beta and same tags: identical by construction
		}
		var pr, br resolution
		if pok {
			pr = c.resolveIn(c.prod, ps, name, wiki, pc)
		}
		if bok {
			br = c.resolveIn(c.beta, bs, name, wiki, bc)
		}
		overridden := c.touched[name] && (br.labs || c.replaced[name])
		if !overridden && sameValue(pr, br) {
			continue
		}
		p := Pair{
			Wiki:           wiki,
			Setting:        name,
			Prod:           toValue(pr),
			Beta:           toValue(br),
			Overridden:     overridden,
			ProdHasSetting: pok,
		}
		if !pr.found && pok {
			p.Prod.File, p.Prod.Line = ps.pos.file, ps.pos.line
		}
		if !br.found {
			switch {
			case c.replaced[name] || (c.touched[name] && !pok):
				lp := c.labsPos[name]
				p.Beta.File, p.Beta.Line = lp.file, lp.line
			case bok:
				p.Beta.File, p.Beta.Line = bs.pos.file, bs.pos.line
			}
		}
		out = append(out, p)
	}
	return out
}

func (c *comparer) resolveIn(r realm, st *setting, name, wiki string, wc wikiCtx) resolution {
	res := resolve(st.vals, wiki, wc.tags, labsFile)
	if res.found && (r.replaceable == nil || r.replaceable[name]) {
		res.v = doReplacements(res.v, wc.repl)
	}
	return res
}

// sameValue compares two resolutions as MediaWiki would apply them: a null
// value is not set at all, so it equals an absent one.
func sameValue(a, b resolution) bool {
	aSet := a.found && a.v != nil
	bSet := b.found && b.v != nil
	if aSet != bSet {
		return false
	}
	return !aSet || equal(a.v, b.v)
}

func toValue(r resolution) Value {
	if !r.found {
		return Value{}
	}
	return Value{V: export(r.v), Present: true, File: r.pos.file, Line: r.pos.line}
}

// compareServices pairs each service of ProductionServices.php with
// LabsServices.php, both for eqiad (Beta only runs there).
func compareServices(prodF phpFile, prodOK bool, labsF phpFile, labsOK bool, sink *warnSink) []Pair {
	if !prodOK || !labsOK {
		return nil
	}
	prod := serviceMap(prodF, "wmf-config/ProductionServices.php", sink)
	labs := serviceMap(labsF, "wmf-config/LabsServices.php", sink)
	if prod == nil || labs == nil {
		return nil
	}
	names := map[string]bool{}
	for _, a := range []*array{prod, labs} {
		for _, e := range a.entries {
			names[e.k.String()] = true
		}
	}
	var out []Pair
	for _, n := range sortedStrings(names) {
		pe, pok := prod.get(strKey(n))
		le, lok := labs.get(strKey(n))
		p := Pair{Setting: n, Overridden: lok, ProdHasSetting: pok}
		if pok {
			p.Prod = Value{V: export(pe.v), Present: true, File: pe.pos.file, Line: pe.pos.line}
		}
		if lok {
			p.Beta = Value{V: export(le.v), Present: true, File: le.pos.file, Line: le.pos.line}
		}
		out = append(out, p)
	}
	return out
}

// serviceMap returns the eqiad section when the file is keyed by data
// centre, else the whole array.
func serviceMap(f phpFile, rel string, sink *warnSink) *array {
	a, ok := f.ret.(*array)
	if !ok {
		sink.add(pos{rel, 0}, "does not return an array of services; skipped")
		return nil
	}
	if e, ok := a.get(strKey("eqiad")); ok {
		if dc, ok := e.v.(*array); ok {
			return dc
		}
	}
	return a
}

// compareLists compares each production wiki list that has a -labs variant,
// restricted to the Beta wikis (production's lists cover ~1000 wikis Beta
// does not have, which is not drift).
func compareLists(lists *dblists, wikis []string) []Pair {
	beta := map[string]bool{}
	for _, w := range wikis {
		beta[w] = true
	}
	var names []string
	for n := range lists.lists {
		if base, ok := strings.CutSuffix(n, labsSuffix); ok && base != "" {
			names = append(names, base)
		}
	}
	sort.Strings(names)
	var out []Pair
	for _, base := range names {
		prodList, pok := lists.lists[base]
		var prod []any
		for _, w := range sortedStrings(prodList) {
			if beta[w] {
				prod = append(prod, w)
			}
		}
		var labs []any
		for _, w := range sortedStrings(lists.lists[base+labsSuffix]) {
			labs = append(labs, w)
		}
		if prod == nil {
			prod = []any{}
		}
		if labs == nil {
			labs = []any{}
		}
		p := Pair{
			Setting:        "dblist:" + base,
			Beta:           Value{V: labs, Present: true, File: "dblists/" + base + labsSuffix + ".dblist"},
			Overridden:     true,
			ProdHasSetting: pok,
		}
		if pok {
			p.Prod = Value{V: prod, Present: true, File: "dblists/" + base + ".dblist"}
		}
		out = append(out, p)
	}
	return out
}
