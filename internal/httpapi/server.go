// Package httpapi serves sheriff's HTTP endpoints: health, metrics, the
// JSON API behind the dashboard, drift reports and the dashboard itself
// (internal/web's embedded page, which reads only the JSON API).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/silence"
	"github.com/wikimedia/sheriff/internal/tracker"
	"github.com/wikimedia/sheriff/internal/web"
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
	// Optional parts; nil hides what they would show.
	Silences *silence.Store
	Spikes   SpikeSource
	Drift    DriftSource
	Rota     Duty
	IRC      IRC
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/signatures", s.signatures)
	mux.HandleFunc("GET /api/signatures/{kind}/{id}", s.signature)
	s.registerPuppet(mux)
	mux.HandleFunc("GET /api/facets", s.facets)
	mux.HandleFunc("GET /api/duty", s.duty)
	mux.HandleFunc("GET /api/drift", s.drift)
	if s.ReportsDir != "" {
		mux.Handle("GET /reports/", http.StripPrefix("/reports/", http.FileServer(http.Dir(s.ReportsDir))))
	}
	assets := web.Handler(s.Version)
	mux.Handle("GET /{$}", assets)
	mux.Handle("GET /static/", assets)
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
	TaskURL   string                   `json:"task_url,omitempty"` // web links only
	DryRun    bool                     `json:"dry_run,omitempty"`  // the task is in the dry-run outbox
	Severity  string                   `json:"severity,omitempty"`
	Template  string                   `json:"template,omitempty"`
	Sample    string                   `json:"sample,omitempty"`
	Facets    map[string]finding.Facet `json:"facets,omitempty"`
}

func toAPI(sig tracker.Signature) apiSignature {
	return apiSignature{ID: sig.ID, Kind: sig.Kind, Title: sig.Title, Status: sig.Status, FirstSeen: sig.FirstSeen,
		LastSeen: sig.LastSeen, Count: sig.Count, Task: sig.Task, TaskURL: webLink(sig.TaskURL), Severity: sig.Severity,
		Template: sig.Template, Sample: sig.Sample, Facets: sig.Facets, DryRun: sig.Task != "" && webLink(sig.TaskURL) == ""}
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
