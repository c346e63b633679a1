package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/config"
)

// newService builds a service from cfg with logs discarded.
func newService(t *testing.T, cfg *config.Config) *Service {
	t.Helper()
	svc, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// serve runs svc on a loopback port and returns its base URL and a stop
// function that returns Serve's error (and closes the service).
func serve(t *testing.T, svc *Service) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
			svc.Close()
		})
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

// startDemo runs the service on the bundled sample with state in dir.
func startDemo(t *testing.T, dir string) (string, func() error) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	return serve(t, newService(t, cfg))
}

type apiSig struct {
	ID, Title, Status, Task string
	Count                   int64
	FirstSeen               time.Time `json:"first_seen"`
	LastSeen                time.Time `json:"last_seen"`
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

// waitSettled waits until the sample has been ingested and every signature
// reported: the condition the demo reaches once its one-shot sample is read.
func waitSettled(t *testing.T, base string) []apiSig {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var sigs []apiSig
		getJSON(t, base+"/api/signatures", &sigs)
		var health struct {
			Healthy bool
		}
		code := getJSON(t, base+"/healthz", &health)
		settled := len(sigs) > 0 && code == http.StatusOK && health.Healthy
		for _, s := range sigs {
			if s.Status == "new" {
				settled = false
			}
		}
		if settled {
			return sigs
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not settle: %d signatures, healthz %d", len(sigs), code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func outbox(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(filepath.Join(dir, "outbox"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDemoFilesEachSignatureOnceAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	base, stop := startDemo(t, dir)
	sigs := waitSettled(t, base)

	if len(sigs) < 20 {
		t.Errorf("demo sample produced %d signatures, want a few dozen", len(sigs))
	}
	var total int64
	for _, s := range sigs {
		total += s.Count
		if s.ID == "" || s.Title == "" || s.FirstSeen.IsZero() || s.LastSeen.Before(s.FirstSeen) {
			t.Errorf("incomplete signature in API: %+v", s)
		}
	}
	if total != 640 {
		t.Errorf("signature counts add up to %d, want the 640 well-formed sample events", total)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`sheriff_events_total{source="demo"} 640`, `sheriff_events_malformed_total{source="demo"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The dashboard page (its content comes from the API; see internal/web).
	if !strings.Contains(string(page), `src="/static/app.js"`) || strings.Contains(string(page), "https://") {
		t.Errorf("/ is not the self-contained dashboard page:\n%s", page)
	}

	first := outbox(t, dir)
	tasks := 0
	for p, content := range first {
		if strings.HasSuffix(p, ".md") && !strings.Contains(p, "comment") {
			tasks++
		}
		for _, leak := range []string{"172.16.", "2a02:ec80", "@example.org"} {
			if strings.Contains(content, leak) {
				t.Errorf("outbox file %s leaks %q", p, leak)
			}
		}
	}
	if tasks == 0 {
		t.Fatal("nothing was written to the outbox")
	}
	if err := stop(); err != nil {
		t.Fatalf("clean shutdown returned %v", err)
	}

	// Second run over the same state: nothing is re-read, nothing re-filed.
	base, stop = startDemo(t, dir)
	again := waitSettled(t, base)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(again) != len(sigs) {
		t.Errorf("second run has %d signatures, first had %d", len(again), len(sigs))
	}
	var total2 int64
	for _, s := range again {
		total2 += s.Count
	}
	if total2 != total {
		t.Errorf("second run counted events again: %d then %d", total, total2)
	}
	second := outbox(t, dir)
	if len(second) != len(first) {
		t.Errorf("outbox had %d files, now %d: the second run re-filed", len(first), len(second))
	}
	for p, c := range first {
		if second[p] != c {
			t.Errorf("outbox file %s changed on the second run", p)
		}
	}
}

// TestClosingTasksUpdatesSignatures: resolving or declining a task (here by
// editing its outbox file, as a dry-run stand-in for Phabricator) is picked
// up by the task refresh and shows in the signature's status.
func TestClosingTasksUpdatesSignatures(t *testing.T) {
	dir := t.TempDir()
	base, stop := startDemo(t, dir)
	sigs := waitSettled(t, base)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	setStatus := func(id, status string) {
		p := filepath.Join(dir, "outbox", "error-"+id+".md")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "status: open", "status: "+status, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(sigs[0].ID, "resolved")
	setStatus(sigs[1].ID, "declined")

	cfg := config.Default()
	cfg.DataDir = dir
	svc := newService(t, cfg)
	defer svc.Close()
	if err := svc.refreshTasks(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"resolved", "silenced"} {
		got, err := svc.Tracker.Get(t.Context(), "error", sigs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Status) != want {
			t.Errorf("%s: status %s after its task was closed, want %s", sigs[i].ID, got.Status, want)
		}
	}
}
