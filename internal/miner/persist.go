package miner

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wikimedia/sheriff/internal/store"
)

// State is everything a Miner knows, in a form that survives a restart.
// The exact-shape cache is not part of it: it refills from traffic.
type State struct {
	Seq       uint64
	Clock     uint64
	Counters  Stats // Lines, Created, Merges, Evictions, CacheHits
	Templates []TemplateState
	Aliases   map[string]string
}

// TemplateState is one template of a State.
type TemplateState struct {
	ID       string
	Seq      uint64
	Tokens   []string // "<*>" is a parameter
	VarAt    int      // position of the variable-length parameter, -1 if none
	Count    int64
	LastSeen uint64
	Evidence Evidence
	// MaskedOnly lists the parameters that take masked values only (see
	// ttok.onlyMasked). States written before it existed have none.
	MaskedOnly []int `json:",omitempty"`
}

// Evidence is what a template has seen towards generalising; it is kept so
// that a restart does not forget half-proven parameters.
type Evidence struct {
	Words   [][3]uint64 `json:",omitempty"` // position, context, word hash
	Stretch [][4]uint64 `json:",omitempty"` // prefix, suffix, line length, line hash
}

// Snapshot returns the miner's state.
func (m *Miner) Snapshot() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := State{Seq: m.seq, Clock: m.clock, Counters: m.stats, Aliases: maps(m.aliases)}
	st.Counters.Templates, st.Counters.Aliases = 0, 0
	for _, t := range m.sorted() {
		ts := TemplateState{ID: t.id, Seq: t.seq, VarAt: t.varAt, Count: t.count, LastSeen: t.last,
			Tokens: make([]string, len(t.toks))}
		for i, k := range t.toks {
			ts.Tokens[i] = k.s
			if k.wild && k.onlyMasked {
				ts.MaskedOnly = append(ts.MaskedOnly, i)
			}
		}
		for _, a := range t.alts {
			ts.Evidence.Words = append(ts.Evidence.Words, [3]uint64{uint64(a.pos), a.ctx, a.h})
		}
		for _, v := range t.valts {
			ts.Evidence.Stretch = append(ts.Evidence.Stretch, [4]uint64{uint64(v.p), uint64(v.s), uint64(v.n), v.h})
		}
		st.Templates = append(st.Templates, ts)
	}
	return st
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ErrState is wrapped by errors about an inconsistent State.
var ErrState = errors.New("invalid miner state")

