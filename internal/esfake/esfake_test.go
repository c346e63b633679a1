package esfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/olivere/elastic/v7"
)

var fixedNow = time.Date(2024, 1, 2, 13, 0, 0, 0, time.UTC)

// dslDocs exercise nested and flattened fields, numeric and string dates,
// multi-valued fields, nulls and empty objects.
var dslDocs = []struct{ index, id, src string }{
	{"logstash-2024.01.01", "a", `{"@timestamp":"2024-01-01T10:00:00.000Z","channel":"exception","level":"ERROR",
		"message":"Database error: Lock wait timeout exceeded","wiki":"enwiki","host":"mw1","http":{"status":500},
		"exception":{"class":"Wikimedia\\Rdbms\\DBQueryError"},"tags":["db","lock"]}`},
	{"logstash-2024.01.01", "b", `{"@timestamp":"2024-01-01T11:30:00Z","channel":"error","level":"WARNING",
		"message":"PHP Notice: Undefined index: foo","wiki":"dewiki","host":"mw2","http":{"status":200},
		"exception.class":"ErrorException"}`},
	{"logstash-2024.01.02", "c", `{"@timestamp":"2024-01-02T00:00:00Z","channel":"exception","level":"ERROR",
		"message":"Lock wait timeout","wiki":"enwiki","count":7,"labels":{"normalized_message":"[{reqId}] {exception_url} Lock"}}`},
	{"logstash-2024.01.02", "d", `{"@timestamp":1704200000000,"channel":"fatal","message":"Allowed memory size exhausted",
		"count":7.5,"empty":"","tags":["mem"]}`}, // 2024-01-02T12:53:20Z
	{"other", "e", `{"channel":"exception","message":"no timestamp","nullfield":null,"obj":{}}`},
}

func newDSLServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := New(append([]Option{WithClock(func() time.Time { return fixedNow })}, opts...)...)
	t.Cleanup(s.Close)
	for _, d := range dslDocs {
		if err := s.IndexJSON(d.index, d.id, []byte(d.src)); err != nil {
			t.Fatalf("index %s: %v", d.id, err)
		}
	}
	return s
}

// do sends a request and decodes the JSON response.
func do(t *testing.T, method, url string, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s %s: response is not JSON: %s", method, url, b)
		}
	}
	return resp.StatusCode, m
}

func hitIDs(t *testing.T, m map[string]any) []string {
	t.Helper()
	hits, ok := m["hits"].(map[string]any)
	if !ok {
		t.Fatalf("no hits in %v", m)
	}
	ids := []string{}
	for _, h := range hits["hits"].([]any) {
		ids = append(ids, h.(map[string]any)["_id"].(string))
	}
	return ids
}

