// Package esfake is an in-process fake Elasticsearch/OpenSearch for tests.
//
// It is a real HTTP server on loopback that stores documents and evaluates the
// query DSL it receives; nothing is canned, so a test passes only if the
// client sent a query that selects the right documents. It speaks enough of
// the REST API for olivere/elastic v7 and for the logstash watcher:
//
//	GET|HEAD /                          cluster info / ping (Elasticsearch 7.17, OpenSearch 1.3 or 2.11)
//	PUT|POST /{index}/_doc/{id}         index a document (POST /{index}/_doc assigns an id)
//	PUT|POST /{index}/_create/{id}      index unless it exists (409)
//	GET|HEAD|DELETE /{index}/_doc/{id}  get, test, delete one document
//	PUT|HEAD|GET|DELETE /{index}        create, test, describe, delete an index
//	POST /_bulk, POST /{index}/_bulk    index, create and delete actions
//	GET|POST /{indices}/_search         search (indices: comma list, * wildcards, -exclusions, _all)
//	GET|POST /{indices}/_count          count
//	POST /_refresh, /{indices}/_refresh no-op: documents are searchable at once
//
// Query DSL: bool (must, filter, should with minimum_should_match, must_not),
// constant_score, match_all, match_none, term, terms, ids, exists, range (gt,
// gte, lt, lte, the from/to/include_* form, format, time_zone, date math),
// match (operator "or", the default as in Elasticsearch, or "and"),
// match_phrase, wildcard, prefix and a subset of
// query_string (see querystring.go). Search bodies: query, post_filter, sort
// (several fields, asc/desc, missing, mode, _id, _doc, _score), search_after,
// from, size, track_total_hits, _source filtering. Aggregations and
// highlighting are refused rather than ignored. There is no relevance
// scoring: every hit scores 1.0, so _score order is insertion order.
//
// There are no mappings: a field's type is inferred from the values stored,
// as dynamic mapping would: JSON numbers are numeric, strings that parse as
// ISO 8601 dates are dates (they sort and range-compare as epoch
// milliseconds, and sort values come back as epoch milliseconds, as from a
// real cluster), and other strings are keywords that match queries analyse
// into lower-cased letter/digit tokens on the fly. Term queries therefore see
// the exact stored string, like a keyword field (or its .keyword sub-field,
// which the fake resolves to the field itself); on a real cluster a term
// query against an analysed text field would not, so query keyword fields. Sort values of documents
// missing the field are returned as null (a real cluster returns a sentinel
// long), and null in search_after stands for "missing".
//
// Test hooks: SetDown (refused connections or 503), SetLatency, Requests and
// Searches counters, OnSearch (runs before each search is evaluated, e.g. to
// insert a document between two pages), Index/IndexJSON/Delete to change the
// documents from Go at any time, including late documents with an old
// @timestamp.
package esfake

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Flavor is the product and version the fake presents itself as.
type Flavor int

const (
	Elasticsearch7 Flavor = iota // Elasticsearch 7.17
	OpenSearch1                  // OpenSearch 1.3
	OpenSearch2                  // OpenSearch 2.11
)

func (f Flavor) String() string {
	switch f {
	case OpenSearch1:
		return "OpenSearch 1.3.14"
	case OpenSearch2:
		return "OpenSearch 2.11.1"
	}
	return "Elasticsearch 7.17.18"
}

// hasTypes reports whether hits carry "_type": "_doc" (removed in OpenSearch 2).
func (f Flavor) hasTypes() bool { return f != OpenSearch2 }

func (f Flavor) info() map[string]any {
	v := map[string]any{
		"build_type": "tar", "build_snapshot": false,
		"minimum_wire_compatibility_version": "6.8.0", "minimum_index_compatibility_version": "6.0.0-beta1",
	}
	tagline := "The OpenSearch Project: https://opensearch.org/"
	switch f {
	case OpenSearch1:
		v["distribution"], v["number"], v["lucene_version"] = "opensearch", "1.3.14", "8.10.1"
		v["build_hash"], v["build_date"] = "ee5c5bca3d1c0d6dbb8f8a1b7a4b1d2ff5b0dd8e", "2023-12-12T21:40:56.364813Z"
	case OpenSearch2:
		v["distribution"], v["number"], v["lucene_version"] = "opensearch", "2.11.1", "9.7.0"
		v["build_hash"], v["build_date"] = "6b1986e964d440be9137eba1413015c31c5a7752", "2023-11-29T21:43:10.135035992Z"
		v["minimum_wire_compatibility_version"], v["minimum_index_compatibility_version"] = "7.10.0", "7.0.0"
	default:
		v["number"], v["lucene_version"], v["build_flavor"], v["build_type"] = "7.17.18", "8.11.1", "default", "docker"
		v["build_hash"], v["build_date"] = "8682172c2130b9a411b1bd5ff37c9792367de6b0", "2024-02-02T12:04:59.691750271Z"
		tagline = "You Know, for Search"
	}
	return map[string]any{
		"name": "esfake-node", "cluster_name": "esfake", "cluster_uuid": "Zm9vYmFyYmF6cXV4LWVzZmFrZQ",
		"version": v, "tagline": tagline,
	}
}

