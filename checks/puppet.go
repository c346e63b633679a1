package checks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

// Puppet turns puppet agent log lines into per-host run state and into one
// finding per failure cause (see PuppetCause), listing the hosts it affects.
//
// A host joins a cause when a line of its agent names that cause, and leaves
// it when a later run shows the cause is gone:
//
//   - "Applied catalog in N seconds" ends a run; every cause the host did not
//     hit during that run (within the N seconds of the apply phase, or
//     RunSlack before it for catalog failures) is recovered on that host. A
//     run that hit nothing is a successful run.
//   - A run that gets no catalog (compile error, unreachable server, TLS)
//     fails on one such cause at a time, so a newer catalog-level cause
//     replaces older ones on the host; resource failures are left as they
//     are, since no catalog was applied to prove them fixed.
//
// A cause with no host left is resolved: Pending returns it once with
// StatusResolved. A host whose agent has not run (applied a catalog or
// failed) for StaleAfter is stale; all stale hosts are one finding,
// PuppetStaleKey, which resolves when none is left.
//
// Puppet implements pipeline.Check and pipeline.FindingSource.
type Puppet struct {
	db   *store.DB
	opts PuppetOptions
	log  *slog.Logger
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
	// Now is the clock for Hosts; default time.Now.
	Now func() time.Time
}

// PuppetStaleKey is the finding key of the stale hosts finding.
const PuppetStaleKey = "stale-hosts"

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
	return &Puppet{db: db, opts: opts, log: log.With("component", PuppetComponent)}, nil
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
	staleSince                                int64
	note                                      string
}

type puppetMember struct {
	cause       string
	phase       puppetPhase
	first, last int64
	delta       int64
	recovered   int64
}

type puppetHost struct {
	row     puppetHostRow
	active  map[string]*puppetMember // causes the host currently fails on
	touched []*puppetMember          // members to write back
}

type puppetCauseDelta struct {
	c           PuppetCause
	first, last int64
	count       int64
	sample      string
}

type puppetBatch struct {
	p       *Puppet
	tx      *sql.Tx
	hosts   map[string]*puppetHost
	causes  map[string]*puppetCauseDelta
	changed map[string]bool // causes whose membership changed
}

// Observe applies a batch of agent events within tx.
func (p *Puppet) Observe(ctx context.Context, tx *sql.Tx, evs []event.Event, now time.Time) error {
	evs = slices.Clone(evs)
	// Continuation lines share their head's timestamp: a stable sort keeps
	// them after it.
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp.Before(evs[j].Timestamp) })
	b := &puppetBatch{p: p, tx: tx, hosts: map[string]*puppetHost{}, causes: map[string]*puppetCauseDelta{}, changed: map[string]bool{}}
	skipped := 0
	for i := range evs {
		ev := &evs[i]
		host := strings.ToLower(strings.TrimSpace(ev.Host))
		if host == "" || !p.program(ev.Program) || ev.Message == "" {
			skipped++
			continue
		}
		h, err := b.host(ctx, host)
		if err != nil {
			return err
		}
		b.apply(h, ev)
	}
	if skipped > 0 {
		p.log.Debug("skipped events that are not puppet agent lines", "count", skipped)
	}
	return b.write(ctx, now)
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

