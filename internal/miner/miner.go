// Package miner is sheriff's generic signature engine for logs that carry no
// template of their own (puppet agent output, syslog, Java, OpenStack, Apache,
// ...). It groups lines online into templates and gives each template a
// stable id.
//
// How a line is grouped:
//
//  1. A hand-written tokenizer masks what is obviously a parameter (numbers,
//     ids, addresses, paths, host names, quoted values, key=value values,
//     resource titles; see token.go).
//  2. A line whose masked form was seen before goes straight to its template
//     (a hash lookup: the common case in production).
//  3. Otherwise the line is compared with the templates of the same length.
//     A template that matches it exactly takes it. A template that differs
//     only where one side is masked and the other is a word (a thread name
//     against a pool id, "unknown" against an address) is generalised at once.
//     A template that differs in plain words is generalised only when every
//     differing position has shown enough distinct words (Options.Variety):
//     "User alice logged in" and "User bob logged in" may be two signatures
//     at first, but four user names prove a parameter, while "Connection
//     closed" and "Connection reset" stay apart because the word there takes
//     only a couple of values.
//  4. Otherwise it is compared with templates of other lengths sharing its
//     first token: when the lines differ only in one stretch between a common
//     prefix and suffix, and that stretch has shown enough distinct values of
//     at least three different lengths, the stretch becomes a variable-length
//     parameter (lists, unit descriptions, page titles).
//  5. Otherwise the line starts a new template.
//
// When a template generalises, the templates it now covers merge into the
// oldest of them; the ids of the others become aliases of the survivor, so a
// task filed under an early id keeps receiving its events (Resolve).
//
// Ids are derived from the first template text, so the same input gives the
// same ids on any instance, and a template that is evicted and comes back
// gets its old id again.
package miner

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Options tune a Miner. The zero value gives the defaults, which are meant to
// work on every kind of log without per-source settings.
type Options struct {
	// MaxTemplates caps the live templates; the least recently seen one is
	// evicted to make room. Default 20000.
	MaxTemplates int
	// Variety is how many distinct plain words one position must show before
	// it is taken for a parameter. Default 4.
	Variety int
}

func (o Options) withDefaults() Options {
	if o.MaxTemplates <= 0 {
		o.MaxTemplates = 20000
	}
	if o.Variety <= 1 {
		o.Variety = 4
	}
	return o
}

// Match is the result of grouping one line.
type Match struct {
	ID       string   // the signature id (already resolved: never an alias)
	Template string   // the template, parameters shown as <*>
	New      bool     // the line started a new template
	Merged   []string // ids that became aliases of ID while adding this line
}

// Stats are counters for metrics.
type Stats struct {
	Templates int   // live templates
	Aliases   int   // ids that resolve to another id
	Lines     int64 // lines added
	Created   int64 // templates created
	Merges    int64 // templates merged into another (each became an alias)
	Evictions int64 // templates evicted by the MaxTemplates cap
	CacheHits int64 // lines grouped by the exact-shape cache
}

// Template describes one live template.
type Template struct {
	ID       string
	Template string
	Count    int64 // lines grouped into it, including those of merged templates
}

// ttok is one position of a template.
type ttok struct {
	h      uint64
	s      string
	wild   bool // a parameter
	masked bool // a masked constant such as pid=<*>
	// onlyMasked marks a parameter that so far only ever held masked
	// values: it matches masked tokens only, so that "Fan speeds ( 3552
	// ... )" does not swallow "Fan speeds ( **** ... )", and a template
	// without a word of its own does not match every line of its length.
	// It opens to words only through a weak merge (see weakMerge).
	onlyMasked bool
}

// covers reports whether the template position takes the line token.
func (tt *ttok) takes(lt *tok) bool {
	if tt.wild {
		return !tt.onlyMasked || lt.masked
	}
	return tt.h == lt.h
}

// alt is evidence: a word seen at position pos by a line that otherwise
// nearly matched the template.
type alt struct {
	pos int32
	ctx uint64 // the other differing positions of that line
	h   uint64
}

