package esfake

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// doc is one stored document.
type doc struct {
	index   string
	id      string
	source  json.RawMessage // exactly as indexed, returned verbatim
	m       map[string]any  // source decoded with json.Number
	seq     int64           // global insertion order: the fake's "_doc" order
	version int64
}

// matchFunc is a compiled query.
type matchFunc func(d *doc) bool

// compiler turns query DSL (decoded with json.Number) into a matchFunc. It
// rejects what it does not understand with a parsing_exception instead of
// guessing, so a test cannot pass against the fake with a query a real
// cluster would refuse or read differently.
type compiler struct {
	now time.Time // for date math
}

func matchAll(*doc) bool  { return true }
func matchNone(*doc) bool { return false }

func (c *compiler) compile(q any) (matchFunc, error) {
	obj, ok := q.(map[string]any)
	if !ok {
		return nil, parsing("query malformed, must start with start_object")
	}
	if len(obj) != 1 {
		keys := sortedKeys(obj)
		if len(keys) == 0 {
			return nil, parsing("query malformed, empty clause found")
		}
		return nil, parsing("[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]", keys[0])
	}
	for typ, body := range obj {
		switch typ {
		case "match_all":
			return matchAll, nil
		case "match_none":
			return matchNone, nil
		case "bool":
			return c.boolQuery(body)
		case "constant_score":
			m, ok := body.(map[string]any)
			if !ok || m["filter"] == nil {
				return nil, parsing("[constant_score] requires a 'filter' element")
			}
			return c.compile(m["filter"])
		case "term":
			return c.termQuery(body)
		case "terms":
			return c.termsQuery(body)
		case "ids":
			return idsQuery(body)
		case "exists":
			return existsQuery(body)
		case "range":
			return c.rangeQuery(body)
		case "match":
			return c.matchQuery(body, false)
		case "match_phrase":
			return c.matchQuery(body, true)
		case "wildcard":
			return patternQuery("wildcard", body)
		case "prefix":
			return patternQuery("prefix", body)
		case "query_string":
			return c.queryString(body)
		default:
			return nil, parsing("unknown query [%s]", typ)
		}
	}
	panic("unreachable")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// clauses accepts a single query object or an array of them.
func (c *compiler) clauses(name string, v any) ([]matchFunc, error) {
	var list []any
	switch v := v.(type) {
	case []any:
		list = v
	case map[string]any:
		list = []any{v}
	default:
		return nil, parsing("[bool] %s must be an object or an array", name)
	}
	out := make([]matchFunc, 0, len(list))
	for _, q := range list {
		m, err := c.compile(q)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *compiler) boolQuery(body any) (matchFunc, error) {
	b, ok := body.(map[string]any)
	if !ok {
		return nil, parsing("[bool] query malformed, must be an object")
	}
	var must, mustNot, should []matchFunc
	var msm any
	for k, v := range b {
		var err error
		var cs []matchFunc
		switch k {
		case "must", "filter":
			cs, err = c.clauses(k, v)
			must = append(must, cs...)
		case "must_not":
			cs, err = c.clauses(k, v)
			mustNot = append(mustNot, cs...)
		case "should":
			cs, err = c.clauses(k, v)
			should = append(should, cs...)
		case "minimum_should_match":
			msm = v
		case "boost", "_name", "adjust_pure_negative":
		default:
			err = parsing("[bool] query does not support [%s]", k)
		}
		if err != nil {
			return nil, err
		}
	}
	need := 0
	if len(should) > 0 && len(must) == 0 {
		need = 1
	}
	if msm != nil {
		n, err := minimumShouldMatch(msm, len(should))
		if err != nil {
			return nil, err
		}
		need = n
	}
	return func(d *doc) bool {
		for _, m := range must {
			if !m(d) {
				return false
			}
		}
		for _, m := range mustNot {
			if m(d) {
				return false
			}
		}
		if need == 0 {
			return true
		}
		n := 0
		for _, m := range should {
			if m(d) {
				n++
				if n >= need {
					return true
				}
			}
		}
		return false
	}, nil
}

// minimumShouldMatch supports the integer and percentage forms, negative
// ones included.
func minimumShouldMatch(v any, clauses int) (int, error) {
	s, _ := text(v)
	s = strings.TrimSpace(s)
	var n int
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, parsing("[bool] invalid minimum_should_match [%s]", s)
		}
		if f < 0 {
			n = clauses - int(math.Floor(float64(clauses)*-f/100))
		} else {
			n = int(math.Floor(float64(clauses) * f / 100))
		}
	} else {
		i, err := strconv.Atoi(s)
		if err != nil {
			return 0, parsing("[bool] invalid minimum_should_match [%s]", s)
		}
		n = i
		if i < 0 {
			n = clauses + i
		}
	}
	return max(0, min(n, clauses)), nil
}