func errType(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

func TestQueryDSL(t *testing.T) {
	s := newDSLServer(t)
	tests := []struct {
		name  string
		query string
		want  []string // sorted ids
	}{
		{"match_all", `{"match_all":{}}`, []string{"a", "b", "c", "d", "e"}},
		{"match_none", `{"match_none":{}}`, nil},
		{"term keyword", `{"term":{"channel":"exception"}}`, []string{"a", "c", "e"}},
		{"term is case sensitive", `{"term":{"channel":"Exception"}}`, nil},
		{"term case_insensitive", `{"term":{"channel":{"value":"Exception","case_insensitive":true}}}`, []string{"a", "c", "e"}},
		{"term nested path", `{"term":{"exception.class":"Wikimedia\\Rdbms\\DBQueryError"}}`, []string{"a"}},
		{"term flattened key", `{"term":{"exception.class":"ErrorException"}}`, []string{"b"}},
		{"term number", `{"term":{"http.status":500}}`, []string{"a"}},
		{"term number as string", `{"term":{"http.status":"500"}}`, []string{"a"}},
		{"term integer vs float", `{"term":{"count":7}}`, []string{"c"}},
		{"term keyword subfield", `{"term":{"wiki.keyword":"enwiki"}}`, []string{"a", "c"}},
		{"term multi-valued", `{"term":{"tags":"lock"}}`, []string{"a"}},
		{"term _id", `{"term":{"_id":"d"}}`, []string{"d"}},
		{"term _index", `{"term":{"_index":"other"}}`, []string{"e"}},
		{"term date instant", `{"term":{"@timestamp":"2024-01-02T00:00:00.000Z"}}`, []string{"c"}},
		{"terms", `{"terms":{"wiki":["enwiki","dewiki"]}}`, []string{"a", "b", "c"}},
		{"ids", `{"ids":{"values":["b","e","zz"]}}`, []string{"b", "e"}},
		{"exists nested", `{"exists":{"field":"exception.class"}}`, []string{"a", "b"}},
		{"exists null", `{"exists":{"field":"nullfield"}}`, nil},
		{"exists empty object", `{"exists":{"field":"obj"}}`, nil},
		{"exists empty string", `{"exists":{"field":"empty"}}`, []string{"d"}},
		{"exists object with leaves", `{"exists":{"field":"labels"}}`, []string{"c"}},
		{"range dates", `{"range":{"@timestamp":{"gte":"2024-01-01T11:00:00Z","lt":"2024-01-02T12:00:00Z"}}}`, []string{"b", "c"}},
		{"range epoch_millis format", `{"range":{"@timestamp":{"gt":1704103200000,"format":"epoch_millis"}}}`, []string{"b", "c", "d"}},
		{"range numeric date field vs string bound", `{"range":{"@timestamp":{"gt":"2024-01-02T00:00:00Z"}}}`, []string{"d"}},
		{"range olivere from/to", `{"range":{"@timestamp":{"from":"2024-01-02T00:00:00Z","include_lower":false,"include_upper":true,"to":null}}}`, []string{"d"}},
		{"range from inclusive", `{"range":{"@timestamp":{"from":"2024-01-02T00:00:00Z","include_lower":true,"include_upper":true,"to":null}}}`, []string{"c", "d"}},
		{"range exclusive upper", `{"range":{"@timestamp":{"lt":"2024-01-02T00:00:00Z"}}}`, []string{"a", "b"}},
		{"range date math", `{"range":{"@timestamp":{"gte":"now-1h"}}}`, []string{"d"}},
		{"range date math rounding", `{"range":{"@timestamp":{"gte":"now/d"}}}`, []string{"c", "d"}},
		{"range time_zone", `{"range":{"@timestamp":{"lt":"2024-01-01T12:00:00","time_zone":"+01:00"}}}`, []string{"a"}},
		{"range numbers", `{"range":{"count":{"gt":7}}}`, []string{"d"}},
		{"range numbers inclusive", `{"range":{"count":{"gte":7,"lte":7.5}}}`, []string{"c", "d"}},
		{"range keywords", `{"range":{"wiki":{"gte":"d","lt":"e"}}}`, []string{"b"}},
		{"match or", `{"match":{"message":"lock memory"}}`, []string{"a", "c", "d"}},
		{"match and", `{"match":{"message":{"query":"lock TIMEOUT","operator":"and"}}}`, []string{"a", "c"}},
		{"match and none", `{"match":{"message":{"query":"lock memory","operator":"and"}}}`, nil},
		{"match number", `{"match":{"count":7}}`, []string{"c"}},
		{"match_phrase", `{"match_phrase":{"message":"wait timeout"}}`, []string{"a", "c"}},
		{"match_phrase order matters", `{"match_phrase":{"message":"timeout wait"}}`, nil},
		{"match_phrase punctuation", `{"match_phrase":{"message":"notice undefined"}}`, []string{"b"}},
		{"wildcard", `{"wildcard":{"host":"mw*"}}`, []string{"a", "b"}},
		{"wildcard question mark", `{"wildcard":{"host":{"value":"mw?"}}}`, []string{"a", "b"}},
		{"wildcard case", `{"wildcard":{"level":{"value":"err*"}}}`, nil},
		{"wildcard case_insensitive", `{"wildcard":{"level":{"value":"err*","case_insensitive":true}}}`, []string{"a", "c"}},
		{"prefix", `{"prefix":{"message":"PHP"}}`, []string{"b"}},
		{"bool must and must_not", `{"bool":{"must":{"term":{"channel":"exception"}},"must_not":[{"term":{"wiki":"enwiki"}}]}}`, []string{"e"}},
		{"bool should default 1", `{"bool":{"should":[{"term":{"wiki":"dewiki"}},{"term":{"channel":"fatal"}}]}}`, []string{"b", "d"}},
		{"bool filter makes should optional", `{"bool":{"filter":[{"term":{"channel":"exception"}}],"should":[{"term":{"wiki":"dewiki"}}]}}`, []string{"a", "c", "e"}},
		{"bool minimum_should_match", `{"bool":{"should":[{"term":{"channel":"exception"}},{"term":{"wiki":"enwiki"}},{"term":{"level":"ERROR"}}],"minimum_should_match":3}}`, []string{"a", "c"}},
		{"bool minimum_should_match percent", `{"bool":{"should":[{"term":{"channel":"exception"}},{"term":{"wiki":"enwiki"}}],"minimum_should_match":"100%"}}`, []string{"a", "c"}},
		{"bool minimum_should_match negative", `{"bool":{"should":[{"term":{"channel":"exception"}},{"term":{"wiki":"enwiki"}}],"minimum_should_match":-1}}`, []string{"a", "c", "e"}},
		{"bool nested", `{"bool":{"filter":[{"bool":{"should":[{"term":{"channel":"fatal"}},{"term":{"channel":"error"}}]}},{"exists":{"field":"tags"}}]}}`, []string{"d"}},
		{"constant_score", `{"constant_score":{"filter":{"term":{"wiki":"dewiki"}}}}`, []string{"b"}},
		{"query_string and not", `{"query_string":{"query":"channel:exception AND NOT wiki:enwiki"}}`, []string{"e"}},
		{"query_string or", `{"query_string":{"query":"level:ERROR OR channel:fatal"}}`, []string{"a", "c", "d"}},
		{"query_string default operator and", `{"query_string":{"query":"channel:exception wiki:enwiki","default_operator":"AND"}}`, []string{"a", "c"}},
		{"query_string implicit or", `{"query_string":{"query":"channel:fatal wiki:dewiki"}}`, []string{"b", "d"}},
		{"query_string minus", `{"query_string":{"query":"channel:exception -wiki:enwiki"}}`, []string{"e"}},
		{"query_string phrase", `{"query_string":{"query":"message:\"wait timeout exceeded\""}}`, []string{"a"}},
		{"query_string word in field", `{"query_string":{"query":"message:timeout"}}`, []string{"a", "c"}},
		{"query_string exists", `{"query_string":{"query":"_exists_:wiki"}}`, []string{"a", "b", "c"}},
		{"query_string wildcard", `{"query_string":{"query":"host:mw*"}}`, []string{"a", "b"}},
		{"query_string field star", `{"query_string":{"query":"count:*"}}`, []string{"c", "d"}},
		{"query_string range", `{"query_string":{"query":"count:[7 TO 8}"}}`, []string{"c", "d"}},
		{"query_string range open", `{"query_string":{"query":"count:{7 TO *]"}}`, []string{"d"}},
		{"query_string comparison", `{"query_string":{"query":"count:>7"}}`, []string{"d"}},
		{"query_string date range", `{"query_string":{"query":"@timestamp:[2024-01-02 TO *]"}}`, []string{"c", "d"}},
		{"query_string lucene precedence", `{"query_string":{"query":"channel:exception AND wiki:enwiki OR level:WARNING"}}`, []string{"a", "c"}},
		{"query_string pure negative", `{"query_string":{"query":"-wiki:enwiki"}}`, []string{"b", "d", "e"}},
		{"query_string NOT first", `{"query_string":{"query":"NOT channel:exception"}}`, []string{"b", "d"}},
		{"query_string leading minus", `{"query_string":{"query":"-wiki:enwiki channel:exception"}}`, []string{"e"}},
		{"query_string plus", `{"query_string":{"query":"+channel:exception wiki:dewiki"}}`, []string{"a", "c", "e"}},
		{"query_string default and with or", `{"query_string":{"query":"channel:exception wiki:enwiki OR wiki:dewiki","default_operator":"AND"}}`, []string{"a", "c", "e"}},
		{"query_string grouping", `{"query_string":{"query":"(channel:fatal OR channel:error) AND NOT host:mw2"}}`, []string{"d"}},
		{"query_string field group", `{"query_string":{"query":"wiki:(dewiki OR frwiki)"}}`, []string{"b"}},
		{"query_string no field", `{"query_string":{"query":"exhausted"}}`, []string{"d"}},
		{"query_string default_field", `{"query_string":{"query":"lock","default_field":"message"}}`, []string{"a", "c"}},
		{"query_string escaped colon", `{"query_string":{"query":"message:Notice\\:"}}`, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := do(t, "POST", s.URL()+"/_search", `{"size":100,"query":`+tt.query+`}`)
			if status != 200 {
				t.Fatalf("status %d: %v", status, m)
			}
			got := hitIDs(t, m)
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b []string) bool {
				return strings.Join(a, ",") == strings.Join(b, ",")
			})); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	s := newDSLServer(t)
	tests := []struct {
		name, path, body string
		status           int
		typ              string
	}{
		{"unknown query", "/_search", `{"query":{"fuzzy":{"message":"x"}}}`, 400, "parsing_exception"},
		{"two queries in one object", "/_search", `{"query":{"term":{"a":"b"},"match_all":{}}}`, 400, "parsing_exception"},
		{"term with two fields", "/_search", `{"query":{"term":{"a":"b","c":"d"}}}`, 400, "parsing_exception"},
		{"unknown range option", "/_search", `{"query":{"range":{"a":{"greater":1}}}}`, 400, "parsing_exception"},
		{"bad date with explicit format", "/_search", `{"query":{"range":{"@timestamp":{"gte":"yesterday","format":"strict_date_optional_time"}}}}`, 400, "parse_exception"},
		{"unknown body key", "/_search", `{"querry":{"match_all":{}}}`, 400, "parsing_exception"},
		{"aggregations refused", "/_search", `{"aggs":{"x":{"terms":{"field":"wiki"}}}}`, 400, "illegal_argument_exception"},
		{"search_after without sort", "/_search", `{"search_after":[1]}`, 400, "illegal_argument_exception"},
		{"search_after length", "/_search", `{"sort":["@timestamp","_id"],"search_after":[1]}`, 400, "illegal_argument_exception"},
		{"search_after with from", "/_search", `{"from":1,"sort":["_id"],"search_after":["a"]}`, 400, "illegal_argument_exception"},
		{"result window", "/_search", `{"from":9999,"size":2}`, 400, "illegal_argument_exception"},
		{"negative size", "/_search", `{"size":-1}`, 400, "illegal_argument_exception"},
		{"invalid json", "/_search", `{"query":`, 400, "parsing_exception"},
		{"bad sort order", "/_search", `{"sort":[{"a":{"order":"up"}}]}`, 400, "parsing_exception"},
		{"missing concrete index", "/nope/_search", `{}`, 404, "index_not_found_exception"},
		{"missing concrete index in list", "/other,nope/_search", `{}`, 404, "index_not_found_exception"},
		{"query_string fuzzy refused", "/_search", `{"query":{"query_string":{"query":"foo~2"}}}`, 400, "parsing_exception"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := do(t, "POST", s.URL()+tt.path, tt.body)
			if status != tt.status || errType(m) != tt.typ {
				t.Fatalf("got %d %q, want %d %q: %v", status, errType(m), tt.status, tt.typ, m)
			}
			if m["status"] == nil {
				t.Errorf("error body lacks status: %v", m)
			}
			root, _ := m["error"].(map[string]any)["root_cause"].([]any)
			if len(root) != 1 {
				t.Errorf("error body lacks root_cause: %v", m)
			}
		})
	}
}

