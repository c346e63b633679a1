// Package bot is sheriff's IRC presence: it tells the on-duty sheriff about
// new findings (one line per burst, escalating when nobody acks), and
// answers commands in its channels and in private, letting authorised
// NickServ accounts ack and silence findings.
//
// The connection uses github.com/lrstanley/girc, which does not reconnect
// by itself: Run keeps reconnecting with exponential backoff and jitter,
// regains the preferred nick, and re-joins channels after kicks and
// netsplits. Announcements go through a persistent queue (see queue.go) so
// that nothing announced while disconnected is lost or sent twice.
package bot

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lrstanley/girc"
	"go.uber.org/ratelimit"

	"github.com/wikimedia/sheriff/internal/rota"
	"github.com/wikimedia/sheriff/internal/silence"
	"github.com/wikimedia/sheriff/internal/store"
)

// stableAfter is how long a connection must have stayed registered for the
// reconnect backoff to start over from ReconnectMin.
const stableAfter = 30 * time.Second

// Deps are the bot's collaborators. DB is required; the sources may be nil.
type Deps struct {
	DB *store.DB
	// Silences is shared with the pipeline (which must not file silenced
	// findings either); New creates one on DB when nil.
	Silences *silence.Store
	Status   StatusSource
	Recent   RecentSource
	Drift    DriftSource
	Tasks    TaskSource
	Findings FindingSource
	// TaskRef, if set, turns a task location that is not a web link (a
	// dry-run outbox file) into its task id ("T12"), so that IRC shows and
	// accepts the id and never a local path.
	TaskRef func(location string) string
	Logger  *slog.Logger
	// Redact, if set, is applied to every line before it is sent (e.g.
	// (*redact.Redactor).String).
	Redact func(string) string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// State is the bot's connection state, for /healthz.
type State struct {
	Connected   bool      `json:"connected"` // registered with the server
	Server      string    `json:"server"`
	Nick        string    `json:"nick,omitempty"`
	Account     string    `json:"account,omitempty"` // logged in as (SASL)
	Channels    []string  `json:"channels"`          // joined
	Missing     []string  `json:"missing,omitempty"` // configured but not joined
	Since       time.Time `json:"since,omitzero"`    // connected since
	Reconnects  int       `json:"reconnects"`
	Pending     int       `json:"pending"` // announcements waiting for delivery
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	Healthy     bool      `json:"healthy"` // connected and in every configured channel
}

// Bot is the IRC bot. Create it with New and start it with Run.
type Bot struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	rota    *rota.Rota
	sil     *silence.Store
	q       *queue
	allowed map[string]bool // lower-cased NickServ accounts
	limiter ratelimit.Limiter
	client  *girc.Client
	out     *sender
	cmds    chan *request
	// commands is the command table (see commandTable).
	commands []*command
	wake     chan struct{}

	// Test hooks and timings (unexported: production uses the defaults).
	dialer      girc.Dialer   // nil: girc dials
	tick        time.Duration // delivery/maintenance poll interval
	rejoinEvery time.Duration
	regainEvery time.Duration
	confirmWait time.Duration // how long to wait for the PONG confirming delivery
	userBurst   int           // commands one user may give per userWindow
	userWindow  time.Duration
	// noAccountCaps ignores account-tag and account-notify (tests of the
	// WHOX fallback against a server that has them).
	noAccountCaps bool

	runCtx context.Context

	mu         sync.Mutex
	gen        int  // connection generation, bumped at every connect
	registered bool // welcome received on the current connection
	connSince  time.Time
	lastUptime time.Duration // how long the previous connection stayed registered
	account    string        // services account we are logged in as
	reconnects int
	lastErr    string
	lastErrAt  time.Time
	pending    int
	nickTry    int
	namesDone  map[string]bool   // channels whose join completed (topic known)
	topics     map[string]string // channel topics (girc's LookupChannel races with its MODE handler)
	lookupMu   sync.Mutex        // serialises girc LookupUser, whose Copy writes shared memory
	sendFail   map[int]string    // generation -> last ERR_CANNOTSENDTOCHAN text
	pongs      map[string]chan struct{}
	whox       map[string]*whoxWait
	whoxTok    int
	userHits   map[string]*userHits
	topicTried map[string]string
}