// singleField unpacks {"field": value} bodies of leaf queries.
func singleField(typ string, body any) (string, any, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return "", nil, parsing("[%s] query malformed, no start_object after query name", typ)
	}
	var field string
	var val any
	for k, v := range m {
		if k == "boost" || k == "_name" {
			continue
		}
		if field != "" {
			a, b := field, k
			if a > b {
				a, b = b, a
			}
			return "", nil, parsing("[%s] query doesn't support multiple fields, found [%s] and [%s]", typ, a, b)
		}
		field, val = k, v
	}
	if field == "" {
		return "", nil, parsing("[%s] query malformed, no field given", typ)
	}
	return field, val, nil
}

// options splits a leaf query's value into its main value and its options:
// {"f": "x"} and {"f": {"value": "x", ...}} are equivalent.
func options(typ string, val any, main string, allowed ...string) (any, map[string]any, error) {
	opts, ok := val.(map[string]any)
	if !ok {
		return val, nil, nil
	}
	for k := range opts {
		if k == main || k == "boost" || k == "_name" {
			continue
		}
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
			}
		}
		if !known {
			return nil, nil, parsing("[%s] query does not support [%s]", typ, k)
		}
	}
	v, ok := opts[main]
	if !ok {
		return nil, nil, parsing("[%s] query requires [%s]", typ, main)
	}
	return v, opts, nil
}

func boolOpt(opts map[string]any, key string) bool {
	switch v := opts[key].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func (c *compiler) termQuery(body any) (matchFunc, error) {
	field, val, err := singleField("term", body)
	if err != nil {
		return nil, err
	}
	val, opts, err := options("term", val, "value", "case_insensitive")
	if err != nil {
		return nil, err
	}
	if _, isObj := val.(map[string]any); isObj || val == nil {
		return nil, parsing("[term] query value for [%s] must be a scalar", field)
	}
	ci := boolOpt(opts, "case_insensitive")
	return c.anyValue(field, func(v any) bool { return c.equals(v, val, ci) }), nil
}

func (c *compiler) termsQuery(body any) (matchFunc, error) {
	field, val, err := singleField("terms", body)
	if err != nil {
		return nil, err
	}
	list, ok := val.([]any)
	if !ok {
		return nil, parsing("[terms] query for [%s] requires an array of values (terms lookup is not supported by esfake)", field)
	}
	return c.anyValue(field, func(v any) bool {
		for _, q := range list {
			if c.equals(v, q, false) {
				return true
			}
		}
		return false
	}), nil
}

func idsQuery(body any) (matchFunc, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, parsing("[ids] query malformed")
	}
	list, _ := m["values"].([]any)
	ids := make(map[string]bool, len(list))
	for _, v := range list {
		s, _ := text(v)
		ids[s] = true
	}
	return func(d *doc) bool { return ids[d.id] }, nil
}

func existsQuery(body any) (matchFunc, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return nil, parsing("[exists] query malformed")
	}
	field, ok := m["field"].(string)
	if !ok || field == "" {
		return nil, parsing("[exists] must be provided with a [field]")
	}
	return func(d *doc) bool {
		for _, v := range docValues(d, field) {
			if obj, ok := v.(map[string]any); ok {
				var leaves []any
				allLeaves(obj, &leaves)
				if len(leaves) == 0 {
					continue
				}
			}
			return true
		}
		return false
	}, nil
}

// docValues adds the metadata fields to fieldValues.
func docValues(d *doc, field string) []any {
	switch field {
	case "_id":
		return []any{d.id}
	case "_index":
		return []any{d.index}
	}
	return fieldValues(d.m, field)
}

func (c *compiler) anyValue(field string, pred func(any) bool) matchFunc {
	return func(d *doc) bool {
		for _, v := range docValues(d, field) {
			if pred(v) {
				return true
			}
		}
		return false
	}
}

// equals is term equality against an indexed value: numbers compare as
// numbers, dates as instants, keywords exactly (or ignoring case).
func (c *compiler) equals(docv, q any, ci bool) bool {
	if _, ok := number(docv); ok {
		return numericCompare(docv, q) == 0
	}
	if b, ok := docv.(bool); ok {
		s, _ := text(q)
		return s == strconv.FormatBool(b)
	}
	ds, ok := docv.(string)
	if !ok {
		return false
	}
	qs, ok := text(q)
	if !ok {
		return false
	}
	if ds == qs || (ci && strings.EqualFold(ds, qs)) {
		return true
	}
	if dms, ok := looksLikeDate(ds); ok {
		if qms, err := dateMillis(q, "", time.UTC, c.now); err == nil {
			return dms == qms
		}
	}
	return false
}