func TestIndexPatterns(t *testing.T) {
	s := newDSLServer(t)
	tests := []struct {
		path string
		want int
	}{
		{"/_search", 5},
		{"/_all/_search", 5},
		{"/logstash-*/_search", 4},
		{"/logstash-2024.01.02/_search", 2},
		{"/logstash-2024.01.01,other/_search", 3},
		{"/logstash-*,-logstash-2024.01.01/_search", 2},
		{"/nomatch-*/_search", 0},
		{"/nomatch-*,other/_search", 1},
		{"/nope/_search?ignore_unavailable=true", 0},
		{"/logstash-%2A/_search", 4}, // olivere escapes the star
	}
	for _, tt := range tests {
		status, m := do(t, "GET", s.URL()+tt.path, "")
		if status != 200 {
			t.Errorf("%s: status %d: %v", tt.path, status, m)
			continue
		}
		if got := len(hitIDs(t, m)); got != tt.want {
			t.Errorf("%s: %d hits, want %d", tt.path, got, tt.want)
		}
	}
	if status, m := do(t, "GET", s.URL()+"/nomatch-*/_search?allow_no_indices=false", ""); status != 404 {
		t.Errorf("allow_no_indices=false: status %d: %v", status, m)
	}
}

func TestSortAndSearchAfterPaging(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	// 40 documents over 7 distinct timestamps, across two indices, inserted
	// out of order.
	for i := 39; i >= 0; i-- {
		ts := base.Add(time.Duration(i%7) * time.Second)
		idx := "logs-a"
		if i%2 == 0 {
			idx = "logs-b"
		}
		s.Index(idx, fmt.Sprintf("id%02d", i), map[string]any{"@timestamp": ts.Format(time.RFC3339Nano), "n": i})
	}
	type key struct {
		ts int64
		id string
	}
	var keys []key
	for i := range 40 {
		keys = append(keys, key{base.Add(time.Duration(i%7) * time.Second).UnixMilli(), fmt.Sprintf("id%02d", i)})
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ts != keys[j].ts {
			return keys[i].ts < keys[j].ts
		}
		return keys[i].id < keys[j].id
	})
	for _, k := range keys {
		want = append(want, k.id)
	}

	var got []string
	var after string
	for page := 0; ; page++ {
		body := `{"size":6,"sort":[{"@timestamp":{"order":"asc"}},{"_id":{"order":"asc"}}]` + after + `}`
		status, m := do(t, "POST", s.URL()+"/logs-*/_search", body)
		if status != 200 {
			t.Fatalf("status %d: %v", status, m)
		}
		hits := m["hits"].(map[string]any)["hits"].([]any)
		if len(hits) == 0 {
			break
		}
		for _, h := range hits {
			h := h.(map[string]any)
			got = append(got, h["_id"].(string))
			sv := h["sort"].([]any)
			// Dates sort and come back as epoch milliseconds, like a real cluster.
			if _, err := sv[0].(json.Number).Int64(); err != nil {
				t.Fatalf("date sort value %v is not epoch millis", sv[0])
			}
			b, _ := json.Marshal(sv)
			after = `,"search_after":` + string(b)
		}
		if page > 20 {
			t.Fatal("paging does not end")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged order (-want +got):\n%s", diff)
	}

	// Descending on a number, with a document missing the field.
	s.Index("logs-a", "nofield", map[string]any{"@timestamp": base.Format(time.RFC3339)})
	for _, tt := range []struct {
		sort      string
		wantFirst string
		wantLast  string
	}{
		{`[{"n":"desc"}]`, "id39", "nofield"},
		{`[{"n":{"order":"asc","missing":"_first"}}]`, "nofield", "id39"},
		{`[{"n":{"order":"asc"}}]`, "id00", "nofield"},
		{`[{"n":{"order":"desc","missing":100}}]`, "nofield", "id00"},
	} {
		status, m := do(t, "POST", s.URL()+"/logs-*/_search", `{"size":100,"sort":`+tt.sort+`}`)
		if status != 200 {
			t.Fatalf("%s: status %d: %v", tt.sort, status, m)
		}
		ids := hitIDs(t, m)
		if ids[0] != tt.wantFirst || ids[len(ids)-1] != tt.wantLast {
			t.Errorf("sort %s: first %s last %s, want %s and %s", tt.sort, ids[0], ids[len(ids)-1], tt.wantFirst, tt.wantLast)
		}
	}
}

