package diff

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// idFields are the fields that identify an element of a list of maps, in order
// of preference. Lists whose elements all carry one of them, with distinct
// scalar values, are compared element by element by that field rather than by
// position, so that inserting one entry does not report every later one.
var idFields = []string{"name", "key", "id", "host"}

// Step is one step of a Path inside a value.
type Step struct {
	// Key is the map key, or the identifying value for a keyed list element.
	Key string
	// Field is the identifying field of a keyed list element ("name"); empty
	// for map keys and list indexes.
	Field string
	// Index is the list index, or -1 for map keys and keyed list elements.
	Index int
}

// Path locates a sub-value; the empty path is the whole value.
type Path []Step

// MapKey returns the step into a map at key k.
func MapKey(k string) Step { return Step{Key: k, Index: -1} }

// String renders the path as `a.b[2].c[name=x]`; keys that are not simple
// identifiers are quoted: `a["x.y"]`.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.Field != "":
			b.WriteString("[" + s.Field + "=" + quoteIfNeeded(s.Key) + "]")
		case s.Index >= 0:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		case isIdent(s.Key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		default:
			b.WriteString("[" + strconv.Quote(s.Key) + "]")
		}
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if isIdent(s) {
		return s
	}
	return strconv.Quote(s)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Delta is one difference found by Compare.
type Delta struct {
	Path        Path
	Prod, Beta  any
	ProdPresent bool
	BetaPresent bool
}

// Normalize converts a decoded value (from YAML, JSON, PHP, or Go literals) to
// the canonical form Compare works on: map[string]any, []any, string, int64,
// float64, bool and nil. Values of other types are converted through their
// JSON encoding so that parsers with their own container types still compare.
func Normalize(v any) any {
	switch t := v.(type) {
	case nil, string, int64, float64, bool:
		return v
	case int:
		return int64(t)
	case map[string]any:
		if canonicalMap(t) {
			return t
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = Normalize(e)
		}
		return out
	case []any:
		if canonicalList(t) {
			return t
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Normalize(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return int64(u)
		}
		return float64(u)
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return Normalize(rv.Elem().Interface())
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[keyString(it.Key())] = Normalize(it.Value().Interface())
		}
		return out
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any{}
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Normalize(rv.Index(i).Interface())
		}
		return out
	}
	if b, err := json.Marshal(v); err == nil {
		var out any
		if json.Unmarshal(b, &out) == nil {
			return normalizeJSON(out)
		}
	}
	return fmt.Sprint(v)
}

func keyString(k reflect.Value) string {
	if k.Kind() == reflect.Interface {
		k = k.Elem()
	}
	switch k.Kind() {
	case reflect.String:
		return k.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10)
	}
	return fmt.Sprint(k.Interface())
}

// normalizeJSON turns JSON numbers that are integral into int64.
func normalizeJSON(v any) any {
	switch t := v.(type) {
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
		return t
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeJSON(e)
		}
	case []any:
		for i, e := range t {
			t[i] = normalizeJSON(e)
		}
	}
	return v
}

func canonical(v any) bool {
	switch t := v.(type) {
	case nil, string, int64, float64, bool:
		return true
	case map[string]any:
		return canonicalMap(t)
	case []any:
		return canonicalList(t)
	}
	return false
}

func canonicalMap(m map[string]any) bool {
	for _, e := range m {
		if !canonical(e) {
			return false
		}
	}
	return true
}

func canonicalList(l []any) bool {
	for _, e := range l {
		if !canonical(e) {
			return false
		}
	}
	return true
}

// IsScalar reports whether v is neither a map nor a list.
func IsScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func allScalar(l []any) bool {
	for _, e := range l {
		if !IsScalar(e) {
			return false
		}
	}
	return true
}

// idField returns the identifying field shared by every element of l, or "".
func idField(l []any) string {
	if len(l) == 0 {
		return ""
	}
	for _, f := range idFields {
		seen := make(map[string]bool, len(l))
		ok := true
		for _, e := range l {
			m, isMap := e.(map[string]any)
			if !isMap {
				return ""
			}
			v, has := m[f]
			if !has || !IsScalar(v) || v == nil {
				ok = false
				break
			}
			s := fmt.Sprint(v)
			if seen[s] {
				ok = false
				break
			}
			seen[s] = true
		}
		if ok {
			return f
		}
	}
	return ""
}

// keyedField returns the field to match x and y by, or "" to compare them
// by position. An empty list matches any keyed list.
func keyedField(x, y []any) string {
	fx, fy := idField(x), idField(y)
	switch {
	case fx != "" && (fx == fy || len(y) == 0):
		return fx
	case fy != "" && len(x) == 0:
		return fy
	}
	return ""
}

func byID(l []any) map[string]any {
	f := idField(l)
	out := make(map[string]any, len(l))
	for _, e := range l {
		out[f+"="+fmt.Sprint(e.(map[string]any)[f])] = e
	}
	return out
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case float64:
		return t
	}
	return math.NaN()
}