// Restore builds a Miner from a State. Templates beyond opt.MaxTemplates are
// dropped, least recently seen first, and counted as evictions.
func Restore(st State, opt Options) (*Miner, error) {
	m := New(opt)
	m.seq, m.clock, m.stats = st.Seq, st.Clock, st.Counters
	ts := slices.Clone(st.Templates)
	// Oldest use first, so that each insertion at the LRU front leaves the
	// most recent at the front.
	slices.SortStableFunc(ts, func(a, b TemplateState) int { return cmpU64(a.LastSeen, b.LastSeen) })
	for _, s := range ts {
		if s.ID == "" || len(s.Tokens) == 0 || len(s.Tokens) > maxTokens || s.VarAt < -1 || s.VarAt >= len(s.Tokens) {
			return nil, fmt.Errorf("%w: template %q: bad id, tokens or variable position", ErrState, s.ID)
		}
		if _, dup := m.live[s.ID]; dup {
			return nil, fmt.Errorf("%w: template %q appears twice", ErrState, s.ID)
		}
		t := &tpl{id: s.ID, seq: s.Seq, varAt: s.VarAt, count: s.Count, last: s.LastSeen, toks: make([]ttok, len(s.Tokens))}
		for i, w := range s.Tokens {
			if w == wildString {
				t.toks[i] = ttok{s: wildString, wild: true}
			} else {
				t.toks[i] = ttok{h: hashCanon(w), s: w, masked: strings.Contains(w, wildString)}
			}
		}
		for _, i := range s.MaskedOnly {
			if i < 0 || i >= len(t.toks) || !t.toks[i].wild {
				return nil, fmt.Errorf("%w: template %q: masked-only position %d is not a parameter", ErrState, s.ID, i)
			}
			t.toks[i].onlyMasked = true
		}
		for _, a := range s.Evidence.Words {
			t.alts = append(t.alts, alt{pos: int32(a[0]), ctx: a[1], h: a[2]})
		}
		for _, v := range s.Evidence.Stretch {
			t.valts = append(t.valts, valt{p: int32(v[0]), s: int32(v[1]), n: int32(v[2]), h: v[3]})
		}
		t.refresh()
		if len(m.live) >= m.opt.MaxTemplates {
			m.evict(m.lru.prev)
		}
		m.live[t.id] = t
		m.index(t)
		t.prev, t.next = &m.lru, m.lru.next
		m.lru.next.prev = t
		m.lru.next = t
		if t.seq > m.seq {
			m.seq = t.seq
		}
	}
	// Buckets must be in creation order, as a miner that never restarted has
	// them, so that ties are broken the same way.
	for n, b := range m.buckets {
		slices.SortFunc(b, func(a, b *tpl) int { return cmpU64(a.seq, b.seq) })
		m.buckets[n] = b
	}
	for h, b := range m.byFirst {
		slices.SortFunc(b, func(a, b *tpl) int { return cmpU64(a.seq, b.seq) })
		m.byFirst[h] = b
	}
	slices.SortFunc(m.vars, func(a, b *tpl) int { return cmpU64(a.seq, b.seq) })
	for id, target := range st.Aliases {
		if id == "" || target == "" || id == target {
			return nil, fmt.Errorf("%w: alias %q -> %q", ErrState, id, target)
		}
		m.aliases[id] = target
	}
	return m, nil
}

// Migrations are the miner's tables, registered under component "miner".
// Several miners (one per source, say) share the tables, keyed by name.
var Migrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE miner_templates (
	miner     TEXT NOT NULL,
	id        TEXT NOT NULL,
	seq       INTEGER NOT NULL,
	template  TEXT NOT NULL,
	count     INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	state     TEXT NOT NULL,
	PRIMARY KEY (miner, id)
);
CREATE TABLE miner_aliases (
	miner  TEXT NOT NULL,
	id     TEXT NOT NULL,
	target TEXT NOT NULL,
	PRIMARY KEY (miner, id)
);
CREATE TABLE miner_meta (
	miner TEXT PRIMARY KEY,
	state TEXT NOT NULL
);`},
}

// Migrate creates or upgrades the miner's tables.
func Migrate(ctx context.Context, db *store.DB) error {
	return db.Migrate(ctx, "miner", Migrations)
}

type templateRow struct {
	Tokens     []string
	VarAt      int
	Evidence   Evidence
	MaskedOnly []int `json:",omitempty"`
}

type metaRow struct {
	Seq      uint64
	Clock    uint64
	Counters Stats
}

// SaveTx replaces the stored state of the miner called name within tx, so
// that a caller can commit it together with the source position it covers.
func SaveTx(ctx context.Context, tx *sql.Tx, name string, m *Miner) error {
	st := m.Snapshot()
	for _, q := range []string{`DELETE FROM miner_templates WHERE miner=?`, `DELETE FROM miner_aliases WHERE miner=?`, `DELETE FROM miner_meta WHERE miner=?`} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return fmt.Errorf("miner: save %s: %w", name, err)
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO miner_templates(miner,id,seq,template,count,last_seen,state) VALUES(?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("miner: save %s: %w", name, err)
	}
	defer ins.Close()
	for _, t := range st.Templates {
		row, err := json.Marshal(templateRow{Tokens: t.Tokens, VarAt: t.VarAt, Evidence: t.Evidence, MaskedOnly: t.MaskedOnly})
		if err != nil {
			return fmt.Errorf("miner: save %s: %w", name, err)
		}
		if _, err := ins.ExecContext(ctx, name, t.ID, int64(t.Seq), strings.Join(t.Tokens, " "), t.Count, int64(t.LastSeen), string(row)); err != nil {
			return fmt.Errorf("miner: save %s template %s: %w", name, t.ID, err)
		}
	}
	for _, id := range sortedKeys(st.Aliases) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO miner_aliases(miner,id,target) VALUES(?,?,?)`, name, id, st.Aliases[id]); err != nil {
			return fmt.Errorf("miner: save %s alias %s: %w", name, id, err)
		}
	}
	meta, err := json.Marshal(metaRow{Seq: st.Seq, Clock: st.Clock, Counters: st.Counters})
	if err != nil {
		return fmt.Errorf("miner: save %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO miner_meta(miner,state) VALUES(?,?)`, name, string(meta)); err != nil {
		return fmt.Errorf("miner: save %s: %w", name, err)
	}
	return nil
}

