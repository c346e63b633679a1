package bot

import (
	"context"
	"github.com/wikimedia/sheriff/internal/clock"
	"strings"
	"testing"
	"time"

	"github.com/lrstanley/girc"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/ircd"
	"github.com/wikimedia/sheriff/internal/silence"
)

// Simple fakes for the read-only command sources.
type fakeStatus []Subsystem

func (f fakeStatus) Status(context.Context) []Subsystem { return f }

type fakeRecent []Signature

func (f fakeRecent) Recent(_ context.Context, n int) ([]Signature, error) {
	return f[:min(n, len(f))], nil
}

type fakeDrift struct{ s DriftSummary }

func (f fakeDrift) DriftSummary(context.Context) (DriftSummary, bool, error) { return f.s, true, nil }

type fakeTasks map[string]TaskInfo

func (f fakeTasks) TaskInfo(_ context.Context, id string) (TaskInfo, bool, error) {
	t, ok := f[id]
	return t, ok, nil
}

func testFakes() fakes {
	return fakes{
		status: fakeStatus{
			{Name: "logstash", Healthy: true, LastPoll: t0.Add(-12 * time.Second)},
			{Name: "phabricator", Healthy: false, Detail: "401 Unauthorized", Backlog: 3},
		},
		recent: fakeRecent{
			{Key: "abcdef0123456789", Title: "Wikimedia\\Rdbms\\DBQueryError: Error 1205", Status: "new", Count: 42, FirstSeen: t0.Add(-time.Hour), Task: "T100"},
			{Key: "0011223344", Title: "PHP Warning: Undefined index: \x0304foo\x03", Status: "regressed", Count: 7, FirstSeen: t0.Add(-3 * time.Hour)},
		},
		drift: fakeDrift{DriftSummary{When: t0.Add(-2 * time.Hour), Real: 3, Known: 17, Link: "https://sheriff.example/drift"}},
		tasks: fakeTasks{"T100": {ID: "T100", Title: "DBQueryError on enwiki", Status: "open", URL: "https://phabricator.example/T100", Count: 42, LastSeen: t0.Add(-time.Minute)}},
	}
}