// Outage is how SetDown(true) makes the server unavailable.
type Outage int

const (
	// Refuse closes the listening socket and every open connection, so
	// clients get "connection refused" (or a reset on a reused connection).
	Refuse Outage = iota
	// Unavailable answers every request with 503, like a cluster without a
	// master or a load balancer with no backend.
	Unavailable
)

// Option configures a Server.
type Option func(*Server)

// WithFlavor chooses the product and version the server presents.
func WithFlavor(f Flavor) Option { return func(s *Server) { s.flavor = f } }

// WithBasicAuth requires HTTP basic authentication on every request.
func WithBasicAuth(user, password string) Option {
	return func(s *Server) { s.user, s.pass = user, password }
}

// WithClock sets the clock used for "now" in date math.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithOutage chooses what SetDown(true) does; the default is Refuse.
func WithOutage(o Outage) Option { return func(s *Server) { s.outage = o } }

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	flavor     Flavor
	user, pass string
	now        func() time.Time
	outage     Outage

	http *httptest.Server
	ln   *toggleListener

	mu      sync.RWMutex
	indices map[string]map[string]*doc
	seq     int64

	down      atomic.Bool
	latency   atomic.Int64
	requests  atomic.Int64
	searches  atomic.Int64
	hookMu    sync.Mutex
	onSearch  func(n int64)
	lastQuery atomic.Pointer[[]byte]
}

// New starts a fake on a loopback port. Close it when done (t.Cleanup).
func New(opts ...Option) *Server {
	s := &Server{now: time.Now, indices: map[string]map[string]*doc{}}
	for _, o := range opts {
		o(s)
	}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ln = &toggleListener{cur: s.http.Listener, addr: s.http.Listener.Addr(), done: make(chan struct{})}
	s.http.Listener = s.ln
	s.http.Start()
	return s
}

// URL is the base URL of the server, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.http.URL }

// Close shuts the server down.
func (s *Server) Close() { s.http.Close() }

// SetDown starts or ends a simulated outage (see WithOutage).
func (s *Server) SetDown(down bool) {
	if s.down.Swap(down) == down {
		return
	}
	if s.outage != Refuse {
		return
	}
	if down {
		s.ln.pause()
		s.http.CloseClientConnections()
		return
	}
	if err := s.ln.resume(); err != nil {
		panic(fmt.Sprintf("esfake: cannot listen again on %s after an outage: %v", s.ln.addr, err))
	}
}

// SetLatency delays every response by d (0 disables).
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Requests is the number of HTTP requests the server has received (not
// counting connections refused during an outage).
func (s *Server) Requests() int64 { return s.requests.Load() }

// Searches is the number of search requests evaluated.
func (s *Server) Searches() int64 { return s.searches.Load() }

// LastSearchBody returns the body of the most recent search request.
func (s *Server) LastSearchBody() []byte {
	if p := s.lastQuery.Load(); p != nil {
		return *p
	}
	return nil
}

// OnSearch installs fn to run before each search is evaluated, with the
// 1-based number of the search. fn may change documents or call SetDown.
// nil removes it.
func (s *Server) OnSearch(fn func(n int64)) {
	s.hookMu.Lock()
	s.onSearch = fn
	s.hookMu.Unlock()
}

// Index stores doc under index/id, replacing any previous version. It panics
// on an invalid index name or a document that cannot be encoded: test code
// errors, not conditions to handle.
func (s *Server) Index(index, id string, doc map[string]any) {
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("esfake: Index(%s, %s): %v", index, id, err))
	}
	if err := s.IndexJSON(index, id, b); err != nil {
		panic(fmt.Sprintf("esfake: Index(%s, %s): %v", index, id, err))
	}
}

// IndexJSON stores a raw JSON object under index/id; the bytes are returned
// verbatim as _source.
func (s *Server) IndexJSON(index, id string, source []byte) error {
	_, err := s.put(index, id, source, false)
	return err
}