func (b *puppetBatch) host(ctx context.Context, name string) (*puppetHost, error) {
	if h := b.hosts[name]; h != nil {
		return h, nil
	}
	h := &puppetHost{row: puppetHostRow{host: name}, active: map[string]*puppetMember{}}
	err := b.tx.QueryRowContext(ctx, `SELECT first_seen, last_report, last_run, last_end, last_success, failing_since,
		note, note_at, cont_until, stale_since FROM puppet_hosts WHERE host=?`, name).Scan(
		&h.row.firstSeen, &h.row.lastReport, &h.row.lastRun, &h.row.lastEnd, &h.row.lastSuccess, &h.row.failingSince,
		&h.row.note, &h.row.noteAt, &h.row.contTo, &h.row.staleSince)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("puppet: load host %s: %w", name, err)
	}
	rows, err := b.tx.QueryContext(ctx, `SELECT m.cause, c.phase, m.first_seen, m.last_seen FROM puppet_members m
		JOIN puppet_causes c ON c.id = m.cause WHERE m.host=? AND m.recovered_at=0`, name)
	if err != nil {
		return nil, fmt.Errorf("puppet: load causes of %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		m := &puppetMember{}
		var phase string
		if err := rows.Scan(&m.cause, &phase, &m.first, &m.last); err != nil {
			return nil, fmt.Errorf("puppet: load causes of %s: %w", name, err)
		}
		m.phase = parsePuppetPhase(phase)
		h.active[m.cause] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: load causes of %s: %w", name, err)
	}
	b.hosts[name] = h
	return h, nil
}

func (b *puppetBatch) apply(h *puppetHost, ev *event.Event) {
	t := ev.Timestamp.UnixMilli()
	if h.row.firstSeen == 0 || t < h.row.firstSeen {
		h.row.firstSeen = t
	}
	h.row.lastReport = max(h.row.lastReport, t)
	l := classifyPuppet(h.row.host, ev.Level, ev.Message)
	slack := b.p.opts.RunSlack.Milliseconds()
	switch l.Action {
	case puppetActIgnore:
	case puppetActContinued:
		h.row.contTo = t + puppetContWindow.Milliseconds()
	case puppetActUnknown:
		if t <= h.row.contTo {
			h.row.contTo = t + puppetContWindow.Milliseconds()
			return // the rest of a multi-line message
		}
		b.join(h, l.Cause, t, ev.Message)
		h.row.contTo = t + puppetContWindow.Milliseconds()
	case puppetActCause:
		b.join(h, l.Cause, t, ev.Message)
		h.row.contTo = t + puppetContWindow.Milliseconds()
	case puppetActConsequence:
		for _, m := range h.active {
			if m.last >= t-slack {
				h.row.contTo = t + puppetContWindow.Milliseconds()
				b.ran(h, t)
				return // its cause was logged just before
			}
		}
		b.join(h, l.Cause, t, ev.Message)
	case puppetActRunEnd:
		b.runEnd(h, t, l.Duration)
	case puppetActDisabled:
		h.row.note, h.row.noteAt = "puppet agent disabled: "+l.Note, t
	case puppetActLocked:
		h.row.note, h.row.noteAt = "run skipped: another agent run holds the lock", t
	}
}

// ran records that the agent attempted a run at t.
func (b *puppetBatch) ran(h *puppetHost, t int64) {
	h.row.lastRun = max(h.row.lastRun, t)
	h.row.staleSince = 0
	if h.row.noteAt < t {
		h.row.note, h.row.noteAt = "", 0
	}
}

func (b *puppetBatch) join(h *puppetHost, c PuppetCause, t int64, sample string) {
	d := b.causes[c.ID]
	if d == nil {
		d = &puppetCauseDelta{c: c, first: t, last: t}
		b.causes[c.ID] = d
	}
	d.first, d.last = min(d.first, t), max(d.last, t)
	d.count++
	d.sample = sample
	b.ran(h, t)

	m := h.active[c.ID]
	if m == nil {
		if len(h.active) == 0 {
			h.row.failingSince = t
		}
		m = &puppetMember{cause: c.ID, phase: c.Phase, first: t, last: t}
		h.active[c.ID] = m
		b.changed[c.ID] = true
	}
	if m.delta == 0 {
		h.touched = append(h.touched, m)
	}
	m.last = max(m.last, t)
	m.delta++

	if c.Phase == puppetPhaseCatalog {
		// A run fails on one catalog-level cause: older ones are superseded.
		cut := t - b.p.opts.RunSlack.Milliseconds()
		for id, o := range h.active {
			if id != c.ID && o.phase == puppetPhaseCatalog && o.last < cut {
				b.recover(h, o, t)
			}
		}
	}
}

