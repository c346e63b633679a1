// Package conduitfake is an in-process fake of the Conduit API of Phorge /
// Phabricator, for tests. It keeps real state (users, projects, tasks,
// transactions) and implements, with the server's semantics, what sheriff
// uses: user.whoami, project.search, maniphest.search, maniphest.edit and
// transaction.search.
//
// Like the real server it accepts only form-encoded requests ("params" as
// JSON, or the token as "api.token"), answers errors as HTTP 200 with
// error_code/error_info, and indexes tasks for full-text search
// asynchronously: a task or a change becomes searchable IndexDelay after the
// write, and never while the daemons are down. Full-text matching is
// whole-word over title, description and comments, with quoted phrases and
// "-" negation; an unquoted term containing a colon is parsed as a function
// and rejected, as Phorge does for unknown functions.
//
// Faults can be injected per method: 5xx and 429 answers with plain-text
// bodies, error_code answers, and a hang or a dropped connection after the
// write was applied (the client sees a timeout although the task exists).
// Hooks run before and after each call is applied, which the crash tests use
// to kill a client at exact points.
package conduitfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind says how a faulty call fails.
type FaultKind int

const (
	// FaultStatus answers with Status (default 500) and a plain-text body,
	// without applying the call (unless After).
	FaultStatus FaultKind = iota
	// FaultRateLimit answers 429 with a plain-text body and Retry-After: 0.
	FaultRateLimit
	// FaultErrorCode answers HTTP 200 with error_code Code and error_info Info.
	FaultErrorCode
	// FaultHang applies the call, then never answers (until the client
	// gives up or the server closes).
	FaultHang
	// FaultDrop applies the call, then closes the connection without an
	// answer.
	FaultDrop
)

// Fault is an injected failure for the next Times calls of Method ("" = any).
type Fault struct {
	Method string
	Kind   FaultKind
	Status int    // FaultStatus
	Code   string // FaultErrorCode
	Info   string // FaultErrorCode
	Times  int    // default 1
	// After applies the call before failing (FaultStatus): the client sees
	// an error although the write happened.
	After bool
}

// Call describes one request, for hooks.
type Call struct {
	Seq    int // 1-based number of the call since the server started
	Method string
	Write  bool
}

// Comment is a comment on a task.
type Comment struct {
	AuthorPHID string
	Text       string
	Created    time.Time
}

// Task is a stored task.
type Task struct {
	ID          int
	PHID        string
	Title       string
	Description string
	Status      string
	Priority    string
	AuthorPHID  string
	Projects    []string
	Subscribers []string
	Created     time.Time
	Modified    time.Time
	Closed      time.Time
	Comments    []Comment

	indexed   []string // words of the corpus at the last indexing
	indexDue  time.Time
	dirty     bool
	everIndex bool
}

type user struct{ phid, name string }

type project struct {
	id    int
	phid  string
	name  string
	slugs []string
}

type xaction struct {
	id      int
	phid    string
	typ     string
	author  string
	object  string
	created time.Time
	comment string
}

// Options configure a Server.
type Options struct {
	// IndexDelay is how long after a write the search index reflects it.
	IndexDelay time.Duration
	// Now is the server's clock; default time.Now.
	Now func() time.Time
}

// Server is the fake. Create it with New; Close it when done.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	now         func() time.Time
	indexDelay  time.Duration
	daemonsDown bool
	users       map[string]user // by token
	projects    []*project
	tasks       []*Task
	xactions    []*xaction
	faults      []Fault
	seq         int
	calls       map[string]int
	nextPHID    int
	before      func(Call) bool
	after       func(Call)

	idle     *sync.Cond
	inflight int
	closeCh  chan struct{}
}

// New starts a fake server on loopback.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{now: o.Now, indexDelay: o.IndexDelay, users: map[string]user{}, calls: map[string]int{}}
	s.idle = sync.NewCond(&s.mu)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) phid(kind string) string {
	s.nextPHID++
	return fmt.Sprintf("PHID-%s-%020d", kind, s.nextPHID)
}

// AddUser registers a user with an API token and returns its PHID.
func (s *Server) AddUser(name, token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phid("USER")
	s.users[token] = user{phid: p, name: name}
	return p
}

// AddProject creates a project; slugs are its hashtags (the first is the
// primary one; default derived from the name). It returns the PHID.
func (s *Server) AddProject(name string, slugs ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(slugs) == 0 {
		slugs = []string{strings.ToLower(strings.Join(strings.Fields(name), "_"))}
	}
	p := &project{id: len(s.projects) + 1, phid: s.phid("PROJ"), name: name, slugs: slugs}
	s.projects = append(s.projects, p)
	return p.phid
}

