package filer

import (
	"context"
	"fmt"
	"sort"

	"github.com/wikimedia/sheriff/internal/finding"
)

// TaskState is how a task's status bears on its findings.
type TaskState string

const (
	TaskOpen     TaskState = "open"
	TaskResolved TaskState = "resolved" // closed as fixed: a recurrence is a regression
	TaskSilenced TaskState = "silenced" // declined, invalid, duplicate: stop reporting
)

// State classifies a mapping's last known task status.
func (m Mapping) State() TaskState {
	switch {
	case m.Silenced || isSilencing(m.Status):
		return TaskSilenced
	case isOpen(m.Status):
		return TaskOpen
	}
	return TaskResolved
}

// Refresh reads the current status of every mapped task and returns the
// mappings whose status changed. People close tasks to tell sheriff that a
// problem is fixed or unwanted; without a refresh sheriff would only learn
// it the next time the signature occurs.
func (f *Filer) Refresh(ctx context.Context) ([]Mapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, err := f.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	byTask := map[int][]int{}
	var ids []int
	for i, m := range ms {
		if m.TaskID <= 0 || m.Umbrella != "" {
			continue
		}
		if _, ok := byTask[m.TaskID]; !ok {
			ids = append(ids, m.TaskID)
		}
		byTask[m.TaskID] = append(byTask[m.TaskID], i)
	}
	sort.Ints(ids)
	var changed []Mapping
	for len(ids) > 0 {
		n := min(len(ids), 100)
		tasks, err := f.backend.Get(ctx, ids[:n])
		if err != nil {
			return changed, fmt.Errorf("filer: refresh task states: %w", err)
		}
		byID := map[int]Task{}
		for _, t := range tasks {
			byID[t.ID] = t
		}
		for _, id := range ids[:n] {
			for _, i := range byTask[id] {
				m := ms[i]
				before := m.Status
				if err := f.applyState(ctx, &m, byID); err != nil {
					return changed, err
				}
				if m.Status != before {
					changed = append(changed, m)
				}
			}
		}
		ids = ids[n:]
	}
	return changed, nil
}

// Note adds text as a comment on the open task of a finding, for news that
// is not a new occurrence (a signature that stopped). It reports false when
// the finding has no open task.
func (f *Filer) Note(ctx context.Context, kind finding.Kind, key, text string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.getMapping(ctx, f.db, Marker(kind, key))
	if err != nil || m == nil || m.Umbrella != "" || m.State() != TaskOpen {
		return false, err
	}
	if err := f.comment(ctx, nil, m, text, ""); err != nil {
		return false, err
	}
	return true, nil
}
