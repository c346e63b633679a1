package mwconfig

import (
	"strconv"
	"strings"
)

// setting is one top-level key of the settings arrays: tag => value.
type setting struct {
	vals *array
	pos  pos // where the setting's key is written
}

// settings is the combined settings array (setting name => tag => value).
type settings struct {
	names []string
	m     map[string]*setting
}

func newSettings() *settings { return &settings{m: map[string]*setting{}} }

func (s *settings) add(name string, st *setting) {
	if _, ok := s.m[name]; !ok {
		s.names = append(s.names, name)
	}
	s.m[name] = st
}

// resolution is the value of one setting for one wiki.
type resolution struct {
	v     any
	found bool // some key of the setting matched (the value may still be null)
	pos   pos  // the most specific matching entry
	labs  bool // an entry from the Beta overrides file contributed
}

// resolve mirrors MediaWiki's SiteConfiguration::processSetting(): the
// wiki's own key wins outright; otherwise a "+wiki" array is started, tags
// are tried in the wiki's tag order (a plain tag ends the search, "+tag"
// arrays accumulate), and "default" comes last (merged into an accumulated
// array, or used as is). Merging uses SiteConfiguration::arrayMerge, where
// the earlier, more specific value wins.
func resolve(st *array, wiki string, tags []string, labsFile string) resolution {
	if e, ok := st.get(strKey(wiki)); ok {
		return resolution{v: e.v, found: true, pos: e.pos, labs: e.pos.file == labsFile}
	}
	var r resolution
	note := func(e entry) {
		if !r.found {
			r.pos = e.pos
			r.found = true
		}
		if e.pos.file == labsFile {
			r.labs = true
		}
	}
	if e, ok := st.get(strKey("+" + wiki)); ok {
		if _, isArr := e.v.(*array); isArr {
			r.v = e.v
			note(e)
		}
	}
	for _, tag := range tags {
		if e, ok := st.get(strKey(tag)); ok {
			acc, accArr := r.v.(*array)
			val, valArr := e.v.(*array)
			if accArr && valArr {
				r.v = arrayMerge(acc, val)
			} else {
				r.v = e.v
			}
			note(e)
			return r
		}
		if e, ok := st.get(strKey("+" + tag)); ok {
			if val, isArr := e.v.(*array); isArr {
				acc, _ := r.v.(*array)
				if acc == nil {
					acc = newArray(0)
				}
				r.v = arrayMerge(acc, val)
				note(e)
			}
		}
	}
	if e, ok := st.get(strKey("default")); ok {
		acc, accArr := r.v.(*array)
		val, valArr := e.v.(*array)
		if accArr && valArr {
			r.v = arrayMerge(acc, val)
		} else {
			r.v = e.v
		}
		note(e)
	}
	return r
}

// arrayMerge is SiteConfiguration::arrayMerge(): keys of a win; nested
// arrays merge recursively; a taken numeric key appends instead; a taken
// string key holding false (permission arrays) is overwritten. A key whose
// value is null counts as not set (PHP isset()).
func arrayMerge(a, b *array) *array {
	if b.Len() == 0 {
		return a
	}
	out := a.clone()
	for _, e := range b.entries {
		i := out.find(e.k)
		if i < 0 || out.entries[i].v == nil {
			out.set(e.k, e.v, e.pos)
			continue
		}
		cur := out.entries[i].v
		ca, cok := cur.(*array)
		va, vok := e.v.(*array)
		switch {
		case cok && vok:
			out.entries[i].v = arrayMerge(ca, va)
		case isNumericKey(e.k):
			out.push(e.v, e.pos)
		case cur == false:
			out.entries[i].v = e.v
			out.entries[i].pos = e.pos
		}
	}
	return out
}