// SetIndexDelay changes the indexing delay for later writes.
func (s *Server) SetIndexDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexDelay = d
}

// SetDaemonsDown stops (true) or restarts indexing.
func (s *Server) SetDaemonsDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daemonsDown = down
}

// IndexNow lets the daemons catch up immediately (unless they are down).
func (s *Server) IndexNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.daemonsDown {
		return
	}
	for _, t := range s.tasks {
		if t.dirty {
			s.index(t)
		}
	}
}

// InjectFault queues a fault.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// ClearFaults drops pending faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetHooks installs functions run before a call is applied and after it was
// applied but before the answer is written. They run outside the lock, on
// the request goroutine. When before returns false the call is dropped: not
// applied, and the connection is closed without an answer (the request was
// lost on the way).
func (s *Server) SetHooks(before func(Call) bool, after func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before, s.after = before, after
}

// Calls returns how many calls of method were received ("" = all).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "" {
		return s.seq
	}
	return s.calls[method]
}

// WaitIdle blocks until no request is being handled.
func (s *Server) WaitIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
}

func copyTask(t *Task) Task {
	c := *t
	c.Projects = append([]string(nil), t.Projects...)
	c.Subscribers = append([]string(nil), t.Subscribers...)
	c.Comments = append([]Comment(nil), t.Comments...)
	c.indexed = nil
	return c
}

// Tasks returns a snapshot of all tasks, by id.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Task, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = copyTask(t)
	}
	return out
}

// Task returns one task.
func (s *Server) Task(id int) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > len(s.tasks) {
		return Task{}, false
	}
	return copyTask(s.tasks[id-1]), true
}

// SetStatus changes a task's status as a person would (author "" = a
// built-in human).
func (s *Server) SetStatus(id int, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > len(s.tasks) {
		return fmt.Errorf("no task %d", id)
	}
	if !validStatus[status] {
		return fmt.Errorf("bad status %q", status)
	}
	t := s.tasks[id-1]
	s.setStatus(t, status, "PHID-USER-human")
	return nil
}

// AddComment comments on a task as authorPHID.
func (s *Server) AddComment(id int, authorPHID, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > len(s.tasks) {
		return fmt.Errorf("no task %d", id)
	}
	t := s.tasks[id-1]
	s.comment(t, authorPHID, text)
	return nil
}

var validStatus = map[string]bool{"open": true, "resolved": true, "declined": true, "invalid": true,
	"stalled": true, "progress": true, "duplicate": true}

var closedStatus = map[string]bool{"resolved": true, "declined": true, "invalid": true, "duplicate": true}

var priorities = map[string]struct {
	value int
	name  string
}{
	"unbreak": {100, "Unbreak Now!"}, "triage": {90, "Needs Triage"}, "high": {80, "High"},
	"normal": {50, "Medium"}, "low": {25, "Low"}, "lowest": {10, "Lowest"},
}

func (s *Server) touch(t *Task) {
	t.Modified = s.now()
	t.dirty = true
	t.indexDue = s.now().Add(s.indexDelay)
}

func (s *Server) index(t *Task) {
	var b strings.Builder
	b.WriteString(t.Title + "\n" + t.Description)
	for _, c := range t.Comments {
		b.WriteString("\n" + c.Text)
	}
	t.indexed = words(b.String())
	t.dirty = false
	t.everIndex = true
}

// runIndexer indexes what is due; called with the lock held before searches.
func (s *Server) runIndexer() {
	if s.daemonsDown {
		return
	}
	now := s.now()
	for _, t := range s.tasks {
		if t.dirty && !now.Before(t.indexDue) {
			s.index(t)
		}
	}
}

func (s *Server) xact(t *Task, typ, author, comment string) *xaction {
	x := &xaction{id: len(s.xactions) + 1, phid: s.phid("XACT-TASK"), typ: typ, author: author, object: t.PHID,
		created: s.now(), comment: comment}
	s.xactions = append(s.xactions, x)
	return x
}

func (s *Server) setStatus(t *Task, status, author string) {
	if t.Status == status {
		return
	}
	t.Status = status
	if closedStatus[status] {
		t.Closed = s.now()
	} else {
		t.Closed = time.Time{}
	}
	s.xact(t, "status", author, "")
	s.touch(t)
}

