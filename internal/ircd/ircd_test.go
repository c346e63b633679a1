package ircd

import (
	"github.com/lrstanley/girc"
	"testing"
	"time"
)

func TestNgircdRestart(t *testing.T) {
	s := Ngircd(t)
	a := Dial(t, s.Addr(), "alice")
	b := Dial(t, s.Addr(), "bob")
	a.Join("#t")
	b.Join("#t")
	a.Send("PRIVMSG #t :hello there")
	b.MustExpect(5*time.Second, "message", From("alice", Msg("PRIVMSG", "#t", "hello there")))

	s.Kill()
	if _, err := a.Expect(5*time.Second, func(*girc.Event) bool { return false }); err == nil {
		t.Fatal("connection survived kill")
	}
	s.Start()
	c := Dial(t, s.Addr(), "alice")
	c.Join("#t")
}
