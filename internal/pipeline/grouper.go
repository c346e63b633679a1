package pipeline

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/miner"
	"github.com/wikimedia/sheriff/internal/store"
)

// MinerGrouper groups untemplated events with the generic template miner.
// When the miner finds that two templates are one, the younger id becomes an
// alias of the older; the Ingester folds the alias's state into the survivor
// so its task keeps receiving events and is never refiled.
type MinerGrouper struct {
	mu       sync.Mutex
	m        *miner.Miner
	name     string
	merges   map[string]string
	dirty    bool
	lastSave time.Time
	every    time.Duration
}

// NewMinerGrouper loads the miner state stored under name (or starts empty).
// State is saved with a batch at most every saveEvery; between saves a crash
// loses nothing that matters, because template ids are derived from the
// template text and aliases are also recorded by the tracker.
func NewMinerGrouper(ctx context.Context, db *store.DB, name string, opts miner.Options, saveEvery time.Duration) (*MinerGrouper, error) {
	if err := miner.Migrate(ctx, db); err != nil {
		return nil, err
	}
	m, err := miner.Load(ctx, db, name, opts)
	if err != nil {
		return nil, err
	}
	if saveEvery <= 0 {
		saveEvery = time.Minute
	}
	return &MinerGrouper{m: m, name: name, merges: map[string]string{}, every: saveEvery, lastSave: time.Now()}, nil
}

// Group implements Grouper.
func (g *MinerGrouper) Group(ev *event.Event) (string, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	mt := g.m.Add(GroupLine(ev))
	if mt.New || len(mt.Merged) > 0 {
		g.dirty = true
	}
	for _, old := range mt.Merged {
		g.merges[old] = mt.ID
	}
	return mt.ID, mt.Template
}

// Resolve implements Grouper.
func (g *MinerGrouper) Resolve(id string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m.Resolve(id)
}

// Merges implements Grouper.
func (g *MinerGrouper) Merges() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.merges
	g.merges = map[string]string{}
	for a := range out {
		out[a] = g.m.Resolve(a)
	}
	return out
}

// Requeue offers merges again after the transaction recording them failed.
func (g *MinerGrouper) Requeue(merges map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for a, t := range merges {
		if _, ok := g.merges[a]; !ok {
			g.merges[a] = t
		}
	}
	g.dirty = true
}

// Save implements Grouper.
func (g *MinerGrouper) Save(ctx context.Context, tx *sql.Tx, force bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.dirty || (!force && time.Since(g.lastSave) < g.every) {
		return nil
	}
	if err := miner.SaveTx(ctx, tx, g.name, g.m); err != nil {
		return err
	}
	g.dirty, g.lastSave = false, time.Now()
	return nil
}

// Stats returns the miner's counters for metrics.
func (g *MinerGrouper) Stats() miner.Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m.Stats()
}
