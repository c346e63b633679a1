package ircd

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lrstanley/girc"
)

// Client is a minimal raw IRC client for observing and driving a server in
// tests. It answers PINGs and records every line it receives.
type Client struct {
	Nick string

	tb   testing.TB
	conn net.Conn
	w    *bufio.Writer
	wmu  sync.Mutex

	mu     sync.Mutex
	cond   *sync.Cond
	lines  []*girc.Event // not yet consumed by Expect (nil once consumed)
	seen   []*girc.Event // everything received
	closed bool
	err    error
}

// Dial connects to addr and registers as nick; it fails tb if registration
// does not complete within 15 s.
func Dial(tb testing.TB, addr, nick string) *Client {
	tb.Helper()
	c := DialNoWait(tb, addr, nick)
	if _, err := c.Expect(15*time.Second, Cmd(girc.RPL_WELCOME)); err != nil {
		tb.Fatalf("ircd client %s: no welcome: %v", nick, err)
	}
	return c
}

// DialNoWait connects and sends NICK/USER without waiting for the welcome.
func DialNoWait(tb testing.TB, addr, nick string) *Client {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("ircd client %s: %v", nick, err)
	}
	c := &Client{Nick: nick, tb: tb, conn: conn, w: bufio.NewWriter(conn)}
	c.cond = sync.NewCond(&c.mu)
	go c.read()
	tb.Cleanup(c.Close)
	c.Send("NICK " + nick)
	c.Send("USER " + nick + " 0 * :test client " + nick)
	return c
}

func (c *Client) read() {
	r := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			c.mu.Lock()
			c.closed, c.err = true, err
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		ev := girc.ParseEvent(line)
		if ev == nil {
			continue
		}
		if ev.Command == girc.PING {
			c.Send("PONG :" + ev.Last())
		}
		c.mu.Lock()
		c.lines = append(c.lines, ev)
		c.seen = append(c.seen, ev)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// Send writes one raw line (CRLF is added).
func (c *Client) Send(line string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.w.WriteString(line + "\r\n"); err == nil {
		_ = c.w.Flush()
	}
}

// Sendf is Send with formatting.
func (c *Client) Sendf(format string, args ...any) { c.Send(fmt.Sprintf(format, args...)) }

// Close closes the connection.
func (c *Client) Close() { _ = c.conn.Close() }

// Match selects events.
type Match func(*girc.Event) bool

// Cmd matches events with the given command (numeric or word).
func Cmd(cmd string) Match { return func(e *girc.Event) bool { return e.Command == cmd } }

// Msg matches a PRIVMSG or NOTICE (command) to target whose text contains sub.
func Msg(command, target, sub string) Match {
	return func(e *girc.Event) bool {
		return e.Command == command && len(e.Params) >= 2 &&
			strings.EqualFold(e.Params[0], target) && strings.Contains(e.Last(), sub)
	}
}

// From further restricts m to events whose source nick is nick.
func From(nick string, m Match) Match {
	return func(e *girc.Event) bool {
		return e.Source != nil && strings.EqualFold(e.Source.Name, nick) && m(e)
	}
}

// Expect waits until an event matching m arrives that was not returned by
// an earlier Expect, and returns it.
func (c *Client) Expect(timeout time.Duration, m Match) (*girc.Event, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, e := range c.lines {
			if e != nil && m(e) {
				c.lines[i] = nil // consumed
				return e, nil
			}
		}
		if c.closed {
			return nil, fmt.Errorf("connection closed: %v", c.err)
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("timed out after %s", timeout)
		}
		c.cond.Wait()
	}
}

// MustExpect is Expect that fails the test on timeout.
func (c *Client) MustExpect(timeout time.Duration, what string, m Match) *girc.Event {
	c.tb.Helper()
	e, err := c.Expect(timeout, m)
	if err != nil {
		c.tb.Fatalf("%s waiting for %s: %v\nreceived:\n%s", c.Nick, what, err, c.Transcript())
	}
	return e
}

// Count returns how many received events, consumed or not, match m. It
// remembers consumed ones, so exactly-once checks see everything.
func (c *Client) Count(m Match) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.seen {
		if m(e) {
			n++
		}
	}
	return n
}

// Transcript returns all received lines, for failure messages.
func (c *Client) Transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, e := range c.seen {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Join joins channel and waits for the end of its NAMES list.
func (c *Client) Join(channel string) {
	c.tb.Helper()
	c.Send("JOIN " + channel)
	c.MustExpect(10*time.Second, "JOIN "+channel, func(e *girc.Event) bool {
		return e.Command == girc.RPL_ENDOFNAMES && len(e.Params) >= 2 && strings.EqualFold(e.Params[1], channel)
	})
}