// valt is variable-length evidence: a line matched the template except for
// the stretch between prefix p and suffix s, where it had a stretch of n
// tokens hashing to h.
type valt struct {
	p, s, n int32
	h       uint64
}

type tpl struct {
	id      string
	seq     uint64 // creation order; the oldest survives a merge
	toks    []ttok
	varAt   int // index of the variable-length parameter, -1 if none
	nconst  int // non-wild positions
	words   int // non-wild, unmasked positions holding a letter
	str     string
	count   int64
	last    uint64
	alts    []alt
	valts   []valt
	into    *tpl // set when merged: the survivor
	dead    bool // merged or evicted
	first   uint64
	hasHead bool // indexed by first token
	prev    *tpl // LRU list; head.next is the most recent
	next    *tpl
}

const (
	maxAlts  = 64
	maxVAlts = 32
)

// Miner groups lines into templates. It is safe for concurrent use.
type Miner struct {
	mu      sync.Mutex
	opt     Options
	seq     uint64
	clock   uint64
	live    map[string]*tpl
	aliases map[string]string
	buckets map[int][]*tpl      // fixed-length templates by token count
	byFirst map[uint64][]*tpl   // all templates by the hash of their first token
	vars    []*tpl              // variable-length templates
	cache   map[uint64]cacheEnt // masked line hash -> template
	gen     uint64              // bumped when a template generalises: older cache entries are stale
	lru     tpl                 // sentinel
	stats   Stats
	scratch []tok
	diffs   []int
}

// New returns an empty Miner.
func New(opt Options) *Miner {
	m := &Miner{
		opt:     opt.withDefaults(),
		live:    map[string]*tpl{},
		aliases: map[string]string{},
		buckets: map[int][]*tpl{},
		byFirst: map[uint64][]*tpl{},
		cache:   map[uint64]cacheEnt{},
	}
	m.lru.next, m.lru.prev = &m.lru, &m.lru
	return m
}

func (m *Miner) cacheCap() int { return max(4096, 8*m.opt.MaxTemplates) }

func lineHash(toks []tok) uint64 {
	h := uint64(fnvOffset) ^ uint64(len(toks))
	for i := range toks {
		h ^= toks[i].h
		h *= fnvPrime
		h ^= h >> 29
	}
	return h
}

// Add groups line, learning from it.
func (m *Miner) Add(line string) Match {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Lines++
	m.clock++
	toks := tokenize(line, m.scratch[:0])
	m.scratch = toks
	lh := lineHash(toks)
	if t := m.cached(lh); t != nil {
		m.stats.CacheHits++
		m.hit(t)
		return Match{ID: t.id, Template: t.str}
	}
	if t := m.find(toks); t != nil {
		m.hit(t)
		m.remember(lh, t)
		return Match{ID: t.id, Template: t.str}
	}
	t, merged := m.learn(line, toks)
	if t == nil {
		t = m.create(line, toks)
		m.hit(t)
		m.remember(lh, t)
		return Match{ID: t.id, Template: t.str, New: true}
	}
	m.hit(t)
	m.remember(lh, t)
	return Match{ID: t.id, Template: t.str, Merged: merged}
}

// Lookup groups line without learning from it.
func (m *Miner) Lookup(line string) (Match, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	toks := tokenize(line, m.scratch[:0])
	m.scratch = toks
	if t := m.cached(lineHash(toks)); t != nil {
		return Match{ID: t.id, Template: t.str}, true
	}
	if t := m.find(toks); t != nil {
		return Match{ID: t.id, Template: t.str}, true
	}
	return Match{}, false
}

// Resolve follows aliases: it returns the id that id's events now go to. An
// unknown id is returned unchanged.
func (m *Miner) Resolve(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resolve(id)
}

func (m *Miner) resolve(id string) string {
	for range 64 { // chains are short; the bound only guards against a bad snapshot
		next, ok := m.aliases[id]
		if !ok {
			return id
		}
		id = next
	}
	return id
}

