package esfake

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxResultWindow is index.max_result_window's default.
const maxResultWindow = 10000

// searchRequest is a parsed and compiled search body.
type searchRequest struct {
	query      matchFunc
	postFilter matchFunc
	sorts      []sortSpec
	after      []any // raw search_after values; nil when absent
	hasAfter   bool
	from, size int
	track      any // track_total_hits: nil (default 10000), bool or int64
	source     sourceFilter
	asInt      bool // rest_total_hits_as_int
}

type sortSpec struct {
	field   string // "_score" and "_doc" are special
	desc    bool
	mode    string // min, max (multi-valued fields)
	missing any    // "_last" (default), "_first" or a value
}

// sval is one sort value: a number (exact when integral) or a string; a
// document without a value has missing set.
type sval struct {
	missing bool
	isNum   bool
	isInt   bool
	i       int64
	f       float64
	s       string
}

func numSval(v any) (sval, bool) {
	if i, ok := integer(v); ok {
		return sval{isNum: true, isInt: true, i: i, f: float64(i)}, true
	}
	if f, ok := number(v); ok {
		return sval{isNum: true, f: f}, true
	}
	return sval{}, false
}

// toSval converts a document value, a missing value or a search_after value
// for field. Date strings sort as epoch milliseconds, as Elasticsearch returns
// them; booleans as 0 and 1.
func toSval(field string, v any) (sval, bool) {
	switch v := v.(type) {
	case nil:
		return sval{missing: true}, true
	case bool:
		if v {
			return sval{isNum: true, isInt: true, i: 1, f: 1}, true
		}
		return sval{isNum: true, isInt: true}, true
	case string:
		if field != "_id" && field != "_index" {
			if ms, ok := looksLikeDate(v); ok {
				return sval{isNum: true, isInt: true, i: ms, f: float64(ms)}, true
			}
		}
		return sval{s: v}, true
	case map[string]any, []any:
		return sval{}, false
	}
	return numSval(v)
}

func (v sval) json() any {
	switch {
	case v.missing:
		return nil
	case v.isInt:
		return json.Number(strconv.FormatInt(v.i, 10))
	case v.isNum:
		return v.f
	}
	return v.s
}

// cmpSval orders numbers before strings.
func cmpSval(a, b sval) int {
	switch {
	case a.isNum && b.isNum:
		if a.isInt && b.isInt {
			return cmp3(a.i, b.i)
		}
		return cmp3(a.f, b.f)
	case a.isNum:
		return -1
	case b.isNum:
		return 1
	}
	return cmp3(a.s, b.s)
}

// compare orders two values of this sort field. Missing values go last (or
// first) whatever the direction, like Elasticsearch's _last and _first.
func (s sortSpec) compare(a, b sval) int {
	if a.missing || b.missing {
		if a.missing == b.missing {
			return 0
		}
		first := s.missing == "_first"
		if a.missing == first {
			return -1
		}
		return 1
	}
	c := cmpSval(a, b)
	if s.desc {
		c = -c
	}
	return c
}

// key computes a document's value for this sort field.
func (s sortSpec) key(d *doc) sval {
	switch s.field {
	case "_score":
		return sval{isNum: true, f: 1}
	case "_doc":
		return sval{isNum: true, isInt: true, i: d.seq, f: float64(d.seq)}
	}
	var best sval
	found := false
	for _, v := range docValues(d, s.field) {
		sv, ok := toSval(s.field, v)
		if !ok || sv.missing {
			continue
		}
		if !found {
			best, found = sv, true
			continue
		}
		c := cmpSval(sv, best)
		if (s.mode == "max" && c > 0) || (s.mode == "min" && c < 0) {
			best = sv
		}
	}
	if found {
		return best
	}
	if s.missing != nil && s.missing != "_last" && s.missing != "_first" {
		if sv, ok := toSval(s.field, s.missing); ok {
			return sv
		}
	}
	return sval{missing: true}
}

