package mwconfig

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// labsSuffix marks the Beta Cluster variant of a wiki list: closed-labs
// replaces closed, flow-labs replaces flow when Beta computes a wiki's tags.
const labsSuffix = "-labs"

// dblists holds the wiki lists of a checkout (dblists/*.dblist, with
// *.dbexpr expressions evaluated where no .dblist was generated) and the
// generated dblists-index.php that maps each wiki to its tags.
type dblists struct {
	lists    map[string]map[string]bool
	index    map[string][]string // nil when dblists-index.php is absent
	tagOrder []string            // global tag order, consistent with every index entry
}

func loadDBLists(root string, sink *warnSink) *dblists {
	d := &dblists{lists: map[string]map[string]bool{}}
	dir := filepath.Join(root, "dblists")
	ents, err := os.ReadDir(dir)
	if err != nil {
		sink.add(pos{"dblists", 0}, "cannot read wiki lists: %v", err)
	}
	exprs := map[string]string{}
	for _, e := range ents {
		name := e.Name()
		rel := "dblists/" + name
		switch {
		case strings.HasSuffix(name, ".dblist"):
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				sink.add(pos{rel, 0}, "cannot read: %v", err)
				continue
			}
			list := strings.TrimSuffix(name, ".dblist")
			wikis, expr := parseDBList(b)
			if expr != "" {
				exprs[list] = expr
				continue
			}
			d.lists[list] = wikis
		case strings.HasSuffix(name, ".dbexpr"):
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				sink.add(pos{rel, 0}, "cannot read: %v", err)
				continue
			}
			list := strings.TrimSuffix(name, ".dbexpr")
			if _, ok := exprs[list]; !ok {
				exprs[list] = firstContentLine(b)
			}
		}
	}
	// A generated .dblist wins over its .dbexpr source; expressions are only
	// evaluated for lists that have no generated file.
	names := make([]string, 0, len(exprs))
	for n := range exprs {
		if _, ok := d.lists[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		d.evalExpr(n, exprs, map[string]bool{}, sink)
	}
	return d
}

func parseDBList(b []byte) (map[string]bool, string) {
	wikis := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "%%") {
			return nil, line
		}
		wikis[line] = true
	}
	return wikis, ""
}

func firstContentLine(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// evalExpr evaluates a wiki list expression such as
// "%% all.dblist + preinstall.dblist - closed.dblist" or
// "wikipedia - closed + wikidata", left to right.
func (d *dblists) evalExpr(name string, exprs map[string]string, busy map[string]bool, sink *warnSink) map[string]bool {
	if l, ok := d.lists[name]; ok {
		return l
	}
	rel := "dblists/" + name + ".dbexpr"
	expr, ok := exprs[name]
	if !ok {
		return nil
	}
	if busy[name] {
		sink.add(pos{rel, 1}, "wiki list expression refers to itself")
		return map[string]bool{}
	}
	busy[name] = true
	defer delete(busy, name)

	out := map[string]bool{}
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(expr), "%%"))
	op := byte('+')
	// Operators are space separated in the real files; list names may
	// themselves contain "-" (closed-labs), so names are never split.
	for _, tok := range strings.Fields(s) {
		switch tok {
		case "+", "-":
			op = tok[0]
			continue
		}
		if len(tok) > 1 && (tok[0] == '+' || tok[0] == '-') {
			op, tok = tok[0], tok[1:]
		}
		ref := strings.TrimSuffix(tok, ".dblist")
		l := d.evalExpr(ref, exprs, busy, sink)
		if l == nil {
			sink.add(pos{rel, 1}, "unknown wiki list %q in expression", ref)
			continue
		}
		for w := range l {
			if op == '+' {
				out[w] = true
			} else {
				delete(out, w)
			}
		}
	}
	d.lists[name] = out
	return out
}