func (b *puppetBatch) recover(h *puppetHost, m *puppetMember, t int64) {
	m.recovered = t
	delete(h.active, m.cause)
	if m.delta == 0 {
		h.touched = append(h.touched, m)
		m.delta = -1 // marks "touched, no new occurrence"
	}
	b.changed[m.cause] = true
	if len(h.active) == 0 {
		h.row.failingSince = 0
	}
}

// puppetApplySlack absorbs timestamps rounded to the second by syslog around the
// apply phase measured by "Applied catalog in N seconds".
const puppetApplySlack = 5 * time.Second

// runEnd closes a run that applied a catalog: causes the run did not hit
// are gone from the host. Resource failures happen while the catalog is
// applied, which the end line measures; catalog failures (a cached catalog
// was applied) happen before, while fetching it, within RunSlack.
func (b *puppetBatch) runEnd(h *puppetHost, t int64, dur time.Duration) {
	applyStart := t - dur.Milliseconds() - puppetApplySlack.Milliseconds()
	fetchStart := applyStart - b.p.opts.RunSlack.Milliseconds()
	for _, m := range h.active {
		switch m.phase {
		case puppetPhasePost:
			// Report failures come after the run's end line: they belong to
			// the previous run and are gone if it has not recurred since.
			if h.row.lastEnd > 0 && m.last < h.row.lastEnd {
				b.recover(h, m, t)
			}
		case puppetPhaseCatalog, puppetPhaseRun:
			if m.last < fetchStart {
				b.recover(h, m, t)
			}
		default:
			if m.last < applyStart {
				b.recover(h, m, t)
			}
		}
	}
	if len(h.active) == 0 {
		h.row.lastSuccess = max(h.row.lastSuccess, t)
		h.row.failingSince = 0
	}
	h.row.lastEnd = max(h.row.lastEnd, t)
	b.ran(h, t)
}

func (b *puppetBatch) write(ctx context.Context, now time.Time) error {
	for _, id := range puppetSortedKeys(b.causes) {
		d := b.causes[id]
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO puppet_causes(id, category, phase, title, identity, sample, first_seen, last_seen, count, active)
			VALUES(?,?,?,?,?,?,?,?,?,1)
			ON CONFLICT(id) DO UPDATE SET first_seen=min(first_seen, excluded.first_seen), last_seen=max(last_seen, excluded.last_seen),
				count=count+excluded.count, sample=excluded.sample`,
			id, d.c.Category, d.c.Phase.String(), d.c.Title, d.c.Identity, d.sample, d.first, d.last, d.count); err != nil {
			return fmt.Errorf("puppet: record cause %s: %w", id, err)
		}
	}
	for _, name := range puppetSortedKeys(b.hosts) {
		h := b.hosts[name]
		r := h.row
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO puppet_hosts(host, first_seen, last_report, last_run, last_end, last_success,
			failing_since, note, note_at, cont_until, stale_since) VALUES(?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(host) DO UPDATE SET first_seen=excluded.first_seen, last_report=excluded.last_report, last_run=excluded.last_run,
				last_end=excluded.last_end, last_success=excluded.last_success, failing_since=excluded.failing_since,
				note=excluded.note, note_at=excluded.note_at, cont_until=excluded.cont_until, stale_since=excluded.stale_since`,
			r.host, r.firstSeen, r.lastReport, r.lastRun, r.lastEnd, r.lastSuccess, r.failingSince, r.note, r.noteAt, r.contTo, r.staleSince); err != nil {
			return fmt.Errorf("puppet: record host %s: %w", name, err)
		}
		for _, m := range h.touched {
			if _, err := b.tx.ExecContext(ctx, `INSERT INTO puppet_members(cause, host, first_seen, last_seen, count, recovered_at)
				VALUES(?,?,?,?,?,?)
				ON CONFLICT(cause, host) DO UPDATE SET
					first_seen = CASE WHEN puppet_members.recovered_at > 0 THEN excluded.first_seen ELSE puppet_members.first_seen END,
					last_seen = max(puppet_members.last_seen, excluded.last_seen),
					count = puppet_members.count + excluded.count,
					recovered_at = excluded.recovered_at`,
				m.cause, name, m.first, m.last, max(m.delta, 0), m.recovered); err != nil {
				return fmt.Errorf("puppet: record %s on %s: %w", m.cause, name, err)
			}
		}
	}
	return puppetRefreshActive(ctx, b.tx, puppetSortedKeys(b.changed))
}

