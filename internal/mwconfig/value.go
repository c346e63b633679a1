package mwconfig

import (
	"math"
	"sort"
	"strconv"
)

// pos is where a PHP value was written. File is the path relative to the
// checkout root so reports stay readable and stable across machines.
type pos struct {
	file string
	line int
}

// key is a PHP array key. PHP normalises keys: canonical decimal strings
// become integers, so "5" and 5 are the same key. We mirror that because the
// config files mix both spellings (namespace numbers, NS_* constants).
type key struct {
	s     string
	i     int64
	isInt bool
}

func intKey(i int64) key { return key{i: i, isInt: true} }

// strKey applies PHP's integer-string normalisation.
func strKey(s string) key {
	if i, ok := canonicalInt(s); ok {
		return intKey(i)
	}
	return key{s: s}
}

// canonicalInt reports whether s is a decimal integer in canonical form
// ("0", "12", "-3"; not "012", "+1", "-0", "1.0"), which PHP turns into an
// integer key.
func canonicalInt(s string) (int64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	d := s
	if d[0] == '-' {
		d = d[1:]
		if d == "" || d == "0" {
			return 0, false
		}
	}
	if d[0] == '0' && len(d) > 1 {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return i, true
}

func (k key) String() string {
	if k.isInt {
		return strconv.FormatInt(k.i, 10)
	}
	return k.s
}

type entry struct {
	k   key
	v   any // nil, bool, int64, float64, string, *array
	pos pos
}

// array is an ordered PHP array. Arrays are treated as immutable once
// built: every operation that changes one (union, merge, override) builds a
// new array, so the same *array can be shared between variables, files and
// resolved values without copies.
type array struct {
	entries []entry
	index   map[key]int // built lazily for larger arrays
	next    int64       // next implicit integer key
}

const indexThreshold = 8

func newArray(n int) *array { return &array{entries: make([]entry, 0, n)} }

func (a *array) Len() int { return len(a.entries) }

func (a *array) find(k key) int {
	if a.index != nil {
		if i, ok := a.index[k]; ok {
			return i
		}
		return -1
	}
	for i := range a.entries {
		if a.entries[i].k == k {
			return i
		}
	}
	return -1
}

func (a *array) get(k key) (entry, bool) {
	if i := a.find(k); i >= 0 {
		return a.entries[i], true
	}
	return entry{}, false
}

func (a *array) has(k key) bool { return a.find(k) >= 0 }

// set assigns k. An existing key keeps its place in the order, as in PHP.
func (a *array) set(k key, v any, p pos) {
	if i := a.find(k); i >= 0 {
		a.entries[i].v = v
		a.entries[i].pos = p
		return
	}
	a.entries = append(a.entries, entry{k: k, v: v, pos: p})
	if a.index != nil {
		a.index[k] = len(a.entries) - 1
	} else if len(a.entries) > indexThreshold {
		a.index = make(map[key]int, len(a.entries)*2)
		for i, e := range a.entries {
			a.index[e.k] = i
		}
	}
	if k.isInt && k.i >= a.next {
		if k.i == math.MaxInt64 {
			a.next = k.i
		} else {
			a.next = k.i + 1
		}
	}
}

// push appends with the next integer key ($a[] = v).
func (a *array) push(v any, p pos) { a.set(intKey(a.next), v, p) }

func (a *array) clone() *array {
	b := &array{entries: make([]entry, len(a.entries), len(a.entries)+4), next: a.next}
	copy(b.entries, a.entries)
	if a.index != nil {
		b.index = make(map[key]int, len(a.index))
		for k, v := range a.index {
			b.index[k] = v
		}
	}
	return b
}

// union implements PHP's `$a + $b`: keys of a win, b only adds missing keys.
func union(a, b *array) *array {
	out := a.clone()
	for _, e := range b.entries {
		if !out.has(e.k) {
			out.set(e.k, e.v, e.pos)
		}
	}
	return out
}

// isList reports whether the keys are exactly 0..n-1 in order, i.e. what
// PHP's array_is_list() and json_encode() treat as a list.
func (a *array) isList() bool {
	for i, e := range a.entries {
		if !e.k.isInt || e.k.i != int64(i) {
			return false
		}
	}
	return true
}

// export converts an internal value into the JSON-like form of the public
// contract: lists become []any, other arrays map[string]any.
func export(v any) any {
	if p, ok := v.(placeholder); ok {
		return string(p)
	}
	a, ok := v.(*array)
	if !ok {
		return v
	}
	if a.isList() {
		out := make([]any, len(a.entries))
		for i, e := range a.entries {
			out[i] = export(e.v)
		}
		return out
	}
	out := make(map[string]any, len(a.entries))
	for _, e := range a.entries {
		out[e.k.String()] = export(e.v)
	}
	return out
}

// equal compares two internal values the way the exported form would be
// compared: lists positionally, other arrays by key regardless of order,
// scalars by type and value (1 and 1.0 differ, as they would under go-cmp).
func equal(x, y any) bool {
	if p, ok := x.(placeholder); ok {
		x = string(p)
	}
	if p, ok := y.(placeholder); ok {
		y = string(p)
	}
	switch xv := x.(type) {
	case *array:
		yv, ok := y.(*array)
		if !ok {
			return false
		}
		if xv == yv {
			return true
		}
		if len(xv.entries) != len(yv.entries) {
			return false
		}
		xl, yl := xv.isList(), yv.isList()
		if xl != yl {
			return false
		}
		if xl {
			for i := range xv.entries {
				if !equal(xv.entries[i].v, yv.entries[i].v) {
					return false
				}
			}
			return true
		}
		for _, e := range xv.entries {
			o, ok := yv.get(e.k)
			if !ok || !equal(e.v, o.v) {
				return false
			}
		}
		return true
	case float64:
		yv, ok := y.(float64)
		return ok && (xv == yv || (math.IsNaN(xv) && math.IsNaN(yv)))
	default:
		return x == y
	}
}

// sortedStrings is a small helper for deterministic output.
func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