// loadIndex reads dblists-index.php (wiki => [tags...]).
func (d *dblists) loadIndex(root string, sink *warnSink) {
	const rel = "dblists-index.php"
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		sink.add(pos{rel, 0}, "no tag index, computing tags from dblists/ instead: %v", err)
		d.tagOrder = d.fallbackTagOrder()
		return
	}
	f := evalPHPFile(b, rel, "", sink)
	arr, ok := f.ret.(*array)
	if !ok {
		sink.add(pos{rel, 0}, "expected `return [ wiki => [ tags ] ]`, found %s", phpType(f.ret))
		d.tagOrder = d.fallbackTagOrder()
		return
	}
	d.index = make(map[string][]string, arr.Len())
	for _, e := range arr.entries {
		tags, ok := e.v.(*array)
		if !ok {
			sink.add(e.pos, "tags of %s are not a list", e.k.String())
			continue
		}
		ts := make([]string, 0, tags.Len())
		for _, t := range tags.entries {
			if s, ok := t.v.(string); ok {
				ts = append(ts, s)
			}
		}
		d.index[e.k.String()] = ts
	}
	d.tagOrder = mergeOrders(arr, d.index)
}

// fallbackTagOrder is used without an index: every list except the
// all-wikis lists and the Beta variants is a tag, alphabetically.
func (d *dblists) fallbackTagOrder() []string {
	var out []string
	for n := range d.lists {
		if n == "all" || strings.HasSuffix(n, labsSuffix) {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// mergeOrders derives one global tag order from the per-wiki tag lists
// (which the generator writes in a fixed order), so Beta can insert a tag a
// wiki only has through a -labs list at the place MediaWiki would.
func mergeOrders(arr *array, index map[string][]string) []string {
	first := map[string]int{}
	succ := map[string]map[string]bool{}
	indeg := map[string]int{}
	n := 0
	for _, e := range arr.entries {
		ts := index[e.k.String()]
		for i, t := range ts {
			if _, ok := first[t]; !ok {
				first[t] = n
				n++
				indeg[t] += 0
			}
			if i > 0 {
				p := ts[i-1]
				if succ[p] == nil {
					succ[p] = map[string]bool{}
				}
				if !succ[p][t] {
					succ[p][t] = true
					indeg[t]++
				}
			}
		}
	}
	// Kahn's algorithm, ties broken by first appearance; cycles (an
	// inconsistent index) fall back to first appearance.
	var out []string
	done := map[string]bool{}
	for len(out) < len(first) {
		best := ""
		for t, d := range indeg {
			if d == 0 && !done[t] && (best == "" || first[t] < first[best]) {
				best = t
			}
		}
		if best == "" {
			for t := range first {
				if !done[t] && (best == "" || first[t] < first[best]) {
					best = t
				}
			}
		}
		done[best] = true
		out = append(out, best)
		for s := range succ[best] {
			indeg[s]--
		}
	}
	return out
}

func (d *dblists) has(list, wiki string) bool { return d.lists[list][wiki] }

// prodTags returns the wiki's tags as production computes them.
func (d *dblists) prodTags(wiki string) []string {
	if d.index != nil {
		if ts, ok := d.index[wiki]; ok {
			return ts
		}
	}
	var out []string
	for _, t := range d.tagOrder {
		if d.has(t, wiki) {
			out = append(out, t)
		}
	}
	return out
}

// betaTags returns the wiki's tags on the Beta Cluster: the production tags,
// except that a tag with a -labs list takes its membership from that list.
func (d *dblists) betaTags(wiki string) []string {
	prod := map[string]bool{}
	for _, t := range d.prodTags(wiki) {
		prod[t] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range d.tagOrder {
		seen[t] = true
		member := prod[t]
		if l, ok := d.lists[t+labsSuffix]; ok {
			member = l[wiki]
		}
		if member {
			out = append(out, t)
		}
	}
	// Tags in the wiki's own index entry but missing from the global order
	// cannot happen with a consistent index; keep them rather than drop.
	for _, t := range d.prodTags(wiki) {
		if !seen[t] {
			out = append(out, t)
		}
	}
	return out
}