// Templates lists the live templates, oldest first.
func (m *Miner) Templates() []Template {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.sorted()
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = Template{ID: t.id, Template: t.str, Count: t.count}
	}
	return out
}

func (m *Miner) sorted() []*tpl {
	ts := make([]*tpl, 0, len(m.live))
	for _, t := range m.live {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *tpl) int { return cmpU64(a.seq, b.seq) })
	return ts
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Stats returns the counters.
func (m *Miner) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Templates = len(m.live)
	s.Aliases = len(m.aliases)
	return s
}

// cacheEnt is a cached grouping, valid while no template generalised since.
type cacheEnt struct {
	t   *tpl
	gen uint64
}

func (m *Miner) cached(lh uint64) *tpl {
	e, ok := m.cache[lh]
	if !ok || e.gen != m.gen {
		return nil
	}
	t := e.t
	for t.into != nil {
		t = t.into
	}
	if t.dead {
		delete(m.cache, lh)
		return nil
	}
	return t
}

func (m *Miner) remember(lh uint64, t *tpl) {
	if len(m.cache) >= m.cacheCap() {
		clear(m.cache) // cheap and bounded; it refills from the hot lines
	}
	m.cache[lh] = cacheEnt{t, m.gen}
}

func (m *Miner) hit(t *tpl) {
	t.count++
	t.last = m.clock
	t.prev.next, t.next.prev = t.next, t.prev
	t.next, t.prev = m.lru.next, &m.lru
	m.lru.next.prev = t
	m.lru.next = t
}

// matches reports whether the template covers the line exactly.
func matches(t *tpl, toks []tok) bool {
	if t.varAt < 0 {
		if len(t.toks) != len(toks) {
			return false
		}
		for i := range t.toks {
			if !t.toks[i].takes(&toks[i]) {
				return false
			}
		}
		return true
	}
	pre, post := t.varAt, len(t.toks)-t.varAt-1
	if len(toks) < pre+post+1 {
		return false
	}
	for i := 0; i < pre; i++ {
		if !t.toks[i].takes(&toks[i]) {
			return false
		}
	}
	off := len(toks) - len(t.toks)
	for i := t.varAt + 1; i < len(t.toks); i++ {
		if !t.toks[i].takes(&toks[i+off]) {
			return false
		}
	}
	return true
}

// find returns the template that covers the line: the most specific one, the
// oldest on a tie.
func (m *Miner) find(toks []tok) *tpl {
	var best *tpl
	for _, t := range m.buckets[len(toks)] {
		if matches(t, toks) && (best == nil || t.nconst > best.nconst) {
			best = t
		}
	}
	if best != nil {
		return best
	}
	for _, t := range m.vars {
		if matches(t, toks) && (best == nil || t.nconst > best.nconst) {
			best = t
		}
	}
	return best
}

// weak reports whether a difference between a template position and a line
// token is the kind a parameter makes: one side masked (or a parameter), the
// other a word that can stand for a value ("unknown" against an address, a
// thread name against a pool id). An empty value ("rhost=" against
// "rhost=<*>") or punctuation ("****" against a number) is not a value
// word: such lines are a different event until the position has shown real
// variety.
func weak(tt *ttok, lt *tok, line string) bool {
	if (tt.masked || tt.wild) == lt.masked {
		return false
	}
	w := tt.s
	if !tt.wild && !tt.masked {
		w = ""
	}
	if !lt.masked {
		w = line[lt.s:lt.e]
	}
	return valueWord(w)
}

func valueWord(w string) bool {
	if w == "-" {
		return true // the usual stand-in for "no value" (CLF, syslog)
	}
	if w == "" || !hasLetter(w) {
		return false
	}
	switch w[len(w)-1] {
	case '=', ':':
		return false
	}
	return true
}

// learn tries to generalise an existing template so that it covers the line.
func (m *Miner) learn(line string, toks []tok) (*tpl, []string) {
	if t, merged := m.learnFixed(line, toks); t != nil {
		return t, merged
	}
	return m.learnVariable(toks)
}

