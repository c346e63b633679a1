package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/lrstanley/girc"
)

// Replies overtake queued announcements, which overtake reminders; the
// flood budget holds lines back without reordering within a priority.
func TestSenderPriorities(t *testing.T) {
	now := time.Date(2025, 1, 6, 12, 0, 0, 0, time.UTC)
	s := newSender(func(*girc.Event) {}, func(int) bool { return true })
	s.now = func() time.Time { return now }
	long := strings.Repeat("x", 400) // costs 5s of budget
	line := func(text string) *girc.Event {
		return &girc.Event{Command: "NOTICE", Params: []string{"#c", text}}
	}
	s.enqueue(prioFollowUp, 1, line("reminder "+long))
	s.enqueue(prioNew, 1, line("new 1 "+long))
	s.enqueue(prioNew, 1, line("new 2 "+long))
	var order []string
	take := func() {
		t.Helper()
		it, delay, ok := s.next()
		if !ok || delay != 0 {
			t.Fatalf("next: ok %v, delay %s", ok, delay)
		}
		order = append(order, strings.Fields(it.ev.Last())[0]+strings.Fields(it.ev.Last())[1][:1])
	}
	take() // new 1: the budget has 8s of slack
	take() // new 2
	// Budget spent: the reminder waits ...
	if _, delay, ok := s.next(); !ok || delay <= 0 {
		t.Fatalf("no wait with the budget spent (delay %s)", delay)
	}
	// ... and a reply that arrives meanwhile goes first once it may.
	s.enqueue(prioReply, 1, line("reply ok"))
	now = now.Add(10 * time.Second)
	take()
	now = now.Add(10 * time.Second)
	take()
	if got := strings.Join(order, " "); got != "new1 new2 replyo reminderx" {
		t.Errorf("order %q", got)
	}
	if _, _, ok := s.next(); ok {
		t.Error("queue not empty")
	}
	// Replies are bounded; lines of a dead connection are dropped.
	for i := 0; i < maxQueuedRepl; i++ {
		if _, ok := s.enqueue(prioReply, 1, line("r")); !ok {
			t.Fatalf("reply %d refused", i)
		}
	}
	if _, ok := s.enqueue(prioReply, 1, line("one too many")); ok {
		t.Error("reply queue is unbounded")
	}
	done, _ := s.enqueue(prioNew, 1, line("old connection"))
	s.flush(2)
	if err := <-done; err != errDisconnected {
		t.Errorf("flushed line: %v", err)
	}
}

// The throttle counts commands when they arrive, per account or host: a
// patient user is never throttled, a flood is, and is told once.
func TestThrottleByArrival(t *testing.T) {
	b := &Bot{userBurst: 5, userWindow: 10 * time.Second, userHits: map[string]*userHits{}}
	t0 := time.Date(2025, 1, 6, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 30; i++ {
		if limited, _ := b.throttle("host:patient", t0.Add(time.Duration(i)*3*time.Second)); limited {
			t.Fatalf("a command every 3s throttled at #%d", i)
		}
	}
	var told, limitedN int
	for i := 0; i < 12; i++ {
		limited, tell := b.throttle("host:flood", t0.Add(time.Duration(i)*100*time.Millisecond))
		if limited {
			limitedN++
		}
		if tell {
			told++
		}
	}
	if limitedN != 7 || told != 1 {
		t.Errorf("flood: %d limited, told %d times; want 7 and 1", limitedN, told)
	}
	// Once the window has passed the user may again, and would be told again.
	if limited, _ := b.throttle("host:flood", t0.Add(20*time.Second)); limited {
		t.Error("still throttled after the window")
	}
	// One account behind several nicks is one sender; keys come from the
	// account tag first, then the host.
	r1 := &request{nick: "a1", hasTagAccount: true, tagAccount: "Alice"}
	r2 := &request{nick: "a2", stateKnown: true, stateAccount: "alice"}
	if k1, k2 := throttleKey(r1, "h1"), throttleKey(r2, "h2"); k1 != k2 {
		t.Errorf("same account, keys %q and %q", k1, k2)
	}
	if k := throttleKey(&request{nick: "x"}, "Host.Example"); k != "host:host.example" {
		t.Errorf("host key %q", k)
	}
}