type whoxWait struct {
	nick string
	ch   chan string // account, "0" for none, "\x00" when the user was not found
}

// New validates cfg, migrates the bot's tables and prepares the client.
// It does not connect: call Run.
func New(ctx context.Context, cfg Config, deps Deps) (*Bot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("bot: no database")
	}
	r, err := rota.New(cfg.Rota)
	if err != nil {
		return nil, err
	}
	if err := deps.DB.Migrate(ctx, "bot", queueMigrations); err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	sil := deps.Silences
	if sil == nil {
		if sil, err = silence.New(ctx, deps.DB); err != nil {
			return nil, err
		}
		if deps.Now != nil {
			sil.Now = deps.Now
		}
	}
	b := &Bot{
		cfg:         cfg,
		deps:        deps,
		log:         deps.Logger,
		now:         deps.Now,
		rota:        r,
		sil:         sil,
		q:           &queue{db: deps.DB},
		allowed:     map[string]bool{},
		limiter:     ratelimit.New(cfg.AnnounceRate, ratelimit.Per(time.Minute), ratelimit.WithSlack(3)),
		cmds:        make(chan *request, 32),
		commands:    commandTable(),
		wake:        make(chan struct{}, 1),
		tick:        time.Second,
		rejoinEvery: 30 * time.Second,
		regainEvery: 60 * time.Second,
		confirmWait: 30 * time.Second,
		userBurst:   5,
		userWindow:  10 * time.Second,
		namesDone:   map[string]bool{},
		topics:      map[string]string{},
		sendFail:    map[int]string{},
		pongs:       map[string]chan struct{}{},
		whox:        map[string]*whoxWait{},
		userHits:    map[string]*userHits{},
		topicTried:  map[string]string{},
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.log = b.log.With("component", "irc")
	if b.now == nil {
		b.now = time.Now
	}
	for _, a := range cfg.Admins {
		b.allowed[strings.ToLower(a)] = true
	}
	for _, p := range r.People() {
		b.allowed[strings.ToLower(p.Account)] = true
	}
	b.client = girc.New(b.girConfig())
	b.out = newSender(b.client.Send, func(gen int) bool {
		g, reg := b.generation()
		return reg && g == gen
	})
	b.registerHandlers()
	if n, err := b.q.pendingCount(ctx); err == nil {
		b.pending = n
	}
	return b, nil
}

func (b *Bot) girConfig() girc.Config {
	gc := girc.Config{
		Server:  b.cfg.Server,
		Port:    b.cfg.Port,
		Nick:    b.cfg.Nick,
		User:    b.cfg.User,
		Name:    b.cfg.Name,
		SSL:     b.cfg.TLS,
		Version: "sheriff " + b.cfg.Version,
		// girc's flood limiter is replaced by the sender's, which applies
		// the same budget but lets replies overtake announcements.
		AllowFlood:        true,
		HandleNickCollide: b.nickCollide,
		RecoverFunc: func(_ *girc.Client, e *girc.HandlerError) {
			b.log.Error("irc handler panic", "event", e.Event.Command, "panic", fmt.Sprint(e.Panic), "at", fmt.Sprintf("%s:%d", e.File, e.Line))
		},
	}
	if b.cfg.TLS {
		gc.TLSConfig = &tls.Config{ServerName: b.cfg.Server, MinVersion: tls.VersionTLS12}
	}
	if b.cfg.SASLAccount != "" {
		gc.SASL = &girc.SASLPlain{User: b.cfg.SASLAccount, Pass: b.cfg.SASLPassword}
	}
	return gc
}