func (m *Miner) learnFixed(line string, toks []tok) (*tpl, []string) {
	var (
		best  *tpl
		bestD []int
	)
	k := m.opt.Variety
	for _, t := range m.buckets[len(toks)] {
		maxD := max(1, t.nconst/2)
		d := m.diffs[:0]
		lost := 0 // word constants the generalisation would drop
		for i := range t.toks {
			tt := &t.toks[i]
			if tt.takes(&toks[i]) {
				continue
			}
			d = append(d, i)
			if !tt.wild && !tt.masked && hasLetter(tt.s) {
				lost++
			}
			if len(d) > maxD {
				break
			}
		}
		m.diffs = d
		// A template keeps at least one word of its own.
		if len(d) == 0 || len(d) > maxD || t.words-lost < 1 {
			continue
		}
		ok := true
		for _, i := range d {
			// A weak difference generalises at once only while the word
			// positions around it agree: at least as many kept words as
			// differing positions.
			if weak(&t.toks[i], &toks[i], line) && t.words-lost >= len(d) {
				continue
			}
			// Evidence counts per set of differing positions: words seen at
			// position 0 of lines that also differ at the end ("Starting
			// X..." against "Started X.") say nothing about lines that
			// differ at position 0 only.
			var ctx uint64
			for _, j := range d {
				if j != i {
					ctx = ctx*fnvPrime + uint64(j) + 1
				}
			}
			if t.addAlt(int32(i), ctx, toks[i].h) < k-1 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		if best == nil || len(d) < len(bestD) {
			best, bestD = t, append(bestD[:0], d...)
		}
	}
	if best == nil {
		return nil, nil
	}
	for _, i := range bestD {
		best.toks[i] = ttok{s: wildString, wild: true} // open to words from now on
	}
	best.refresh()
	return m.absorb(best)
}

// addAlt records evidence and returns how many distinct other words position
// pos has shown.
func (t *tpl) addAlt(pos int32, ctx, h uint64) int {
	n, seen := 0, false
	for _, a := range t.alts {
		if a.pos == pos && a.ctx == ctx {
			n++
			if a.h == h {
				seen = true
			}
		}
	}
	if !seen && len(t.alts) < maxAlts {
		t.alts = append(t.alts, alt{pos, ctx, h})
		n++
	}
	return n
}

// absorb merges into t every template that t now covers; the oldest of them
// survives, taking t's tokens. It returns the survivor and the ids that became
// aliases.
func (m *Miner) absorb(t *tpl) (*tpl, []string) {
	// A generalised template may now be the better match for shapes cached
	// under another one; the cache must give what find would, or a restart
	// (which starts with an empty cache) would group differently. Entries
	// of older generations are checked again on their next use.
	m.gen++
	var covered []*tpl
	cands := m.buckets[len(t.toks)]
	if t.varAt >= 0 {
		cands = m.candidatesByFirst(t)
	}
	for _, u := range cands {
		if u != t && !u.dead && covers(t, u) {
			covered = append(covered, u)
		}
	}
	if t.varAt >= 0 {
		for _, u := range m.vars {
			if u != t && !u.dead && covers(t, u) && !slices.Contains(covered, u) {
				covered = append(covered, u)
			}
		}
	}
	surv := t
	for _, u := range covered {
		if u.seq < surv.seq {
			surv = u
		}
	}
	if surv != t {
		// The survivor takes the generalised shape.
		m.unindex(surv)
		surv.toks, surv.varAt = t.toks, t.varAt
		surv.refresh()
		m.index(surv)
		covered = append(covered, t)
		covered = slices.DeleteFunc(covered, func(u *tpl) bool { return u == surv })
	}
	slices.SortFunc(covered, func(a, b *tpl) int { return cmpU64(a.seq, b.seq) })
	merged := make([]string, 0, len(covered))
	for _, u := range covered {
		m.unindex(u)
		m.unlink(u)
		u.dead, u.into = true, surv
		surv.count += u.count
		if u.last > surv.last {
			surv.last = u.last
		}
		for _, a := range u.alts {
			if len(surv.alts) < maxAlts && int(a.pos) < len(surv.toks) && !slices.Contains(surv.alts, a) {
				surv.alts = append(surv.alts, a)
			}
		}
		delete(m.live, u.id)
		m.aliases[u.id] = surv.id
		merged = append(merged, u.id)
		m.stats.Merges++
	}
	m.trimAliases()
	return surv, merged
}

// covers reports whether every line matching u also matches t.
func covers(t, u *tpl) bool {
	if t.varAt < 0 {
		if u.varAt >= 0 || len(t.toks) != len(u.toks) {
			return false
		}
		for i := range t.toks {
			if !covers1(&t.toks[i], &u.toks[i]) {
				return false
			}
		}
		return true
	}
	pre, post := t.varAt, len(t.toks)-t.varAt-1
	if u.varAt >= 0 {
		if u.varAt < pre || len(u.toks)-u.varAt-1 < post {
			return false
		}
	} else if len(u.toks) < pre+post+1 {
		return false
	}
	for i := 0; i < pre; i++ {
		if !covers1(&t.toks[i], &u.toks[i]) {
			return false
		}
	}
	off := len(u.toks) - len(t.toks)
	for i := t.varAt + 1; i < len(t.toks); i++ {
		if !covers1(&t.toks[i], &u.toks[i+off]) {
			return false
		}
	}
	return true
}

// covers1 reports whether template position a takes every token position b
// takes.
func covers1(a, b *ttok) bool {
	switch {
	case !a.wild:
		return !b.wild && a.h == b.h
	case !a.onlyMasked:
		return true
	case b.wild:
		return b.onlyMasked
	default:
		return b.masked
	}
}

func (t *tpl) refresh() {
	t.nconst, t.words = 0, 0
	var b strings.Builder
	for i := range t.toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		if !t.toks[i].wild {
			t.nconst++
			if !t.toks[i].masked && hasLetter(t.toks[i].s) {
				t.words++
			}
		}
		b.WriteString(t.toks[i].s)
	}
	t.str = b.String()
	t.first = t.toks[0].h
	t.hasHead = !t.toks[0].wild
}

