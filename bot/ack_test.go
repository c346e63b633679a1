package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/clock"
	"github.com/wikimedia/sheriff/internal/ircd"
)

type fakeFindings map[string]string

func (f fakeFindings) LookupFinding(_ context.Context, key string) (string, string, bool, error) {
	var hit, title string
	n := 0
	for k, t := range f {
		if k == key {
			return k, t, true, nil
		}
		if strings.HasPrefix(k, key) {
			hit, title, n = k, t, n+1
		}
	}
	return hit, title, n == 1, nil
}

// ack and silence refuse targets sheriff does not know, naming them; a
// dry-run task is shown and accepted by its id, never its file; a burst
// is acked by its id or its range, and the reply says how many. A user
// flooding commands is told once and throttled; others are answered.
// (On ngIRCd every user comes from 127.0.0.1, so the throttle keys on the
// nick's host and carol connects only once bob has flooded.)
func TestNgircdAckTargetsAndThrottle(t *testing.T) {
	srv := ircd.Ngircd(t)
	alice := ircd.Dial(t, srv.Addr(), "alice")
	alice.Join(testChan)
	bob := ircd.Dial(t, srv.Addr(), "bob")
	bob.Join(testChan)
	c := clock.NewFake(t0)
	cfg := baseConfig(srv)
	cfg.AllowOps = true
	f := testFakes()
	f.allowFlood = true
	f.findings = fakeFindings{"5f3c0ffee0123456": "Wikimedia\\Rdbms\\DBQueryError: Error 1205"}
	f.taskRef = func(loc string) string {
		if loc == "/srv/sheriff/outbox/error-sig1.md" {
			return "T7"
		}
		return ""
	}
	h := startBot(t, srv, openDB(t), cfg, f, c, newGate())
	alice.MustExpect(20*time.Second, "bot join", joined("sheriff"))
	h.waitHealthy()
	ctx := context.Background()

	if err := h.bot.Announce(ctx, errFinding("sig1", "Boom"), "/srv/sheriff/outbox/error-sig1.md"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b1", "b2", "b3"} {
		if err := h.bot.Announce(ctx, errFinding("burst-"+k, "Burst "+k), ""); err != nil {
			t.Fatal(err)
		}
	}
	h.waitPending(4)
	c.Advance(10 * time.Second)
	e := alice.MustExpect(10*time.Second, "burst", notice("alice: 4 new error signatures (#1–#4, burst b1)"))
	if strings.Contains(e.Last(), "/srv") {
		t.Errorf("local path in IRC: %q", e.Last())
	}
	if err := h.bot.Announce(ctx, errFinding("sig5", "Dry"), "/srv/sheriff/outbox/error-sig1.md"); err != nil {
		t.Fatal(err)
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	e = alice.MustExpect(10*time.Second, "dry-run single", notice("alice: new error signature #5: Dry — T7 (dry-run)"))
	h.waitPending(0)

	say := func(text string) { alice.Send("PRIVMSG " + testChan + " :" + text) }
	for _, tc := range []struct{ cmd, want string }{
		{"!ack foo", "no finding or signature \"foo\" is known"},
		{"!ack T99999", "sheriff filed no task T99999"},
		{"!silence T99999 1h upstream", "sheriff filed no task T99999"},
		{"!silence nosuchsig 1h upstream", "no finding or signature \"nosuchsig\" is known"},
		{"!ack #99", "no finding was announced as #99"},
		{"!ack #50-#60", "no findings were announced in #50–#60"},
		{"!silence 5f3c 3650d why not", "3650d is longer than the 90-day limit"},
		{"!silence 5f3c 30s why not", "30s is shorter than the 1-minute minimum"},
		{"!silence 5f3c 30 min db maintenance", "silence #1: key 5f3c0ffee0123456 (Wikimedia\\Rdbms\\DBQueryError: Error 1205) for 30 min, until Mon 6 Jan 12:30 UTC (db maintenance)"},
		{"!ack T7", "acked T7 for alice (op in #sheriff-test)"},
		{"!ack b1", "acked 4 findings (#1–#4) for alice (op in #sheriff-test); no more reminders"},
		{"!ack #1-#4", "acked 4 findings (#1–#4) for alice (op in #sheriff-test); no more reminders"},
		{"!ack all", "nothing to ack: the 5 findings announced to alice are acked already"},
	} {
		say(tc.cmd)
		e := alice.MustExpect(15*time.Second, tc.cmd, replyTo("alice", ""))
		if !strings.Contains(e.Last(), tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.cmd, e.Last(), tc.want)
		}
	}
	if !strings.Contains(fmtAudit(t, h), "ack/refused: no finding or signature \"foo\"") {
		t.Errorf("refusal not audited:\n%s", fmtAudit(t, h))
	}

	// Throttle: bob floods, is answered up to the limit and told once;
	// carol is still answered.
	h.bot.mu.Lock()
	h.bot.userBurst, h.bot.userWindow = 3, 2*time.Second
	h.bot.mu.Unlock()
	time.Sleep(2 * time.Second) // alice's commands above leave the window
	for range 8 {
		bob.Send("PRIVMSG " + testChan + " :!version")
	}
	bob.MustExpect(10*time.Second, "throttle notice", replyTo("bob", "you are sending commands too fast (at most 3 per 2s)"))
	time.Sleep(2 * time.Second) // the throttle window passes
	carol := ircd.Dial(t, srv.Addr(), "carol")
	carol.Join(testChan)
	carol.Send("PRIVMSG " + testChan + " :!version")
	carol.MustExpect(10*time.Second, "carol still answered", replyTo("carol", "sheriff 1.2.3-test"))
	if n := bob.Count(replyTo("bob", "sheriff 1.2.3-test")); n != 3 {
		t.Errorf("bob got %d answers, want 3", n)
	}
	if n := bob.Count(replyTo("bob", "you are sending commands too fast")); n != 1 {
		t.Errorf("bob was told %d times:\n%s", n, bob.Transcript())
	}
}

func fmtAudit(t *testing.T, h *harness) string {
	t.Helper()
	log, err := h.bot.sil.AuditLog(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range log {
		b.WriteString(e.Action + "/" + e.Result + "\n")
	}
	return b.String()
}