// numericCompare compares a numeric document value with a query value that is
// a number or a numeric string; it returns 2 when they are not comparable.
func numericCompare(a, b any) int {
	if s, ok := b.(string); ok {
		b = json.Number(s)
	}
	if ai, ok := integer(a); ok {
		if bi, ok := integer(b); ok {
			return cmp3(ai, bi)
		}
	}
	af, ok1 := number(a)
	bf, ok2 := number(b)
	if !ok1 || !ok2 {
		return 2
	}
	return cmp3(af, bf)
}

func cmp3[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (c *compiler) rangeQuery(body any) (matchFunc, error) {
	field, val, err := singleField("range", body)
	if err != nil {
		return nil, err
	}
	opts, ok := val.(map[string]any)
	if !ok {
		return nil, parsing("[range] query malformed, no start_object after field name")
	}
	var lo, hi any
	loIncl, hiIncl := true, true
	var format, tz string
	for k, v := range opts {
		switch k {
		case "gt":
			lo, loIncl = v, false
		case "gte":
			lo, loIncl = v, true
		case "lt":
			hi, hiIncl = v, false
		case "lte":
			hi, hiIncl = v, true
		case "from":
			lo = v
		case "to":
			hi = v
		case "format":
			format, _ = v.(string)
		case "time_zone":
			tz, _ = v.(string)
		case "boost", "_name", "relation":
		case "include_lower", "include_upper":
		default:
			return nil, parsing("[range] query does not support [%s]", k)
		}
	}
	// The deprecated from/to form (what olivere sends) takes its
	// inclusiveness from include_lower/include_upper.
	if _, ok := opts["from"]; ok {
		loIncl = !isFalse(opts["include_lower"])
	}
	if _, ok := opts["to"]; ok {
		hiIncl = !isFalse(opts["include_upper"])
	}
	loc, err := zone(tz)
	if err != nil {
		return nil, parsing("[range] unknown time_zone [%s]", tz)
	}
	r := rangeBounds{lo: lo, hi: hi, loIncl: loIncl, hiIncl: hiIncl}
	// Dates: an explicit format must parse, as on a date field.
	r.loDate, r.loDateErr = c.boundDate(lo, format, loc)
	r.hiDate, r.hiDateErr = c.boundDate(hi, format, loc)
	if format != "" {
		if r.loDateErr != nil {
			return nil, badRequest("parse_exception", "%v", r.loDateErr)
		}
		if r.hiDateErr != nil {
			return nil, badRequest("parse_exception", "%v", r.hiDateErr)
		}
	}
	r.forceDate = format != "" || isNow(lo) || isNow(hi)
	r.format, r.loc, r.now = format, loc, c.now
	return c.anyValue(field, r.contains), nil
}

func isFalse(v any) bool {
	b, ok := v.(bool)
	return ok && !b
}

func isNow(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, "now")
}

func (c *compiler) boundDate(v any, format string, loc *time.Location) (int64, error) {
	if v == nil {
		return 0, nil
	}
	return dateMillis(v, format, loc, c.now)
}

type rangeBounds struct {
	lo, hi               any // nil = unbounded
	loIncl, hiIncl       bool
	loDate, hiDate       int64
	loDateErr, hiDateErr error
	forceDate            bool
	format               string
	loc                  *time.Location
	now                  time.Time
}

