// Package httpapi serves sheriff's HTTP endpoints: health, metrics, the
// signature API, drift reports and a plain status page.
package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/tracker"
)

// Server holds what the handlers read.
type Server struct {
	Tracker    *tracker.Tracker
	Health     *health.Registry
	Gatherer   prometheus.Gatherer
	ReportsDir string // drift reports served under /reports/, "" to disable
	Version    string
	Log        *slog.Logger
	Now        func() time.Time
	Puppet     PuppetSource // nil without the puppet check; serves /api/puppet/*
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/signatures", s.signatures)
	mux.HandleFunc("GET /api/signatures/{kind}/{id}", s.signature)
	s.registerPuppet(mux)
	if s.ReportsDir != "" {
		mux.Handle("GET /reports/", http.StripPrefix("/reports/", http.FileServer(http.Dir(s.ReportsDir))))
	}
	mux.HandleFunc("GET /{$}", s.index)
	return mux
}

// ServeListener serves on ln until ctx is done, then shuts down gracefully.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdown)
		<-errc
		return err
	}
}

type healthResponse struct {
	Healthy    bool            `json:"healthy"`
	Version    string          `json:"version"`
	Subsystems []health.Status `json:"subsystems"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	resp := healthResponse{Healthy: s.Health.Healthy(), Version: s.Version, Subsystems: s.Health.Snapshot()}
	code := http.StatusOK
	if !resp.Healthy {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, resp)
}

// apiSignature is the public shape of a signature in /api/signatures.
type apiSignature struct {
	ID        string                   `json:"id"`
	Kind      finding.Kind             `json:"kind"`
	Title     string                   `json:"title"`
	Status    finding.Status           `json:"status"`
	FirstSeen time.Time                `json:"first_seen"`
	LastSeen  time.Time                `json:"last_seen"`
	Count     int64                    `json:"count"`
	Task      string                   `json:"task"`
	TaskURL   string                   `json:"task_url,omitempty"`
	Severity  string                   `json:"severity,omitempty"`
	Template  string                   `json:"template,omitempty"`
	Sample    string                   `json:"sample,omitempty"`
	Facets    map[string]finding.Facet `json:"facets,omitempty"`
}

func toAPI(sig tracker.Signature) apiSignature {
	return apiSignature{ID: sig.ID, Kind: sig.Kind, Title: sig.Title, Status: sig.Status, FirstSeen: sig.FirstSeen,
		LastSeen: sig.LastSeen, Count: sig.Count, Task: sig.Task, TaskURL: sig.TaskURL, Severity: sig.Severity,
		Template: sig.Template, Sample: sig.Sample, Facets: sig.Facets}
}

func (s *Server) signatures(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := tracker.ListOptions{Kind: finding.Kind(q.Get("kind")), Status: finding.Status(q.Get("status")), OrderBy: q.Get("order"), Limit: 1000}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want 1 to 10000"})
			return
		}
		opts.Limit = n
	}
	sigs, err := s.Tracker.List(r.Context(), opts)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]apiSignature, 0, len(sigs))
	for _, sig := range sigs {
		a := toAPI(sig)
		a.Sample, a.Template = "", ""
		out = append(out, a)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) signature(w http.ResponseWriter, r *http.Request) {
	sig, err := s.Tracker.Get(r.Context(), finding.Kind(r.PathValue("kind")), r.PathValue("id"))
	if errors.Is(err, sql.ErrNoRows) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such signature"})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPI(sig))
}

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"ago": func(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sheriff</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
.ok{color:#14866d}.failing{color:#d33}.starting,.disabled{color:#72777d}</style></head>
<body><h1>sheriff {{.Version}}</h1>
<p>{{if .Healthy}}<strong class="ok">Healthy</strong>{{else}}<strong class="failing">Unhealthy</strong>{{end}} ·
{{.Stats.Signatures}} signatures ({{range $k, $v := .Stats.ByStatus}}{{$v}} {{$k}} {{end}}) · backlog {{.Stats.Backlog}} ·
<a href="/healthz">healthz</a> · <a href="/metrics">metrics</a> · <a href="/api/signatures">API</a>{{if .Reports}} · <a href="/reports/">drift reports</a>{{end}}</p>
<h2>Subsystems</h2>
<table><tr><th>subsystem</th><th>state</th><th>since</th><th>detail</th></tr>
{{range .Subsystems}}<tr><td>{{.Name}}</td><td class="{{.State}}">{{.State}}</td><td>{{ago $.Now .Since}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
<h2>Recent signatures</h2>
<table><tr><th>id</th><th>title</th><th>status</th><th>count</th><th>last seen</th><th>task</th></tr>
{{range .Recent}}<tr><td><code>{{.ID}}</code></td><td>{{.Title}}</td><td>{{.Status}}</td><td>{{.Count}}</td><td>{{.LastSeen.Format "2006-01-02 15:04:05Z07:00"}}</td><td>{{if .TaskURL}}<a href="{{.TaskURL}}">{{if .Task}}{{.Task}}{{else}}outbox{{end}}</a>{{else}}{{.Task}}{{end}}</td></tr>
{{end}}</table></body></html>
`))

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	st, err := s.Tracker.Stats(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	recent, err := s.Tracker.List(r.Context(), tracker.ListOptions{Limit: 50})
	if err != nil {
		s.fail(w, err)
		return
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err = indexTmpl.Execute(w, map[string]any{
		"Version": s.Version, "Healthy": s.Health.Healthy(), "Stats": st, "Subsystems": s.Health.Snapshot(),
		"Recent": recent, "Now": now, "Reports": s.ReportsDir != "",
	})
	if err != nil {
		s.Log.Warn("render status page", "err", err)
	}
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.Log.Error("http handler", "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