// puppetRefreshActive recomputes whether causes still have a failing host.
func puppetRefreshActive(ctx context.Context, tx *sql.Tx, ids []string) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE puppet_causes SET active =
			EXISTS(SELECT 1 FROM puppet_members WHERE cause=? AND recovered_at=0) WHERE id=?`, id, id); err != nil {
			return fmt.Errorf("puppet: update cause %s: %w", id, err)
		}
	}
	return nil
}

// --- report -----------------------------------------------------------------

type puppetReported struct {
	count  int64
	hosts  string
	status string
	at     int64
}

// Pending returns the causes whose state changed since they were last
// reported: new causes, more occurrences, hosts that joined or recovered,
// and (once) causes that resolved; plus the stale hosts finding.
func (p *Puppet) Pending(ctx context.Context, now time.Time) ([]finding.Finding, error) {
	if err := p.housekeep(ctx, now); err != nil {
		return nil, err
	}
	var out []finding.Finding
	rows, err := p.db.QueryContext(ctx, `SELECT c.id, c.category, c.title, c.identity, c.sample, c.first_seen, c.last_seen, c.count, c.active,
		coalesce(r.count, -1), coalesce(r.hosts, ''), coalesce(r.status, ''), coalesce(r.at, 0)
		FROM puppet_causes c LEFT JOIN puppet_reported r ON r.key = c.id
		WHERE c.active = 1 OR r.status = 'active' ORDER BY c.first_seen, c.id`)
	if err != nil {
		return nil, fmt.Errorf("puppet: pending: %w", err)
	}
	type causeRow struct {
		id, category, title, identity, sample string
		first, last, count                    int64
		active                                bool
		rep                                   puppetReported
	}
	var cs []causeRow
	for rows.Next() {
		var c causeRow
		if err := rows.Scan(&c.id, &c.category, &c.title, &c.identity, &c.sample, &c.first, &c.last, &c.count, &c.active,
			&c.rep.count, &c.rep.hosts, &c.rep.status, &c.rep.at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("puppet: pending: %w", err)
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: pending: %w", err)
	}
	for _, c := range cs {
		members, err := p.members(ctx, c.id)
		if err != nil {
			return nil, err
		}
		hosts := map[string]int64{}
		for _, m := range members {
			if m.Recovered.IsZero() {
				hosts[m.Host] = m.Count
			}
		}
		key := puppetHostsKey(hosts)
		var status finding.Status
		switch {
		case c.active && c.rep.at == 0:
			status = finding.StatusNew
		case c.active && c.rep.status == string(finding.StatusResolved):
			status = finding.StatusRegressed
		case c.active:
			if c.count <= c.rep.count && key == c.rep.hosts && c.rep.status == "active" {
				continue // nothing new
			}
			status = finding.StatusKnown
		default:
			status = finding.StatusResolved
		}
		f := finding.Finding{
			Kind: finding.KindPuppet, Key: c.id, Title: p.redact(c.title), Status: status,
			FirstSeen: time.UnixMilli(c.first).UTC(), LastSeen: time.UnixMilli(c.last).UTC(),
			Count: c.count, NewCount: c.count - max(c.rep.count, 0),
			Template: p.redact(c.identity), Sample: p.redact(c.sample),
			Details: p.redact(puppetCauseDetails(c.category, members, status)),
		}
		if len(hosts) > 0 {
			f.Facets = map[string]finding.Facet{"host": hosts}
		}
		out = append(out, f)
	}
	stale, err := p.staleFinding(ctx, now)
	if err != nil {
		return nil, err
	}
	if stale != nil {
		out = append(out, *stale)
	}
	return out, nil
}

func puppetHostsKey(hosts map[string]int64) string { return strings.Join(puppetSortedKeys(hosts), ",") }

// PuppetMember is one host's part in a cause.
type PuppetMember struct {
	Host        string
	FirstSeen   time.Time // failing on this cause since
	LastSeen    time.Time
	Count       int64
	Recovered   time.Time // zero while failing
	HostFailing time.Time // the host's failing-since
}

func (p *Puppet) members(ctx context.Context, cause string) ([]PuppetMember, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT m.host, m.first_seen, m.last_seen, m.count, m.recovered_at, coalesce(h.failing_since, 0)
		FROM puppet_members m LEFT JOIN puppet_hosts h ON h.host = m.host WHERE m.cause=? ORDER BY m.recovered_at, m.host`, cause)
	if err != nil {
		return nil, fmt.Errorf("puppet: hosts of %s: %w", cause, err)
	}
	defer rows.Close()
	var out []PuppetMember
	for rows.Next() {
		var m PuppetMember
		var first, last, rec, fs int64
		if err := rows.Scan(&m.Host, &first, &last, &m.Count, &rec, &fs); err != nil {
			return nil, fmt.Errorf("puppet: hosts of %s: %w", cause, err)
		}
		m.FirstSeen, m.LastSeen = puppetMs(first), puppetMs(last)
		m.Recovered, m.HostFailing = puppetMs(rec), puppetMs(fs)
		out = append(out, m)
	}
	return out, rows.Err()
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

