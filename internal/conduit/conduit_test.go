package conduit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/backoff"
	"github.com/wikimedia/sheriff/internal/conduit"
	"github.com/wikimedia/sheriff/internal/conduitfake"
)

const token = "api-abcdefghijklmnopqrstuvwxyz12"

func setup(t *testing.T, mod func(*conduit.Options)) (*conduitfake.Server, *conduit.Client) {
	t.Helper()
	srv := conduitfake.New(conduitfake.Options{})
	t.Cleanup(srv.Close)
	srv.AddUser("sheriff-bot", token)
	o := conduit.Options{URL: srv.URL, Token: token, WriteInterval: time.Millisecond,
		Backoff: backoff.Policy{Base: time.Millisecond, Max: 4 * time.Millisecond}}
	if mod != nil {
		mod(&o)
	}
	c, err := conduit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func createTask(t *testing.T, c *conduit.Client, title, desc string) conduit.EditResult {
	t.Helper()
	r, err := c.EditTask(context.Background(), "", []conduit.Transaction{conduit.TxTitle(title), conduit.TxDescription(desc)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestErrorCodesSurface(t *testing.T) {
	ctx := context.Background()
	srv, _ := setup(t, nil)
	tests := []struct {
		name  string
		setup func(*conduit.Options)
		call  func(*conduit.Client) error
		want  error
		code  string
	}{
		{"bad token", func(o *conduit.Options) { o.Token = "api-wrong" },
			func(c *conduit.Client) error { _, err := c.WhoAmI(ctx); return err }, conduit.ErrInvalidAuth, "ERR-INVALID-AUTH"},
		{"unknown method", nil,
			func(c *conduit.Client) error { return c.Call(ctx, "nonsense.method", nil, nil) }, conduit.ErrCallNotFound, "ERR-CONDUIT-CALL"},
		{"bad transaction", nil,
			func(c *conduit.Client) error {
				_, err := c.EditTask(ctx, "", []conduit.Transaction{conduit.TxTitle("x"), {Type: "bogus", Value: 1}})
				return err
			}, conduit.ErrCore, "ERR-CONDUIT-CORE"},
		{"unquoted colon", nil,
			func(c *conduit.Client) error {
				_, err := c.SearchTasks(ctx, conduit.TaskQuery{Query: "sig:abc"})
				return err
			}, conduit.ErrCore, "ERR-CONDUIT-CORE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := conduit.Options{URL: srv.URL, Token: token}
			if tt.setup != nil {
				tt.setup(&o)
			}
			c, err := conduit.New(o)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(c)
			var ce *conduit.Error
			if !errors.As(err, &ce) || ce.Code != tt.code || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if strings.Contains(err.Error(), "api-wrong") || strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestFakeRejectsJSONBodies(t *testing.T) {
	srv, _ := setup(t, nil)
	resp, err := http.Post(srv.URL+"/api/user.whoami", "application/json", strings.NewReader(`{"__conduit__":{"token":"`+token+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(b.String(), `"error_code":"ERR-CONDUIT-CORE"`) {
		t.Fatalf("JSON body accepted: %d %s", resp.StatusCode, b.String())
	}
	// The plain key-value form with api.token works, like on a real server.
	resp, err = http.PostForm(srv.URL+"/api/user.whoami", url.Values{"api.token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(b.String(), `"userName":"sheriff-bot"`) {
		t.Fatalf("form call failed: %s", b.String())
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		method    string
		fault     conduitfake.Fault
		call      func(*conduit.Client) error
		wantErr   bool
		wantCalls int
		wantTasks int
	}{
		{"read retried on 429", "maniphest.search", conduitfake.Fault{Kind: conduitfake.FaultRateLimit, Times: 2},
			func(c *conduit.Client) error { _, err := c.SearchTasks(ctx, conduit.TaskQuery{}); return err }, false, 3, 0},
		{"read retried on 502", "maniphest.search", conduitfake.Fault{Kind: conduitfake.FaultStatus, Status: 502, Times: 2},
			func(c *conduit.Client) error { _, err := c.SearchTasks(ctx, conduit.TaskQuery{}); return err }, false, 3, 0},
		{"read gives up after MaxAttempts", "maniphest.search", conduitfake.Fault{Kind: conduitfake.FaultStatus, Status: 503, Times: 10},
			func(c *conduit.Client) error { _, err := c.SearchTasks(ctx, conduit.TaskQuery{}); return err }, true, 4, 0},
		{"write retried on 429", "maniphest.edit", conduitfake.Fault{Kind: conduitfake.FaultRateLimit, Times: 2},
			func(c *conduit.Client) error {
				_, err := c.EditTask(ctx, "", []conduit.Transaction{conduit.TxTitle("t")})
				return err
			}, false, 3, 1},
		{"write not retried on 500 (outcome unknown)", "maniphest.edit", conduitfake.Fault{Kind: conduitfake.FaultStatus, Status: 500, After: true},
			func(c *conduit.Client) error {
				_, err := c.EditTask(ctx, "", []conduit.Transaction{conduit.TxTitle("t")})
				return err
			}, true, 1, 1},
		{"error_code not retried", "maniphest.search", conduitfake.Fault{Kind: conduitfake.FaultErrorCode, Code: "ERR-CONDUIT-CORE", Info: "boom"},
			func(c *conduit.Client) error { _, err := c.SearchTasks(ctx, conduit.TaskQuery{}); return err }, true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, func(o *conduit.Options) { o.MaxAttempts = 4 })
			tt.fault.Method = tt.method
			srv.InjectFault(tt.fault)
			err := tt.call(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if n := srv.Calls(tt.method); n != tt.wantCalls {
				t.Errorf("%s called %d times, want %d", tt.method, n, tt.wantCalls)
			}
			if n := len(srv.Tasks()); n != tt.wantTasks {
				t.Errorf("%d tasks, want %d", n, tt.wantTasks)
			}
			var he *conduit.HTTPError
			if err != nil && errors.As(err, &he) && strings.Contains(he.Body, token) {
				t.Errorf("token in error body")
			}
		})
	}
}

func TestHangAfterCreateIsAnErrorNotARetry(t *testing.T) {
	srv, c := setup(t, func(o *conduit.Options) { o.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond} })
	for _, k := range []conduitfake.FaultKind{conduitfake.FaultHang, conduitfake.FaultDrop} {
		srv.InjectFault(conduitfake.Fault{Method: "maniphest.edit", Kind: k})
		_, err := c.EditTask(context.Background(), "", []conduit.Transaction{conduit.TxTitle("t")})
		if err == nil {
			t.Fatalf("fault %d: no error", k)
		}
	}
	if n := srv.Calls("maniphest.edit"); n != 2 {
		t.Errorf("edit called %d times, want 2 (no retry of a write with unknown outcome)", n)
	}
	if n := len(srv.Tasks()); n != 2 {
		t.Errorf("%d tasks, want 2: the fake applied the writes before failing", n)
	}
}

func TestSearchPagingAndFullText(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, nil)
	for i := 0; i < 230; i++ {
		createTask(t, c, fmt.Sprintf("task %d", i), fmt.Sprintf("body word%d sheriffsigerror%04d", i%7, i))
	}
	all, err := c.SearchTasks(ctx, conduit.TaskQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 230 || all[0].ID != 230 || all[229].ID != 1 {
		t.Fatalf("paging: got %d tasks", len(all))
	}
	// Not indexed yet? IndexDelay is 0, so indexing is due at once.
	tests := []struct {
		q    string
		want int
	}{
		{"word3", 33},
		{`"sheriffsigerror0042"`, 1},
		{"sheriffsigerror0042", 1},
		{"sheriffsigerror004", 0}, // whole words only
		{`"body word3"`, 33},
		{`"word3 body"`, 0},
		{"word3 -task", 0},
		{`"a:b"`, 0},
	}
	for _, tt := range tests {
		ts, err := c.SearchTasks(ctx, conduit.TaskQuery{Query: tt.q})
		if err != nil {
			t.Fatalf("%s: %v", tt.q, err)
		}
		if len(ts) != tt.want {
			t.Errorf("query %s: %d results, want %d", tt.q, len(ts), tt.want)
		}
	}
	limited, err := c.SearchTasks(ctx, conduit.TaskQuery{Limit: 150, Order: "oldest"})
	if err != nil || len(limited) != 150 || limited[0].ID != 1 {
		t.Fatalf("limit: %d %v", len(limited), err)
	}
	_ = srv
}

func TestAsyncIndexing(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, nil)
	srv.SetIndexDelay(time.Hour)
	createTask(t, c, "late", "sheriffsigerrorabcdef12")
	q := conduit.TaskQuery{Query: `"sheriffsigerrorabcdef12"`}
	if ts, _ := c.SearchTasks(ctx, q); len(ts) != 0 {
		t.Fatal("found before indexing")
	}
	me, err := c.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Database-backed constraints see it at once.
	if ts, _ := c.SearchTasks(ctx, conduit.TaskQuery{AuthorPHIDs: []string{me.PHID}, CreatedStart: time.Now().Add(-time.Minute)}); len(ts) != 1 {
		t.Fatal("author/created constraints should not depend on the index")
	}
	srv.SetDaemonsDown(true)
	srv.IndexNow()
	if ts, _ := c.SearchTasks(ctx, q); len(ts) != 0 {
		t.Fatal("indexed while daemons are down")
	}
	srv.SetDaemonsDown(false)
	srv.IndexNow()
	if ts, _ := c.SearchTasks(ctx, q); len(ts) != 1 {
		t.Fatal("not found after indexing")
	}
}

func TestResolveProjects(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, nil)
	beta := srv.AddProject("Beta-Cluster-Infrastructure", "beta-cluster-infrastructure", "beta")
	prod := srv.AddProject("Wikimedia production error", "wikimedia-production-error")
	m, err := c.ResolveProjects(ctx, []string{"#beta", "Beta-Cluster-Infrastructure", "Wikimedia production error", prod})
	if err != nil {
		t.Fatal(err)
	}
	if m["#beta"] != beta || m["Beta-Cluster-Infrastructure"] != beta || m["Wikimedia production error"] != prod || m[prod] != prod {
		t.Fatalf("resolved %v", m)
	}
	_, err = c.ResolveProjects(ctx, []string{"#no-such-project"})
	if !errors.Is(err, conduit.ErrUnknownProject) || !strings.Contains(err.Error(), "no-such-project") {
		t.Fatalf("unknown project: %v", err)
	}
}

func TestEditAndTransactions(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, nil)
	proj := srv.AddProject("Sheriff")
	r, err := c.EditTask(ctx, "", []conduit.Transaction{conduit.TxTitle("Title"), conduit.TxDescription("Desc"),
		conduit.TxProjectsAdd([]string{proj}), conduit.TxPriority("high"), conduit.TxSubscribersAdd([]string{"PHID-USER-x"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EditTask(ctx, fmt.Sprintf("T%d", r.ID), []conduit.Transaction{conduit.TxComment("hello"), conduit.TxStatus("resolved")}); err != nil {
		t.Fatal(err)
	}
	ts, err := c.SearchTasks(ctx, conduit.TaskQuery{IDs: []int{r.ID}, Projects: []string{proj}, Statuses: []string{"resolved"}})
	if err != nil || len(ts) != 1 {
		t.Fatalf("search: %v %v", ts, err)
	}
	if ts[0].Title != "Title" || ts[0].Priority != "High" || ts[0].Closed.IsZero() || len(ts[0].ProjectPHIDs) != 1 {
		t.Errorf("task %+v", ts[0])
	}
	me, _ := c.WhoAmI(ctx)
	xs, err := c.SearchTransactions(ctx, fmt.Sprintf("T%d", r.ID), []string{me.PHID})
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for _, x := range xs {
		if x.Type == "comment" {
			comments = append(comments, x.Comments...)
		}
	}
	if len(comments) != 1 || comments[0] != "hello" {
		t.Fatalf("comments %v", comments)
	}
}

func TestWritesAreRateLimited(t *testing.T) {
	// A lower bound on elapsed time is deterministic: the limiter can only
	// make writes slower, never faster.
	const interval = 20 * time.Millisecond
	_, c := setup(t, func(o *conduit.Options) { o.WriteInterval = interval })
	start := time.Now()
	for i := 0; i < 4; i++ {
		createTask(t, c, "t", "d")
	}
	if el := time.Since(start); el < 3*interval {
		t.Fatalf("4 writes took %v, want at least %v", el, 3*interval)
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("api-fromfile\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("SHERIFF_TEST_TOKEN", "")
	tests := []struct {
		env, file, want string
		wantErr         bool
	}{
		{"", file, "api-fromfile", false},
		{"api-fromenv", file, "api-fromenv", false},
		{"", "", "", false},
		{"", empty, "", true},
		{"", filepath.Join(dir, "missing"), "", true},
	}
	for _, tt := range tests {
		t.Setenv("SHERIFF_TEST_TOKEN", tt.env)
		got, err := conduit.LoadToken("SHERIFF_TEST_TOKEN", tt.file)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("LoadToken(env=%q, %q) = %q, %v", tt.env, tt.file, got, err)
		}
	}
}

func TestTokenNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	srv, c := setup(t, func(o *conduit.Options) {
		o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	srv.InjectFault(conduitfake.Fault{Method: "maniphest.search", Kind: conduitfake.FaultStatus, Status: 500, Times: 2})
	if _, err := c.SearchTasks(context.Background(), conduit.TaskQuery{}); err != nil {
		t.Fatal(err)
	}
	if logs.Len() == 0 || strings.Contains(logs.String(), token) {
		t.Fatalf("logs (want retries logged, no token):\n%s", logs.String())
	}
}