// State returns a snapshot of the connection state.
func (b *Bot) State() State {
	b.mu.Lock()
	st := State{
		Connected:   b.registered,
		Account:     b.account,
		Server:      net.JoinHostPort(b.cfg.Server, strconv.Itoa(b.cfg.Port)),
		Since:       b.connSince,
		Reconnects:  b.reconnects,
		Pending:     b.pending,
		LastError:   b.lastErr,
		LastErrorAt: b.lastErrAt,
	}
	b.mu.Unlock()
	if st.Connected {
		st.Nick = b.client.GetNick()
		joined := map[string]bool{}
		for _, c := range b.client.ChannelList() {
			joined[girc.ToRFC1459(c)] = true
		}
		for _, c := range b.cfg.Channels {
			if joined[girc.ToRFC1459(c)] {
				st.Channels = append(st.Channels, c)
			} else {
				st.Missing = append(st.Missing, c)
			}
		}
	} else {
		st.Missing = append(st.Missing, b.cfg.Channels...)
	}
	st.Healthy = st.Connected && len(st.Missing) == 0
	return st
}

func (b *Bot) setErr(err string) {
	b.mu.Lock()
	b.lastErr, b.lastErrAt = err, b.now()
	b.mu.Unlock()
}

func (b *Bot) generation() (gen int, registered bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gen, b.registered
}