func puppetCauseDetails(category string, members []PuppetMember, status finding.Status) string {
	var b strings.Builder
	var failing, recovered []PuppetMember
	for _, m := range members {
		if m.Recovered.IsZero() {
			failing = append(failing, m)
		} else {
			recovered = append(recovered, m)
		}
	}
	fmt.Fprintf(&b, "Puppet failure cause (%s).", category)
	if status == finding.StatusResolved {
		b.WriteString(" **All hosts have recovered.**")
	}
	b.WriteString("\n")
	if len(failing) > 0 {
		fmt.Fprintf(&b, "\nFailing on %d host(s):\n", len(failing))
		for _, m := range failing {
			fmt.Fprintf(&b, "- %s: since %s, last %s, %d time(s)\n", m.Host, puppetFmtTime(m.FirstSeen), puppetFmtTime(m.LastSeen), m.Count)
		}
	}
	if len(recovered) > 0 {
		sort.SliceStable(recovered, func(i, j int) bool { return recovered[i].Recovered.After(recovered[j].Recovered) })
		b.WriteString("\nRecovered:\n")
		for i, m := range recovered {
			if i == 20 {
				fmt.Fprintf(&b, "- and %d more\n", len(recovered)-i)
				break
			}
			fmt.Fprintf(&b, "- %s: recovered %s (failed %s to %s)\n", m.Host, puppetFmtTime(m.Recovered), puppetFmtTime(m.FirstSeen), puppetFmtTime(m.LastSeen))
		}
	}
	return b.String()
}