// Delete removes a document and reports whether it existed.
func (s *Server) Delete(index, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs, ok := s.indices[index]
	if !ok {
		return false
	}
	_, ok = docs[id]
	delete(docs, id)
	return ok
}

// Keys lists every stored document as "index/id", sorted.
func (s *Server) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for name, docs := range s.indices {
		for id := range docs {
			out = append(out, name+"/"+id)
		}
	}
	sort.Strings(out)
	return out
}

// put stores a document; with create it fails if the id exists.
func (s *Server) put(index, id string, source []byte, create bool) (*doc, error) {
	if err := validIndexName(index); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(source))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, badRequest("mapper_parsing_exception", "failed to parse: document must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("mapper_parsing_exception", "failed to parse: trailing data after the document")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = fmt.Sprintf("esfake-%d", s.seq+1)
	}
	docs := s.indices[index]
	if docs == nil {
		docs = map[string]*doc{}
		s.indices[index] = docs
	}
	var version int64 = 1
	if old, ok := docs[id]; ok {
		if create {
			return nil, &esError{Status: http.StatusConflict, Type: "version_conflict_engine_exception",
				Reason: fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", id, old.version),
				Extra:  map[string]any{"index": index}}
		}
		version = old.version + 1
	}
	s.seq++
	d := &doc{index: index, id: id, source: append(json.RawMessage(nil), source...), m: m, seq: s.seq, version: version}
	docs[id] = d
	return d, nil
}

func validIndexName(name string) error {
	bad := func(why string) error {
		return &esError{Status: http.StatusBadRequest, Type: "invalid_index_name_exception",
			Reason: fmt.Sprintf("Invalid index name [%s], %s", name, why), Extra: map[string]any{"index": name}}
	}
	switch {
	case name == "":
		return bad("must not be empty")
	case strings.ToLower(name) != name:
		return bad("must be lowercase")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return bad(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return bad("must not start with '_', '-', or '+'")
	}
	return nil
}

// resolve expands an index expression to documents, as Elasticsearch does:
// concrete names must exist (unless ignore_unavailable), wildcards that match
// nothing are fine (unless allow_no_indices=false), "-pattern" excludes.
func (s *Server) resolve(expr string, params url.Values) ([]*doc, error) {
	ignoreUnavailable := params.Get("ignore_unavailable") == "true"
	allowNoIndices := params.Get("allow_no_indices") != "false"
	s.mu.RLock()
	defer s.mu.RUnlock()
	selected := map[string]bool{}
	if expr == "" || expr == "_all" {
		expr = "*"
	}
	for i, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.HasPrefix(part, "-") && i > 0 {
			pat := part[1:]
			for name := range selected {
				if glob(pat, name) {
					delete(selected, name)
				}
			}
			continue
		}
		if part == "_all" {
			part = "*"
		}
		if strings.ContainsAny(part, "*?") {
			n := 0
			for name := range s.indices {
				if glob(part, name) {
					selected[name] = true
					n++
				}
			}
			if n == 0 && !allowNoIndices {
				return nil, indexNotFound(part)
			}
			continue
		}
		if _, ok := s.indices[part]; !ok {
			if ignoreUnavailable {
				continue
			}
			return nil, indexNotFound(part)
		}
		selected[part] = true
	}
	var out []*doc
	for name := range selected {
		for _, d := range s.indices[name] {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out, nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.down.Load() {
		s.unavailable(w)
		return
	}
	if s.flavor == Elasticsearch7 {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	if s.user != "" || s.pass != "" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(s.pass)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
			reason := "missing authentication credentials for REST request [" + r.URL.Path + "]"
			if ok {
				reason = "unable to authenticate user [" + u + "] for REST request [" + r.URL.Path + "]"
			}
			writeError(w, &esError{Status: http.StatusUnauthorized, Type: "security_exception", Reason: reason})
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, badRequest("parse_exception", "reading request body: %v", err))
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	params := r.URL.Query()
	m := r.Method
	switch {
	case len(parts) == 0 && (m == http.MethodGet || m == http.MethodHead):
		writeJSON(w, http.StatusOK, s.flavor.info())
	case last(parts) == "_search" && len(parts) <= 2 && (m == http.MethodGet || m == http.MethodPost):
		s.search(w, first(parts), body, params)
	case last(parts) == "_count" && len(parts) <= 2 && (m == http.MethodGet || m == http.MethodPost):
		s.count(w, first(parts), body, params)
	case last(parts) == "_refresh" && len(parts) <= 2 && (m == http.MethodGet || m == http.MethodPost):
		if _, err := s.resolve(first(parts), params); err != nil && len(parts) == 2 {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"_shards": map[string]any{"total": 1, "successful": 1, "failed": 0}})
	case last(parts) == "_bulk" && len(parts) <= 2 && (m == http.MethodPost || m == http.MethodPut):
		s.bulk(w, first(parts), body)
	case len(parts) == 2 && parts[1] == "_doc" && m == http.MethodPost:
		s.indexDoc(w, parts[0], "", body, false)
	case len(parts) == 3 && (parts[1] == "_doc" || parts[1] == "_create") && (m == http.MethodPut || m == http.MethodPost):
		s.indexDoc(w, parts[0], parts[2], body, parts[1] == "_create" || params.Get("op_type") == "create")
	case len(parts) == 3 && parts[1] == "_doc" && (m == http.MethodGet || m == http.MethodHead || m == http.MethodDelete):
		s.docOp(w, m, parts[0], parts[2])
	case len(parts) == 1 && !strings.HasPrefix(parts[0], "_"):
		s.indexOp(w, m, parts[0])
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":  fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.RequestURI(), m),
			"status": http.StatusBadRequest})
	}
}