func (m *Miner) index(t *tpl) {
	if t.varAt < 0 {
		m.buckets[len(t.toks)] = append(m.buckets[len(t.toks)], t)
	} else {
		m.vars = append(m.vars, t)
	}
	if t.hasHead {
		m.byFirst[t.first] = append(m.byFirst[t.first], t)
	}
}

func (m *Miner) unindex(t *tpl) {
	del := func(s []*tpl) []*tpl {
		if i := slices.Index(s, t); i >= 0 {
			return slices.Delete(s, i, i+1)
		}
		return s
	}
	if t.varAt < 0 {
		n := len(t.toks)
		if b := del(m.buckets[n]); len(b) > 0 {
			m.buckets[n] = b
		} else {
			delete(m.buckets, n)
		}
	} else {
		m.vars = del(m.vars)
	}
	if t.hasHead {
		if b := del(m.byFirst[t.first]); len(b) > 0 {
			m.byFirst[t.first] = b
		} else {
			delete(m.byFirst, t.first)
		}
	}
}

func (m *Miner) unlink(t *tpl) {
	t.prev.next, t.next.prev = t.next, t.prev
	t.prev, t.next = nil, nil
}

func (m *Miner) candidatesByFirst(t *tpl) []*tpl {
	if !t.hasHead {
		return nil
	}
	return slices.Clone(m.byFirst[t.first])
}

