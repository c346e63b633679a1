package filer

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/finding"
)

// Resync rebuilds the mapping from the tracker: every task carrying a marker
// (found by a full-text search for the constant marker word within the
// configured projects, and by listing every task the bot created) is mapped
// to its signature. It files and comments nothing. Existing rows keep their
// reporting state; new rows get an unknown reported count, so the next Sync
// takes the then current count as its baseline instead of commenting. It
// returns the number of mappings written.
func (f *Filer) Resync(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := map[int]Task{}
	ts, err := f.backend.SearchText(ctx, markerWord, f.opts.Projects)
	if err != nil {
		return 0, fmt.Errorf("filer: resync: search markers: %w", err)
	}
	for _, t := range ts {
		found[t.ID] = t
	}
	ts, err = f.backend.CreatedSince(ctx, time.Time{})
	if err != nil {
		return 0, fmt.Errorf("filer: resync: list own tasks: %w", err)
	}
	for _, t := range ts {
		found[t.ID] = t
	}
	ids := make([]int, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	// Oldest first: when a signature has several tasks (duplicates filed by
	// some earlier bug), the oldest one is kept.
	sort.Ints(ids)

	type row struct {
		m       Mapping
		members []string
	}
	byMarker := map[string]*row{}
	var order []string
	for _, id := range ids {
		t := found[id]
		own, members := parseMarkers(t.Description)
		if own == "" {
			continue
		}
		if prev, ok := byMarker[own]; ok {
			f.log.Warn("resync: several tasks carry one marker; keeping the oldest", "marker", own, "kept", prev.m.TaskID, "other", t.ID)
			continue
		}
		kind, key := parseSignature(t.Description, own)
		if kind == KindUmbrella {
			cs, err := f.backend.CommentsSince(ctx, t.ID, time.Time{})
			if err != nil {
				return 0, fmt.Errorf("filer: resync: comments of task %d: %w", t.ID, err)
			}
			for _, c := range cs {
				_, ms := parseMarkers(c)
				members = append(members, ms...)
			}
		} else {
			members = nil
		}
		byMarker[own] = &row{m: Mapping{Kind: kind, Key: key, Marker: own, TaskID: t.ID, URL: t.URL, Status: t.Status,
			Silenced: isSilencing(t.Status), Origin: originResync, Title: t.Title, FiledAt: t.Created}, members: members}
		order = append(order, own)
	}

	now := f.now()
	n := 0
	err = f.db.Tx(ctx, func(tx *sql.Tx) error {
		put := func(m Mapping) error {
			old, err := f.getMapping(ctx, tx, m.Marker)
			if err != nil {
				return err
			}
			if old != nil {
				if old.Key != "" && m.Key == "" {
					m.Key = old.Key
				}
				m.Origin, m.ReportedAt, m.LastCommentAt = old.Origin, old.ReportedAt, old.LastCommentAt
				m.ReportedCount, m.ReportedFacets = old.ReportedCount, old.ReportedFacets
				if old.Silenced {
					m.Silenced = true
				}
			} else {
				m.ReportedAt, m.ReportedCount, m.ReportedFacets = now, -1, map[string][]string{}
			}
			if m.FiledAt.IsZero() {
				m.FiledAt = now
			}
			n++
			return f.putMapping(ctx, tx, &m)
		}
		for _, mk := range order {
			r := byMarker[mk]
			if err := put(r.m); err != nil {
				return err
			}
		}
		// Members of umbrellas, unless they have a task of their own.
		for _, mk := range order {
			r := byMarker[mk]
			for _, member := range r.members {
				if _, own := byMarker[member]; own {
					continue
				}
				kind, key := kindFromMarker(member), ""
				old, err := f.getMapping(ctx, tx, member)
				if err != nil {
					return err
				}
				if old != nil {
					kind, key = old.Kind, old.Key
				}
				if err := put(Mapping{Kind: kind, Key: key, Marker: member, TaskID: r.m.TaskID, URL: r.m.URL,
					Status: r.m.Status, Silenced: r.m.Silenced, Umbrella: mk, Origin: originResync,
					FiledAt: r.m.FiledAt}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("filer: resync: %w", err)
	}
	f.log.Info("resync done", "tasks", len(found), "mappings", n)
	return n, nil
}

var knownKinds = []finding.Kind{finding.KindError, finding.KindPuppet, finding.KindDrift, finding.KindSpike, KindUmbrella}

func kindFromMarker(marker string) finding.Kind {
	rest := strings.TrimPrefix(marker, markerPre)
	for _, k := range knownKinds {
		if strings.HasPrefix(rest, string(k)) {
			return k
		}
	}
	return ""
}

// parseSignature reads kind and key back from the "**Signature:** `kind key`"
// line, falling back to what the marker tells.
func parseSignature(desc, marker string) (finding.Kind, string) {
	kind := kindFromMarker(marker)
	if kind == KindUmbrella {
		return kind, strings.TrimPrefix(marker, markerPre+string(KindUmbrella))
	}
	for _, line := range strings.Split(desc, "\n") {
		rest, ok := strings.CutPrefix(line, "**Signature:** `")
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(strings.TrimSpace(rest), "`")
		k, key, ok := strings.Cut(rest, " ")
		if ok && Marker(finding.Kind(k), key) == marker {
			return finding.Kind(k), key
		}
	}
	if isHexID(strings.TrimPrefix(marker, markerPre+string(kind))) {
		return kind, strings.TrimPrefix(marker, markerPre+string(kind))
	}
	return kind, ""
}
