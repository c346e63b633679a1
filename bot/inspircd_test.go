package bot

import (
	"context"
	"github.com/wikimedia/sheriff/internal/clock"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/ircd"
)

// register creates a NickServ account for c's current nick (and leaves c
// logged in).
func register(t *testing.T, c *ircd.Client, nick, password string) {
	t.Helper()
	c.Sendf("PRIVMSG NickServ :REGISTER %s %s@example.org", password, nick)
	c.MustExpect(15*time.Second, "NickServ registration", ircd.From("NickServ", ircd.Msg("NOTICE", nick, "is now registered")))
}

// Access control with real NickServ accounts (InspIRCd + Atheme, as on
// Libera.Chat): the bot logs in with SASL PLAIN; a registered, identified
// user may ack and silence; an unregistered user who takes the registered
// user's nick may not. Checked both with the account-tag capability and,
// for networks without it, with WHOX lookups.
func TestInspircdAccounts(t *testing.T) {
	srv := ircd.InspircdAtheme(t)

	// The bot's own account, for SASL.
	reg := ircd.Dial(t, srv.Addr(), "sheriff")
	register(t, reg, "sheriff", "bot-password-1")
	reg.Send("QUIT")

	alice := ircd.Dial(t, srv.Addr(), "alice")
	register(t, alice, "alice", "alice-password-1")
	alice.Join(testChan)

	for _, tc := range []struct{ mode, other string }{{"account-tag", "dave"}, {"whox", "erin"}} {
		mode, other := tc.mode, tc.other
		t.Run(mode, func(t *testing.T) {
			db := openDB(t)
			c := clock.NewFake(t0)
			cfg := baseConfig(srv)
			cfg.SASLAccount, cfg.SASLPassword = "sheriff", "bot-password-1"
			cfg.Admins = []string{"carol"} // alice is allowed as a rota member
			f := fakes{allowFlood: true, noAccountCaps: mode == "whox"}
			h := startBot(t, srv, db, cfg, f, c, newGate())
			alice.MustExpect(20*time.Second, "bot join", joined("sheriff"))
			h.waitHealthy()
			if !h.bot.client.HasCapability("sasl") || !h.bot.client.HasCapability("account-tag") {
				t.Errorf("capabilities not negotiated")
			}
			if a := h.bot.State().Account; a != "sheriff" {
				t.Errorf("logged in as %q, want sheriff (SASL)", a)
			}
			ctx := context.Background()
			if err := h.bot.Announce(ctx, errFinding("sigA", "Fatal error in "+mode), "https://phabricator.example/T123"); err != nil {
				t.Fatal(err)
			}
			h.waitPending(1)
			c.Advance(10 * time.Second)
			alice.MustExpect(10*time.Second, "announcement", notice("alice: new error signature #1: Fatal error in "+mode))

			alice.Send("PRIVMSG " + testChan + " :!ack 1")
			alice.MustExpect(15*time.Second, "ack by account", replyTo("alice", "acked #1 (Fatal error in "+mode+") for alice"))
			alice.Send("PRIVMSG sheriff :silence T123 1h upstream bug")
			alice.MustExpect(15*time.Second, "private silence", ircd.From("sheriff", ircd.Msg("NOTICE", "alice", "silence #1: task T123")))

			// An unregistered user using the registered user's nick.
			alice.Send("NICK alice_away")
			alice.MustExpect(10*time.Second, "nick change", ircd.Cmd("NICK"))
			mallory := ircd.Dial(t, srv.Addr(), "alice")
			mallory.Join(testChan)
			mallory.Send("PRIVMSG " + testChan + " :!unack 1")
			mallory.MustExpect(15*time.Second, "refusal", replyTo("alice", "sorry, unack needs an authorised NickServ account (you are not identified with NickServ)"))
			mallory.Send("PRIVMSG sheriff :unsilence 1")
			mallory.MustExpect(15*time.Second, "private refusal", ircd.From("sheriff", ircd.Msg("NOTICE", "alice", "sorry, unsilence needs")))
			// A registered account that is not on the list.
			mallory.Send("NICK " + other)
			mallory.MustExpect(10*time.Second, "nick change", ircd.Cmd("NICK"))
			register(t, mallory, other, "other-password-1")
			mallory.Send("PRIVMSG " + testChan + " :!unack 1")
			mallory.MustExpect(15*time.Second, "refusal", replyTo(other, "sorry, unack needs an authorised NickServ account (account "+other+" is not on the list)"))
			mallory.Send("QUIT")

			// The real alice, under another nick, still can.
			alice.Send("PRIVMSG " + testChan + " :!unack 1")
			alice.MustExpect(15*time.Second, "unack by account", replyTo("alice_away", "removed the ack on #1"))
			alice.Send("NICK alice")
			alice.MustExpect(10*time.Second, "nick back", ircd.Cmd("NICK"))

			if ack, ok, _ := h.bot.sil.Acked(ctx, "sigA"); ok {
				t.Errorf("still acked: %+v", ack)
			}
			s, ok, _ := h.bot.sil.Match(ctx, "x", "T123", "", c.Now())
			if !ok || s.Author != "alice" {
				t.Errorf("silence = %+v, %v", s, ok)
			}
			log, _ := h.bot.sil.AuditLog(ctx, 10)
			var got []string
			for _, e := range log {
				got = append(got, e.Action+"/"+strings.SplitN(e.Result, ":", 2)[0]+"/"+e.Who)
			}
			want := "unack/ok/alice unack/refused/" + other + " unsilence/refused/alice (no account) unack/refused/alice (no account) silence/ok/alice ack/ok/alice"
			if strings.Join(got, " ") != want {
				t.Errorf("audit log %q, want %q", strings.Join(got, " "), want)
			}
			h.stop()
		})
	}

	t.Run("bad SASL password", func(t *testing.T) {
		cfg := baseConfig(srv)
		cfg.SASLAccount, cfg.SASLPassword = "sheriff", "not-the-password"
		h := startBot(t, srv, openDB(t), cfg, fakes{}, clock.NewFake(t0), newGate())
		waitFor(t, 20*time.Second, "SASL failure in the state", func() bool {
			st := h.bot.State()
			return !st.Connected && strings.Contains(st.LastError, "SASL")
		})
		t.Logf("state after SASL failure: %+v", h.bot.State())
		if st := h.bot.State(); strings.Contains(st.LastError, "not-the-password") {
			t.Errorf("password in state: %+v", st)
		}
	})
}