// create starts a template from the line, evicting the least recently seen
// one if the cap is reached.
func (m *Miner) create(line string, toks []tok) *tpl {
	for len(m.live) >= m.opt.MaxTemplates {
		m.evict(m.lru.prev)
	}
	m.seq++
	t := &tpl{seq: m.seq, varAt: -1, toks: make([]ttok, len(toks))}
	for i, k := range toks {
		if k.wild() {
			t.toks[i] = ttok{s: wildString, wild: true, onlyMasked: true}
		} else {
			t.toks[i] = ttok{h: k.h, s: strings.Clone(k.canon(line)), masked: k.masked}
		}
	}
	t.refresh()
	t.id = m.newID(t.str)
	m.live[t.id] = t
	m.index(t)
	t.prev, t.next = &m.lru, m.lru.next
	m.lru.next.prev = t
	m.lru.next = t
	m.stats.Created++
	return t
}

// newID derives the id from the template text. A template evicted and
// learnt again gets its old id back; an id that is an alias comes back to
// life (its survivor was evicted, or the line would have matched it).
func (m *Miner) newID(text string) string {
	base := fmt.Sprintf("%012x", hashCanon(text)>>16)
	id := base
	for n := 2; ; n++ {
		if _, taken := m.live[id]; !taken {
			delete(m.aliases, id)
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

func (m *Miner) evict(t *tpl) {
	if t == &m.lru {
		return
	}
	m.unindex(t)
	m.unlink(t)
	t.dead = true
	delete(m.live, t.id)
	m.stats.Evictions++
	m.trimAliases()
}

// trimAliases bounds the alias table under churn: aliases whose survivor is
// gone are dropped first (their events would start a fresh template anyway).
func (m *Miner) trimAliases() {
	if len(m.aliases) <= 4*m.opt.MaxTemplates {
		return
	}
	for id := range m.aliases {
		if _, ok := m.live[m.resolve(id)]; !ok {
			delete(m.aliases, id)
		}
	}
	for _, id := range sortedKeys(m.aliases) { // still too many: drop some, deterministically
		if len(m.aliases) <= 2*m.opt.MaxTemplates {
			break
		}
		delete(m.aliases, id)
	}
}

// learnVariable looks for a template of another length that the line matches
// except for one stretch (and at most one other token), and turns that
// stretch into a variable-length parameter once enough distinct stretches of
// at least three lengths were seen.
//
// The stretch must be anchored by words: at least two unmasked constants
// around it, covering at least half of the shorter of the two, and it may not
// be much longer than its anchors. Otherwise a shared prefix of masked
// tokens ("[client <*>] <*>:") would swallow every message behind it.
func (m *Miner) learnVariable(toks []tok) (*tpl, []string) {
	if len(toks) == 0 || toks[0].wild() {
		return nil, nil
	}
	n := len(toks)
	k := m.opt.Variety
	lh := lineHash(toks)
	var (
		best       *tpl
		bestP, bes int
		bestScore  int
	)
	for _, u := range m.byFirst[toks[0].h] {
		if u.varAt >= 0 || len(u.toks) == n {
			continue
		}
		p, s, miss, anchors, words := align(u, toks)
		if p < 1 || miss > 1 || !anchored(anchors, words, s, len(u.toks), n) || max(len(u.toks), n)-p-s > maxStretch {
			continue
		}
		if !slices.ContainsFunc(u.valts, func(v valt) bool { return v.h == lh }) && len(u.valts) < maxVAlts {
			u.valts = append(u.valts, valt{p: int32(p), s: int32(s), n: int32(n), h: lh})
		}
		// The evidence of all lines counts; the stretch is the widest any of
		// them needed, and the anchors left around it must still hold.
		P, S := p, s
		lens := []int32{int32(len(u.toks))}
		for _, v := range u.valts {
			P, S = min(P, int(v.p)), min(S, int(v.s))
			if !slices.Contains(lens, v.n) {
				lens = append(lens, v.n)
			}
		}
		if len(u.valts) < k-1 || len(lens) < 3 || P < 1 {
			continue
		}
		anchors, words = 0, 0
		for i, ut := range u.toks {
			if (i >= P && i < len(u.toks)-S) || ut.wild || ut.masked {
				continue
			}
			anchors++
			if hasLetter(ut.s) {
				words++
			}
		}
		if !anchored(anchors, words, S, len(u.toks), n) || max(len(u.toks), n)-P-S > maxStretch {
			continue
		}
		if best == nil || anchors > bestScore || (anchors == bestScore && u.seq < best.seq) {
			best, bestP, bes, bestScore = u, P, S, anchors
		}
	}
	if best == nil {
		return nil, nil
	}
	u := best
	m.unindex(u)
	nt := make([]ttok, 0, bestP+1+bes)
	nt = append(nt, u.toks[:bestP]...)
	nt = append(nt, ttok{s: wildString, wild: true})
	nt = append(nt, u.toks[len(u.toks)-bes:]...)
	off := n - len(nt)
	for i := range nt { // the one tolerated mismatch becomes a parameter
		if i == bestP || nt[i].wild {
			continue
		}
		j := i
		if i > bestP {
			j = i + off
		}
		if !nt[i].takes(&toks[j]) {
			nt[i] = ttok{s: wildString, wild: true}
		}
	}
	u.toks, u.varAt = nt, bestP
	u.alts, u.valts = nil, nil
	u.refresh()
	m.index(u)
	surv, merged := m.absorb(u)
	if !matches(surv, toks) {
		return nil, merged // cannot happen by construction
	}
	return surv, merged
}

// maxStretch bounds a variable-length parameter. Longer differing stretches
// are, in practice, different messages behind a common preamble (puppet's
// "Could not retrieve catalog from remote server: Error 500 on SERVER: ...
// (file: ..., line: ...)" around the actual cause), not one parameter.
const maxStretch = 10

// anchored decides whether the constants kept around a stretch are enough to
// call the stretch a parameter: two words covering half of the shorter line,
// or, for a stretch that ends the line ("Job <*> failed for <*>: <message>"),
// three words.
func anchored(anchors, words, s, un, n int) bool {
	if anchors < 2 || words < 1 {
		return false
	}
	if s == 0 && words >= 3 {
		return true
	}
	return 2*anchors >= min(un, n)
}

// align finds the split of u and the line into prefix, one differing
// stretch each (both non-empty) and suffix that keeps the most positions
// equal. It returns the prefix and suffix lengths, the mismatches in them,
// the unmasked constants of u that matched (anchors) and how many of those
// hold a letter.
func align(u *tpl, toks []tok) (p, s, miss, anchors, words int) {
	n, un := len(toks), len(u.toks)
	lim := min(n, un) - 1
	eq := func(ut *ttok, lt *tok) bool { return ut.takes(lt) }
	// Grow the prefix while it matches (allowing one miss), then the suffix.
	bestScore := -1
	for try := 0; try < 2; try++ {
		allow := try
		pp, ms := 0, 0
		for pp < lim {
			if !eq(&u.toks[pp], &toks[pp]) {
				if ms == allow {
					break
				}
				ms++
			}
			pp++
		}
		ss := 0
		for pp+ss < lim {
			if !eq(&u.toks[un-1-ss], &toks[n-1-ss]) {
				if ms == 1 {
					break
				}
				ms++
			}
			ss++
		}
		// Trim mismatches at the edges of the stretch: they belong to it.
		for pp > 0 && !eq(&u.toks[pp-1], &toks[pp-1]) {
			pp--
			ms--
		}
		for ss > 0 && !eq(&u.toks[un-ss], &toks[n-ss]) {
			ss--
			ms--
		}
		if pp+ss-ms > bestScore {
			bestScore = pp + ss - ms
			p, s, miss = pp, ss, ms
		}
	}
	for i := 0; i < un; i++ {
		if i == p {
			i = un - s - 1
			continue
		}
		ut := &u.toks[i]
		j := i
		if i >= un-s {
			j = i - un + n
		}
		if ut.wild || ut.masked || !ut.takes(&toks[j]) {
			continue
		}
		anchors++
		if hasLetter(ut.s) {
			words++
		}
	}
	return p, s, miss, anchors, words
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isLower(s[i]) || isUpper(s[i]) {
			return true
		}
	}
	return false
}
