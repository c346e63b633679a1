package bot

import (
	"context"
	"sync"
	"time"

	"github.com/lrstanley/girc"
)

// Every PRIVMSG and NOTICE the bot sends goes through one sender with a
// priority queue, so that what a person asked for is never stuck behind
// announcements: command replies first, then new findings, then reminders
// and escalations. It applies the same flood budget as girc's own limiter
// (each line costs 1s plus 1s per 100 bytes, with 8s of slack), which is
// therefore turned off: girc's limiter sleeps in whichever goroutine sends,
// first come first served, and a long reply would wait behind a burst.
const (
	prioReply = iota
	prioNew
	prioFollowUp // reminders, escalations, informational lines
	numPrios
)

const (
	floodSlack    = 8 * time.Second
	maxQueuedRepl = 64 // reply lines waiting; more are dropped (a flood of commands)
)

type outItem struct {
	ev   *girc.Event
	gen  int
	done chan error // gets nil once written, errDisconnected if dropped
}

type sender struct {
	mu    sync.Mutex
	q     [numPrios][]outItem
	wake  chan struct{}
	debt  time.Duration // flood budget used, decays in real time
	last  time.Time
	write func(*girc.Event)
	// live reports whether gen is the current registered connection.
	live func(gen int) bool
	now  func() time.Time
	// unlimited skips the flood budget (tests that exchange many lines).
	unlimited bool
}

func newSender(write func(*girc.Event), live func(int) bool) *sender {
	return &sender{wake: make(chan struct{}, 1), write: write, live: live, now: time.Now}
}

// lineCost is what one line costs of the flood budget (girc's formula).
func lineCost(e *girc.Event) time.Duration {
	return time.Second + time.Duration(e.Len())*time.Second/100
}

// enqueue queues ev at prio for connection gen. The returned channel gets
// the outcome; replies may be dropped (false) when too many are waiting.
func (s *sender) enqueue(prio, gen int, ev *girc.Event) (<-chan error, bool) {
	it := outItem{ev: ev, gen: gen, done: make(chan error, 1)}
	s.mu.Lock()
	if prio == prioReply && len(s.q[prioReply]) >= maxQueuedRepl {
		s.mu.Unlock()
		return nil, false
	}
	s.q[prio] = append(s.q[prio], it)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return it.done, true
}

// flush drops everything queued for connections other than gen.
func (s *sender) flush(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.q {
		keep := s.q[p][:0]
		for _, it := range s.q[p] {
			if it.gen == gen {
				keep = append(keep, it)
			} else {
				it.done <- errDisconnected
			}
		}
		s.q[p] = keep
	}
}

// wait returns how long the next line must wait for the flood budget.
func (s *sender) wait() time.Duration {
	now := s.now()
	s.debt -= now.Sub(s.last)
	s.last = now
	if s.debt < 0 {
		s.debt = 0
	}
	if s.unlimited || s.debt <= floodSlack {
		return 0
	}
	return s.debt - floodSlack
}

// next takes the line to write now, highest priority first; when the
// flood budget says to wait, it leaves the line queued (a reply arriving
// meanwhile goes out before it) and returns how long.
func (s *sender) next() (it outItem, delay time.Duration, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.q {
		if len(s.q[p]) == 0 {
			continue
		}
		it = s.q[p][0]
		if delay = s.wait(); delay > 0 {
			return it, delay, true
		}
		s.q[p] = s.q[p][1:]
		s.debt += lineCost(it.ev)
		return it, 0, true
	}
	return outItem{}, 0, false
}

// run writes queued lines until ctx is done.
func (s *sender) run(ctx context.Context) {
	for {
		it, delay, found := s.next()
		switch {
		case found && delay == 0:
			if s.live(it.gen) {
				s.write(it.ev)
				it.done <- nil
			} else {
				it.done <- errDisconnected
			}
			continue
		case found:
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			case <-s.wake:
				t.Stop()
			}
		default:
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
		}
	}
}
