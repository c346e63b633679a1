package httpapi

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/checks"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/store"
)

// puppetFixture reads a real agent log fixture as host's events, moved to start.
func puppetFixture(t *testing.T, name, host string, start time.Time) []event.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("../../checks/testdata/puppet", name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event.Event
	var t0 time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ts, rest, _ := strings.Cut(sc.Text(), " ")
		level, msg, _ := strings.Cut(rest, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatal(err)
		}
		if t0.IsZero() {
			t0 = at
		}
		evs = append(evs, event.Event{Timestamp: start.Add(at.Sub(t0)), Host: host, Program: "puppet-agent", Level: level, Message: msg})
	}
	return evs
}

// TestPuppetAPI: the endpoints serve the contract agreed with the dashboard,
// with hidden hosts, states and filters.
func TestPuppetAPI(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := checks.NewPuppet(ctx, db, checks.PuppetOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := "deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud", "deployment-jobrunner04.deployment-prep.eqiad1.wikimedia.cloud"
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		fx, host string
		at       time.Duration
	}{{"agent_catalog_error", a, 0}, {"agent_success", b, time.Minute}, {"agent_missing_hiera", a, 30 * time.Minute}} {
		evs := puppetFixture(t, step.fx, step.host, t0.Add(step.at))
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return p.Observe(ctx, tx, evs, time.Now()) }); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer((&Server{Puppet: p, Log: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	get := func(path string, v any) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
	}
	var causes struct {
		Causes []puppetCauseJSON `json:"causes"`
	}
	get("/api/puppet/causes", &causes)
	states := map[string]string{}
	for _, c := range causes.Causes {
		if c.State != "open" || len(c.Hosts) != 1 || c.Hosts[0].Host != a || c.Hosts[0].Since == "" {
			t.Errorf("cause %+v", c)
		}
		states[c.Title] = c.Hosts[0].State
	}
	want := map[string]string{
		"Puppet: could not find class profile::does_not_exist":        "hidden",
		"Puppet: missing hiera key profile::mediawiki::php::fpm_port": "failing",
	}
	if len(states) != len(want) {
		t.Errorf("causes %v, want %v", states, want)
	}
	for title, st := range want {
		if states[title] != st {
			t.Errorf("%s on A: %q, want %q", title, states[title], st)
		}
	}
	get("/api/puppet/causes?q=hiera", &causes)
	if len(causes.Causes) != 1 || causes.Causes[0].Kind != "hiera" {
		t.Errorf("?q=hiera: %+v", causes.Causes)
	}
	get("/api/puppet/causes?state=resolved", &causes)
	if len(causes.Causes) != 0 {
		t.Errorf("?state=resolved: %+v", causes.Causes)
	}

	var hosts struct {
		Hosts []puppetHostJSON `json:"hosts"`
	}
	get("/api/puppet/hosts", &hosts)
	if len(hosts.Hosts) != 2 {
		t.Fatalf("hosts: %+v", hosts.Hosts)
	}
	for _, h := range hosts.Hosts {
		switch h.Host {
		case a:
			if h.State != "failing" || len(h.Causes) != 2 || h.LastRun == "" || h.LastGoodRun != "" {
				t.Errorf("A: %+v", h)
			}
		case b:
			if h.State != "healthy" || len(h.Causes) != 0 || h.LastGoodRun == "" {
				t.Errorf("B: %+v", h)
			}
		}
	}
	get("/api/puppet/hosts?state=healthy", &hosts)
	if len(hosts.Hosts) != 1 || hosts.Hosts[0].Host != b {
		t.Errorf("?state=healthy: %+v", hosts.Hosts)
	}
	// One ?state= serves both endpoints (the dashboard sends it to both).
	for _, tt := range []struct {
		state         string
		causes, hosts int
	}{{"failing", 1, 1}, {"hidden", 1, 0}, {"open", 2, 1}, {"resolved", 0, 1}, {"healthy", 0, 1}, {"stale", 0, 0}} {
		get("/api/puppet/causes?state="+tt.state, &causes)
		get("/api/puppet/hosts?state="+tt.state, &hosts)
		if len(causes.Causes) != tt.causes || len(hosts.Hosts) != tt.hosts {
			t.Errorf("?state=%s: %d causes, %d hosts; want %d, %d", tt.state, len(causes.Causes), len(hosts.Hosts), tt.causes, tt.hosts)
		}
	}
}
