package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/config"
	"github.com/wikimedia/sheriff/internal/ircd"
)

// TestDemoOnIRC runs the demo service with the bot against a real ngircd:
// new signatures are announced to the on-duty sheriff (as a burst, not one
// line per signature), and the channel's questions are answered from the
// service's state.
func TestDemoOnIRC(t *testing.T) {
	srv := ircd.Ngircd(t)
	alice := ircd.Dial(t, srv.Addr(), "alice")
	alice.Join("#sheriff-test")

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IRC = &config.IRC{
		Server: srv.Host, Port: srv.Port, Nick: "sheriff", Channels: []string{"#sheriff-test"},
		BurstWindow: config.Duration(time.Second), AnnounceRate: 600,
		Rota: config.Rota{People: []config.Person{{Nick: "alice", Account: "alice"}}, Start: "2026-01-05", Days: 7},
	}
	svc := newService(t, cfg)
	serve(t, svc)

	e := alice.MustExpect(60*time.Second, "announcement of the demo's signatures", ircd.Msg("NOTICE", "#sheriff-test", "alice: "))
	if !strings.Contains(e.Last(), "new error signature") {
		t.Fatalf("announcement %q", e.Last())
	}
	for _, leak := range []string{"172.16.", "@example.org"} {
		if strings.Contains(alice.Transcript(), leak) {
			t.Fatalf("IRC transcript leaks %q", leak)
		}
	}
	alice.Send("PRIVMSG #sheriff-test :!oncall")
	if e := alice.MustExpect(20*time.Second, "oncall reply", ircd.Msg("PRIVMSG", "#sheriff-test", "on duty: alice")); e == nil {
		t.Fatal("no oncall reply")
	}
	alice.Send("PRIVMSG #sheriff-test :!status")
	e = alice.MustExpect(20*time.Second, "status reply", ircd.From("sheriff", ircd.Msg("PRIVMSG", "#sheriff-test", "source:demo")))
	if !strings.Contains(e.Last(), "filer") {
		t.Errorf("status %q lacks the filer", e.Last())
	}
	alice.Send("PRIVMSG #sheriff-test :!recent 3")
	alice.MustExpect(20*time.Second, "recent reply", ircd.From("sheriff", ircd.Msg("PRIVMSG", "#sheriff-test", "(")))
	// An unauthorised user cannot silence.
	alice.Send("PRIVMSG #sheriff-test :!silence T1 1h noise")
	e = alice.MustExpect(20*time.Second, "refusal", ircd.From("sheriff", ircd.Msg("PRIVMSG", "#sheriff-test", "")))
	if strings.Contains(e.Last(), "silence #") {
		t.Fatalf("an unidentified nick silenced something: %q", e.Last())
	}
	// Dry-run tasks are known by their outbox id, never by their file.
	alice.Send("PRIVMSG #sheriff-test :!task T1")
	e = alice.MustExpect(20*time.Second, "task reply", ircd.From("sheriff", ircd.Msg("PRIVMSG", "#sheriff-test", "alice: T1 (")))
	if strings.Contains(alice.Transcript(), cfg.DataDir) || strings.Contains(alice.Transcript(), ".md") {
		t.Errorf("IRC shows a local path: %q", e.Last())
	}
	// Announcements are budgeted: far fewer lines than signatures.
	time.Sleep(2 * time.Second)
	n := alice.Count(ircd.From("sheriff", ircd.Cmd("NOTICE")))
	sigs, _ := svc.Tracker.Stats(context.Background())
	if int64(n) >= sigs.Signatures {
		t.Fatalf("%d announcement lines for %d signatures: not grouped", n, sigs.Signatures)
	}
}
