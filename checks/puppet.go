package checks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// Puppet turns puppet agent log lines into per-host run state and into one
// finding per failure cause (see PuppetCause), listing the hosts it affects.
//
// A run gets as far as a stage: connecting to the server, compiling the
// catalog, applying it, sending the report (puppetPhase.stage). A host
// joins a cause when a line of its agent names that cause. It leaves it
// only when a run would have shown the cause and did not:
//
//   - a run that applied a fresh catalog ("Applied catalog in N seconds")
//     recovers every cause it did not hit;
//   - a run that failed at a stage recovers the causes of earlier stages
//     (a compile error proves the server answers) and hides the causes of
//     the same and later stages: they are masked, not gone, and keep the
//     cause open.
//
// Every decision is taken at the time of the event that causes it, and
// every change of a cause's hosts is a transition with a snapshot of the
// cause at that time (puppet_transitions). The report pass hands out
// each transition in order, one per finding and Pending call, so reading
// the same events in small batches with reports between them or in one go
// files the same tasks and makes the same updates. Staleness is event time
// too: a host is stale when the newest event of any host is StaleAfter past
// its last run.
//
// Puppet implements pipeline.Check and pipeline.FindingSource.
type Puppet struct {
	db   *store.DB
	opts PuppetOptions
	log  *slog.Logger

	mu      sync.Mutex
	handout map[string]int64 // finding key -> seq of the transition Pending handed out
}

// PuppetOptions configure the puppet check. Zero values take the defaults.
type PuppetOptions struct {
	// StaleAfter: a host whose agent has not run for this long is stale.
	// Default 2h.
	StaleAfter time.Duration
	// ForgetAfter: a host that has not logged anything for this long is
	// forgotten (a deleted instance): it leaves its causes and the stale
	// list. Default 7 days.
	ForgetAfter time.Duration
	// RunSlack is how long before the apply phase a run's catalog retrieval
	// (facts, pluginsync, compilation) may start. Default 5m, well under the
	// 30 minutes between runs.
	RunSlack time.Duration
	// Programs are the syslog program names of the agent; events of other
	// programs are ignored (events without a program are accepted: the
	// source query already selects puppet). Default puppet-agent, puppet.
	Programs []string
	// Redactor scrubs every text leaving the check (titles, samples,
	// details, host notes). Optional; *redact.Redactor satisfies it.
	Redactor interface{ String(string) string }
	// Now is the clock of the reported-at stamps; default time.Now.
	Now func() time.Time
}

// PuppetStaleKey is the finding key of the stale hosts finding.
const PuppetStaleKey = "stale-hosts"

const puppetStaleTitle = "Puppet: agents not running on Beta Cluster hosts"

// PuppetComponent is the store component (and table prefix) of the check.
const PuppetComponent = "puppet"

var puppetMigrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE puppet_hosts (
	host          TEXT PRIMARY KEY,
	first_seen    INTEGER NOT NULL,
	last_report   INTEGER NOT NULL,
	last_run      INTEGER NOT NULL DEFAULT 0,
	last_end      INTEGER NOT NULL DEFAULT 0,
	last_success  INTEGER NOT NULL DEFAULT 0,
	failing_since INTEGER NOT NULL DEFAULT 0,
	note          TEXT NOT NULL DEFAULT '',
	note_at       INTEGER NOT NULL DEFAULT 0,
	cont_until    INTEGER NOT NULL DEFAULT 0,
	stale_since   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE puppet_causes (
	id         TEXT PRIMARY KEY,
	category   TEXT NOT NULL,
	phase      TEXT NOT NULL,
	title      TEXT NOT NULL,
	identity   TEXT NOT NULL,
	sample     TEXT NOT NULL DEFAULT '',
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	active     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX puppet_causes_active ON puppet_causes(active);
CREATE TABLE puppet_members (
	cause        TEXT NOT NULL,
	host         TEXT NOT NULL,
	first_seen   INTEGER NOT NULL,
	last_seen    INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	recovered_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (cause, host)
);
CREATE INDEX puppet_members_host ON puppet_members(host);
CREATE TABLE puppet_reported (
	key      TEXT PRIMARY KEY,
	count    INTEGER NOT NULL,
	hosts    TEXT NOT NULL,
	status   TEXT NOT NULL,
	at       INTEGER NOT NULL,
	task_id  INTEGER NOT NULL DEFAULT 0,
	task_url TEXT NOT NULL DEFAULT ''
);
CREATE TABLE puppet_meta (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);`},
	{Version: 2, SQL: `
ALTER TABLE puppet_hosts ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE puppet_hosts ADD COLUMN issuer_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE puppet_hosts ADD COLUMN pend TEXT NOT NULL DEFAULT '';
ALTER TABLE puppet_hosts ADD COLUMN pend_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE puppet_members ADD COLUMN hidden_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE puppet_causes ADD COLUMN tstate TEXT NOT NULL DEFAULT '';
CREATE TABLE puppet_transitions (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	key      TEXT NOT NULL,
	at       INTEGER NOT NULL,
	snap     TEXT NOT NULL,
	reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX puppet_transitions_pending ON puppet_transitions(reported, key, seq);`},
}

// NewPuppet migrates the check's tables and returns the check.
func NewPuppet(ctx context.Context, db *store.DB, opts PuppetOptions, log *slog.Logger) (*Puppet, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 2 * time.Hour
	}
	if opts.ForgetAfter <= 0 {
		opts.ForgetAfter = 7 * 24 * time.Hour
	}
	if opts.ForgetAfter < opts.StaleAfter {
		return nil, fmt.Errorf("puppet: forget_after (%s) is shorter than stale_after (%s)", opts.ForgetAfter, opts.StaleAfter)
	}
	if opts.RunSlack <= 0 {
		opts.RunSlack = 5 * time.Minute
	}
	if len(opts.Programs) == 0 {
		opts.Programs = []string{"puppet-agent", "puppet"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := db.Migrate(ctx, PuppetComponent, puppetMigrations); err != nil {
		return nil, fmt.Errorf("puppet: %w", err)
	}
	return &Puppet{db: db, opts: opts, log: log.With("component", PuppetComponent), handout: map[string]int64{}}, nil
}

// Name identifies the check as a finding source.
func (p *Puppet) Name() string { return PuppetComponent }

func (p *Puppet) redact(s string) string {
	if p.opts.Redactor == nil {
		return s
	}
	return p.opts.Redactor.String(s)
}

// --- ingest -----------------------------------------------------------------

type puppetHostRow struct {
	host                                      string
	firstSeen, lastReport, lastRun, lastEnd   int64
	lastSuccess, failingSince, noteAt, contTo int64
	staleSince, issuerAt, pendAt              int64
	note, issuer, pend                        string
}

// puppetMember is one host's part in one cause.
type puppetMember struct {
	cause, host        string
	first, last, count int64
	recovered, hidden  int64 // event times; zero while failing / visible
	dirty              bool
}

type puppetCauseState struct {
	c                  PuppetCause
	sample             string
	first, last, count int64
	tstate             string // "" (never reported), "open", "resolved"
	members            map[string]*puppetMember
	dirty              bool
}

type puppetHost struct {
	row    puppetHostRow
	active map[string]*puppetMember // causes the host fails on (failing or hidden)
	dirty  bool
	gone   bool // forgotten
}

// puppetBatch holds the whole state of the check while a batch is applied:
// a few hundred hosts and causes at most, and every transition must see
// every member of its cause.
type puppetBatch struct {
	p          *Puppet
	tx         *sql.Tx
	hosts      map[string]*puppetHost
	causes     map[string]*puppetCauseState
	watermark  int64 // newest event time seen
	nextStale  int64 // no host can go stale before this
	staleState int64 // 0 never reported, 1 open, 2 resolved
	staleCount int64
	staleDirty bool
	changed    map[string]bool // causes changed by the current event
	trans      []puppetTransition
}

type puppetTransition struct {
	key  string
	at   int64
	snap puppetSnap
}

// Observe applies a batch of agent events within tx.
func (p *Puppet) Observe(ctx context.Context, tx *sql.Tx, evs []event.Event, _ time.Time) error {
	evs = slices.Clone(evs)
	// Continuation lines share their head's timestamp: a stable sort keeps
	// them after it.
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp.Before(evs[j].Timestamp) })
	b, err := p.load(ctx, tx)
	if err != nil {
		return err
	}
	skipped := 0
	for i := range evs {
		ev := &evs[i]
		host := strings.ToLower(strings.TrimSpace(ev.Host))
		if host == "" || !p.program(ev.Program) || ev.Message == "" {
			skipped++
			continue
		}
		t := ev.Timestamp.UnixMilli()
		b.advance(t)
		h := b.hosts[host]
		if h == nil || h.gone {
			h = &puppetHost{row: puppetHostRow{host: host}, active: map[string]*puppetMember{}}
			b.hosts[host] = h
			b.nextStale = 0 // its deadline is not in nextStale yet
		}
		h.dirty = true
		b.apply(h, ev)
		b.flush(t)
	}
	if skipped > 0 {
		p.log.Debug("skipped events that are not puppet agent lines", "count", skipped)
	}
	return b.write(ctx)
}

func (p *Puppet) program(prog string) bool {
	if prog == "" {
		return true
	}
	if i := strings.IndexByte(prog, '['); i > 0 {
		prog = prog[:i] // "puppet-agent[1234]"
	}
	return slices.Contains(p.opts.Programs, prog)
}

func (p *Puppet) meta(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM puppet_meta WHERE name=?), 0)`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("puppet: read %s: %w", name, err)
	}
	return v, nil
}

func (p *Puppet) load(ctx context.Context, tx *sql.Tx) (*puppetBatch, error) {
	b := &puppetBatch{p: p, tx: tx, hosts: map[string]*puppetHost{}, causes: map[string]*puppetCauseState{}, changed: map[string]bool{}}
	var err error
	for name, dst := range map[string]*int64{"watermark": &b.watermark, "stale_state": &b.staleState, "stale_count": &b.staleCount} {
		if *dst, err = p.meta(ctx, tx, name); err != nil {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT host, first_seen, last_report, last_run, last_end, last_success, failing_since,
		note, note_at, cont_until, stale_since, issuer, issuer_at, pend, pend_at FROM puppet_hosts`)
	if err != nil {
		return nil, fmt.Errorf("puppet: load hosts: %w", err)
	}
	for rows.Next() {
		h := &puppetHost{active: map[string]*puppetMember{}}
		r := &h.row
		if err := rows.Scan(&r.host, &r.firstSeen, &r.lastReport, &r.lastRun, &r.lastEnd, &r.lastSuccess, &r.failingSince,
			&r.note, &r.noteAt, &r.contTo, &r.staleSince, &r.issuer, &r.issuerAt, &r.pend, &r.pendAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("puppet: load hosts: %w", err)
		}
		b.hosts[r.host] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: load hosts: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT id, category, phase, title, identity, sample, first_seen, last_seen, count, tstate FROM puppet_causes`)
	if err != nil {
		return nil, fmt.Errorf("puppet: load causes: %w", err)
	}
	for rows.Next() {
		cs := &puppetCauseState{members: map[string]*puppetMember{}}
		var phase string
		if err := rows.Scan(&cs.c.ID, &cs.c.Category, &phase, &cs.c.Title, &cs.c.Identity, &cs.sample, &cs.first, &cs.last, &cs.count, &cs.tstate); err != nil {
			rows.Close()
			return nil, fmt.Errorf("puppet: load causes: %w", err)
		}
		cs.c.Phase = parsePuppetPhase(phase)
		b.causes[cs.c.ID] = cs
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: load causes: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT cause, host, first_seen, last_seen, count, recovered_at, hidden_since FROM puppet_members`)
	if err != nil {
		return nil, fmt.Errorf("puppet: load members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m := &puppetMember{}
		if err := rows.Scan(&m.cause, &m.host, &m.first, &m.last, &m.count, &m.recovered, &m.hidden); err != nil {
			return nil, fmt.Errorf("puppet: load members: %w", err)
		}
		cs := b.causes[m.cause]
		if cs == nil {
			continue
		}
		cs.members[m.host] = m
		if h := b.hosts[m.host]; h != nil && m.recovered == 0 {
			h.active[m.cause] = m
		}
	}
	return b, rows.Err()
}

// advance moves event time to t: hosts whose agent has not run for
// StaleAfter become stale, hosts silent for ForgetAfter are forgotten, each
// at the moment that happened.
func (b *puppetBatch) advance(t int64) {
	if t <= b.watermark {
		return
	}
	b.watermark = t
	if t < b.nextStale {
		return
	}
	staleAfter, forgetAfter := b.p.opts.StaleAfter.Milliseconds(), b.p.opts.ForgetAfter.Milliseconds()
	next := int64(1<<62 - 1)
	// Deadlines in event-time order, so that the transitions are too.
	type due struct {
		at     int64
		h      *puppetHost
		forget bool
	}
	var dues []due
	for _, h := range b.hosts {
		if h.gone {
			continue
		}
		if at := h.row.lastReport + forgetAfter; at < t {
			dues = append(dues, due{at, h, true})
			continue
		}
		next = min(next, h.row.lastReport+forgetAfter)
		if h.row.staleSince == 0 {
			if at := max(h.row.lastRun, h.row.firstSeen) + staleAfter; at < t {
				dues = append(dues, due{at, h, false})
			} else {
				next = min(next, at)
			}
		}
	}
	sort.Slice(dues, func(i, j int) bool {
		if dues[i].at != dues[j].at {
			return dues[i].at < dues[j].at
		}
		return dues[i].h.row.host < dues[j].h.row.host
	})
	for _, d := range dues {
		if d.forget {
			b.forget(d.h, d.at)
		} else {
			d.h.row.staleSince, d.h.dirty = d.at, true
			b.staleCount++
			b.staleDirty = true
		}
		b.flush(d.at)
	}
	b.nextStale = next
}

// forget drops a host that has been silent for ForgetAfter (a deleted
// instance must not keep causes open).
func (b *puppetBatch) forget(h *puppetHost, at int64) {
	for _, m := range h.active {
		b.recover(h, m, at)
	}
	if h.row.staleSince != 0 {
		b.staleDirty = true
	}
	h.gone, h.dirty = true, true
	b.p.log.Info("forgot silent host", "host", h.row.host, "silent_for", b.p.opts.ForgetAfter)
}

func (b *puppetBatch) apply(h *puppetHost, ev *event.Event) {
	t := ev.Timestamp.UnixMilli()
	if h.row.firstSeen == 0 || t < h.row.firstSeen {
		h.row.firstSeen = t
	}
	h.row.lastReport = max(h.row.lastReport, t)
	l := classifyPuppet(h.row.host, ev.Level, ev.Message)
	slack := b.p.opts.RunSlack.Milliseconds()
	cont := puppetContWindow.Milliseconds()
	switch l.Action {
	case puppetActIgnore:
	case puppetActContinued:
		h.row.contTo = t + cont
	case puppetActUnknown:
		if t <= h.row.contTo {
			h.row.contTo = t + cont
			return // the rest of a multi-line message
		}
		b.join(h, l.Cause, t, ev.Message)
		h.row.contTo = t + cont
	case puppetActCause:
		c := l.Cause
		if l.Note == puppetNoteTLSReset && h.row.issuer != "" && t-h.row.issuerAt <= slack {
			c = puppetCertRejectedCause(h.row.issuer)
		}
		b.join(h, c, t, ev.Message)
		h.row.contTo = t + cont
	case puppetActConsequence:
		for _, m := range h.active {
			if m.last >= t-slack && m.hidden == 0 {
				h.row.contTo = t + cont
				b.ran(h, t)
				return // its cause was logged just before
			}
		}
		b.join(h, l.Cause, t, ev.Message)
	case puppetActHead:
		h.row.pend, h.row.pendAt, h.row.contTo = l.Note, t, t+cont
	case puppetActDetail:
		if h.row.pend != "" && t-h.row.pendAt <= cont {
			b.join(h, puppetTemplateCause(h.row.host, h.row.pend, l.Note), t, ev.Message)
			h.row.pend, h.row.pendAt = "", 0
		}
		h.row.contTo = t + cont
	case puppetActIssuer:
		h.row.issuer, h.row.issuerAt = l.Note, t
	case puppetActRunEnd:
		b.runEnd(h, t, l.Duration)
	case puppetActDisabled:
		note := "puppet agent disabled: " + l.Note
		b.staleDirty = b.staleDirty || h.row.staleSince != 0 && h.row.note != note
		h.row.note, h.row.noteAt = note, t
	case puppetActLocked:
		h.row.note, h.row.noteAt = "run skipped: another agent run holds the lock", t
	}
}

// ran records that the agent attempted a run at t.
func (b *puppetBatch) ran(h *puppetHost, t int64) {
	h.row.lastRun = max(h.row.lastRun, t)
	if h.row.staleSince != 0 {
		h.row.staleSince = 0
		b.staleDirty = true
		b.nextStale = 0 // its new deadline is not in nextStale yet
	}
	if h.row.noteAt < t {
		h.row.note, h.row.noteAt = "", 0
	}
}

func (b *puppetBatch) join(h *puppetHost, c PuppetCause, t int64, sample string) {
	cs := b.causes[c.ID]
	if cs == nil {
		cs = &puppetCauseState{c: c, first: t, last: t, members: map[string]*puppetMember{}}
		b.causes[c.ID] = cs
	}
	cs.c.Phase = c.Phase
	cs.first, cs.last = min(cs.first, t), max(cs.last, t)
	cs.count++
	cs.sample, cs.dirty = sample, true
	b.ran(h, t)

	m := cs.members[h.row.host]
	switch {
	case m == nil:
		m = &puppetMember{cause: c.ID, host: h.row.host, first: t}
		cs.members[h.row.host] = m
		b.changed[c.ID] = true
	case m.recovered != 0:
		m.first, m.recovered, m.hidden, m.count = t, 0, 0, 0
		b.changed[c.ID] = true
	case m.hidden != 0:
		m.hidden = 0
		b.changed[c.ID] = true
	}
	if len(h.active) == 0 || h.row.failingSince == 0 {
		h.row.failingSince = t
	}
	h.active[c.ID] = m
	m.last, m.dirty = max(m.last, t), true
	m.count++

	st := c.Phase.stage()
	if c.Phase != puppetPhaseConnect && c.Phase != puppetPhaseCatalog {
		return
	}
	// The run stopped at this stage: what comes before is proven gone,
	// what comes at or after it is masked.
	cut := t - b.p.opts.RunSlack.Milliseconds()
	for id, o := range h.active {
		if id == c.ID || o.last >= cut {
			continue
		}
		oc := b.causes[id]
		if oc != nil && oc.c.Phase.stage() < st && oc.c.Phase != puppetPhaseRun {
			b.recover(h, o, t)
		} else if o.hidden == 0 {
			o.hidden, o.dirty = t, true
			b.changed[id] = true
		}
	}
}

func (b *puppetBatch) recover(h *puppetHost, m *puppetMember, t int64) {
	m.recovered, m.hidden, m.dirty = t, 0, true
	delete(h.active, m.cause)
	b.changed[m.cause] = true
	if len(h.active) == 0 {
		h.row.failingSince = 0
	}
}

// puppetApplySlack absorbs timestamps rounded to the second by syslog around the
// apply phase measured by "Applied catalog in N seconds".
const puppetApplySlack = 5 * time.Second

// runEnd closes a run that applied a catalog. A fresh catalog shows every
// cause: those the run did not hit are gone from the host. A cached
// catalog, applied because this run could not get one, proves nothing
// beyond what the failure to get one already told (see join).
func (b *puppetBatch) runEnd(h *puppetHost, t int64, dur time.Duration) {
	applyStart := t - dur.Milliseconds() - puppetApplySlack.Milliseconds()
	fetchStart := applyStart - b.p.opts.RunSlack.Milliseconds()
	cached := false
	for id, m := range h.active {
		if c := b.causes[id]; c != nil && c.c.Phase.stage() <= 1 && m.last >= fetchStart && m.hidden == 0 {
			cached = true
		}
	}
	if !cached {
		for id, m := range h.active {
			c := b.causes[id]
			switch {
			case c == nil:
			case c.c.Phase == puppetPhasePost:
				// Report failures come after the run's end line: they belong to
				// the previous run and are gone if it has not recurred since.
				if h.row.lastEnd > 0 && m.last < h.row.lastEnd {
					b.recover(h, m, t)
				}
			case c.c.Phase == puppetPhaseResource:
				if m.last < applyStart {
					b.recover(h, m, t)
				}
			default:
				if m.last < fetchStart {
					b.recover(h, m, t)
				}
			}
		}
		for _, m := range h.active {
			if m.hidden != 0 { // a fresh catalog shows it again
				m.hidden, m.dirty = 0, true
				b.changed[m.cause] = true
			}
		}
		if len(h.active) == 0 {
			h.row.lastSuccess = max(h.row.lastSuccess, t)
			h.row.failingSince = 0
		}
	}
	h.row.lastEnd = max(h.row.lastEnd, t)
	b.ran(h, t)
}

// flush records a transition, at event time t, for every cause changed by
// the event just applied, and for the stale hosts when they changed.
func (b *puppetBatch) flush(t int64) {
	for _, id := range puppetSortedKeys(b.changed) {
		cs := b.causes[id]
		snap := b.causeSnap(cs, t)
		if snap.Status == "" {
			continue
		}
		b.trans = append(b.trans, puppetTransition{key: id, at: t, snap: snap})
	}
	clear(b.changed)
	if b.staleDirty {
		b.staleDirty = false
		if snap, ok := b.staleSnap(t); ok {
			b.trans = append(b.trans, puppetTransition{key: PuppetStaleKey, at: t, snap: snap})
		}
	}
}

func (b *puppetBatch) lastGood(host string) int64 {
	if h := b.hosts[host]; h != nil {
		return h.row.lastSuccess
	}
	return 0
}

func (b *puppetBatch) causeSnap(cs *puppetCauseState, t int64) puppetSnap {
	snap := puppetSnap{At: t, First: cs.first, Last: cs.last, Count: cs.count, Sample: cs.sample}
	open := false
	for _, host := range puppetSortedKeys(cs.members) {
		m := cs.members[host]
		sh := puppetSnapHost{Host: host, Since: m.first, Last: m.last, Count: m.count, LastGood: b.lastGood(host)}
		switch {
		case m.recovered != 0:
			sh.State, sh.Recovered = "recovered", m.recovered
		case m.hidden != 0:
			sh.State, sh.Hidden = "hidden", m.hidden
			open = true
		default:
			sh.State = "failing"
			open = true
		}
		snap.Hosts = append(snap.Hosts, sh)
	}
	switch {
	case cs.tstate == "" && open:
		snap.Status, cs.tstate = string(finding.StatusNew), "open"
	case cs.tstate == "":
		return puppetSnap{} // came and went unseen by nobody: cannot happen, a join opens it
	case open && cs.tstate == "resolved":
		snap.Status, cs.tstate = string(finding.StatusRegressed), "open"
	case open:
		snap.Status = string(finding.StatusKnown)
	case cs.tstate == "resolved":
		return puppetSnap{} // already resolved
	default:
		snap.Status, cs.tstate = string(finding.StatusResolved), "resolved"
	}
	cs.dirty = true
	return snap
}

func (b *puppetBatch) staleSnap(t int64) (puppetSnap, bool) {
	snap := puppetSnap{At: t, Count: b.staleCount, Last: t}
	for _, name := range puppetSortedKeys(b.hosts) {
		h := b.hosts[name]
		if h.gone || h.row.staleSince == 0 {
			continue
		}
		since := max(h.row.lastRun, h.row.firstSeen)
		if snap.First == 0 || since < snap.First {
			snap.First = since
		}
		snap.Hosts = append(snap.Hosts, puppetSnapHost{Host: name, State: "stale", Since: since, Last: h.row.lastReport,
			LastRun: h.row.lastRun, LastGood: h.row.lastSuccess, Note: h.row.note})
	}
	open := len(snap.Hosts) > 0
	switch {
	case open && b.staleState == 0:
		snap.Status, b.staleState = string(finding.StatusNew), 1
	case open && b.staleState == 2:
		snap.Status, b.staleState = string(finding.StatusRegressed), 1
	case open:
		snap.Status = string(finding.StatusKnown)
	case b.staleState == 1:
		snap.Status, b.staleState = string(finding.StatusResolved), 2
	default:
		return puppetSnap{}, false
	}
	return snap, true
}

func (b *puppetBatch) write(ctx context.Context) error {
	tx := b.tx
	for _, id := range puppetSortedKeys(b.causes) {
		cs := b.causes[id]
		if cs.dirty {
			if _, err := tx.ExecContext(ctx, `INSERT INTO puppet_causes(id, category, phase, title, identity, sample, first_seen, last_seen, count, active, tstate)
			VALUES(?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET phase=excluded.phase, sample=excluded.sample, first_seen=excluded.first_seen,
				last_seen=excluded.last_seen, count=excluded.count, active=excluded.active, tstate=excluded.tstate`,
				id, cs.c.Category, cs.c.Phase.String(), cs.c.Title, cs.c.Identity, cs.sample, cs.first, cs.last, cs.count,
				boolInt(cs.tstate == "open"), cs.tstate); err != nil {
				return fmt.Errorf("puppet: record cause %s: %w", id, err)
			}
		}
		for _, host := range puppetSortedKeys(cs.members) {
			m := cs.members[host]
			if !m.dirty {
				continue
			}
			if h := b.hosts[host]; h != nil && h.gone {
				if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_members WHERE cause=? AND host=?`, id, host); err != nil {
					return fmt.Errorf("puppet: forget %s: %w", host, err)
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO puppet_members(cause, host, first_seen, last_seen, count, recovered_at, hidden_since)
				VALUES(?,?,?,?,?,?,?)
				ON CONFLICT(cause, host) DO UPDATE SET first_seen=excluded.first_seen, last_seen=excluded.last_seen,
					count=excluded.count, recovered_at=excluded.recovered_at, hidden_since=excluded.hidden_since`,
				id, host, m.first, m.last, m.count, m.recovered, m.hidden); err != nil {
				return fmt.Errorf("puppet: record %s on %s: %w", id, host, err)
			}
		}
	}
	for _, name := range puppetSortedKeys(b.hosts) {
		h := b.hosts[name]
		if !h.dirty {
			continue
		}
		if h.gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_hosts WHERE host=?`, name); err != nil {
				return fmt.Errorf("puppet: forget %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_members WHERE host=?`, name); err != nil {
				return fmt.Errorf("puppet: forget %s: %w", name, err)
			}
			continue
		}
		r := h.row
		if _, err := tx.ExecContext(ctx, `INSERT INTO puppet_hosts(host, first_seen, last_report, last_run, last_end, last_success,
			failing_since, note, note_at, cont_until, stale_since, issuer, issuer_at, pend, pend_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(host) DO UPDATE SET first_seen=excluded.first_seen, last_report=excluded.last_report, last_run=excluded.last_run,
				last_end=excluded.last_end, last_success=excluded.last_success, failing_since=excluded.failing_since,
				note=excluded.note, note_at=excluded.note_at, cont_until=excluded.cont_until, stale_since=excluded.stale_since,
				issuer=excluded.issuer, issuer_at=excluded.issuer_at, pend=excluded.pend, pend_at=excluded.pend_at`,
			r.host, r.firstSeen, r.lastReport, r.lastRun, r.lastEnd, r.lastSuccess, r.failingSince, r.note, r.noteAt, r.contTo,
			r.staleSince, r.issuer, r.issuerAt, r.pend, r.pendAt); err != nil {
			return fmt.Errorf("puppet: record host %s: %w", name, err)
		}
	}
	for _, tr := range b.trans {
		snap, err := json.Marshal(tr.snap)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO puppet_transitions(key, at, snap) VALUES(?,?,?)`, tr.key, tr.at, string(snap)); err != nil {
			return fmt.Errorf("puppet: record transition of %s: %w", tr.key, err)
		}
	}
	for name, v := range map[string]int64{"watermark": b.watermark, "stale_state": b.staleState, "stale_count": b.staleCount} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO puppet_meta(name, value) VALUES(?, ?)
			ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, v); err != nil {
			return fmt.Errorf("puppet: record %s: %w", name, err)
		}
	}
	// History nobody reads any more: recoveries and reported transitions
	// older than ForgetAfter.
	cut := b.watermark - b.p.opts.ForgetAfter.Milliseconds()
	if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_members WHERE recovered_at > 0 AND recovered_at < ?`, cut); err != nil {
		return fmt.Errorf("puppet: housekeeping: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_transitions WHERE reported = 1 AND at < ?`, cut); err != nil {
		return fmt.Errorf("puppet: housekeeping: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// --- report -----------------------------------------------------------------

// puppetSnap is a finding as it was right after one transition.
type puppetSnap struct {
	Status string           `json:"status"`
	At     int64            `json:"at"`
	First  int64            `json:"first,omitempty"`
	Last   int64            `json:"last,omitempty"`
	Count  int64            `json:"count,omitempty"`
	Sample string           `json:"sample,omitempty"` // the cause's latest line at the time
	Hosts  []puppetSnapHost `json:"hosts,omitempty"`
}

type puppetSnapHost struct {
	Host      string `json:"host"`
	State     string `json:"state"` // failing, hidden, recovered; stale for the stale hosts
	Since     int64  `json:"since,omitempty"`
	Last      int64  `json:"last,omitempty"`
	Count     int64  `json:"count,omitempty"`
	LastGood  int64  `json:"last_good,omitempty"`
	LastRun   int64  `json:"last_run,omitempty"`
	Hidden    int64  `json:"hidden,omitempty"`
	Recovered int64  `json:"recovered,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Pending returns, for every finding with transitions not reported yet,
// the oldest one: the finding as it was right after it. The reporter calls
// again (see Stepped) until nothing is left, so every transition reaches
// the task in order, however many happened since the last report pass.
func (p *Puppet) Pending(ctx context.Context, _ time.Time) ([]finding.Finding, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT t.seq, t.key, t.snap, coalesce(c.category, ''), coalesce(c.title, ''),
		coalesce(c.identity, ''), coalesce(c.sample, '')
		FROM puppet_transitions t LEFT JOIN puppet_causes c ON c.id = t.key
		WHERE t.reported = 0 AND t.seq = (SELECT min(u.seq) FROM puppet_transitions u WHERE u.key = t.key AND u.reported = 0)
		ORDER BY t.seq`)
	if err != nil {
		return nil, fmt.Errorf("puppet: pending: %w", err)
	}
	defer rows.Close()
	var out []finding.Finding
	handout := map[string]int64{}
	for rows.Next() {
		var seq int64
		var key, raw, category, title, identity, sample string
		if err := rows.Scan(&seq, &key, &raw, &category, &title, &identity, &sample); err != nil {
			return nil, fmt.Errorf("puppet: pending: %w", err)
		}
		var snap puppetSnap
		if err := json.Unmarshal([]byte(raw), &snap); err != nil {
			return nil, fmt.Errorf("puppet: transition %d of %s: %w", seq, key, err)
		}
		handout[key] = seq
		out = append(out, p.snapFinding(key, category, title, identity, sample, snap))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: pending: %w", err)
	}
	p.mu.Lock()
	maps.Copy(p.handout, handout)
	p.mu.Unlock()
	return out, nil
}

// Stepped tells the reporter that Pending hands out one transition per
// finding at a time.
func (p *Puppet) Stepped() bool { return true }

func (p *Puppet) snapFinding(key, category, title, identity, sample string, snap puppetSnap) finding.Finding {
	f := finding.Finding{
		Kind: finding.KindPuppet, Key: key, Status: finding.Status(snap.Status),
		FirstSeen: puppetMs(snap.First), LastSeen: puppetMs(snap.Last), Count: snap.Count,
		KeepDescription: true, Returned: snap.Status == string(finding.StatusRegressed),
	}
	hosts := finding.Facet{}
	for _, h := range snap.Hosts {
		if h.State != "recovered" {
			hosts[h.Host] = max(h.Count, 1)
		}
	}
	if len(hosts) > 0 {
		f.Facets = map[string]finding.Facet{"host": hosts}
	}
	if key == PuppetStaleKey {
		f.Title = puppetStaleTitle
		f.Template = "puppet agent has not run"
		f.Details = p.redact(p.staleDetails(snap))
		return f
	}
	if snap.Sample != "" {
		sample = snap.Sample
	}
	f.Title, f.Template, f.Sample = p.redact(title), p.redact(identity), p.redact(sample)
	f.Details = p.redact(puppetCauseDetails(category, snap))
	return f
}

func puppetMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func puppetFmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}

func puppetFmtMs(v int64) string { return puppetFmtTime(puppetMs(v)) }

func puppetCauseDetails(category string, snap puppetSnap) string {
	var b strings.Builder
	var failing, hidden, recovered []puppetSnapHost
	for _, h := range snap.Hosts {
		switch h.State {
		case "failing":
			failing = append(failing, h)
		case "hidden":
			hidden = append(hidden, h)
		default:
			recovered = append(recovered, h)
		}
	}
	fmt.Fprintf(&b, "Puppet failure cause (%s), as of %s.", category, puppetFmtMs(snap.At))
	switch snap.Status {
	case string(finding.StatusResolved):
		b.WriteString(" **Every host has recovered:** each has had a run that would have shown it and did not.")
	case string(finding.StatusRegressed):
		b.WriteString(" **It is back** after every host had recovered.")
	}
	b.WriteString("\n")
	if n := len(failing) + len(hidden); n > 0 {
		fmt.Fprintf(&b, "\nFailing on %d host(s):\n", n)
		for _, h := range failing {
			fmt.Fprintf(&b, "- %s: failing since %s, last failure %s, %d time(s), last good run %s\n",
				h.Host, puppetFmtMs(h.Since), puppetFmtMs(h.Last), h.Count, puppetFmtMs(h.LastGood))
		}
		for _, h := range hidden {
			fmt.Fprintf(&b, "- %s: failing since %s, hidden since %s (its runs fail earlier, on another cause), last good run %s\n",
				h.Host, puppetFmtMs(h.Since), puppetFmtMs(h.Hidden), puppetFmtMs(h.LastGood))
		}
	}
	if len(recovered) > 0 {
		sort.SliceStable(recovered, func(i, j int) bool { return recovered[i].Recovered > recovered[j].Recovered })
		b.WriteString("\nRecovered:\n")
		for i, h := range recovered {
			if i == 20 {
				fmt.Fprintf(&b, "- and %d more\n", len(recovered)-i)
				break
			}
			fmt.Fprintf(&b, "- %s: recovered %s (failed %s to %s)\n", h.Host, puppetFmtMs(h.Recovered), puppetFmtMs(h.Since), puppetFmtMs(h.Last))
		}
	}
	return b.String()
}

func (p *Puppet) staleDetails(snap puppetSnap) string {
	var b strings.Builder
	if len(snap.Hosts) == 0 {
		fmt.Fprintf(&b, "As of %s, every puppet agent that had stopped running has run again.\n", puppetFmtMs(snap.At))
		return b.String()
	}
	fmt.Fprintf(&b, "As of %s, %d puppet agent(s) have not run for more than %s:\n", puppetFmtMs(snap.At), len(snap.Hosts), p.opts.StaleAfter)
	for _, h := range snap.Hosts {
		fmt.Fprintf(&b, "- %s: last run %s, last good run %s, last log line %s", h.Host,
			puppetFmtMs(h.LastRun), puppetFmtMs(h.LastGood), puppetFmtMs(h.Last))
		if h.Note != "" {
			fmt.Fprintf(&b, " (%s)", h.Note)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Reported records that the transition Pending handed out for f reached the
// actions. A result whose outcome is not known yet (filer.ActionPending) is
// not recorded: the transition stays pending.
func (p *Puppet) Reported(ctx context.Context, f finding.Finding, res filer.Result) error {
	if res.Action == filer.ActionPending {
		return nil
	}
	p.mu.Lock()
	seq, ok := p.handout[f.Key]
	delete(p.handout, f.Key)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	status := "active"
	if f.Status == finding.StatusResolved {
		status = string(finding.StatusResolved)
	}
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE puppet_transitions SET reported = 1 WHERE key = ? AND seq <= ?`, f.Key, seq); err != nil {
			return fmt.Errorf("puppet: mark %s reported: %w", f.Key, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO puppet_reported(key, count, hosts, status, at, task_id, task_url) VALUES(?,?,?,?,?,?,?)
		ON CONFLICT(key) DO UPDATE SET count=excluded.count, hosts=excluded.hosts, status=excluded.status, at=excluded.at,
			task_id = CASE WHEN excluded.task_id > 0 THEN excluded.task_id ELSE task_id END,
			task_url = CASE WHEN excluded.task_url != '' THEN excluded.task_url ELSE task_url END`,
			f.Key, f.Count, strings.Join(puppetSortedKeys(f.Facets["host"]), ","), status, p.opts.Now().UnixMilli(), res.TaskID, res.URL)
		if err != nil {
			return fmt.Errorf("puppet: mark %s reported: %w", f.Key, err)
		}
		return nil
	})
}

// --- status -----------------------------------------------------------------

// HostState is what sheriff knows about one host's puppet agent.
type HostState struct {
	Host         string
	FirstSeen    time.Time // first agent line seen
	LastReport   time.Time // last agent line of any kind
	LastRun      time.Time // last run attempt (applied a catalog or failed)
	LastSuccess  time.Time // last run that applied a catalog without failures
	FailingSince time.Time // zero when the host is not failing
	Stale        bool      // no run for StaleAfter, in event time
	StaleSince   time.Time // event time it became stale
	Disabled     bool      // the agent is administratively disabled
	Note         string    // e.g. "puppet agent disabled: <reason>" (redacted)
	Causes       []HostCause
}

// HostCause is one cause a host currently fails on.
type HostCause struct {
	ID     string
	Title  string // redacted
	Since  time.Time
	Last   time.Time
	Hidden time.Time // non-zero: masked by an earlier failure since then
}

// Hosts returns the state of every known host, failing and stale first.
func (p *Puppet) Hosts(ctx context.Context) ([]HostState, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT host, first_seen, last_report, last_run, last_success, failing_since, note, stale_since
		FROM puppet_hosts`)
	if err != nil {
		return nil, fmt.Errorf("puppet: hosts: %w", err)
	}
	byHost := map[string]*HostState{}
	var out []*HostState
	for rows.Next() {
		var h HostState
		var first, report, run, success, failing, staleSince int64
		if err := rows.Scan(&h.Host, &first, &report, &run, &success, &failing, &h.Note, &staleSince); err != nil {
			rows.Close()
			return nil, fmt.Errorf("puppet: hosts: %w", err)
		}
		h.FirstSeen, h.LastReport, h.LastRun, h.LastSuccess, h.FailingSince = puppetMs(first), puppetMs(report), puppetMs(run), puppetMs(success), puppetMs(failing)
		h.StaleSince, h.Stale = puppetMs(staleSince), staleSince != 0
		h.Disabled = strings.HasPrefix(h.Note, "puppet agent disabled")
		h.Note = p.redact(h.Note)
		byHost[h.Host] = &h
		out = append(out, &h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: hosts: %w", err)
	}
	crows, err := p.db.QueryContext(ctx, `SELECT m.host, c.id, c.title, m.first_seen, m.last_seen, m.hidden_since FROM puppet_members m
		JOIN puppet_causes c ON c.id = m.cause WHERE m.recovered_at = 0 ORDER BY m.first_seen, c.id`)
	if err != nil {
		return nil, fmt.Errorf("puppet: hosts: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var host string
		var c HostCause
		var first, last, hidden int64
		if err := crows.Scan(&host, &c.ID, &c.Title, &first, &last, &hidden); err != nil {
			return nil, fmt.Errorf("puppet: hosts: %w", err)
		}
		c.Title, c.Since, c.Last, c.Hidden = p.redact(c.Title), puppetMs(first), puppetMs(last), puppetMs(hidden)
		if h := byHost[host]; h != nil {
			h.Causes = append(h.Causes, c)
		}
	}
	if err := crows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: hosts: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (len(a.Causes) > 0) != (len(b.Causes) > 0) {
			return len(a.Causes) > 0
		}
		if a.Stale != b.Stale {
			return a.Stale
		}
		return a.Host < b.Host
	})
	res := make([]HostState, len(out))
	for i, h := range out {
		res[i] = *h
	}
	return res, nil
}

// CauseState is one cause as the status views show it.
type CauseState struct {
	ID, Title, Category string // Title redacted
	Open                bool   // some host fails on it (failing or hidden)
	FirstSeen, LastSeen time.Time
	Count               int64
	TaskID              int
	TaskURL             string
	Members             []PuppetMember
}

// PuppetMember is one host's part in a cause.
type PuppetMember struct {
	Host      string
	State     string // failing, hidden, recovered
	Since     time.Time
	LastSeen  time.Time
	Count     int64
	LastGood  time.Time
	Recovered time.Time
}

// Causes returns every cause that has hosts (failing, hidden or recovered
// within ForgetAfter), newest first.
func (p *Puppet) Causes(ctx context.Context) ([]CauseState, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT c.id, c.title, c.category, c.first_seen, c.last_seen, c.count,
		coalesce(r.task_id, 0), coalesce(r.task_url, ''),
		m.host, m.first_seen, m.last_seen, m.count, m.recovered_at, m.hidden_since, coalesce(h.last_success, 0)
		FROM puppet_causes c JOIN puppet_members m ON m.cause = c.id
		LEFT JOIN puppet_reported r ON r.key = c.id LEFT JOIN puppet_hosts h ON h.host = m.host
		ORDER BY c.last_seen DESC, c.id, m.recovered_at, m.host`)
	if err != nil {
		return nil, fmt.Errorf("puppet: causes: %w", err)
	}
	defer rows.Close()
	var out []CauseState
	for rows.Next() {
		var c CauseState
		var m PuppetMember
		var first, last, mfirst, mlast, rec, hidden, good int64
		if err := rows.Scan(&c.ID, &c.Title, &c.Category, &first, &last, &c.Count, &c.TaskID, &c.TaskURL,
			&m.Host, &mfirst, &mlast, &m.Count, &rec, &hidden, &good); err != nil {
			return nil, fmt.Errorf("puppet: causes: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != c.ID {
			c.Title, c.FirstSeen, c.LastSeen = p.redact(c.Title), puppetMs(first), puppetMs(last)
			out = append(out, c)
		}
		m.Since, m.LastSeen, m.LastGood, m.Recovered = puppetMs(mfirst), puppetMs(mlast), puppetMs(good), puppetMs(rec)
		switch {
		case rec != 0:
			m.State = "recovered"
		case hidden != 0:
			m.State = "hidden"
		default:
			m.State = "failing"
		}
		cur := &out[len(out)-1]
		cur.Open = cur.Open || rec == 0
		cur.Members = append(cur.Members, m)
	}
	return out, rows.Err()
}

// PuppetTransition is one change of a finding, at its event time.
type PuppetTransition struct {
	At     time.Time
	Key    string
	Title  string // redacted
	Status finding.Status
	Hosts  []string // failing or hidden (stale for the stale hosts)
	Hidden []string // of Hosts, those masked by an earlier failure
}

// Timeline returns every transition still kept (ForgetAfter), in order:
// what the tasks were told, and when by event time.
func (p *Puppet) Timeline(ctx context.Context) ([]PuppetTransition, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT t.key, coalesce(c.title, ''), t.at, t.snap FROM puppet_transitions t
		LEFT JOIN puppet_causes c ON c.id = t.key ORDER BY t.seq`)
	if err != nil {
		return nil, fmt.Errorf("puppet: timeline: %w", err)
	}
	defer rows.Close()
	var out []PuppetTransition
	for rows.Next() {
		var tr PuppetTransition
		var at int64
		var raw string
		if err := rows.Scan(&tr.Key, &tr.Title, &at, &raw); err != nil {
			return nil, fmt.Errorf("puppet: timeline: %w", err)
		}
		var snap puppetSnap
		if err := json.Unmarshal([]byte(raw), &snap); err != nil {
			return nil, fmt.Errorf("puppet: timeline: %w", err)
		}
		if tr.Key == PuppetStaleKey {
			tr.Title = puppetStaleTitle
		}
		tr.At, tr.Status, tr.Title = puppetMs(at), finding.Status(snap.Status), p.redact(tr.Title)
		for _, h := range snap.Hosts {
			if h.State != "recovered" {
				tr.Hosts = append(tr.Hosts, h.Host)
			}
			if h.State == "hidden" {
				tr.Hidden = append(tr.Hidden, h.Host)
			}
		}
		out = append(out, tr)
	}
	return out, rows.Err()
}