// Equal reports whether two normalized values are equal under the rules
// Compare uses: numbers compare by value, lists of maps with an identifying
// field compare as sets keyed by it, other lists by position.
func Equal(x, y any) bool {
	switch a := x.(type) {
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok {
			return false
		}
		if f := keyedField(a, b); f != "" {
			return Equal(byID(a), byID(b))
		}
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case int64, float64:
		return isNumber(y) && toFloat(x) == toFloat(y)
	}
	return x == y
}

var cmpOptions = []cmp.Option{
	// Lists of maps with an identifying field are compared as maps keyed by
	// "field=value".
	cmp.FilterValues(func(x, y []any) bool { return keyedField(x, y) != "" },
		cmp.Transformer("byID", byID)),
	// Lists of scalars (host lists, flags) are reported whole: an element-wise
	// edit script over them is harder to read than both lists side by side.
	cmp.FilterValues(func(x, y []any) bool {
		return keyedField(x, y) == "" && allScalar(x) && allScalar(y)
	}, cmp.Comparer(func(x, y []any) bool { return Equal(x, y) })),
	// 1 and 1.0 are the same setting whether the parser saw an int or a float.
	cmp.FilterValues(func(x, y any) bool {
		return isNumber(x) && isNumber(y) && reflect.TypeOf(x) != reflect.TypeOf(y)
	}, cmp.Comparer(func(x, y any) bool { return toFloat(x) == toFloat(y) })),
}

// Compare returns the differences between prod and beta, sorted by path.
// Both are normalized first (see Normalize).
func Compare(prod, beta any) []Delta {
	x, y := Normalize(prod), Normalize(beta)
	if Equal(x, y) {
		return nil
	}
	r := &reporter{}
	cmp.Equal(x, y, append(cmpOptions[:len(cmpOptions):len(cmpOptions)], cmp.Reporter(r))...)
	if len(r.deltas) == 0 {
		// Cannot happen unless Equal and the cmp options disagree; report the
		// whole value rather than nothing.
		return []Delta{{Prod: x, Beta: y, ProdPresent: true, BetaPresent: true}}
	}
	sort.SliceStable(r.deltas, func(i, j int) bool {
		return r.deltas[i].Path.String() < r.deltas[j].Path.String()
	})
	return r.deltas
}

// reporter collects the unequal leaves of a cmp comparison.
type reporter struct {
	path   cmp.Path
	deltas []Delta
}

func (r *reporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *reporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *reporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	last := r.path.Last()
	vx, vy := last.Values()
	d := Delta{Path: convertPath(r.path), ProdPresent: true, BetaPresent: true}
	// Only map and slice steps can lack a side; elsewhere an invalid value is
	// a nil interface (cmp does not wrap a nil root).
	switch last.(type) {
	case cmp.MapIndex, cmp.SliceIndex:
		d.ProdPresent, d.BetaPresent = vx.IsValid(), vy.IsValid()
	}
	if vx.IsValid() {
		d.Prod = vx.Interface()
	}
	if vy.IsValid() {
		d.Beta = vy.Interface()
	}
	r.deltas = append(r.deltas, d)
}

func convertPath(cp cmp.Path) Path {
	var p Path
	keyed := false
	for _, st := range cp {
		switch s := st.(type) {
		case cmp.Transform:
			keyed = s.Name() == "byID"
		case cmp.MapIndex:
			k := s.Key().String()
			if keyed {
				f, v, _ := strings.Cut(k, "=")
				p = append(p, Step{Field: f, Key: v, Index: -1})
			} else {
				p = append(p, MapKey(k))
			}
			keyed = false
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			if ix < 0 {
				ix = iy
			}
			p = append(p, Step{Index: ix})
			keyed = false
		}
	}
	return p
}

// Get returns the sub-value of v at p.
func Get(v any, p Path) (any, bool) {
	for _, s := range p {
		switch {
		case s.Field != "":
			l, ok := v.([]any)
			if !ok {
				return nil, false
			}
			found := false
			for _, e := range l {
				if m, ok := e.(map[string]any); ok && m[s.Field] != nil && fmt.Sprint(m[s.Field]) == s.Key {
					v, found = e, true
					break
				}
			}
			if !found {
				return nil, false
			}
		case s.Index >= 0:
			l, ok := v.([]any)
			if !ok || s.Index >= len(l) {
				return nil, false
			}
			v = l[s.Index]
		default:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s.Key]; !ok {
				return nil, false
			}
		}
	}
	return v, true
}

// HasInterpolation reports whether v holds a hiera/puppet interpolation
// (%{...}) anywhere.
func HasInterpolation(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.Contains(t, "%{")
	case map[string]any:
		for k, e := range t {
			if strings.Contains(k, "%{") || HasInterpolation(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if HasInterpolation(e) {
				return true
			}
		}
	}
	return false
}