// The bot connects, joins, announces (singly and as a burst), answers
// every command in the channel and in private, and enforces access
// control where the network has no accounts: only channel operators (with
// allow_ops) may change things.
func TestNgircdAnnounceAndCommands(t *testing.T) {
	srv := ircd.Ngircd(t)
	// alice joins first and so is channel operator; bob is not.
	alice := ircd.Dial(t, srv.Addr(), "alice")
	alice.Join(testChan)
	bob := ircd.Dial(t, srv.Addr(), "bob")
	bob.Join(testChan)

	db := openDB(t)
	c := clock.NewFake(t0)
	cfg := baseConfig(srv)
	cfg.AllowOps = true
	f := testFakes()
	f.allowFlood = true
	h := startBot(t, srv, db, cfg, f, c, newGate())
	alice.MustExpect(20*time.Second, "bot join", joined("sheriff"))
	h.waitHealthy()
	st := h.bot.State()
	if !st.Connected || st.Nick != "sheriff" || len(st.Channels) != 1 || len(st.Missing) != 0 {
		t.Errorf("State = %+v", st)
	}

	ctx := context.Background()
	// One finding: announced once the burst window has passed, addressed to
	// the on-duty sheriff, with control characters and secrets removed.
	if err := h.bot.Announce(ctx, errFinding("sig1", "DBQueryError\r\nQUIT :x \x02s3cr3t\x02"), "https://phabricator.example/T100"); err != nil {
		t.Fatal(err)
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	e := alice.MustExpect(10*time.Second, "single announcement", notice("alice: new error signature #1: "))
	if got, want := e.Last(), "alice: new error signature #1: DBQueryError QUIT :x [REDACTED] — https://phabricator.example/T100"; got != want {
		t.Errorf("announcement %q, want %q", got, want)
	}
	h.waitPending(0) // delivery confirmed by the server
	// A burst is one line.
	for i, title := range []string{"Error A", "Error B", "Error C"} {
		if err := h.bot.Announce(ctx, errFinding("burst"+string(rune('a'+i)), title), ""); err != nil {
			t.Fatal(err)
		}
	}
	// Announcing a finding that is still queued does not queue it twice.
	if err := h.bot.Announce(ctx, errFinding("bursta", "Error A"), ""); err != nil {
		t.Fatal(err)
	}
	h.waitPending(3)
	c.Advance(10 * time.Second)
	e = alice.MustExpect(10*time.Second, "burst", notice("alice: 3 new error signatures"))
	if got, want := e.Last(), "alice: 3 new error signatures (#2–#4, burst b2): Error A, Error B, Error C — see https://sheriff.example/recent"; got != want {
		t.Errorf("burst %q, want %q", got, want)
	}
	h.waitPending(0)

	// An informational line (the nightly drift summary) addresses nobody and
	// is sent once even when said twice with the same dedupe key.
	for range 2 {
		if err := h.bot.Say(ctx, "drift: 3 real (3 puppet), 1 new, 0 resolved \x03https://sheriff.example/reports/latest.html", "run-7"); err != nil {
			t.Fatal(err)
		}
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	e = alice.MustExpect(10*time.Second, "info line", notice("drift: 3 real"))
	if got, want := e.Last(), "drift: 3 real (3 puppet), 1 new, 0 resolved https://sheriff.example/reports/latest.html"; got != want {
		t.Errorf("info line %q, want %q", got, want)
	}
	h.waitPending(0)

	// Read-only commands, in the channel (PRIVMSG to the channel) ...
	for _, tc := range []struct{ cmd, want string }{
		{"!help", "commands: help, sheriff, ack, unack, silence, unsilence, silences, status, recent, drift, task, version"},
		{"!help silence", "usage: !silence <signature|T123|#n|title-pattern*> <duration> <reason>"},
		{"sheriff: oncall", "on duty: alice until Mon 13 Jan 10:00 UTC, then bob"},
		{"sheriff, sheriff", "on duty: alice"},
		{"!status", "logstash ok (polled 42s ago); phabricator FAILING (backlog 3, 401 Unauthorized)"},
		{"!recent 2", "abcdef012345 Wikimedia\\Rdbms\\DBQueryError: Error 1205 (new, 42×, first 1h ago) T100 | 0011223344 PHP Warning: Undefined index: foo (regressed"},
		{"!drift", "drift run 2h ago: 3 real drift findings, 17 known differences https://sheriff.example/drift"},
		{"!task T100", "T100 (open): DBQueryError on enwiki — 42 events, last 1m ago https://phabricator.example/T100"},
		{"!version", "sheriff 1.2.3-test"},
		{"!recent many", "\"many\" is not a positive number; usage: !recent [n]"},
		{"sheriff: frobnicate", "unknown command \"frobnicate\"; try sheriff: help"},
		{"!silences", "no active silences"},
	} {
		bob.Send("PRIVMSG " + testChan + " :" + tc.cmd)
		e := bob.MustExpect(15*time.Second, tc.cmd, ircd.From("sheriff", ircd.Msg("PRIVMSG", testChan, "bob: ")))
		if !strings.Contains(e.Last(), tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.cmd, e.Last(), tc.want)
		}
	}
	// "!log" belongs to another bot: no answer. The next reply proves the
	// bot has processed it (commands are handled in order).
	bob.Send("PRIVMSG " + testChan + " :!log deployed the train")
	bob.Send("PRIVMSG " + testChan + " :!version")
	bob.MustExpect(15*time.Second, "version after !log", replyTo("bob", "sheriff 1.2.3-test"))
	if n := bob.Count(ircd.From("sheriff", ircd.Msg("PRIVMSG", testChan, "\"log\""))); n != 0 {
		t.Errorf("bot answered !log (%d lines)", n)
	}
	// ... and in private, by NOTICE.
	bob.Send("PRIVMSG sheriff :oncall")
	e = bob.MustExpect(15*time.Second, "private reply", ircd.From("sheriff", ircd.Msg("NOTICE", "bob", "on duty: alice")))
	_ = e

	// Mutating commands: ngIRCd has no accounts, so only the channel
	// operator (alice) may use them, and only in the channel.
	bob.Send("PRIVMSG " + testChan + " :!ack 1")
	bob.MustExpect(15*time.Second, "refusal", replyTo("bob", "sorry, ack needs an authorised NickServ account (cannot verify your account on this network)"))
	bob.Send("PRIVMSG sheriff :silence *Error* 1d noisy")
	bob.MustExpect(15*time.Second, "private refusal", ircd.From("sheriff", ircd.Msg("NOTICE", "bob", "sorry, silence needs")))
	alice.Send("PRIVMSG sheriff :ack 1") // ops only count in the channel
	alice.MustExpect(15*time.Second, "private refusal for op", ircd.From("sheriff", ircd.Msg("NOTICE", "alice", "sorry, ack needs")))

	alice.Send("PRIVMSG " + testChan + " :!ack #1")
	alice.MustExpect(15*time.Second, "ack", replyTo("alice", "acked #1 (DBQueryError QUIT :x [REDACTED]) for alice (op in #sheriff-test)"))
	// Hostile input: formatting codes and a bidi override in the reason
	// never come back.
	alice.Send("PRIVMSG " + testChan + " :!silence *Error* 2h \x0304flaky\x03 \u202etest\u202c")
	e = alice.MustExpect(15*time.Second, "silence", replyTo("alice", "silence #1: pattern *Error* for 2 h, until Mon 6 Jan 14:00 UTC (flaky test)"))
	if strings.ContainsAny(e.Last(), "\x03\u202e\u202c") {
		t.Errorf("control characters echoed: %q", e.Last())
	}
	alice.Send("PRIVMSG " + testChan + " :!silence T100 forever because")
	alice.MustExpect(15*time.Second, "bad duration", replyTo("alice", "bad duration \"forever\" (e.g. 30min, 4h, 2d, 1w); usage: !silence"))
	alice.Send("PRIVMSG " + testChan + " :!silences")
	alice.MustExpect(15*time.Second, "silences", replyTo("alice", "1 active: #1 pattern *Error* by alice (op in #sheriff-test) until Mon 6 Jan 14:00 UTC: flaky test"))

	// A silenced finding is never announced; the next one is.
	if err := h.bot.Announce(ctx, errFinding("sig9", "Another Error here"), ""); err != nil {
		t.Fatal(err)
	}
	if err := h.bot.Announce(ctx, errFinding("sig10", "Fatal: out of memory"), ""); err != nil {
		t.Fatal(err)
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	alice.MustExpect(10*time.Second, "unsilenced finding", notice("Fatal: out of memory"))
	if n := alice.Count(notice("Another Error")); n != 0 {
		t.Errorf("silenced finding announced %d times", n)
	}
	alice.Send("PRIVMSG " + testChan + " :!unsilence 1")
	alice.MustExpect(15*time.Second, "unsilence", replyTo("alice", "lifted silence #1"))

	// Every mutating command, refused or not, is in the audit log.
	log, err := h.bot.sil.AuditLog(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Action+"/"+strings.SplitN(e.Result, ":", 2)[0]+"/"+e.Who)
	}
	want := []string{
		"unsilence/ok/alice (op in #sheriff-test)",
		"silence/usage/alice (op in #sheriff-test)",
		"silence/ok/alice (op in #sheriff-test)",
		"ack/ok/alice (op in #sheriff-test)",
		"ack/refused/alice (no account)",
		"silence/refused/bob (no account)",
		"ack/refused/bob (no account)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Killing the server: the bot reconnects, re-joins, and what was announced
// meanwhile is delivered exactly once, also across a restart of the bot.
func TestNgircdReconnectExactlyOnce(t *testing.T) {
	srv := ircd.Ngircd(t)
	db := openDB(t)
	c := clock.NewFake(t0)
	g := newGate()
	h := startBot(t, srv, db, baseConfig(srv), fakes{}, c, g)
	obs := ircd.Dial(t, srv.Addr(), "alice")
	obs.Join(testChan)
	h.waitHealthy()
	ctx := context.Background()

	if err := h.bot.Announce(ctx, errFinding("k1", "first error"), ""); err != nil {
		t.Fatal(err)
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	obs.MustExpect(10*time.Second, "first", notice("#1: first error"))
	h.waitPending(0)

	g.Block() // hold reconnection until the observer is back in the channel
	srv.Kill()
	waitFor(t, 10*time.Second, "bot to notice the disconnect", func() bool { return !h.bot.State().Connected })
	for _, k := range []string{"k2", "k3"} {
		if err := h.bot.Announce(ctx, errFinding(k, "error "+k), ""); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(10 * time.Second)
	if st := h.bot.State(); st.Connected || st.Healthy || st.Pending != 2 || st.LastError == "" {
		t.Errorf("State while disconnected = %+v", st)
	}

	srv.Start()
	obs2 := ircd.Dial(t, srv.Addr(), "alice2")
	obs2.Join(testChan)
	g.Release()
	obs2.MustExpect(20*time.Second, "bot re-join", joined("sheriff"))
	obs2.MustExpect(10*time.Second, "queued burst", notice("alice: 2 new error signatures (#2–#3, burst b2): error k2, error k3"))
	h.waitPending(0)

	// One more announcement after the queued ones proves the queue has been
	// drained and nothing else (a duplicate) was in it.
	if err := h.bot.Announce(ctx, errFinding("k4", "error k4"), ""); err != nil {
		t.Fatal(err)
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	obs2.MustExpect(10*time.Second, "k4", notice("#4: error k4"))
	if n := obs2.Count(notice("error k2")); n != 1 {
		t.Errorf("queued announcement delivered %d times", n)
	}
	if st := h.bot.State(); st.Reconnects < 1 || !st.Healthy {
		t.Errorf("State after reconnect = %+v", st)
	}

	// A new bot process on the same database re-sends nothing.
	h.stop()
	obs2.MustExpect(10*time.Second, "bot quit", func(e *girc.Event) bool {
		return e.Command == girc.QUIT && e.Source != nil && e.Source.Name == "sheriff"
	})
	h2 := startBot(t, srv, db, baseConfig(srv), fakes{}, c, newGate())
	obs2.MustExpect(20*time.Second, "second bot joins", joined("sheriff"))
	if err := h2.bot.Announce(ctx, errFinding("k5", "error k5"), ""); err != nil {
		t.Fatal(err)
	}
	h2.waitPending(1)
	c.Advance(10 * time.Second)
	obs2.MustExpect(10*time.Second, "k5", notice("#5: error k5"))
	for _, k := range []string{"error k2", "error k4"} {
		if n := obs2.Count(notice(k)); n != 1 {
			t.Errorf("%s delivered %d times:\n%s", k, n, obs2.Transcript())
		}
	}
}

// Kicked: the bot re-joins. Nick taken: it uses its alternative and takes
// its nick back when it is free.
func TestNgircdKickAndNickRecovery(t *testing.T) {
	srv := ircd.Ngircd(t)
	squatter := ircd.Dial(t, srv.Addr(), "sheriff")
	op := ircd.Dial(t, srv.Addr(), "alice")
	op.Join(testChan)
	db := openDB(t)
	h := startBot(t, srv, db, baseConfig(srv), fakes{}, clock.NewFake(t0), newGate())
	op.MustExpect(20*time.Second, "bot joins as alternative nick", joined("sheriff_"))
	h.waitHealthy()
	if n := h.bot.State().Nick; n != "sheriff_" {
		t.Errorf("nick = %q, want sheriff_", n)
	}

	op.Send("KICK " + testChan + " sheriff_ :out")
	op.MustExpect(10*time.Second, "re-join after kick", joined("sheriff_"))

	squatter.Send("QUIT :bye")
	op.MustExpect(10*time.Second, "nick regained", func(e *girc.Event) bool {
		return e.Command == girc.NICK && e.Source != nil && e.Source.Name == "sheriff_" && e.Last() == "sheriff"
	})
	waitFor(t, 5*time.Second, "state shows the nick", func() bool { return h.bot.State().Nick == "sheriff" })
}

// Unacked findings are reminded, then escalated to the next person;
// acked ones are not. An expiring silence is announced once. The topic
// carries the on-duty sheriff.
func TestNgircdEscalationExpiryTopic(t *testing.T) {
	srv := ircd.Ngircd(t)
	db := openDB(t)
	c := clock.NewFake(t0)
	cfg := baseConfig(srv)
	cfg.EscalateAfter = 10 * time.Minute
	cfg.TopicSegment = true
	// The bot joins first, so it is operator and may set the topic.
	h := startBot(t, srv, db, cfg, fakes{}, c, newGate())
	h.waitHealthy()
	obs := ircd.Dial(t, srv.Addr(), "alice")
	waitFor(t, 10*time.Second, "topic set", func() bool { return h.bot.topic(testChan) == "sheriff: alice" })
	obs.Join(testChan)
	obs.MustExpect(5*time.Second, "topic on join", func(e *girc.Event) bool {
		return e.Command == girc.RPL_TOPIC && e.Last() == "sheriff: alice"
	})
	ctx := context.Background()

	for _, k := range []string{"e1", "e2"} {
		if err := h.bot.Announce(ctx, finding.Finding{Kind: finding.KindPuppet, Key: k, Title: "puppet " + k, Status: finding.StatusNew}, ""); err != nil {
			t.Fatal(err)
		}
	}
	h.waitPending(2)
	c.Advance(10 * time.Second)
	obs.MustExpect(10*time.Second, "burst", notice("alice: 2 puppet failures (#1–#2, burst b1): puppet e1, puppet e2"))
	h.waitPending(0)
	if err := h.bot.sil.Ack(ctx, "e2", "alice"); err != nil {
		t.Fatal(err)
	}
	sid, err := h.bot.sil.Add(ctx, silence.Silence{Matcher: "zzz", Author: "bob", Reason: "maintenance", Created: c.Now(), Expires: c.Now().Add(15 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	c.Advance(10 * time.Minute)
	h.waitPending(1) // the reminder waits for its burst window
	c.Advance(10 * time.Second)
	obs.MustExpect(10*time.Second, "reminder", notice("alice: #1 not acked for 10 min: puppet e1"))

	c.Advance(10 * time.Minute) // the silence has expired too
	waitFor(t, 10*time.Second, "escalation and expiry queued", func() bool {
		n, _ := h.bot.q.pendingCount(ctx)
		return n == 2
	})
	c.Advance(10 * time.Second)
	obs.MustExpect(10*time.Second, "escalation", notice("bob: #1 not acked by alice for 20 min: puppet e1"))
	obs.MustExpect(10*time.Second, "expiry", notice("silence #1 (key zzz, by bob) has expired: maintenance"))

	// Nothing further: e1 has had all its pings, e2 was acked, the expiry
	// is told once. A fresh announcement is the next line.
	c.Advance(time.Hour)
	if err := h.bot.Announce(ctx, errFinding("e3", "error e3"), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "one pending", func() bool {
		n, _ := h.bot.q.pendingCount(ctx)
		return n == 1
	})
	c.Advance(10 * time.Second)
	obs.MustExpect(10*time.Second, "e3", notice("error e3"))
	for _, s := range []string{"e2", "not acked for", "not acked by", "has expired"} {
		if n := obs.Count(notice(s)); n > 1 || (s == "e2" && n != 1) {
			t.Errorf("%q announced %d times", s, n)
		}
	}
	_ = sid
}
