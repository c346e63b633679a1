package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/checks"
)

// PuppetSource is what the puppet endpoints read: *checks.Puppet.
type PuppetSource interface {
	Causes(ctx context.Context) ([]checks.CauseState, error)
	Hosts(ctx context.Context) ([]checks.HostState, error)
}

// The JSON of /api/puppet/* is a contract with the dashboard (see
// /work/notes/ownership.md): field names and state words do not change.
type puppetCauseJSON struct {
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Kind      string            `json:"kind"`
	State     string            `json:"state"` // open, resolved
	FirstSeen string            `json:"first_seen"`
	LastSeen  string            `json:"last_seen"`
	Task      string            `json:"task"`
	TaskURL   string            `json:"task_url"`
	Hosts     []puppetCauseHost `json:"hosts"`
}

type puppetCauseHost struct {
	Host     string `json:"host"`
	State    string `json:"state"` // failing, hidden, recovered
	Since    string `json:"since"`
	LastGood string `json:"last_good"`
}

type puppetHostJSON struct {
	Host        string   `json:"host"`
	State       string   `json:"state"` // failing, stale, healthy, disabled
	LastRun     string   `json:"last_run"`
	LastGoodRun string   `json:"last_good_run"`
	Causes      []string `json:"causes"`
}

func (s *Server) registerPuppet(mux *http.ServeMux) {
	if s.Puppet == nil {
		return
	}
	mux.HandleFunc("GET /api/puppet/causes", s.puppetCauses)
	mux.HandleFunc("GET /api/puppet/hosts", s.puppetHosts)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// puppetMatch: every word of q (case-insensitive) occurs in one of the texts.
func puppetMatch(q string, texts ...string) bool {
	all := strings.ToLower(strings.Join(texts, "\n"))
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(all, w) {
			return false
		}
	}
	return true
}

// The dashboard sends one ?state= to both endpoints: each understands the
// other's words too. Causes: open/resolved are the cause's state,
// failing/hidden/recovered a state of one of its hosts, stale/healthy/
// disabled the state of one of its hosts in /api/puppet/hosts. Hosts:
// open means failing on some cause, resolved on none.

func (s *Server) puppetCauses(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Puppet.Causes(r.Context())
	if err != nil {
		s.Log.Error("puppet causes", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read puppet causes"})
		return
	}
	q, state := r.URL.Query().Get("q"), r.URL.Query().Get("state")
	hostState := map[string]string{}
	if state == "stale" || state == "healthy" || state == "disabled" {
		hs, err := s.Puppet.Hosts(r.Context())
		if err != nil {
			s.Log.Error("puppet hosts", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read puppet hosts"})
			return
		}
		for _, h := range hs {
			hostState[h.Host] = puppetHostState(h)
		}
	}
	out := []puppetCauseJSON{}
	for _, c := range cs {
		j := puppetCauseJSON{ID: c.ID, Title: c.Title, Kind: c.Category, State: "resolved",
			FirstSeen: rfc3339(c.FirstSeen), LastSeen: rfc3339(c.LastSeen), TaskURL: c.TaskURL, Hosts: []puppetCauseHost{}}
		if c.Open {
			j.State = "open"
		}
		if c.TaskID > 0 {
			j.Task = "T" + strconv.Itoa(c.TaskID)
		}
		texts := []string{c.ID, c.Title, c.Category}
		keep := state == "" || state == j.State
		for _, m := range c.Members {
			j.Hosts = append(j.Hosts, puppetCauseHost{Host: m.Host, State: m.State, Since: rfc3339(m.Since), LastGood: rfc3339(m.LastGood)})
			texts = append(texts, m.Host)
			keep = keep || state == m.State || m.State != "recovered" && hostState[m.Host] == state
		}
		if !keep || !puppetMatch(q, texts...) {
			continue
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"causes": out})
}

func (s *Server) puppetHosts(w http.ResponseWriter, r *http.Request) {
	hs, err := s.Puppet.Hosts(r.Context())
	if err != nil {
		s.Log.Error("puppet hosts", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read puppet hosts"})
		return
	}
	q, state := r.URL.Query().Get("q"), r.URL.Query().Get("state")
	out := []puppetHostJSON{}
	for _, h := range hs {
		j := puppetHostJSON{Host: h.Host, LastRun: rfc3339(h.LastRun), LastGoodRun: rfc3339(h.LastSuccess), Causes: []string{}}
		texts := []string{h.Host, h.Note}
		for _, c := range h.Causes {
			j.Causes = append(j.Causes, c.ID)
			texts = append(texts, c.ID, c.Title)
		}
		j.State = puppetHostState(h)
		keep := state == "" || state == j.State || state == "open" && len(h.Causes) > 0 || state == "resolved" && len(h.Causes) == 0
		if !keep || !puppetMatch(q, texts...) {
			continue
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"hosts": out})
}

func puppetHostState(h checks.HostState) string {
	switch {
	case h.Disabled:
		return "disabled"
	case len(h.Causes) > 0:
		return "failing"
	case h.Stale:
		return "stale"
	}
	return "healthy"
}
