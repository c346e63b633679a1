package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/ircd"
	"github.com/wikimedia/sheriff/internal/silence"
)

// puppetStub serves /api/puppet/* as agreed with the puppet check's
// endpoints (ownership.md), so the Puppet view is tested against the
// contract whether or not the demo has puppet data.
func puppetStub() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/puppet/causes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"causes":[{"id":"c1","title":"Could not find class profile::mediawiki::foo","kind":"compile","state":"open",
			"first_seen":"2026-11-20T06:00:00Z","last_seen":"2026-11-21T06:00:00Z","task":"T4242","task_url":"https://phabricator.wikimedia.org/T4242",
			"hosts":[{"host":"deployment-mediawiki11","state":"failing","since":"2026-11-20T06:00:00Z","last_good":"2026-11-20T05:30:00Z"}]}]}`)
	})
	mux.HandleFunc("GET /api/puppet/hosts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"hosts":[
			{"host":"deployment-mediawiki11","state":"failing","last_run":"2026-11-21T06:00:00Z","last_good_run":"2026-11-20T05:30:00Z","causes":["c1"]},
			{"host":"deployment-db13","state":"stale","last_run":"2026-11-19T01:00:00Z","last_good_run":"2026-11-19T01:00:00Z","causes":[]},
			{"host":"deployment-cache-text08","state":"healthy","last_run":"2026-11-21T06:10:00Z","last_good_run":"2026-11-21T06:10:00Z","causes":[]}]}`)
	})
	return mux
}