// housekeep forgets hosts that have been silent for ForgetAfter (deleted
// instances must not keep causes open) and notes newly stale hosts.
func (p *Puppet) housekeep(ctx context.Context, now time.Time) error {
	forget := now.Add(-p.opts.ForgetAfter).UnixMilli()
	staleCut := now.Add(-p.opts.StaleAfter).UnixMilli()
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT host FROM puppet_hosts WHERE last_report < ?`, forget)
		if err != nil {
			return fmt.Errorf("puppet: housekeeping: %w", err)
		}
		var gone []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return fmt.Errorf("puppet: housekeeping: %w", err)
			}
			gone = append(gone, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("puppet: housekeeping: %w", err)
		}
		changed := map[string]bool{}
		for _, h := range gone {
			crow, err := tx.QueryContext(ctx, `SELECT cause FROM puppet_members WHERE host=?`, h)
			if err != nil {
				return fmt.Errorf("puppet: forget %s: %w", h, err)
			}
			for crow.Next() {
				var c string
				if err := crow.Scan(&c); err != nil {
					crow.Close()
					return fmt.Errorf("puppet: forget %s: %w", h, err)
				}
				changed[c] = true
			}
			crow.Close()
			if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_members WHERE host=?`, h); err != nil {
				return fmt.Errorf("puppet: forget %s: %w", h, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_hosts WHERE host=?`, h); err != nil {
				return fmt.Errorf("puppet: forget %s: %w", h, err)
			}
			p.log.Info("forgot silent host", "host", h, "silent_for", p.opts.ForgetAfter)
		}
		if err := puppetRefreshActive(ctx, tx, puppetSortedKeys(changed)); err != nil {
			return err
		}
		// Recoveries older than ForgetAfter are history nobody reads.
		if _, err := tx.ExecContext(ctx, `DELETE FROM puppet_members WHERE recovered_at > 0 AND recovered_at < ?`, forget); err != nil {
			return fmt.Errorf("puppet: housekeeping: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE puppet_hosts SET stale_since=? WHERE stale_since=0 AND max(last_run, first_seen) < ?`,
			now.UnixMilli(), staleCut)
		if err != nil {
			return fmt.Errorf("puppet: housekeeping: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			// Every host going stale is an occurrence of the stale finding,
			// so the filer sees it as news.
			if _, err := tx.ExecContext(ctx, `INSERT INTO puppet_meta(name, value) VALUES('stale_count', ?)
				ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`, n); err != nil {
				return fmt.Errorf("puppet: housekeeping: %w", err)
			}
		}
		return nil
	})
}