func parseSort(v any) ([]sortSpec, error) {
	var list []any
	switch v := v.(type) {
	case []any:
		list = v
	default:
		list = []any{v}
	}
	var out []sortSpec
	for _, e := range list {
		var s sortSpec
		switch e := e.(type) {
		case string:
			s.field = e
			s.desc = e == "_score"
		case map[string]any:
			if len(e) != 1 {
				return nil, parsing("[sort] each sort element must name exactly one field")
			}
			for f, opt := range e {
				s.field = f
				s.desc = f == "_score"
				switch opt := opt.(type) {
				case string:
					if err := setOrder(&s, opt); err != nil {
						return nil, err
					}
				case map[string]any:
					for k, ov := range opt {
						switch k {
						case "order":
							o, _ := ov.(string)
							if err := setOrder(&s, o); err != nil {
								return nil, err
							}
						case "mode":
							m, _ := ov.(string)
							if m != "min" && m != "max" {
								return nil, parsing("[sort] mode [%s] is not supported by esfake", m)
							}
							s.mode = m
						case "missing":
							s.missing = ov
						case "unmapped_type", "numeric_type", "format":
						default:
							return nil, parsing("[sort] option [%s] is not supported", k)
						}
					}
				default:
					return nil, parsing("[sort] malformed sort element for [%s]", f)
				}
			}
		default:
			return nil, parsing("[sort] malformed sort element")
		}
		if s.mode == "" {
			s.mode = "min"
			if s.desc {
				s.mode = "max"
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func setOrder(s *sortSpec, o string) error {
	switch strings.ToLower(o) {
	case "asc":
		s.desc = false
	case "desc":
		s.desc = true
	default:
		return parsing("[sort] unknown order [%s]", o)
	}
	return nil
}

// sourceFilter is the _source parameter.
type sourceFilter struct {
	disabled bool
	includes []string
	excludes []string
}

func parseSourceFilter(v any) (sourceFilter, error) {
	var f sourceFilter
	strs := func(v any) []string {
		switch v := v.(type) {
		case string:
			return []string{v}
		case []any:
			var out []string
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	switch v := v.(type) {
	case nil:
	case bool:
		f.disabled = !v
	case string, []any:
		f.includes = strs(v)
	case map[string]any:
		for k, e := range v {
			switch k {
			case "includes", "include":
				f.includes = strs(e)
			case "excludes", "exclude":
				f.excludes = strs(e)
			default:
				return f, parsing("[_source] unknown key [%s]", k)
			}
		}
	default:
		return f, parsing("[_source] malformed")
	}
	return f, nil
}

// apply returns the filtered source, or the stored bytes untouched when there
// is nothing to filter.
func (f sourceFilter) apply(d *doc) json.RawMessage {
	if f.disabled {
		return nil
	}
	if len(f.includes) == 0 && len(f.excludes) == 0 {
		return d.source
	}
	out := filterObject(d.m, "", f)
	b, _ := json.Marshal(out)
	return b
}

func filterObject(m map[string]any, prefix string, f sourceFilter) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if pathMatches(f.excludes, path) {
			continue
		}
		if child, ok := v.(map[string]any); ok {
			if sub := filterObject(child, path, f); len(sub) > 0 {
				out[k] = sub
			}
			continue
		}
		if len(f.includes) == 0 || pathMatches(f.includes, path) {
			out[k] = v
		}
	}
	return out
}

// pathMatches reports whether path, or an object above it, matches one of
// the patterns.
func pathMatches(patterns []string, path string) bool {
	for _, p := range patterns {
		if glob(p, path) || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

// parseSearch reads a search body and the URL parameters that can stand in
// for it.
func (s *Server) parseSearch(body []byte, params url.Values, now time.Time) (*searchRequest, error) {
	raw := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, parsing("request body is not valid JSON: %v", err)
		}
	}
	c := &compiler{now: now}
	req := &searchRequest{query: matchAll, size: 10}
	req.asInt = params.Get("rest_total_hits_as_int") == "true"
	for k, v := range raw {
		var err error
		switch k {
		case "query":
			req.query, err = c.compile(v)
		case "post_filter":
			req.postFilter, err = c.compile(v)
		case "sort":
			req.sorts, err = parseSort(v)
		case "search_after":
			list, ok := v.([]any)
			if !ok {
				err = parsing("[search_after] must be an array")
			}
			req.after, req.hasAfter = list, true
		case "size":
			n, ok := integer(v)
			if !ok || n < 0 {
				err = illegalArgument("[size] parameter cannot be negative, found [%v]", v)
			}
			req.size = int(n)
		case "from":
			n, ok := integer(v)
			if !ok || n < 0 {
				err = illegalArgument("[from] parameter cannot be negative, found [%v]", v)
			}
			req.from = int(n)
		case "track_total_hits":
			switch t := v.(type) {
			case bool:
				req.track = t
			default:
				n, ok := integer(t)
				if !ok {
					err = parsing("[track_total_hits] must be a boolean or an integer")
				}
				req.track = n
			}
		case "_source":
			req.source, err = parseSourceFilter(v)
		case "timeout", "track_scores", "version", "seq_no_primary_term", "explain", "stored_fields", "min_score", "terminate_after":
		case "aggs", "aggregations":
			err = badRequest("illegal_argument_exception", "esfake does not support aggregations")
		default:
			err = parsing("Unknown key for a START_OBJECT in [%s].", k)
		}
		if err != nil {
			return nil, err
		}
	}
	if q := params.Get("q"); q != "" && raw["query"] == nil {
		qs := map[string]any{"query": q}
		if op := params.Get("default_operator"); op != "" {
			qs["default_operator"] = op
		}
		if df := params.Get("df"); df != "" {
			qs["default_field"] = df
		}
		m, err := c.queryString(qs)
		if err != nil {
			return nil, err
		}
		req.query = m
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"size", &req.size}, {"from", &req.from}} {
		if v := params.Get(p.name); v != "" && raw[p.name] == nil {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, illegalArgument("invalid [%s] parameter [%s]", p.name, v)
			}
			*p.dst = n
		}
	}
	if v := params.Get("sort"); v != "" && raw["sort"] == nil {
		for f := range strings.SplitSeq(v, ",") {
			name, order, _ := strings.Cut(f, ":")
			spec := sortSpec{field: name, mode: "min"}
			if order != "" {
				if err := setOrder(&spec, order); err != nil {
					return nil, err
				}
			}
			if spec.desc {
				spec.mode = "max"
			}
			req.sorts = append(req.sorts, spec)
		}
	}
	if v := params.Get("track_total_hits"); v != "" && raw["track_total_hits"] == nil {
		if b, err := strconv.ParseBool(v); err == nil {
			req.track = b
		} else if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			req.track = n
		}
	}
	if req.hasAfter {
		if len(req.sorts) == 0 {
			return nil, illegalArgument("Sort must contain at least one field.")
		}
		if len(req.after) != len(req.sorts) {
			return nil, illegalArgument("search_after has %d value(s) but sort has %d.", len(req.after), len(req.sorts))
		}
		if req.from > 0 {
			return nil, illegalArgument("`from` parameter must be set to 0 when `search_after` is used.")
		}
	}
	if req.from+req.size > maxResultWindow {
		return nil, illegalArgument("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets.",
			maxResultWindow, req.from+req.size)
	}
	return req, nil
}

type hitJSON struct {
	Index  string          `json:"_index"`
	Type   string          `json:"_type,omitempty"`
	ID     string          `json:"_id"`
	Score  *float64        `json:"_score"`
	Source json.RawMessage `json:"_source,omitempty"`
	Sort   []any           `json:"sort,omitempty"`
}

// execute runs a parsed search over docs (already resolved from the index
// expression) and builds the response body.
func (s *Server) execute(req *searchRequest, docs []*doc) (map[string]any, error) {
	var matched []*doc
	for _, d := range docs {
		if req.query(d) && (req.postFilter == nil || req.postFilter(d)) {
			matched = append(matched, d)
		}
	}
	total := len(matched)

	type keyed struct {
		d    *doc
		keys []sval
	}
	ks := make([]keyed, len(matched))
	for i, d := range matched {
		ks[i].d = d
		for _, sp := range req.sorts {
			ks[i].keys = append(ks[i].keys, sp.key(d))
		}
	}
	cmpKeys := func(a, b []sval) int {
		for i, sp := range req.sorts {
			if c := sp.compare(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := cmpKeys(a.keys, b.keys); c != 0 {
			return c
		}
		return cmp3(a.d.seq, b.d.seq)
	})
	if req.hasAfter {
		after := make([]sval, len(req.after))
		for i, v := range req.after {
			sv, ok := toSval(req.sorts[i].field, v)
			if !ok {
				return nil, illegalArgument("search_after value [%v] is not a scalar", v)
			}
			after[i] = sv
		}
		i := 0
		for i < len(ks) && cmpKeys(ks[i].keys, after) <= 0 {
			i++
		}
		ks = ks[i:]
	}
	if req.from < len(ks) {
		ks = ks[req.from:]
	} else {
		ks = nil
	}
	if len(ks) > req.size {
		ks = ks[:req.size]
	}

	typ := ""
	if s.flavor.hasTypes() {
		typ = "_doc"
	}
	one := 1.0
	hits := make([]hitJSON, 0, len(ks))
	for _, k := range ks {
		h := hitJSON{Index: k.d.index, Type: typ, ID: k.d.id, Source: req.source.apply(k.d)}
		if len(req.sorts) == 0 {
			h.Score = &one
		} else {
			for i, sp := range req.sorts {
				if sp.field == "_score" {
					h.Sort = append(h.Sort, 1.0)
				} else {
					h.Sort = append(h.Sort, k.keys[i].json())
				}
			}
		}
		hits = append(hits, h)
	}
	hitsObj := map[string]any{"hits": hits}
	if len(req.sorts) == 0 && len(hits) > 0 {
		hitsObj["max_score"] = 1.0
	} else {
		hitsObj["max_score"] = nil
	}
	limit, exact := int64(maxResultWindow), false
	switch t := req.track.(type) {
	case bool:
		exact = t
		if !t {
			limit = -1
		}
	case int64:
		limit = t
	}
	if limit >= 0 || exact {
		value, relation := int64(total), "eq"
		if !exact && value > limit {
			value, relation = limit, "gte"
		}
		if req.asInt {
			hitsObj["total"] = value
		} else {
			hitsObj["total"] = map[string]any{"value": value, "relation": relation}
		}
	}
	return map[string]any{
		"took":      1,
		"timed_out": false,
		"_shards":   map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits":      hitsObj,
	}, nil
}
