package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/conduitfake"
	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/health"
)

const testToken = "api-testtoken5ecret0000000000000"

// phabConfig is the demo configuration filing into srv, with fast retries.
func phabConfig(t *testing.T, srv *conduitfake.Server, dir string) *config.Config {
	t.Helper()
	t.Setenv("SHERIFF_APP_TEST_TOKEN", testToken)
	cfg := config.Default()
	cfg.DataDir = dir
	p := &cfg.Phabricator
	p.URL, p.TokenEnv = srv.URL, "SHERIFF_APP_TEST_TOKEN"
	p.Projects = []string{"#beta-cluster-infrastructure"}
	p.WriteInterval = config.Duration(time.Millisecond)
	p.RetryMin = config.Duration(5 * time.Millisecond)
	p.IntentGrace = config.Duration(20 * time.Millisecond)
	p.StormThreshold = 1000
	return cfg
}

func newPhabFake(t *testing.T) *conduitfake.Server {
	t.Helper()
	srv := conduitfake.New(conduitfake.Options{IndexDelay: 30 * time.Millisecond})
	t.Cleanup(srv.Close)
	srv.AddUser("sheriff-bot", testToken)
	srv.AddProject("Beta-Cluster-Infrastructure", "beta-cluster-infrastructure")
	return srv
}

func filerHealth(t *testing.T, base string) (health.Status, int) {
	t.Helper()
	var h struct {
		Healthy    bool
		Subsystems []health.Status
	}
	code := getJSON(t, base+"/healthz", &h)
	for _, s := range h.Subsystems {
		if s.Name == "filer" {
			return s, code
		}
	}
	return health.Status{}, code
}

// tasksByMarker counts the fake's tasks per marker.
func tasksByMarker(srv *conduitfake.Server) map[string]int {
	out := map[string]int{}
	for _, tk := range srv.Tasks() {
		out[filer.MarkerOf(tk.Description)]++
	}
	return out
}

// TestFailedWritesAreRetriedUntilFiled: creates refused with 429 five times
// in a row, answered 503, or applied and then answered 502 are retried with
// backoff until every signature has exactly one task; meanwhile /healthz
// shows the backlog and the signatures stay unreported.
func TestFailedWritesAreRetriedUntilFiled(t *testing.T) {
	srv := newPhabFake(t)
	dir := t.TempDir()
	// Every write fails until the faults are cleared.
	srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultStatus, Status: 503, Times: 1 << 30})
	svc := newService(t, phabConfig(t, srv, dir))
	base, stop := serve(t, svc)

	var st health.Status
	waitFor(t, "a backlog on /healthz", func() bool {
		var code int
		st, code = filerHealth(t, base)
		return st.Backlog > 0 && code == http.StatusServiceUnavailable
	})
	if st.State == health.StateOK {
		t.Fatalf("filer state %s with a backlog of %d failing writes", st.State, st.Backlog)
	}
	var sigs []struct{ ID, Kind, Status, Task string }
	getJSON(t, base+"/api/signatures", &sigs)
	for _, s := range sigs {
		if s.Task != "" {
			t.Fatalf("signature %s shows task %q although no task exists", s.ID, s.Task)
		}
	}
	if len(srv.Tasks()) != 0 {
		t.Fatalf("%d tasks filed through a failing server", len(srv.Tasks()))
	}

	srv.ClearFaults()
	srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultRateLimit, Times: 5})
	srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultStatus, Status: 502, After: true, Times: 2})
	srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: conduitfake.FaultStatus, Status: 500, Times: 2})
	waitFor(t, "every signature filed and the backlog empty", func() bool {
		st, code := filerHealth(t, base)
		getJSON(t, base+"/api/signatures", &sigs)
		for _, s := range sigs {
			if s.Task == "" && s.Status != "silenced" {
				return false
			}
		}
		return code == http.StatusOK && st.Backlog == 0 && st.State == health.StateOK
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	byMarker := tasksByMarker(srv)
	for _, s := range sigs {
		if s.Status == "silenced" {
			continue
		}
		if n := byMarker[filer.Marker(finding.Kind(s.Kind), s.ID)]; n != 1 {
			t.Errorf("signature %s has %d tasks, want exactly 1", s.ID, n)
		}
	}
	if len(byMarker) != len(srv.Tasks()) {
		t.Errorf("%d tasks for %d markers: duplicates", len(srv.Tasks()), len(byMarker))
	}
}