// screenshotDir is where the browser test leaves its screenshots:
// $SHERIFF_SCREENSHOTS to look at them, else a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SHERIFF_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestDashboardInBrowser drives Debian's chromium over the running demo
// service (with IRC on a real ngIRCd, the drift check on the fixture
// checkouts and the puppet endpoints' contract): it loads the page, clicks
// a filter, searches, opens a signature and checks what each view shows.
func TestDashboardInBrowser(t *testing.T) {
	chrome := "/usr/bin/chromium"
	if _, err := os.Stat(chrome); err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	srv := ircd.Ngircd(t)
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IRC = &config.IRC{
		Server: srv.Host, Port: srv.Port, Nick: "sheriff", Channels: []string{"#sheriff-test"},
		BurstWindow: config.Duration(time.Second), AnnounceRate: 600,
		Rota: config.Rota{People: []config.Person{{Nick: "alice", Account: "alice"}, {Nick: "bob", Account: "bob"}}, Start: "2026-01-05", Days: 7},
	}
	cfg.Drift = &config.Drift{
		Schedule: "0 3 * * *", Puppet: abs("../hiera/testdata/puppet"), Charts: abs("../helm/testdata/charts"),
		MediaWikiConfig: abs("../mwconfig/testdata/checkout"), ReportsDir: filepath.Join(cfg.DataDir, "reports"),
	}
	svc := newService(t, cfg)
	svc.announceLine = func(context.Context, string, string) {}
	for range 2 { // a history of runs
		if _, err := svc.Drift.RunNow(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	backend, _ := serve(t, svc)
	// The browser talks to the service's own handler, with the puppet
	// endpoints of the contract in front.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := http.NewServeMux()
	front.Handle("/api/puppet/", puppetStub())
	front.Handle("/", svc.HTTPServer().Handler())
	hs := &http.Server{Handler: front, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()

	// Wait for the demo to be ingested and reported.
	var sigs []map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		sigs = nil
		getJSON(t, backend+"/api/signatures?limit=10000", &sigs)
		if len(sigs) >= 20 && sigs[0]["task"] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo not ingested: %d signatures", len(sigs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// People's decisions: alice acks the top signature, bob silences one
	// by its title, both recorded in the audit log as the bot would.
	ctx := context.Background()
	acked := sigs[0]["id"].(string)
	ackedTitle := sigs[0]["title"].(string)
	if err := svc.Silences.Ack(ctx, acked, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Silences.Audit(ctx, silence.AuditEntry{Who: "alice", Action: "ack", Args: acked + " [alice in #sheriff-test]", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := svc.Silences.Add(ctx, silence.Silence{Kind: silence.KindKey, Matcher: acked, Author: "bob", Reason: "train deploy in progress",
		Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	shots := screenshotDir(t)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), buf, 0o644)
		})
	}
	ready := func(view string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`main[data-ready="1"][data-view="` + view + `"]`))
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string, out any) {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[json.RawMessage](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		if err := json.Unmarshal(v, out); err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		var n int
		eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
		return n
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	resetReady := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(document.getElementById("main").dataset.ready = "", true)`)(ctx, tg)
		return err
	})
	// goHash moves within the page, as following a link does.
	goHash := func(hash string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Evaluate[bool](fmt.Sprintf(`(document.getElementById("main").dataset.ready = "", location.hash = %q, true)`, hash))(ctx, tg); err != nil {
				return err
			}
			return nil
		})
	}

	// Signatures: the list, ranked, with trends and tasks.
	run("load the page", chromedp.Navigate(base+"/"), ready("signatures"), shot("signatures.png"))
	if n := count("table.list tbody tr"); n != len(sigs) {
		t.Errorf("%d rows, want %d (every demo signature)", n, len(sigs))
	}
	if n := count("table.list tbody svg.spark"); n != len(sigs) {
		t.Errorf("%d sparklines for %d rows", n, len(sigs))
	}
	if cap := text("table.list caption"); !strings.Contains(cap, fmt.Sprintf("of %d signatures", len(sigs))) {
		t.Errorf("caption %q", cap)
	}
	if s := text("table.list tbody"); strings.Contains(s, "outbox") || strings.Contains(s, cfg.DataDir) {
		t.Errorf("the list shows a local path")
	}
	// Click a filter: the acked signature's state badge filters by it.
	run("click the acked filter", resetReady, chromedp.Click(chromedp.CSS(`tbody a.badge.s-acked`)), ready("signatures"))
	var hash string
	eval(`location.hash`, &hash)
	if hash != "#/signatures?status=acked" || count("table.list tbody tr") != 1 || !strings.Contains(text("table.list tbody"), ackedTitle) {
		t.Errorf("after clicking the acked filter: %s, %d rows", hash, count("table.list tbody tr"))
	}
	if v, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS(`select[name="status"]`))); err != nil || v != "acked" {
		t.Errorf("status select shows %q (%v)", v, err)
	}
	// Keyboard: "/" focuses the search, typing and Enter filters.
	run("search by keyboard", goHash("#/signatures"), ready("signatures"), chromedp.KeyEvent("/"))
	var focused string
	eval(`document.activeElement.id`, &focused)
	if focused != "search" {
		t.Errorf("/ focused %q, want the search box", focused)
	}
	// (The synthetic "/" also types itself, which a person's keypress does
	// not: set the text, then press Enter.)
	run("type a search", chromedp.SetValue(chromedp.CSS(`#search`), "DBQueryError"), resetReady,
		chromedp.KeyEvent("\r"), ready("signatures"))
	eval(`location.hash`, &hash)
	rows := count("table.list tbody tr")
	if hash != "#/signatures?q=DBQueryError" || rows == 0 || rows >= len(sigs) {
		t.Errorf("search: %s, %d rows of %d", hash, rows, len(sigs))
	}
	var titles []string
	eval(`[...document.querySelectorAll("td.title a")].map(a => a.textContent)`, &titles)
	for _, ti := range titles {
		if !strings.Contains(strings.ToLower(ti), "dbqueryerror") {
			t.Errorf("search result %q does not match", ti)
		}
	}
	// The page's list is its API's: same filters, same rows.
	var apiRows []map[string]any
	getJSON(t, backend+"/api/signatures?q=DBQueryError", &apiRows)
	if len(apiRows) != rows {
		t.Errorf("page shows %d rows, /api/signatures?q=DBQueryError %d", rows, len(apiRows))
	}

	// A signature's page: j moves to the first row, Enter opens it.
	run("open a signature", goHash("#/signatures?status=acked"), ready("signatures"), resetReady,
		chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"), ready("signature"), shot("signature.png"))
	if got := text("h2.sigtitle"); got != ackedTitle {
		t.Errorf("signature page title %q, want %q", got, ackedTitle)
	}
	if bars := count("svg.chart rect.bar"); bars == 0 {
		t.Error("no bars in the hourly chart")
	}
	if s := text("#sig-state"); !strings.Contains(s, "acked") {
		t.Errorf("state %q", s)
	}
	if s := text("#sig-ack"); !strings.Contains(s, "alice") {
		t.Errorf("ack %q", s)
	}
	if s := text("#sig-sample"); s == "" || strings.Contains(s, "172.16.") {
		t.Errorf("sample %q", s)
	}
	if s := text("#sig-task"); !strings.Contains(s, "T") || !strings.Contains(s, "dry-run") {
		t.Errorf("task %q", s)
	}
	body := text("main")
	for _, want := range []string{"train deploy in progress", "bob", "expired", "alice", "ack " + acked} {
		if !strings.Contains(body, want) {
			t.Errorf("signature page lacks %q", want)
		}
	}
	// Esc goes back to the list.
	run("back", resetReady, chromedp.KeyEvent(kb.Escape), ready("signatures"))

	// Puppet: hosts by state, causes with their hosts.
	run("puppet", resetReady, chromedp.KeyEvent("2"), ready("puppet"), shot("puppet.png"))
	if s := text("main"); !strings.Contains(s, "1 failing") || !strings.Contains(s, "1 stale") || !strings.Contains(s, "1 healthy") {
		t.Errorf("puppet host groups: %q", s)
	}
	if s := text("#causes"); !strings.Contains(s, "Could not find class profile::mediawiki::foo") || !strings.Contains(s, "deployment-mediawiki11") || !strings.Contains(s, "T4242") {
		t.Errorf("causes: %q", s)
	}

	// Drift: the latest report and the history of runs.
	run("drift", resetReady, chromedp.KeyEvent("3"), ready("drift"), shot("drift.png"))
	if s := text("#drift-latest"); !strings.Contains(s, "real") || !strings.Contains(s, "Full report") {
		t.Errorf("latest drift: %q", s)
	}
	if n := count("#drift-runs tbody tr"); n != 2 {
		t.Errorf("%d runs listed, want 2", n)
	}
	if n := count("svg.chart polyline.line"); n == 0 {
		t.Error("no class lines in the drift chart")
	}

	// On duty: now and next, open unacked findings, IRC and filer health.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("IRC healthy", func() bool {
		var d struct {
			IRC *struct{ State string } `json:"irc"`
		}
		getJSON(t, backend+"/api/duty", &d)
		return d.IRC != nil && d.IRC.State == "ok"
	})
	run("duty", resetReady, chromedp.KeyEvent("4"), ready("duty"), shot("duty.png"))
	if s := text("#duty-now"); !strings.Contains(s, "alice") && !strings.Contains(s, "bob") {
		t.Errorf("on duty: %q", s)
	}
	var duty struct {
		Total int `json:"unacked_total"`
	}
	getJSON(t, backend+"/api/duty", &duty)
	if n := count("#unacked tbody tr"); n == 0 || n != min(duty.Total, 50) || strings.Contains(text("#unacked"), ackedTitle) {
		t.Errorf("%d unacked rows (API says %d), acked one shown: %v", n, duty.Total, strings.Contains(text("#unacked"), ackedTitle))
	}
	if s := text("#health-irc"); !strings.Contains(s, "ok") || !strings.Contains(s, "#sheriff-test") {
		t.Errorf("IRC health: %q", s)
	}
	if s := text("#health-filer"); !strings.Contains(s, "ok") {
		t.Errorf("filer health: %q", s)
	}
	// Nothing was fetched from anywhere but the service.
	var external []string
	eval(`performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith(location.origin))`, &external)
	if len(external) > 0 {
		t.Errorf("external resources: %v", external)
	}
	t.Logf("screenshots in %s", shots)
}
