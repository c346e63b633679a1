package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/demo"
	"github.com/wikimedia/sheriff/internal/esfake"
)

// loadDemo indexes the demo sample into the fake logstash, one daily index
// per event date, with @timestamps moved to end at now.
func loadDemo(t *testing.T, es *esfake.Server, now time.Time, from, to int) int {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(demo.Sample()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	i, n := 0, 0
	for sc.Scan() {
		var doc map[string]any
		if json.Unmarshal(sc.Bytes(), &doc) != nil || doc["@timestamp"] == nil {
			continue // the sample's deliberately malformed lines
		}
		if i >= from && i < to {
			ts := now.Add(-time.Duration(700-i) * time.Second)
			doc["@timestamp"] = ts.Format(time.RFC3339Nano)
			es.Index("logstash-"+ts.Format("2006.01.02"), fmt.Sprintf("doc-%04d", i), doc)
			n++
		}
		i++
	}
	return n
}

type healthz struct {
	Healthy    bool
	Subsystems []struct{ Name, State, Detail string }
}

func TestLogstashOutageAndRecovery(t *testing.T) {
	es := esfake.New(esfake.WithFlavor(esfake.OpenSearch2), esfake.WithBasicAuth("sheriff", "s3cret-pass"))
	defer es.Close()
	now := time.Now().UTC()
	first := loadDemo(t, es, now, 0, 400)

	t.Setenv("TEST_LOGSTASH_PW", "s3cret-pass")
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
logstash:
  urls: [%s]
  poll_interval: 1s
  batch_size: 100
  start: -2h
  username: sheriff
  password_env: TEST_LOGSTASH_PW
`, es.URL())))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	svc, err := New(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	base, _ := serve(t, svc)

	waitFor(t, "first events counted", func() bool { return countAll(t, base) == int64(first) })

	es.SetDown(true)
	waitFor(t, "healthz to report the logstash outage", func() bool {
		var h healthz
		code := getJSON(t, base+"/healthz", &h)
		for _, s := range h.Subsystems {
			if s.Name == "source:logstash" && s.State == "failing" {
				return code == http.StatusServiceUnavailable && !h.Healthy
			}
		}
		return false
	})
	// The rest keeps serving during the outage.
	if n := countAll(t, base); n != int64(first) {
		t.Fatalf("API during outage: %d", n)
	}
	more := loadDemo(t, es, now, 400, 640)
	es.SetDown(false)
	waitFor(t, "recovery", func() bool {
		var h healthz
		return getJSON(t, base+"/healthz", &h) == http.StatusOK && countAll(t, base) == int64(first+more)
	})
	// No double counting after the outage: give the watcher a few more polls.
	time.Sleep(2500 * time.Millisecond)
	if n := countAll(t, base); n != int64(first+more) {
		t.Fatalf("%d events counted, want exactly %d", n, first+more)
	}
	if strings.Contains(logs.String(), "s3cret-pass") {
		t.Fatal("the logstash password appears in the logs")
	}
}

func countAll(t *testing.T, base string) int64 {
	var sigs []apiSig
	getJSON(t, base+"/api/signatures?limit=10000", &sigs)
	var n int64
	for _, s := range sigs {
		n += s.Count
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