func first(parts []string) string {
	if len(parts) == 2 {
		return parts[0]
	}
	return ""
}

func last(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return parts[len(parts)-1]
}

// unavailable answers a request that arrived during an outage.
func (s *Server) unavailable(w http.ResponseWriter) {
	if s.outage == Refuse {
		// The request came over a connection accepted before the outage:
		// drop it, as a dead node would.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	writeError(w, &esError{Status: http.StatusServiceUnavailable, Type: "cluster_block_exception",
		Reason: "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"})
}

func (s *Server) search(w http.ResponseWriter, indexExpr string, body []byte, params url.Values) {
	n := s.searches.Add(1)
	b := append([]byte(nil), body...)
	s.lastQuery.Store(&b)
	s.hookMu.Lock()
	hook := s.onSearch
	s.hookMu.Unlock()
	if hook != nil {
		hook(n)
		if s.down.Load() {
			s.unavailable(w)
			return
		}
	}
	req, err := s.parseSearch(body, params, s.now())
	if err != nil {
		writeError(w, err)
		return
	}
	docs, err := s.resolve(indexExpr, params)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := s.execute(req, docs)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) count(w http.ResponseWriter, indexExpr string, body []byte, params url.Values) {
	req, err := s.parseSearch(body, params, s.now())
	if err != nil {
		writeError(w, err)
		return
	}
	docs, err := s.resolve(indexExpr, params)
	if err != nil {
		writeError(w, err)
		return
	}
	n := 0
	for _, d := range docs {
		if req.query(d) {
			n++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": n,
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
}

func (s *Server) docMeta(d *doc, result string) map[string]any {
	m := map[string]any{"_index": d.index, "_id": d.id, "_version": d.version, "result": result,
		"_shards": map[string]any{"total": 1, "successful": 1, "failed": 0},
		"_seq_no": d.seq - 1, "_primary_term": 1}
	if s.flavor.hasTypes() {
		m["_type"] = "_doc"
	}
	return m
}

func (s *Server) indexDoc(w http.ResponseWriter, index, id string, body []byte, create bool) {
	d, err := s.put(index, id, body, create)
	if err != nil {
		writeError(w, err)
		return
	}
	result, status := "created", http.StatusCreated
	if d.version > 1 {
		result, status = "updated", http.StatusOK
	}
	writeJSON(w, status, s.docMeta(d, result))
}

func (s *Server) docOp(w http.ResponseWriter, method, index, id string) {
	s.mu.RLock()
	docs, ok := s.indices[index]
	var d *doc
	if ok {
		d = docs[id]
	}
	s.mu.RUnlock()
	if !ok {
		writeError(w, indexNotFound(index))
		return
	}
	switch {
	case d == nil:
		m := map[string]any{"_index": index, "_id": id, "found": false}
		if method == http.MethodDelete {
			m["result"] = "not_found"
		}
		writeJSON(w, http.StatusNotFound, m)
	case method == http.MethodDelete:
		s.Delete(index, id)
		writeJSON(w, http.StatusOK, s.docMeta(d, "deleted"))
	default:
		m := map[string]any{"_index": index, "_id": id, "_version": d.version, "_seq_no": d.seq - 1,
			"_primary_term": 1, "found": true, "_source": d.source}
		if s.flavor.hasTypes() {
			m["_type"] = "_doc"
		}
		writeJSON(w, http.StatusOK, m)
	}
}

func (s *Server) indexOp(w http.ResponseWriter, method, index string) {
	if err := validIndexName(index); err != nil && method == http.MethodPut {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	_, exists := s.indices[index]
	switch method {
	case http.MethodPut:
		if !exists {
			s.indices[index] = map[string]*doc{}
		}
	case http.MethodDelete:
		delete(s.indices, index)
	}
	s.mu.Unlock()
	switch {
	case method == http.MethodPut && exists:
		writeError(w, &esError{Status: http.StatusBadRequest, Type: "resource_already_exists_exception",
			Reason: fmt.Sprintf("index [%s] already exists", index), Extra: map[string]any{"index": index}})
	case method == http.MethodPut:
		writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": index})
	case !exists:
		writeError(w, indexNotFound(index))
	case method == http.MethodDelete:
		writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
	default:
		writeJSON(w, http.StatusOK, map[string]any{index: map[string]any{
			"aliases": map[string]any{}, "mappings": map[string]any{}, "settings": map[string]any{}}})
	}
}

// bulk handles the NDJSON bulk API: index, create and delete actions.
func (s *Server) bulk(w http.ResponseWriter, defIndex string, body []byte) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 100<<20)
	var items []any
	errorsSeen := false
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || len(action) != 1 {
			writeError(w, illegalArgument("Malformed action/metadata line [%d], expected a single object naming the action", line))
			return
		}
		for op, meta := range action {
			index := meta.Index
			if index == "" {
				index = defIndex
			}
			var d *doc
			var err error
			status := http.StatusOK
			result := ""
			switch op {
			case "index", "create":
				if !sc.Scan() {
					writeError(w, illegalArgument("The bulk request must be terminated by a newline [\\n]"))
					return
				}
				line++
				d, err = s.put(index, meta.ID, append([]byte(nil), sc.Bytes()...), op == "create")
				if err == nil {
					result, status = "created", http.StatusCreated
					if d.version > 1 {
						result, status = "updated", http.StatusOK
					}
				}
			case "delete":
				if s.Delete(index, meta.ID) {
					result = "deleted"
				} else {
					result, status = "not_found", http.StatusNotFound
				}
			default:
				writeError(w, illegalArgument("Malformed action/metadata line [%d], action [%s] is not supported by esfake", line, op))
				return
			}
			item := map[string]any{"_index": index, "_id": meta.ID, "status": status}
			if err != nil {
				e, _ := err.(*esError)
				if e == nil {
					e = &esError{Status: http.StatusInternalServerError, Type: "exception", Reason: err.Error()}
				}
				item["status"] = e.Status
				item["error"] = map[string]any{"type": e.Type, "reason": e.Reason}
				errorsSeen = true
			} else {
				item["result"] = result
				if d != nil {
					item["_id"], item["_version"], item["_seq_no"] = d.id, d.version, d.seq-1
				}
			}
			if s.flavor.hasTypes() {
				item["_type"] = "_doc"
			}
			items = append(items, map[string]any{op: item})
		}
	}
	if err := sc.Err(); err != nil {
		writeError(w, illegalArgument("reading bulk body: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"took": 1, "errors": errorsSeen, "items": items})
}

// toggleListener lets the server stop accepting connections and later accept
// them again on the same address, so that clients configured with the URL
// see a real "connection refused" during an outage.
type toggleListener struct {
	addr net.Addr
	done chan struct{}

	mu     sync.Mutex
	cur    net.Listener  // nil while paused
	up     chan struct{} // closed on resume
	closed bool
}

func (l *toggleListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		cur, up := l.cur, l.up
		l.mu.Unlock()
		if cur == nil {
			select {
			case <-up:
				continue
			case <-l.done:
				return nil, net.ErrClosed
			}
		}
		c, err := cur.Accept()
		if err == nil {
			return c, nil
		}
		l.mu.Lock()
		replaced, closed := l.cur != cur, l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if !replaced {
			return nil, err
		}
	}
}

func (l *toggleListener) pause() {
	l.mu.Lock()
	cur := l.cur
	l.cur, l.up = nil, make(chan struct{})
	l.mu.Unlock()
	if cur != nil {
		cur.Close()
	}
}

func (l *toggleListener) resume() error {
	var ln net.Listener
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel has
	// not released it yet.
	for range 50 {
		if ln, err = (&net.ListenConfig{}).Listen(context.Background(), "tcp", l.addr.String()); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ln.Close()
	}
	l.cur = ln
	if l.up != nil {
		close(l.up)
	}
	return nil
}

func (l *toggleListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.done)
	if l.cur != nil {
		return l.cur.Close()
	}
	return nil
}

func (l *toggleListener) Addr() net.Addr { return l.addr }