// isNumericKey is PHP's is_numeric() applied to an array key.
func isNumericKey(k key) bool {
	if k.isInt {
		return true
	}
	s := strings.TrimLeft(k.s, " \t\n\r\v\f")
	s = strings.TrimRight(s, " \t\n\r\v\f")
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return false
		}
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// phpArrayMerge is PHP's array_merge() for two arrays: string keys of b
// replace those of a in place, integer keys are renumbered and appended.
// WmfConfig::applyOverrides() uses it to merge a Beta setting tag by tag.
func phpArrayMerge(a, b *array) *array {
	out := newArray(a.Len() + b.Len())
	for _, src := range []*array{a, b} {
		for _, e := range src.entries {
			if e.k.isInt {
				out.push(e.v, e.pos)
			} else {
				out.set(e.k, e.v, e.pos)
			}
		}
	}
	return out
}

// applyOverrides combines production settings with the Beta overrides the
// way WmfConfig::applyOverrides() does: "-name" replaces the setting, a
// plain name is array_merge()d over production's (so a Beta value for a
// tag replaces production's value for that same tag, other tags stay), and
// a setting production lacks is added.
func applyOverrides(prod *settings, labs *array, labsFile string, sink *warnSink) (beta *settings, replaced map[string]bool) {
	beta = &settings{names: append([]string(nil), prod.names...), m: make(map[string]*setting, len(prod.m)+labs.Len())}
	for k, v := range prod.m {
		beta.m[k] = v
	}
	replaced = map[string]bool{}
	for _, e := range labs.entries {
		name := e.k.String()
		vals, ok := e.v.(*array)
		if !ok {
			sink.add(e.pos, "override %s is %s, not an array of tag => value; ignored", name, phpType(e.v))
			continue
		}
		if strings.HasPrefix(name, "-") {
			name = name[1:]
			replaced[name] = true
			beta.add(name, &setting{vals: vals, pos: e.pos})
			continue
		}
		if cur, ok := beta.m[name]; ok && cur.vals != nil {
			beta.add(name, &setting{vals: phpArrayMerge(cur.vals, vals), pos: e.pos})
			continue
		}
		beta.add(name, &setting{vals: vals, pos: e.pos})
	}
	return beta, replaced
}

// replaceableSettings returns the names listed under '@replaceableSettings',
// the only settings whose "$lang"/"$site"/"$wiki" MediaWiki substitutes.
// Without that key MediaWiki substitutes in every setting; nil means that.
func replaceableSettings(s *settings) map[string]bool {
	st, ok := s.m["@replaceableSettings"]
	if !ok || st.vals == nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range st.vals.entries {
		if n, ok := e.v.(string); ok {
			out[n] = true
		}
	}
	return out
}

// doReplacements substitutes the parameters in a string, or in the string
// elements of an array (one level deep, like SiteConfiguration).
func doReplacements(v any, r *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return r.Replace(x)
	case *array:
		var out *array
		for i, e := range x.entries {
			s, ok := e.v.(string)
			if !ok {
				continue
			}
			ns := r.Replace(s)
			if ns == s {
				continue
			}
			if out == nil {
				out = x.clone()
			}
			out.entries[i].v = ns
		}
		if out != nil {
			return out
		}
	}
	return v
}

// suffixes are the database name suffixes of the Wikimedia families
// (SiteConfiguration::$suffixes in wmf-config); Wikipedia's is "wiki".
var suffixes = []struct{ site, suffix string }{
	{"wikipedia", "wiki"},
	{"wiktionary", "wiktionary"},
	{"wikiquote", "wikiquote"},
	{"wikibooks", "wikibooks"},
	{"wikinews", "wikinews"},
	{"wikisource", "wikisource"},
	{"wikiversity", "wikiversity"},
	{"wikimedia", "wikimedia"},
	{"wikivoyage", "wikivoyage"},
}

// siteFromDB splits a database name into site (family), language prefix
// and the suffix MediaWiki uses as the family settings key. The suffix of
// Wikipedia-style names is "wiki", which never matches the "wikipedia" key:
// that tag comes from wikipedia.dblist, so commonswiki or metawiki (names
// ending in "wiki" that are no Wikipedia) do not get Wikipedia settings.
func siteFromDB(db string) (site, lang, suffix string) {
	for _, s := range suffixes {
		if strings.HasSuffix(db, s.suffix) && len(db) > len(s.suffix) {
			return s.site, strings.TrimSuffix(db, s.suffix), s.suffix
		}
	}
	return "", db, ""
}
