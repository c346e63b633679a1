package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
	"github.com/wikimedia/sheriff/internal/store"
	"github.com/wikimedia/sheriff/internal/tracker"
)

func newServer(t *testing.T) (*Server, *health.Registry) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := tracker.New(ctx, db, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	o := &tracker.Occurrences{Kind: finding.KindError, ID: "abc123", Title: "TypeError: <b>boom</b>", Sample: "boom"}
	o.Add(time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC), time.Minute, map[string]string{"wiki": "enwiki"})
	if err := db.Tx(ctx, func(tx *sql.Tx) error { _, err := tr.Record(ctx, tx, []*tracker.Occurrences{o}); return err }); err != nil {
		t.Fatal(err)
	}
	h := health.NewRegistry()
	return &Server{Tracker: tr, Health: h, Gatherer: prometheus.NewRegistry(), Version: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, h
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Result(), rec.Body.String()
}

func TestHealthzReflectsRequiredSubsystems(t *testing.T) {
	s, h := newServer(t)
	handler := s.Handler()
	h.Register("source:logstash", false)
	h.Register("irc", true)
	if resp, _ := get(t, handler, "/healthz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("starting subsystem: %d, want 503", resp.StatusCode)
	}
	h.OK("source:logstash", "fine")
	h.Fail("irc", "connection refused")
	resp, body := get(t, handler, "/healthz")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("optional IRC failing should not fail healthz: %d", resp.StatusCode)
	}
	var hr struct {
		Healthy    bool
		Subsystems []health.Status
	}
	if err := json.Unmarshal([]byte(body), &hr); err != nil || !hr.Healthy || len(hr.Subsystems) != 2 {
		t.Fatalf("body %s: %v", body, err)
	}
	h.Fail("source:logstash", "timeout")
	if resp, body := get(t, handler, "/healthz"); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "timeout") {
		t.Fatalf("failing source: %d %s", resp.StatusCode, body)
	}
}

func TestSignatureAPI(t *testing.T) {
	s, _ := newServer(t)
	handler := s.Handler()
	resp, body := get(t, handler, "/api/signatures")
	var list []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	for _, k := range []string{"id", "title", "status", "first_seen", "last_seen", "count", "task"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("signature lacks %q: %v", k, list[0])
		}
	}
	if resp, _ := get(t, handler, "/api/signatures?limit=0"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("limit=0: %d", resp.StatusCode)
	}
	if resp, body := get(t, handler, "/api/signatures/error/abc123"); resp.StatusCode != 200 || !strings.Contains(body, `"enwiki": 1`) {
		t.Errorf("detail: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, handler, "/api/signatures/error/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown: %d", resp.StatusCode)
	}
	resp, body = get(t, handler, "/")
	if resp.StatusCode != 200 || !strings.Contains(body, `src="/static/app.js"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("dashboard page: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, body := get(t, handler, "/static/app.js"); resp.StatusCode != 200 || !strings.Contains(body, "/api/signatures") {
		t.Errorf("script: %d", resp.StatusCode)
	}
}