func (b *Bot) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Run connects and stays connected until ctx is cancelled; it then quits
// and returns nil once every goroutine it started has stopped.
func (b *Bot) Run(ctx context.Context) error {
	b.runCtx = ctx
	var wg sync.WaitGroup
	delivering := make(chan struct{})
	wg.Add(4)
	go func() { defer wg.Done(); b.out.run(ctx) }()
	go func() { defer wg.Done(); b.commandLoop(ctx) }()
	go func() { defer wg.Done(); b.maintainLoop(ctx) }()
	go func() { defer wg.Done(); defer close(delivering); b.deliverLoop(ctx) }()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		// Let an announcement in flight be confirmed (or fail) first, so
		// that it is neither lost nor sent again by the next process.
		select {
		case <-delivering:
		case <-time.After(b.confirmWait + time.Second):
		}
		// Say goodbye without waiting for the flood limiter; girc closes the
		// connection once QUIT is written.
		if _, reg := b.generation(); reg {
			_ = b.client.Cmd.SendRawNoSplit("QUIT :sheriff shutting down")
			for i := 0; i < 40; i++ {
				if _, reg := b.generation(); !reg {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		b.client.Close()
	}()

	backoff := b.cfg.ReconnectMin
	for ctx.Err() == nil {
		var err error
		if b.dialer != nil {
			err = b.client.DialerConnect(b.dialer)
		} else {
			err = b.client.Connect()
		}
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			err = errors.New("connection closed")
		}
		b.setErr(err.Error())
		b.log.Warn("irc disconnected", "err", err, "server", b.cfg.Server)
		b.mu.Lock()
		b.reconnects++
		b.mu.Unlock()
		// A connection that stayed up a while was healthy: start over with
		// short delays. One that dies quickly keeps backing off, so that a
		// server that kills us after registration is not hammered.
		b.mu.Lock()
		uptime := b.lastUptime
		b.mu.Unlock()
		if uptime >= stableAfter {
			backoff = b.cfg.ReconnectMin
		}
		delay := backoff/2 + rand.N(backoff/2+1)
		b.log.Info("irc reconnecting", "in", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		backoff = min(2*backoff, b.cfg.ReconnectMax)
	}
	close(stopped)
	wg.Wait()
	return nil
}

func (b *Bot) registerHandlers() {
	h := b.client.Handlers
	h.Add(girc.INITIALIZED, func(c *girc.Client, _ girc.Event) {
		// Per-connection state is reset on DISCONNECTED, not here: girc
		// runs this handler concurrently with the first server events.
		if b.runCtx != nil && b.runCtx.Err() != nil {
			c.Close() // Run was cancelled while we were dialling
		}
	})
	setTopic := func(channel, topic string) {
		b.mu.Lock()
		b.topics[girc.ToRFC1459(channel)] = topic
		b.mu.Unlock()
	}
	h.Add(girc.RPL_TOPIC, func(_ *girc.Client, e girc.Event) {
		if len(e.Params) >= 3 {
			setTopic(e.Params[1], e.Last())
		}
	})
	h.Add(girc.RPL_NOTOPIC, func(_ *girc.Client, e girc.Event) {
		if len(e.Params) >= 2 {
			setTopic(e.Params[1], "")
		}
	})
	h.Add(girc.TOPIC, func(_ *girc.Client, e girc.Event) {
		if len(e.Params) >= 1 {
			topic := ""
			if len(e.Params) >= 2 {
				topic = e.Last()
			}
			setTopic(e.Params[0], topic)
		}
	})
	h.Add(girc.RPL_WELCOME, func(_ *girc.Client, _ girc.Event) {
		b.mu.Lock()
		b.registered = true
		b.connSince = b.now()
		b.mu.Unlock()
		b.log.Info("irc registered", "server", b.cfg.Server)
	})
	// End of MOTD (or no MOTD): registration is complete, ISUPPORT known.
	join := func(c *girc.Client, _ girc.Event) { b.joinMissing() }
	h.Add(girc.RPL_ENDOFMOTD, join)
	h.Add(girc.ERR_NOMOTD, join)
	h.Add(girc.CONNECTED, join)
	h.Add(girc.DISCONNECTED, func(_ *girc.Client, _ girc.Event) {
		b.mu.Lock()
		b.lastUptime = 0
		if b.registered {
			b.lastUptime = b.now().Sub(b.connSince)
		}
		b.registered = false
		b.connSince = time.Time{}
		b.gen++
		b.out.flush(b.gen)
		b.nickTry = 0
		b.account = ""
		b.namesDone = map[string]bool{}
		b.topics = map[string]string{}
		for tok, ch := range b.pongs {
			close(ch) // wake waiters: the confirmation will never come
			delete(b.pongs, tok)
		}
		b.mu.Unlock()
	})
	h.Add(girc.ERROR, func(_ *girc.Client, e girc.Event) { b.setErr("server error: " + Clean(e.Last())) })
	h.Add(girc.RPL_LOGGEDIN, func(_ *girc.Client, e girc.Event) {
		if len(e.Params) >= 3 {
			b.mu.Lock()
			b.account = e.Params[2]
			b.mu.Unlock()
		}
	})
	h.Add(girc.RPL_LOGGEDOUT, func(_ *girc.Client, _ girc.Event) {
		b.mu.Lock()
		b.account = ""
		b.mu.Unlock()
	})
	h.Add(girc.ERR_SASLFAIL, func(_ *girc.Client, e girc.Event) {
		b.setErr("SASL failed: " + Clean(e.Last()))
		b.log.Error("irc SASL authentication failed", "account", b.cfg.SASLAccount)
	})
	h.Add(girc.RPL_ENDOFNAMES, func(c *girc.Client, e girc.Event) {
		if len(e.Params) >= 2 {
			b.mu.Lock()
			b.namesDone[girc.ToRFC1459(e.Params[1])] = true
			b.mu.Unlock()
			b.poke()
		}
	})
	h.Add(girc.KICK, func(c *girc.Client, e girc.Event) {
		if len(e.Params) >= 2 && girc.ToRFC1459(e.Params[1]) == girc.ToRFC1459(c.GetNick()) {
			b.log.Warn("irc kicked", "channel", e.Params[0], "by", sourceNick(e), "reason", Clean(e.Last()))
			b.setErr("kicked from " + e.Params[0])
			ch := e.Params[0]
			b.mu.Lock()
			delete(b.namesDone, girc.ToRFC1459(ch))
			b.mu.Unlock()
			time.AfterFunc(b.cfg.ReconnectMin, func() {
				if b.isConfigured(ch) {
					c.Cmd.Join(ch)
				}
			})
		}
	})
	for _, code := range []string{"471", "473", "474", "475", "477", "403", "405"} {
		h.Add(code, func(_ *girc.Client, e girc.Event) {
			b.setErr(fmt.Sprintf("cannot join: %s", Clean(strings.Join(e.Params[1:], " "))))
		})
	}
	h.Add(girc.ERR_CANNOTSENDTOCHAN, func(_ *girc.Client, e girc.Event) {
		b.mu.Lock()
		b.sendFail[b.gen] = Clean(strings.Join(e.Params[1:], " "))
		b.mu.Unlock()
	})
	h.Add(girc.PONG, func(_ *girc.Client, e girc.Event) {
		b.mu.Lock()
		if ch, ok := b.pongs[e.Last()]; ok {
			close(ch)
			delete(b.pongs, e.Last())
		}
		b.mu.Unlock()
	})
	h.Add(girc.RPL_WHOSPCRPL, b.onWhox)
	h.Add(girc.RPL_ENDOFWHO, b.onEndOfWho)
	// Someone gave up our preferred nick: take it back at once.
	regain := func(c *girc.Client, e girc.Event) {
		if e.Source != nil && girc.ToRFC1459(e.Source.Name) == girc.ToRFC1459(b.cfg.Nick) &&
			girc.ToRFC1459(c.GetNick()) != girc.ToRFC1459(b.cfg.Nick) {
			c.Cmd.Nick(b.cfg.Nick)
		}
	}
	h.Add(girc.QUIT, regain)
	h.Add(girc.NICK, regain)
	h.Add(girc.PRIVMSG, b.onPrivmsg)
}

func sourceNick(e girc.Event) string {
	if e.Source == nil {
		return ""
	}
	return e.Source.Name
}

func (b *Bot) isConfigured(channel string) bool {
	for _, c := range b.cfg.Channels {
		if girc.ToRFC1459(c) == girc.ToRFC1459(channel) {
			return true
		}
	}
	return false
}

// nickCollide picks the next nick while registering. After registration a
// collision can only come from our own attempt to regain the preferred
// nick, which we simply retry later.
func (b *Bot) nickCollide(string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.registered {
		return ""
	}
	b.nickTry++
	cands := append([]string{b.cfg.Nick}, b.cfg.AltNicks...)
	if b.nickTry < len(cands) {
		return cands[b.nickTry]
	}
	base := b.cfg.Nick
	suffix := strconv.Itoa(b.nickTry - len(cands) + 1)
	if len(base)+1+len(suffix) > 16 {
		base = base[:16-1-len(suffix)]
	}
	return base + "_" + suffix
}

// joinMissing joins every configured channel we are not in.
func (b *Bot) joinMissing() {
	if _, reg := b.generation(); !reg {
		return
	}
	in := map[string]bool{}
	for _, c := range b.client.ChannelList() {
		in[girc.ToRFC1459(c)] = true
	}
	var missing []string
	for _, c := range b.cfg.Channels {
		if !in[girc.ToRFC1459(c)] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		b.client.Cmd.Join(missing...)
	}
}

// maintainLoop re-joins channels, regains the nick, escalates unacked
// findings, notices expired silences and keeps the topic up to date.
func (b *Bot) maintainLoop(ctx context.Context) {
	t := time.NewTicker(b.tick)
	defer t.Stop()
	var lastRejoin, lastRegain time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if _, reg := b.generation(); reg {
			if now.Sub(lastRejoin) >= b.rejoinEvery {
				lastRejoin = now
				b.joinMissing()
			}
			if now.Sub(lastRegain) >= b.regainEvery {
				lastRegain = now
				if girc.ToRFC1459(b.client.GetNick()) != girc.ToRFC1459(b.cfg.Nick) {
					b.client.Cmd.Nick(b.cfg.Nick)
				}
			}
			if b.cfg.TopicSegment {
				b.updateTopics()
			}
		}
		if err := b.escalate(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("irc escalation", "err", err)
		}
		if err := b.expireSilences(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("irc silence expiry", "err", err)
		}
	}
}

// send queues one line (already cleaned and fitting the budget) at prio
// on the current connection.
func (b *Bot) send(prio int, command, target, text string) (<-chan error, bool) {
	gen, _ := b.generation()
	return b.out.enqueue(prio, gen, &girc.Event{Command: command, Params: []string{target, text}})
}

// budget is how many bytes of text fit in one command to target.
func (b *Bot) budget(command, target string) int {
	n := textBudget(b.client.GetNick(), command, target)
	// girc re-splits (less carefully) lines it thinks are too long; stay
	// under its estimate too.
	if g := b.client.MaxEventLength() - len(command) - len(target) - 4; g < n && g >= 64 {
		n = g
	}
	return n
}

// clean prepares any outgoing text: no control or formatting characters,
// and redacted.
func (b *Bot) clean(s string) string {
	s = Clean(s)
	if b.deps.Redact != nil {
		s = Clean(b.deps.Redact(s))
	}
	return s
}
