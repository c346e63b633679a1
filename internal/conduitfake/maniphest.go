package conduitfake

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// words splits text the way the full-text index does: runs of letters and
// digits, lower-cased.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
}

// term is one parsed full-text query term: a phrase of words, maybe negated.
type term struct {
	words  []string
	negate bool
}

// parseQuery parses Phorge's full-text syntax as far as the fake supports
// it: bare words, "quoted phrases", a leading "-" for negation. A bare term
// with a colon is a function call ("title:foo") to Phorge; the fake knows no
// functions and rejects it the way Phorge rejects unknown ones.
func parseQuery(q string) ([]term, error) {
	var out []term
	i := 0
	for i < len(q) {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n') {
			i++
		}
		if i >= len(q) {
			break
		}
		neg := false
		if q[i] == '-' {
			neg = true
			i++
		}
		if i < len(q) && q[i] == '"' {
			j := strings.IndexByte(q[i+1:], '"')
			if j < 0 {
				return nil, errCore("Query %q has an unmatched quote.", q)
			}
			ws := words(q[i+1 : i+1+j])
			if len(ws) > 0 {
				out = append(out, term{words: ws, negate: neg})
			}
			i += j + 2
			continue
		}
		j := i
		for j < len(q) && q[j] != ' ' && q[j] != '\t' && q[j] != '\n' {
			j++
		}
		tok := q[i:j]
		i = j
		if k := strings.IndexByte(tok, ':'); k >= 0 {
			return nil, errCore("Query term %q uses the function %q, which is not a valid function for this "+
				"search. To search for a term containing a colon, surround it with quotes.", tok, tok[:k+1])
		}
		if ws := words(tok); len(ws) > 0 {
			out = append(out, term{words: ws, negate: neg})
		}
	}
	return out, nil
}