func (p *Puppet) staleFinding(ctx context.Context, now time.Time) (*finding.Finding, error) {
	hosts, err := p.hosts(ctx, now)
	if err != nil {
		return nil, err
	}
	var stale []HostState
	for _, h := range hosts {
		if h.Stale {
			stale = append(stale, h)
		}
	}
	var count int64
	if err := p.db.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM puppet_meta WHERE name='stale_count'), 0)`).Scan(&count); err != nil {
		return nil, fmt.Errorf("puppet: stale: %w", err)
	}
	rep, err := p.reported(ctx, PuppetStaleKey)
	if err != nil {
		return nil, err
	}
	facet := finding.Facet{}
	first, last := now, now
	for _, h := range stale {
		facet[h.Host] = 1
		// Stale since the agent last ran.
		since := h.LastRun
		if since.IsZero() {
			since = h.FirstSeen
		}
		if since.Before(first) {
			first = since
		}
	}
	key := strings.Join(puppetSortedKeys(facet), ",")
	var status finding.Status
	switch {
	case len(stale) > 0 && rep.at == 0:
		status = finding.StatusNew
	case len(stale) > 0 && rep.status == string(finding.StatusResolved):
		status = finding.StatusRegressed
	case len(stale) > 0:
		if count <= rep.count && key == rep.hosts && rep.status == "active" {
			return nil, nil
		}
		status = finding.StatusKnown
	case rep.status == "active":
		status = finding.StatusResolved
	default:
		return nil, nil
	}
	var b strings.Builder
	if len(stale) == 0 {
		b.WriteString("Every puppet agent that had stopped running has run again.\n")
	} else {
		fmt.Fprintf(&b, "%d puppet agent(s) have not run for more than %s:\n", len(stale), p.opts.StaleAfter)
		for _, h := range stale {
			fmt.Fprintf(&b, "- %s: last run %s, last successful run %s, last log line %s", h.Host,
				puppetFmtTime(h.LastRun), puppetFmtTime(h.LastSuccess), puppetFmtTime(h.LastReport))
			if h.Note != "" {
				fmt.Fprintf(&b, " (%s)", h.Note)
			}
			b.WriteString("\n")
		}
	}
	f := &finding.Finding{
		Kind: finding.KindPuppet, Key: PuppetStaleKey, Title: "Puppet: agents not running on Beta Cluster hosts",
		Status: status, FirstSeen: first, LastSeen: last, Count: count, NewCount: count - max(rep.count, 0),
		Template: "puppet agent has not run", Details: p.redact(b.String()),
	}
	if len(facet) > 0 {
		f.Facets = map[string]finding.Facet{"host": facet}
	}
	return f, nil
}

func (p *Puppet) reported(ctx context.Context, key string) (puppetReported, error) {
	r := puppetReported{count: -1}
	err := p.db.QueryRowContext(ctx, `SELECT count, hosts, status, at FROM puppet_reported WHERE key=?`, key).
		Scan(&r.count, &r.hosts, &r.status, &r.at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("puppet: reported state of %s: %w", key, err)
	}
	return r, nil
}

// Reported records what was handed to the actions, so that Pending returns
// f again only when something changes. A result whose outcome is not known
// yet (filer.ActionPending) is not recorded: the finding stays pending.
func (p *Puppet) Reported(ctx context.Context, f finding.Finding, res filer.Result) error {
	if res.Action == filer.ActionPending {
		return nil
	}
	status := "active"
	if f.Status == finding.StatusResolved {
		status = string(finding.StatusResolved)
	}
	hosts := map[string]int64{}
	for h, n := range f.Facets["host"] {
		hosts[h] = n
	}
	_, err := p.db.ExecContext(ctx, `INSERT INTO puppet_reported(key, count, hosts, status, at, task_id, task_url) VALUES(?,?,?,?,?,?,?)
		ON CONFLICT(key) DO UPDATE SET count=excluded.count, hosts=excluded.hosts, status=excluded.status, at=excluded.at,
			task_id = CASE WHEN excluded.task_id > 0 THEN excluded.task_id ELSE task_id END,
			task_url = CASE WHEN excluded.task_url != '' THEN excluded.task_url ELSE task_url END`,
		f.Key, f.Count, puppetHostsKey(hosts), status, p.opts.Now().UnixMilli(), res.TaskID, res.URL)
	if err != nil {
		return fmt.Errorf("puppet: mark %s reported: %w", f.Key, err)
	}
	return nil
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
	Stale        bool      // no run for StaleAfter
	StaleSince   time.Time // when sheriff noticed (zero if not stale yet or not noticed)
	Note         string    // e.g. "puppet agent disabled: <reason>" (redacted)
	Causes       []HostCause
}

// HostCause is one cause a host currently fails on.
type HostCause struct {
	ID    string
	Title string // redacted
	Since time.Time
	Last  time.Time
}

// Hosts returns the state of every known host, failing and stale first.
func (p *Puppet) Hosts(ctx context.Context) ([]HostState, error) {
	return p.hosts(ctx, p.opts.Now())
}

func (p *Puppet) hosts(ctx context.Context, now time.Time) ([]HostState, error) {
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
		h.StaleSince = puppetMs(staleSince)
		h.Stale = now.Sub(puppetMs(max(run, first))) > p.opts.StaleAfter
		h.Note = p.redact(h.Note)
		byHost[h.Host] = &h
		out = append(out, &h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("puppet: hosts: %w", err)
	}
	crows, err := p.db.QueryContext(ctx, `SELECT m.host, c.id, c.title, m.first_seen, m.last_seen FROM puppet_members m
		JOIN puppet_causes c ON c.id = m.cause WHERE m.recovered_at = 0 ORDER BY m.first_seen, c.id`)
	if err != nil {
		return nil, fmt.Errorf("puppet: hosts: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var host string
		var c HostCause
		var first, last int64
		if err := crows.Scan(&host, &c.ID, &c.Title, &first, &last); err != nil {
			return nil, fmt.Errorf("puppet: hosts: %w", err)
		}
		c.Title, c.Since, c.Last = p.redact(c.Title), puppetMs(first), puppetMs(last)
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