func (s *Server) comment(t *Task, author, text string) *xaction {
	t.Comments = append(t.Comments, Comment{AuthorPHID: author, Text: text, Created: s.now()})
	s.touch(t)
	return s.xact(t, "comment", author, text)
}

// ---- HTTP ----

type conduitError struct{ code, info string }

func (e *conduitError) Error() string { return e.code + ": " + e.info }

func errCore(format string, a ...any) error {
	return &conduitError{"ERR-CONDUIT-CORE", fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, result any, err error) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"result": result, "error_code": nil, "error_info": nil}
	var ce *conduitError
	if errors.As(err, &ce) {
		body = map[string]any{"result": nil, "error_code": ce.code, "error_info": ce.info}
	} else if err != nil {
		body = map[string]any{"result": nil, "error_code": "ERR-CONDUIT-CORE", "error_info": err.Error()}
	}
	json.NewEncoder(w).Encode(body)
}

var writeMethods = map[string]bool{"maniphest.edit": true}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inflight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		if s.inflight == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()

	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, nil, errCore("Conduit does not support JSON-encoded request bodies; send form-encoded parameters."))
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	params := map[string]any{}
	if pj := r.PostForm.Get("params"); pj != "" {
		if err := json.Unmarshal([]byte(pj), &params); err != nil {
			writeJSON(w, nil, errCore("Invalid parameter information was passed to method %q: %v", method, err))
			return
		}
	} else {
		for k, vs := range r.PostForm {
			if k != "api.token" && k != "output" && len(vs) > 0 {
				params[k] = vs[0]
			}
		}
	}
	token := r.PostForm.Get("api.token")
	if meta, ok := params["__conduit__"].(map[string]any); ok {
		if t, ok := meta["token"].(string); ok && token == "" {
			token = t
		}
	}
	delete(params, "__conduit__")

	s.mu.Lock()
	s.seq++
	call := Call{Seq: s.seq, Method: method, Write: writeMethods[method]}
	s.calls[method]++
	var fault *Fault
	for i := range s.faults {
		if f := &s.faults[i]; f.Method == "" || f.Method == method {
			ff := *f
			fault = &ff
			if f.Times--; f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			break
		}
	}
	before, after := s.before, s.after
	s.mu.Unlock()

	if before != nil && !before(call) {
		drop(w)
		return
	}
	if fault != nil && !fault.After {
		switch fault.Kind {
		case FaultStatus:
			st := fault.Status
			if st == 0 {
				st = http.StatusInternalServerError
			}
			http.Error(w, http.StatusText(st)+": the server is having a bad day", st)
			return
		case FaultRateLimit:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "Too Many Requests: slow down", http.StatusTooManyRequests)
			return
		case FaultErrorCode:
			writeJSON(w, nil, &conduitError{fault.Code, fault.Info})
			return
		}
	}

	s.mu.Lock()
	u, ok := s.users[token]
	var result any
	var err error
	switch {
	case token == "":
		err = &conduitError{"ERR-INVALID-SESSION", "Session key is not present."}
	case !ok:
		err = &conduitError{"ERR-INVALID-AUTH", "API token does not exist."}
	default:
		result, err = s.dispatch(method, params, u)
	}
	s.mu.Unlock()

	if after != nil {
		after(call)
	}
	if fault != nil {
		switch fault.Kind {
		case FaultHang:
			select {
			case <-r.Context().Done():
			case <-s.closing():
			}
			return
		case FaultDrop:
			drop(w)
			return
		case FaultStatus:
			if fault.After {
				st := fault.Status
				if st == 0 {
					st = http.StatusBadGateway
				}
				http.Error(w, http.StatusText(st), st)
				return
			}
		}
	}
	writeJSON(w, result, err)
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// closing returns a channel closed when the server shuts down; hung handlers
// must return or httptest.Server.Close blocks forever.
func (s *Server) closing() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeCh == nil {
		s.closeCh = make(chan struct{})
	}
	return s.closeCh
}

// Close stops the server, releasing hung requests.
func (s *Server) Close() {
	s.closing()
	s.mu.Lock()
	select {
	case <-s.closeCh:
	default:
		close(s.closeCh)
	}
	s.mu.Unlock()
	s.Server.CloseClientConnections()
	s.Server.Close()
}

func (s *Server) dispatch(method string, p map[string]any, u user) (any, error) {
	switch method {
	case "user.whoami":
		return map[string]any{"phid": u.phid, "userName": u.name, "realName": u.name}, nil
	case "project.search":
		return s.projectSearch(p)
	case "maniphest.search":
		return s.maniphestSearch(p)
	case "maniphest.edit":
		return s.maniphestEdit(p, u)
	case "transaction.search":
		return s.transactionSearch(p)
	}
	return nil, &conduitError{"ERR-CONDUIT-CALL", fmt.Sprintf("Conduit API method %q does not exist.", method)}
}