func containsPhrase(corpus, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(corpus); i++ {
		ok := true
		for j, w := range phrase {
			if corpus[i+j] != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func matches(corpus []string, terms []term) bool {
	for _, t := range terms {
		if containsPhrase(corpus, t.words) == t.negate {
			return false
		}
	}
	return true
}

func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func (s *Server) taskJSON(t *Task, attachProjects bool) map[string]any {
	pr := priorities[t.Priority]
	m := map[string]any{
		"id": t.ID, "type": "TASK", "phid": t.PHID,
		"fields": map[string]any{
			"name":        t.Title,
			"description": map[string]any{"raw": t.Description},
			"authorPHID":  t.AuthorPHID,
			"ownerPHID":   nil,
			"status":      map[string]any{"value": t.Status, "name": strings.ToUpper(t.Status[:1]) + t.Status[1:], "color": nil},
			"priority":    map[string]any{"value": pr.value, "name": pr.name, "color": "orange"},
			"points":      nil, "subtype": "default", "closerPHID": nil, "spacePHID": nil,
			"dateCreated": t.Created.Unix(), "dateModified": t.Modified.Unix(), "dateClosed": epoch(t.Closed),
			"policy": map[string]any{"view": "public", "interact": "public", "edit": "users"},
		},
		"attachments": map[string]any{},
	}
	if attachProjects {
		m["attachments"] = map[string]any{"projects": map[string]any{"projectPHIDs": append([]string{}, t.Projects...)}}
	}
	return m
}

func (s *Server) maniphestSearch(p map[string]any) (any, error) {
	c, err := constraints(p, "ids", "phids", "query", "projects", "statuses", "authorPHIDs", "createdStart", "createdEnd")
	if err != nil {
		return nil, err
	}
	ids, err := intList(c["ids"], "ids")
	if err != nil {
		return nil, err
	}
	phids, err := stringList(c["phids"], "phids")
	if err != nil {
		return nil, err
	}
	projects, err := stringList(c["projects"], "projects")
	if err != nil {
		return nil, err
	}
	for i, pr := range projects {
		phid := s.projectPHID(pr)
		if phid == "" {
			return nil, errCore("Constraint \"projects\": unknown project %q.", pr)
		}
		projects[i] = phid
	}
	statuses, err := stringList(c["statuses"], "statuses")
	if err != nil {
		return nil, err
	}
	authors, err := stringList(c["authorPHIDs"], "authorPHIDs")
	if err != nil {
		return nil, err
	}
	var start, end time.Time
	if v, ok := c["createdStart"]; ok {
		n, err := toInt(v)
		if err != nil {
			return nil, errCore("Constraint \"createdStart\" must be an epoch.")
		}
		start = time.Unix(int64(n), 0)
	}
	if v, ok := c["createdEnd"]; ok {
		n, err := toInt(v)
		if err != nil {
			return nil, errCore("Constraint \"createdEnd\" must be an epoch.")
		}
		end = time.Unix(int64(n), 0)
	}
	var terms []term
	if q, ok := c["query"]; ok {
		qs, ok := q.(string)
		if !ok {
			return nil, errCore("Constraint \"query\" must be a string.")
		}
		if terms, err = parseQuery(qs); err != nil {
			return nil, err
		}
		s.runIndexer()
	}
	newest := true
	switch o, _ := p["order"].(string); o {
	case "", "newest":
	case "oldest":
		newest = false
	default:
		return nil, errCore("Order %q is not a valid order for this query.", o)
	}
	attach := false
	if a, ok := p["attachments"].(map[string]any); ok {
		attach, _ = a["projects"].(bool)
	}

	var out []*Task
	for _, t := range s.tasks {
		if len(ids) > 0 && !containsInt(ids, t.ID) {
			continue
		}
		if len(phids) > 0 && !anyIn([]string{t.PHID}, phids) {
			continue
		}
		if !allIn(t.Projects, projects) {
			continue
		}
		if len(statuses) > 0 && !anyIn([]string{t.Status}, statuses) {
			continue
		}
		if len(authors) > 0 && !anyIn([]string{t.AuthorPHID}, authors) {
			continue
		}
		if !start.IsZero() && t.Created.Unix() < start.Unix() || !end.IsZero() && t.Created.Unix() > end.Unix() {
			continue
		}
		if terms != nil && (!t.everIndex || !matches(t.indexed, terms)) {
			continue
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if newest {
			return out[i].ID > out[j].ID
		}
		return out[i].ID < out[j].ID
	})
	out, cur, err := page(p, out, func(t *Task) int { return t.ID }, newest)
	if err != nil {
		return nil, err
	}
	data := []any{}
	for _, t := range out {
		data = append(data, s.taskJSON(t, attach))
	}
	return map[string]any{"data": data, "cursor": cur, "maps": map[string]any{}, "query": map[string]any{}}, nil
}

func containsInt(a []int, x int) bool {
	for _, v := range a {
		if v == x {
			return true
		}
	}
	return false
}

// allIn: every wanted project is on the task (Phorge's projects constraint).
func allIn(have, want []string) bool {
	for _, w := range want {
		if !anyIn(have, []string{w}) {
			return false
		}
	}
	return true
}

func (s *Server) projectPHID(ref string) string {
	for _, pr := range s.projects {
		if pr.phid == ref || anyIn(pr.slugs, []string{strings.TrimPrefix(ref, "#")}) {
			return pr.phid
		}
	}
	return ""
}

func (s *Server) findTask(ref string) *Task {
	id := 0
	switch {
	case strings.HasPrefix(ref, "PHID-TASK-"):
		for _, t := range s.tasks {
			if t.PHID == ref {
				return t
			}
		}
		return nil
	case strings.HasPrefix(ref, "T"):
		id, _ = strconv.Atoi(ref[1:])
	default:
		id, _ = strconv.Atoi(ref)
	}
	if id < 1 || id > len(s.tasks) {
		return nil
	}
	return s.tasks[id-1]
}

type txn struct {
	typ   string
	value any
}

func (s *Server) maniphestEdit(p map[string]any, u user) (any, error) {
	raw, ok := p["transactions"].([]any)
	if !ok {
		return nil, errCore("Parameter \"transactions\" must be a list of transactions.")
	}
	var txs []txn
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, errCore("Transaction #%d must be a map.", i)
		}
		typ, _ := m["type"].(string)
		txs = append(txs, txn{typ, m["value"]})
	}
	var t *Task
	create := false
	if ref, ok := p["objectIdentifier"]; ok && ref != nil {
		rs := fmt.Sprint(ref)
		if f, ok := ref.(float64); ok {
			rs = strconv.Itoa(int(f))
		}
		if t = s.findTask(rs); t == nil {
			return nil, errCore("No object exists with ID %q.", rs)
		}
	} else {
		create = true
	}

	// Validate everything before changing anything: an edit applies fully
	// or not at all.
	title := ""
	if t != nil {
		title = t.Title
	}
	for i, x := range txs {
		switch x.typ {
		case "title", "description", "comment":
			v, ok := x.value.(string)
			if !ok {
				return nil, errCore("Transaction #%d (%s) value must be a string.", i, x.typ)
			}
			if x.typ == "title" {
				title = v
			}
		case "priority":
			v, _ := x.value.(string)
			if _, ok := priorities[v]; !ok {
				return nil, errCore("Transaction #%d: priority %q is not a valid priority keyword.", i, v)
			}
		case "status":
			v, _ := x.value.(string)
			if !validStatus[v] {
				return nil, errCore("Transaction #%d: status %q is not a valid status.", i, v)
			}
		case "projects.add", "projects.remove", "projects.set":
			vs, err := stringList(x.value, x.typ)
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				if s.projectPHID(v) == "" {
					return nil, errCore("Transaction #%d: project %q does not exist.", i, v)
				}
			}
		case "subscribers.add", "subscribers.remove":
			if _, err := stringList(x.value, x.typ); err != nil {
				return nil, err
			}
		default:
			return nil, errCore("Transaction type %q is unknown. Valid types are: title, description, status, "+
				"priority, projects.add, projects.remove, projects.set, subscribers.add, subscribers.remove, comment.", x.typ)
		}
	}
	if strings.TrimSpace(title) == "" {
		return nil, errCore("Validation errors:\n  - Tasks must have a title.")
	}

	now := s.now()
	if create {
		t = &Task{ID: len(s.tasks) + 1, PHID: s.phid("TASK"), Status: "open", Priority: "triage",
			AuthorPHID: u.phid, Created: now, Modified: now}
		s.tasks = append(s.tasks, t)
		s.xact(t, "create", u.phid, "")
	}
	var xphids []any
	for _, x := range txs {
		var xa *xaction
		switch x.typ {
		case "title":
			t.Title = x.value.(string)
			xa = s.xact(t, "title", u.phid, "")
		case "description":
			t.Description = x.value.(string)
			xa = s.xact(t, "description", u.phid, "")
		case "comment":
			t.Comments = append(t.Comments, Comment{AuthorPHID: u.phid, Text: x.value.(string), Created: now})
			xa = s.xact(t, "comment", u.phid, x.value.(string))
		case "priority":
			t.Priority = x.value.(string)
			xa = s.xact(t, "priority", u.phid, "")
		case "status":
			v := x.value.(string)
			if t.Status != v {
				t.Status = v
				if closedStatus[v] {
					t.Closed = now
				} else {
					t.Closed = time.Time{}
				}
			}
			xa = s.xact(t, "status", u.phid, "")
		case "projects.add", "projects.set":
			vs, _ := stringList(x.value, x.typ)
			if x.typ == "projects.set" {
				t.Projects = nil
			}
			for _, v := range vs {
				if ph := s.projectPHID(v); !anyIn(t.Projects, []string{ph}) {
					t.Projects = append(t.Projects, ph)
				}
			}
			xa = s.xact(t, "projects", u.phid, "")
		case "projects.remove":
			vs, _ := stringList(x.value, x.typ)
			var keep []string
			for _, ph := range t.Projects {
				if !anyIn(vs, []string{ph}) {
					keep = append(keep, ph)
				}
			}
			t.Projects = keep
			xa = s.xact(t, "projects", u.phid, "")
		case "subscribers.add":
			vs, _ := stringList(x.value, x.typ)
			t.Subscribers = append(t.Subscribers, vs...)
			xa = s.xact(t, "subscribers", u.phid, "")
		case "subscribers.remove":
			xa = s.xact(t, "subscribers", u.phid, "")
		}
		xphids = append(xphids, map[string]any{"phid": xa.phid})
	}
	s.touch(t)
	return map[string]any{"object": map[string]any{"id": t.ID, "phid": t.PHID}, "transactions": xphids}, nil
}