// Save stores the miner's state under name in its own transaction.
func Save(ctx context.Context, db *store.DB, name string, m *Miner) error {
	return db.Tx(ctx, func(tx *sql.Tx) error { return SaveTx(ctx, tx, name, m) })
}

// Load returns the miner stored under name, or an empty one if none is.
func Load(ctx context.Context, db *store.DB, name string, opt Options) (*Miner, error) {
	st := State{Aliases: map[string]string{}}
	var meta string
	err := db.QueryRowContext(ctx, `SELECT state FROM miner_meta WHERE miner=?`, name).Scan(&meta)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return New(opt), nil
	case err != nil:
		return nil, fmt.Errorf("miner: load %s: %w", name, err)
	}
	var mr metaRow
	if err := json.Unmarshal([]byte(meta), &mr); err != nil {
		return nil, fmt.Errorf("%w: miner_meta %s: %v", ErrState, name, err)
	}
	st.Seq, st.Clock, st.Counters = mr.Seq, mr.Clock, mr.Counters
	rows, err := db.QueryContext(ctx, `SELECT id,seq,count,last_seen,state FROM miner_templates WHERE miner=? ORDER BY seq`, name)
	if err != nil {
		return nil, fmt.Errorf("miner: load %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t         TemplateState
			seq, last int64
			raw       string
		)
		if err := rows.Scan(&t.ID, &seq, &t.Count, &last, &raw); err != nil {
			return nil, fmt.Errorf("miner: load %s: %w", name, err)
		}
		var tr templateRow
		if err := json.Unmarshal([]byte(raw), &tr); err != nil {
			return nil, fmt.Errorf("%w: miner_templates %s/%s field state: %v", ErrState, name, t.ID, err)
		}
		t.Seq, t.LastSeen, t.Tokens, t.VarAt, t.Evidence, t.MaskedOnly = uint64(seq), uint64(last), tr.Tokens, tr.VarAt, tr.Evidence, tr.MaskedOnly
		st.Templates = append(st.Templates, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("miner: load %s: %w", name, err)
	}
	arows, err := db.QueryContext(ctx, `SELECT id,target FROM miner_aliases WHERE miner=?`, name)
	if err != nil {
		return nil, fmt.Errorf("miner: load %s: %w", name, err)
	}
	defer arows.Close()
	for arows.Next() {
		var id, target string
		if err := arows.Scan(&id, &target); err != nil {
			return nil, fmt.Errorf("miner: load %s: %w", name, err)
		}
		st.Aliases[id] = target
	}
	if err := arows.Err(); err != nil {
		return nil, fmt.Errorf("miner: load %s: %w", name, err)
	}
	m, err := Restore(st, opt)
	if err != nil {
		return nil, fmt.Errorf("miner: load %s: %w", name, err)
	}
	return m, nil
}