// ---- parameter helpers ----

func constraints(p map[string]any, allowed ...string) (map[string]any, error) {
	c := map[string]any{}
	if v, ok := p["constraints"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			// PHP encodes an empty array as [].
			if a, isArr := v.([]any); !isArr || len(a) > 0 {
				return nil, errCore("Parameter \"constraints\" must be a map.")
			}
			m = map[string]any{}
		}
		c = m
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for k := range c {
		if !ok[k] {
			return nil, errCore("This query does not support constraint %q.", k)
		}
	}
	return c, nil
}

func stringList(v any, name string) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, errCore("Constraint %q must be a list of strings.", name)
	}
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, ok := x.(string)
		if !ok {
			return nil, errCore("Constraint %q must be a list of strings.", name)
		}
		out = append(out, s)
	}
	return out, nil
}

func intList(v any, name string) ([]int, error) {
	if v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, errCore("Constraint %q must be a list of integers.", name)
	}
	out := make([]int, 0, len(a))
	for _, x := range a {
		n, err := toInt(x)
		if err != nil {
			return nil, errCore("Constraint %q must be a list of integers.", name)
		}
		out = append(out, n)
	}
	return out, nil
}

func toInt(x any) (int, error) {
	switch v := x.(type) {
	case float64:
		return int(v), nil
	case string:
		return strconv.Atoi(v)
	}
	return 0, fmt.Errorf("not a number: %v", x)
}

// page applies limit/after over items sorted in result order; cursors are
// ids.
func page[T any](p map[string]any, items []T, id func(T) int, newestFirst bool) ([]T, map[string]any, error) {
	limit := 100
	if v, ok := p["limit"]; ok && v != nil {
		n, err := toInt(v)
		if err != nil || n < 1 {
			return nil, nil, errCore("Parameter \"limit\" must be a positive integer.")
		}
		if n > 100 {
			return nil, nil, errCore("Maximum page size for Conduit API method calls is 100, but this call specified %d.", n)
		}
		limit = n
	}
	if v, ok := p["after"]; ok && v != nil && v != "" {
		after, err := toInt(v)
		if err != nil {
			return nil, nil, errCore("Parameter \"after\" is not a valid cursor.")
		}
		var rest []T
		for _, it := range items {
			if newestFirst && id(it) < after || !newestFirst && id(it) > after {
				rest = append(rest, it)
			}
		}
		items = rest
	}
	var next any
	if len(items) > limit {
		items = items[:limit]
		next = strconv.Itoa(id(items[limit-1]))
	}
	return items, map[string]any{"limit": limit, "after": next, "before": nil, "order": nil}, nil
}

// ---- project.search ----

func (s *Server) projectSearch(p map[string]any) (any, error) {
	c, err := constraints(p, "slugs", "name", "phids", "ids", "query")
	if err != nil {
		return nil, err
	}
	slugs, err := stringList(c["slugs"], "slugs")
	if err != nil {
		return nil, err
	}
	phids, err := stringList(c["phids"], "phids")
	if err != nil {
		return nil, err
	}
	name, _ := c["name"].(string)
	var out []*project
	for _, pr := range s.projects {
		if len(slugs) > 0 && !anyIn(pr.slugs, slugs) {
			continue
		}
		if len(phids) > 0 && !anyIn([]string{pr.phid}, phids) {
			continue
		}
		if name != "" && !nameMatches(pr.name, name) {
			continue
		}
		out = append(out, pr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id > out[j].id })
	out, cur, err := page(p, out, func(pr *project) int { return pr.id }, true)
	if err != nil {
		return nil, err
	}
	data := []any{}
	for _, pr := range out {
		data = append(data, map[string]any{"id": pr.id, "type": "PROJ", "phid": pr.phid,
			"fields": map[string]any{"name": pr.name, "slug": pr.slugs[0]}})
	}
	return map[string]any{"data": data, "cursor": cur, "maps": map[string]any{}, "query": map[string]any{}}, nil
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// nameMatches is Phorge's name constraint: every query token is a prefix of
// some token of the name.
func nameMatches(name, q string) bool {
	nw := words(name)
	for _, qw := range words(q) {
		found := false
		for _, w := range nw {
			if strings.HasPrefix(w, qw) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