func (s *Server) transactionSearch(p map[string]any) (any, error) {
	ref, ok := p["objectIdentifier"]
	if !ok || ref == nil {
		return nil, errCore("When calling \"transaction.search\", you must provide an object to retrieve transactions for.")
	}
	rs := fmt.Sprint(ref)
	if f, ok := ref.(float64); ok {
		rs = strconv.Itoa(int(f))
	}
	t := s.findTask(rs)
	if t == nil {
		return nil, errCore("No object %q exists.", rs)
	}
	c, err := constraints(p, "phids", "authorPHIDs")
	if err != nil {
		return nil, err
	}
	authors, err := stringList(c["authorPHIDs"], "authorPHIDs")
	if err != nil {
		return nil, err
	}
	phids, err := stringList(c["phids"], "phids")
	if err != nil {
		return nil, err
	}
	var out []*xaction
	for i := len(s.xactions) - 1; i >= 0; i-- {
		x := s.xactions[i]
		if x.object != t.PHID {
			continue
		}
		if len(authors) > 0 && !anyIn([]string{x.author}, authors) || len(phids) > 0 && !anyIn([]string{x.phid}, phids) {
			continue
		}
		out = append(out, x)
	}
	out, cur, err := page(p, out, func(x *xaction) int { return x.id }, true)
	if err != nil {
		return nil, err
	}
	data := []any{}
	for _, x := range out {
		var typ any = x.typ
		if x.typ == "create" || x.typ == "subscribers" {
			typ = nil // types Conduit does not name
		}
		d := map[string]any{"id": x.id, "phid": x.phid, "type": typ, "authorPHID": x.author, "objectPHID": x.object,
			"dateCreated": x.created.Unix(), "dateModified": x.created.Unix(), "groupID": "", "comments": []any{},
			"fields": map[string]any{}}
		if x.typ == "comment" {
			d["comments"] = []any{map[string]any{"id": x.id, "phid": "PHID-XCMT-" + x.phid[len("PHID-XACT-TASK-"):],
				"version": 1, "authorPHID": x.author, "dateCreated": x.created.Unix(), "dateModified": x.created.Unix(),
				"removed": false, "content": map[string]any{"raw": x.comment}}}
		}
		data = append(data, d)
	}
	return map[string]any{"data": data, "cursor": cur}, nil
}