func (r *rangeBounds) contains(v any) bool {
	// Pick the domain the field would have been mapped in.
	dateDomain := r.forceDate
	if s, ok := v.(string); ok {
		if _, ok := looksLikeDate(s); ok {
			dateDomain = true
		}
	} else if _, ok := number(v); ok && !dateDomain {
		// A numeric field queried with date strings is an epoch_millis date.
		dateDomain = dateString(r.lo, r.loDateErr) || dateString(r.hi, r.hiDateErr)
	}
	if dateDomain {
		if (r.lo != nil && r.loDateErr != nil) || (r.hi != nil && r.hiDateErr != nil) {
			return false
		}
		// format applies to the bounds only; indexed values are instants
		// already (ISO strings or epoch milliseconds).
		var ms int64
		if s, ok := v.(string); ok {
			if ms, ok = looksLikeDate(s); !ok {
				return false
			}
		} else if i, ok := integer(v); ok {
			ms = i
		} else if f, ok := number(v); ok {
			ms = int64(f)
		} else {
			return false
		}
		return inside(ms, r.loDate, r.hiDate, r.lo != nil, r.hi != nil, r.loIncl, r.hiIncl)
	}
	if _, ok := number(v); ok {
		if r.lo != nil {
			c := numericCompare(v, r.lo)
			if c == 2 || c < 0 || (c == 0 && !r.loIncl) {
				return false
			}
		}
		if r.hi != nil {
			c := numericCompare(v, r.hi)
			if c == 2 || c > 0 || (c == 0 && !r.hiIncl) {
				return false
			}
		}
		return true
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	los, _ := text(r.lo)
	his, _ := text(r.hi)
	return inside(s, los, his, r.lo != nil, r.hi != nil, r.loIncl, r.hiIncl)
}

// dateString reports whether a range bound is a date (not a number) string.
func dateString(b any, parseErr error) bool {
	s, ok := b.(string)
	if !ok || parseErr != nil {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

func inside[T int64 | string](v, lo, hi T, hasLo, hasHi, loIncl, hiIncl bool) bool {
	if hasLo && (v < lo || (v == lo && !loIncl)) {
		return false
	}
	if hasHi && (v > hi || (v == hi && !hiIncl)) {
		return false
	}
	return true
}

func (c *compiler) matchQuery(body any, phrase bool) (matchFunc, error) {
	typ := "match"
	allowed := []string{"operator", "lenient", "analyzer", "zero_terms_query", "auto_generate_synonyms_phrase_query"}
	if phrase {
		typ = "match_phrase"
		allowed = []string{"slop", "analyzer", "zero_terms_query"}
	}
	field, val, err := singleField(typ, body)
	if err != nil {
		return nil, err
	}
	val, opts, err := options(typ, val, "query", allowed...)
	if err != nil {
		return nil, err
	}
	if a, ok := opts["analyzer"].(string); ok && a != "standard" {
		return nil, parsing("[%s] analyzer [%s] is not supported by esfake", typ, a)
	}
	if s, ok := opts["slop"]; ok {
		if n, _ := integer(s); n != 0 {
			return nil, parsing("[match_phrase] slop is not supported by esfake")
		}
	}
	qs, isString := val.(string)
	if !isString {
		// Numbers and booleans match like a term on numeric/boolean fields.
		return c.anyValue(field, func(v any) bool { return c.equals(v, val, false) }), nil
	}
	want := tokens(qs)
	if len(want) == 0 {
		return matchNone, nil
	}
	if phrase {
		return c.anyValue(field, func(v any) bool {
			s, ok := text(v)
			return ok && containsRun(tokens(s), want)
		}), nil
	}
	and := false
	if op, ok := opts["operator"].(string); ok {
		switch strings.ToLower(op) {
		case "and":
			and = true
		case "or":
		default:
			return nil, parsing("[match] unknown operator [%s]", op)
		}
	}
	return func(d *doc) bool {
		have := map[string]bool{}
		for _, v := range docValues(d, field) {
			if s, ok := text(v); ok {
				for _, t := range tokens(s) {
					have[t] = true
				}
			}
		}
		for _, t := range want {
			if have[t] && !and {
				return true
			}
			if !have[t] && and {
				return false
			}
		}
		return and
	}, nil
}

// containsRun reports whether want occurs as consecutive tokens in have.
func containsRun(have, want []string) bool {
outer:
	for i := 0; i+len(want) <= len(have); i++ {
		for j, w := range want {
			if have[i+j] != w {
				continue outer
			}
		}
		return true
	}
	return false
}

func patternQuery(typ string, body any) (matchFunc, error) {
	field, val, err := singleField(typ, body)
	if err != nil {
		return nil, err
	}
	main := "value"
	if m, ok := val.(map[string]any); ok && typ == "wildcard" {
		if _, ok := m["wildcard"]; ok {
			main = "wildcard"
		}
	}
	val, opts, err := options(typ, val, main, "case_insensitive", "rewrite")
	if err != nil {
		return nil, err
	}
	pat, ok := text(val)
	if !ok {
		return nil, parsing("[%s] value for [%s] must be a string", typ, field)
	}
	ci := boolOpt(opts, "case_insensitive")
	if ci {
		pat = strings.ToLower(pat)
	}
	return func(d *doc) bool {
		for _, v := range docValues(d, field) {
			s, ok := text(v)
			if !ok {
				continue
			}
			if ci {
				s = strings.ToLower(s)
			}
			if typ == "prefix" && strings.HasPrefix(s, pat) || typ == "wildcard" && glob(pat, s) {
				return true
			}
		}
		return false
	}, nil
}

// glob matches Lucene wildcard syntax: * any run, ? one character, \ escapes.
func glob(pat, s string) bool {
	p, r := []rune(pat), []rune(s)
	var pi, si int
	star, mark := -1, 0
	for si < len(r) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == '\\' && pi+1 < len(p) && p[pi+1] == r[si]:
			pi += 2
			si++
		case pi < len(p) && (p[pi] == '?' || (p[pi] == r[si] && p[pi] != '\\')):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
