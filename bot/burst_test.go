package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lrstanley/girc"

	"github.com/wikimedia/sheriff/internal/clock"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/ircd"
)

// The acceptance test: a burst of 30 findings with a short
// escalate_after. Each round is at most one reminder line and one
// escalation line, "ack all" stops both, and a command sent while the
// burst goes out (with the flood budget on) is answered within 2 s.
func TestNgircdBurstEscalationRounds(t *testing.T) {
	srv := ircd.Ngircd(t)
	alice := ircd.Dial(t, srv.Addr(), "alice") // first in: channel operator
	alice.Join(testChan)
	bob := ircd.Dial(t, srv.Addr(), "bob")
	bob.Join(testChan)
	db := openDB(t)
	c := clock.NewFake(t0)
	cfg := baseConfig(srv)
	cfg.AllowOps = true
	cfg.EscalateAfter = time.Minute // on the fake clock
	h := startBot(t, srv, db, cfg, fakes{}, c, newGate())
	alice.MustExpect(20*time.Second, "bot join", joined("sheriff"))
	h.waitHealthy()
	ctx := context.Background()

	// 30 new error signatures, 4 puppet failures and 3 informational lines:
	// several lines, so the flood budget is in use when bob asks.
	for i := 1; i <= 30; i++ {
		if err := h.bot.Announce(ctx, errFinding(fmt.Sprintf("sig%02d", i), fmt.Sprintf("Error number %d in SomeClass::someMethod", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 4; i++ {
		f := finding.Finding{Kind: finding.KindPuppet, Key: fmt.Sprintf("pup%d", i), Title: fmt.Sprintf("puppet failure on deployment-host%02d: Could not find class profile::x", i), Status: finding.StatusNew}
		if err := h.bot.Announce(ctx, f, ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if err := h.bot.Say(ctx, fmt.Sprintf("drift: run %d: %s", i, strings.Repeat("class counts and the report link ", 8)), fmt.Sprint("run", i)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitPending(37)
	c.Advance(10 * time.Second)
	alice.MustExpect(10*time.Second, "the burst", notice("alice: 30 new error signatures (#1–#30, burst b1): Error number 1"))
	asked := time.Now()
	bob.Send("PRIVMSG " + testChan + " :!version")
	bob.MustExpect(10*time.Second, "reply during the burst", replyTo("bob", "sheriff 1.2.3-test"))
	took := time.Since(asked)
	t.Logf("reply during the burst after %s", took)
	if took > 2*time.Second {
		t.Errorf("reply during the burst took %s, want at most 2s", took)
	}
	alice.MustExpect(20*time.Second, "puppet burst", notice("alice: 4 puppet failures (#31–#34, burst b31)"))
	h.waitPendingFor(0, 60*time.Second) // the flood budget paces the rest
	// The rest of the test is about what is sent, not how fast.
	h.bot.out.mu.Lock()
	h.bot.out.unlimited = true
	h.bot.out.mu.Unlock()

	// Round 1: one reminder line to alice, then one escalation line to bob.
	c.Advance(time.Minute)
	h.waitPending(34)
	c.Advance(10 * time.Second)
	alice.MustExpect(20*time.Second, "reminder", notice("alice: 34 findings not acked for 1 min (#1–#34): Error number 1"))
	h.waitPending(0)
	c.Advance(time.Minute)
	h.waitPending(34)
	c.Advance(10 * time.Second)
	alice.MustExpect(20*time.Second, "escalation", notice("bob: 34 findings not acked by alice for 2 min (#1–#34): Error number 1"))
	h.waitPending(0)
	// Nothing more for them, however long nobody acks.
	c.Advance(10 * time.Minute)

	// Round 2: a new burst, acked with "ack all" before its reminder.
	for i := 31; i <= 60; i++ {
		if err := h.bot.Announce(ctx, errFinding(fmt.Sprintf("sig%02d", i), fmt.Sprintf("Error number %d", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	h.waitPending(30)
	c.Advance(10 * time.Second)
	// Reminders and escalations took ids too: the second burst starts after them.
	alice.MustExpect(10*time.Second, "second burst", notice("alice: 30 new error signatures (#106–#135, burst b106)"))
	h.waitPending(0)
	alice.Send("PRIVMSG " + testChan + " :!ack all")
	e := alice.MustExpect(10*time.Second, "ack all", replyTo("alice", "acked "))
	// Round 1's 34 were never acked either: "all" is everything announced
	// to alice and not acked.
	if want := "acked 64 findings (#1–#34, #106–#135) for alice (op in #sheriff-test); no more reminders"; !strings.Contains(e.Last(), want) {
		t.Errorf("ack all: %q, want %q", e.Last(), want)
	}
	for range 3 {
		c.Advance(time.Minute)
		time.Sleep(100 * time.Millisecond) // a few maintenance ticks
	}
	// A sentinel proves the queue held nothing before it.
	if err := h.bot.Announce(ctx, errFinding("sentinel", "sentinel error"), ""); err != nil {
		t.Fatal(err)
	}
	h.waitPending(1)
	c.Advance(10 * time.Second)
	alice.MustExpect(10*time.Second, "sentinel", notice("sentinel error"))
	for sub, want := range map[string]int{"not acked for": 1, "not acked by": 1} {
		if n := alice.Count(notice(sub)); n != want {
			t.Errorf("%d lines with %q, want %d:\n%s", n, sub, want, alice.Transcript())
		}
	}
	if n := alice.Count(func(e *girc.Event) bool {
		return e.Command == girc.NOTICE && e.Source != nil && e.Source.Name == "sheriff" && strings.Contains(e.Last(), "#106")
	}); n != 1 {
		t.Errorf("the acked burst was mentioned %d times, want once (its announcement)", n)
	}
}
