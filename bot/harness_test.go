package bot

import (
	"context"
	"fmt"
	"github.com/wikimedia/sheriff/internal/clock"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lrstanley/girc"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/ircd"
	"github.com/wikimedia/sheriff/internal/rota"
	"github.com/wikimedia/sheriff/internal/store"
)

const testChan = "#sheriff-test"

// t0 is a Monday after the 10:00 UTC handoff: alice is on duty, bob next.
var t0 = time.Date(2025, 1, 6, 12, 0, 0, 0, time.UTC)

var testRota = rota.Config{
	People: []rota.Person{
		{Nick: "alice", Account: "alice"},
		{Nick: "bob", Account: "bob"},
	},
	Start: "2025-01-06", HandoffDay: "monday", HandoffTime: "10:00", TimeZone: "UTC",
}

// clock is a settable clock for the bot's notion of time (burst windows,
// escalation, silences, the rota). Connection timing uses real time.
// gate is a dialer that can hold the bot's connection attempts, so a test
// can get its observer into the channel before the bot reconnects.
type gate struct {
	mu   sync.Mutex
	open chan struct{}
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) Block() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) Release() {
	g.mu.Lock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
	g.mu.Unlock()
}

func (g *gate) Dial(network, addr string) (net.Conn, error) {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	<-ch
	return net.DialTimeout(network, addr, 5*time.Second)
}

type harness struct {
	t      *testing.T
	srv    *ircd.Server
	db     *store.DB
	clock  *clock.Fake
	gate   *gate
	bot    *Bot
	cancel context.CancelFunc
	done   chan struct{}
}

type fakes struct {
	// allowFlood turns the sender's flood budget off, for tests that exchange
	// many lines and would otherwise spend most of their time waiting.
	allowFlood bool
	// noAccountCaps makes the bot ignore account-tag and account-notify, to
	// exercise its WHOX fallback.
	noAccountCaps bool
	status        StatusSource
	recent        RecentSource
	drift         DriftSource
	tasks         TaskSource
	findings      FindingSource
	taskRef       func(string) string
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() || os.Getenv("SHERIFF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func baseConfig(srv *ircd.Server) Config {
	return Config{
		Server:       srv.Host,
		Port:         srv.Port,
		Nick:         "sheriff",
		AltNicks:     []string{"sheriff_"},
		Channels:     []string{testChan},
		Rota:         testRota,
		BurstWindow:  10 * time.Second, // on the fake clock
		AnnounceRate: 600,
		ReconnectMin: 100 * time.Millisecond,
		ReconnectMax: 500 * time.Millisecond,
		Link:         "https://sheriff.example/recent",
		Version:      "1.2.3-test",
	}
}

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startBot creates and runs a bot on db against srv.
func startBot(t *testing.T, srv *ircd.Server, db *store.DB, cfg Config, f fakes, c *clock.Fake, g *gate) *harness {
	t.Helper()
	b, err := New(context.Background(), cfg, Deps{
		DB: db, Status: f.status, Recent: f.recent, Drift: f.drift, Tasks: f.tasks, Findings: f.findings, TaskRef: f.taskRef,
		Logger: testLogger(t), Now: c.Now,
		Redact: func(s string) string { return strings.ReplaceAll(s, "s3cr3t", "[REDACTED]") },
	})
	if err != nil {
		t.Fatal(err)
	}
	b.tick = 20 * time.Millisecond
	b.rejoinEvery = 300 * time.Millisecond
	b.regainEvery = time.Second
	b.confirmWait = 10 * time.Second
	b.userBurst = 1000
	b.dialer = g
	// The sender's flood budget is on unless a test turns it off.
	b.out.unlimited = f.allowFlood
	b.noAccountCaps = f.noAccountCaps
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, db: db, clock: c, gate: g, bot: b, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		if err := b.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(15 * time.Second):
		h.t.Error("bot did not stop within 15s")
	}
}

// waitFor polls cond (a state the bot reaches asynchronously) for up to
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) waitHealthy() {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !(h.bot.State().Healthy && h.bot.inChannel(testChan)) {
		if time.Now().After(deadline) {
			h.bot.mu.Lock()
			names := fmt.Sprint(h.bot.namesDone)
			h.bot.mu.Unlock()
			h.t.Fatalf("bot not healthy after 20s: state %+v, names done %s, in channel %v",
				h.bot.State(), names, h.bot.client.IsInChannel(testChan))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) waitPending(n int) {
	h.t.Helper()
	h.waitPendingFor(n, 10*time.Second)
}

// waitPendingFor is waitPending for deliveries paced by the flood budget.
func (h *harness) waitPendingFor(n int, timeout time.Duration) {
	h.t.Helper()
	waitFor(h.t, timeout, "pending announcements", func() bool {
		c, err := h.bot.q.pendingCount(context.Background())
		return err == nil && c == n
	})
}

func errFinding(key, title string) finding.Finding {
	return finding.Finding{Kind: finding.KindError, Key: key, Title: title, Status: finding.StatusNew}
}

// notice matches a NOTICE from the bot to the channel containing sub.
func notice(sub string) ircd.Match {
	return ircd.From("sheriff", ircd.Msg("NOTICE", testChan, sub))
}

// replyTo matches a channel reply from the bot addressed to nick.
func replyTo(nick, sub string) ircd.Match {
	return ircd.From("sheriff", ircd.Msg("PRIVMSG", testChan, nick+": "+sub))
}

func joined(nick string) ircd.Match {
	return func(e *girc.Event) bool {
		return e.Command == girc.JOIN && e.Source != nil && e.Source.Name == nick &&
			len(e.Params) > 0 && strings.EqualFold(e.Params[0], testChan)
	}
}