func TestTotalsSourceAndFrom(t *testing.T) {
	s := newDSLServer(t)
	_, m := do(t, "POST", s.URL()+"/_search", `{"size":1}`)
	total := m["hits"].(map[string]any)["total"].(map[string]any)
	if total["value"] != json.Number("5") || total["relation"] != "eq" {
		t.Errorf("default total: %v", total)
	}
	_, m = do(t, "POST", s.URL()+"/_search", `{"track_total_hits":false}`)
	if _, ok := m["hits"].(map[string]any)["total"]; ok {
		t.Errorf("track_total_hits false still reports total: %v", m["hits"])
	}
	_, m = do(t, "POST", s.URL()+"/_search", `{"track_total_hits":2}`)
	total = m["hits"].(map[string]any)["total"].(map[string]any)
	if total["value"] != json.Number("2") || total["relation"] != "gte" {
		t.Errorf("capped total: %v", total)
	}
	_, m = do(t, "POST", s.URL()+"/_search?rest_total_hits_as_int=true", `{}`)
	if m["hits"].(map[string]any)["total"] != json.Number("5") {
		t.Errorf("int total: %v", m["hits"])
	}

	_, m = do(t, "POST", s.URL()+"/_search", `{"query":{"ids":{"values":["a"]}},"_source":["exception","wiki"]}`)
	src := m["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["_source"]
	want := map[string]any{"wiki": "enwiki", "exception": map[string]any{"class": `Wikimedia\Rdbms\DBQueryError`}}
	if diff := cmp.Diff(want, src); diff != "" {
		t.Errorf("_source includes (-want +got):\n%s", diff)
	}
	_, m = do(t, "POST", s.URL()+"/_search", `{"query":{"ids":{"values":["c"]}},"_source":{"excludes":["labels.*","message","@timestamp","level"]}}`)
	src = m["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["_source"]
	want = map[string]any{"channel": "exception", "wiki": "enwiki", "count": json.Number("7")}
	if diff := cmp.Diff(want, src); diff != "" {
		t.Errorf("_source excludes (-want +got):\n%s", diff)
	}
	_, m = do(t, "POST", s.URL()+"/_search", `{"_source":false,"size":1}`)
	if _, ok := m["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["_source"]; ok {
		t.Error("_source false still returns _source")
	}

	_, m = do(t, "POST", s.URL()+"/_search", `{"from":3,"size":10,"sort":["_id"]}`)
	if diff := cmp.Diff([]string{"d", "e"}, hitIDs(t, m)); diff != "" {
		t.Errorf("from (-want +got):\n%s", diff)
	}
	_, m = do(t, "GET", s.URL()+"/_search?q=channel:exception&sort=_id:desc&size=2", "")
	if diff := cmp.Diff([]string{"e", "c"}, hitIDs(t, m)); diff != "" {
		t.Errorf("URL parameters (-want +got):\n%s", diff)
	}
	status, m := do(t, "POST", s.URL()+"/logstash-*/_count", `{"query":{"term":{"channel":"exception"}}}`)
	if status != 200 || m["count"] != json.Number("2") {
		t.Errorf("count: %d %v", status, m)
	}
}

func TestDocumentAPIs(t *testing.T) {
	s := New(WithFlavor(OpenSearch2))
	t.Cleanup(s.Close)
	status, m := do(t, "PUT", s.URL()+"/idx/_doc/1", `{"message":"one"}`)
	if status != 201 || m["result"] != "created" || m["_type"] != nil {
		t.Errorf("create: %d %v", status, m)
	}
	status, m = do(t, "POST", s.URL()+"/idx/_doc/1", `{"message":"uno"}`)
	if status != 200 || m["result"] != "updated" || m["_version"] != json.Number("2") {
		t.Errorf("update: %d %v", status, m)
	}
	if status, m = do(t, "PUT", s.URL()+"/idx/_create/1", `{"message":"x"}`); status != 409 {
		t.Errorf("_create on existing: %d %v", status, m)
	}
	if status, m = do(t, "PUT", s.URL()+"/Bad/_doc/1", `{}`); status != 400 || errType(m) != "invalid_index_name_exception" {
		t.Errorf("bad index name: %d %v", status, m)
	}
	if status, m = do(t, "PUT", s.URL()+"/idx/_doc/2", `[1,2]`); status != 400 || errType(m) != "mapper_parsing_exception" {
		t.Errorf("non-object document: %d %v", status, m)
	}
	status, m = do(t, "GET", s.URL()+"/idx/_doc/1", "")
	if status != 200 || m["found"] != true || m["_source"].(map[string]any)["message"] != "uno" {
		t.Errorf("get: %d %v", status, m)
	}
	bulk := `{"index":{"_index":"idx","_id":"b1"}}
{"message":"bulk one"}
{"create":{"_id":"b2"}}
{"message":"bulk two"}
{"create":{"_id":"1"}}
{"message":"conflict"}
{"index":{}}
{"message":"auto id"}
{"delete":{"_id":"b1"}}
`
	status, m = do(t, "POST", s.URL()+"/idx/_bulk", bulk)
	if status != 200 || m["errors"] != true {
		t.Fatalf("bulk: %d %v", status, m)
	}
	items := m["items"].([]any)
	if len(items) != 5 {
		t.Fatalf("bulk items: %v", items)
	}
	if st := items[2].(map[string]any)["create"].(map[string]any)["status"]; st != json.Number("409") {
		t.Errorf("bulk conflict status %v", st)
	}
	if diff := cmp.Diff([]string{"idx/1", "idx/b2", "idx/esfake-5"}, s.Keys()); diff != "" {
		t.Errorf("keys after bulk (-want +got):\n%s", diff)
	}
	if status, _ := do(t, "DELETE", s.URL()+"/idx/_doc/b2", ""); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if status, _ := do(t, "PUT", s.URL()+"/empty", ""); status != 200 {
		t.Errorf("create index: %d", status)
	}
	if status, m := do(t, "GET", s.URL()+"/empty/_search", ""); status != 200 || len(hitIDs(t, m)) != 0 {
		t.Errorf("search empty concrete index: %d %v", status, m)
	}
	if status, _ := do(t, "POST", s.URL()+"/_refresh", ""); status != 200 {
		t.Errorf("refresh: %d", status)
	}
	if status, m := do(t, "GET", s.URL()+"/_cat/indices", ""); status != 400 {
		t.Errorf("unknown endpoint: %d %v", status, m)
	}
}

func TestSourceReturnedVerbatim(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	big := strings.Repeat("x", 1<<20)
	src := []byte(`{"@timestamp":"2024-01-01T00:00:00Z","n":12345678901234567890,"message":"` + big + `"}`)
	if err := s.IndexJSON("big", "1", src); err != nil {
		t.Fatal(err)
	}
	_, m := do(t, "POST", s.URL()+"/big/_search", `{}`)
	got := m["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["_source"].(map[string]any)
	if got["n"] != json.Number("12345678901234567890") || len(got["message"].(string)) != 1<<20 {
		t.Errorf("source altered: n=%v len(message)=%d", got["n"], len(got["message"].(string)))
	}
}

func TestFlavorsWithOlivere(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		flavor  Flavor
		version string
	}{{Elasticsearch7, "7.17.18"}, {OpenSearch1, "1.3.14"}, {OpenSearch2, "2.11.1"}} {
		t.Run(tt.flavor.String(), func(t *testing.T) {
			s := New(WithFlavor(tt.flavor), WithBasicAuth("sheriff", "s3cret"))
			t.Cleanup(s.Close)
			client, err := elastic.NewClient(elastic.SetURL(s.URL()), elastic.SetSniff(false),
				elastic.SetHealthcheck(false), elastic.SetBasicAuth("sheriff", "s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := client.ElasticsearchVersion(s.URL())
			if err != nil || v != tt.version {
				t.Fatalf("version %q, %v; want %s", v, err, tt.version)
			}
			if _, code, err := client.Ping(s.URL()).HttpHeadOnly(true).Do(ctx); err != nil || code != 200 {
				t.Fatalf("HEAD ping: %d %v", code, err)
			}
			if _, err := client.Index().Index("logstash-2024.05.01").Id("x1").
				BodyJson(map[string]any{"@timestamp": "2024-05-01T00:00:01Z", "channel": "exception"}).Do(ctx); err != nil {
				t.Fatal(err)
			}
			bulk := client.Bulk()
			for i := range 9 {
				bulk.Add(elastic.NewBulkIndexRequest().Index("logstash-2024.05.01").Id(fmt.Sprintf("y%d", i)).
					Doc(map[string]any{"@timestamp": fmt.Sprintf("2024-05-01T00:00:0%dZ", i), "channel": "error"}))
			}
			if res, err := bulk.Do(ctx); err != nil || res.Errors {
				t.Fatalf("bulk: %v %+v", err, res)
			}
			var got []string
			var after []any
			for {
				src := elastic.NewSearchSource().
					Query(elastic.NewBoolQuery().Filter(
						elastic.NewRangeQuery("@timestamp").Gte(time.Date(2024, 5, 1, 0, 0, 1, 0, time.UTC).UnixMilli()).Format("epoch_millis"),
						elastic.NewTermsQuery("channel", "exception", "error"))).
					SortBy(elastic.NewFieldSort("@timestamp").Asc(), elastic.NewFieldSort("_id").Asc()).
					Size(3).TrackTotalHits(false)
				if after != nil {
					src = src.SearchAfter(after...)
				}
				res, err := client.Search("logstash-*").SearchSource(src).Do(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Hits.Hits) == 0 {
					break
				}
				for _, h := range res.Hits.Hits {
					got = append(got, h.Id)
					after = h.Sort
				}
			}
			want := []string{"x1", "y1", "y2", "y3", "y4", "y5", "y6", "y7", "y8"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("olivere paging (-want +got):\n%s", diff)
			}
			_, err = client.Search("missing-index").Do(ctx)
			if !elastic.IsNotFound(err) {
				t.Errorf("concrete missing index: %v, want 404", err)
			}
			var e *elastic.Error
			if _, err = client.Search().Query(elastic.NewRawStringQuery(`{"bogus":{}}`)).Do(ctx); !errorAs(err, &e) ||
				e.Status != 400 || e.Details == nil || e.Details.Type != "parsing_exception" {
				t.Errorf("bad query: %v", err)
			}

			bad, err := elastic.NewClient(elastic.SetURL(s.URL()), elastic.SetSniff(false),
				elastic.SetHealthcheck(false), elastic.SetBasicAuth("sheriff", "wrong"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bad.Search().Do(ctx); !elastic.IsStatusCode(err, 401) {
				t.Errorf("wrong password: %v, want 401", err)
			}
		})
	}
}

func errorAs(err error, target **elastic.Error) bool {
	e, ok := err.(*elastic.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestOutage(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []Outage{Refuse, Unavailable} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			s := New(WithOutage(mode))
			t.Cleanup(s.Close)
			s.Index("logs", "1", map[string]any{"message": "hi"})
			client, err := elastic.NewClient(elastic.SetURL(s.URL()), elastic.SetSniff(false), elastic.SetHealthcheck(false))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Search("logs").Do(ctx); err != nil {
				t.Fatal(err)
			}
			s.SetDown(true)
			before := s.Requests()
			_, err = client.Search("logs").Do(ctx)
			if err == nil {
				t.Fatal("search succeeded during outage")
			}
			if mode == Unavailable && !elastic.IsStatusCode(err, 503) {
				t.Errorf("want 503, got %v", err)
			}
			if mode == Refuse && s.Requests() != before {
				t.Errorf("a request reached the handler during a refused outage: %v", err)
			}
			s.Index("logs", "2", map[string]any{"message": "while down"})
			s.SetDown(false)
			// olivere marks the node dead after a transport error and
			// resurrects it on the next call (which fails fast); allow that.
			var res *elastic.SearchResult
			for range 2 {
				if res, err = client.Search("logs").Do(ctx); err == nil {
					break
				}
			}
			if err != nil || len(res.Hits.Hits) != 2 {
				t.Fatalf("after outage: %v %v", err, res)
			}
		})
	}
}

func TestOnSearchAndLatency(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	s.Index("logs", "1", map[string]any{"@timestamp": "2024-01-01T00:00:05Z"})
	s.OnSearch(func(n int64) {
		if n == 2 { // a late document arrives between two pages
			s.Index("logs", "late", map[string]any{"@timestamp": "2024-01-01T00:00:01Z"})
		}
	})
	_, m := do(t, "POST", s.URL()+"/logs/_search", `{}`)
	if len(hitIDs(t, m)) != 1 {
		t.Fatalf("first search: %v", m)
	}
	_, m = do(t, "POST", s.URL()+"/logs/_search", `{"sort":["@timestamp"]}`)
	if diff := cmp.Diff([]string{"late", "1"}, hitIDs(t, m)); diff != "" {
		t.Errorf("after hook (-want +got):\n%s", diff)
	}
	if s.Searches() != 2 || !strings.Contains(string(s.LastSearchBody()), "@timestamp") {
		t.Errorf("searches %d, last body %s", s.Searches(), s.LastSearchBody())
	}

	s.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("request completed despite an hour of latency")
	}
	s.SetLatency(0)
	if status, _ := do(t, "GET", s.URL()+"/", ""); status != 200 {
		t.Errorf("after latency reset: %d", status)
	}
}

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		pat, s string
		want   bool
	}{
		{"logstash-*", "logstash-2024.01.01", true},
		{"logstash-*", "logstash", false},
		{"*", "", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*b*", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
	} {
		if got := glob(tt.pat, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

func TestCloseWhileDown(t *testing.T) {
	s := New()
	s.SetDown(true)
	s.Close() // must not hang or panic
	if _, err := http.Get(s.URL() + "/"); err == nil {
		t.Error("server still answers after Close")
	}
}
