package filer

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wikimedia/sheriff/internal/conduit"
	"github.com/wikimedia/sheriff/internal/finding"
)

// ActionEdited: the task description was rewritten to the finding's current
// state (finding.KeepDescription); nothing was news enough for a comment.
const ActionEdited Action = "edited"

// DescriptionEditor is implemented by backends that can rewrite a task's
// description. Findings with KeepDescription need it; without it their
// tasks keep the description they were filed with.
type DescriptionEditor interface {
	EditDescription(ctx context.Context, id int, description string) error
}

// updateKept reports a finding whose task description holds its current
// state: the description is rewritten on every update; a resolution and a
// return after one are also said in a comment, at once (a return is not an
// ordinary update held by CommentInterval); other changes are not news.
func (f *Filer) updateKept(ctx context.Context, it *item, m *Mapping, tasks map[int]Task) (Result, error) {
	if ed, ok := f.backend.(DescriptionEditor); ok {
		desc := f.newTask(it, f.description(&it.f), "").Description
		if err := ed.EditDescription(ctx, m.TaskID, desc); err != nil {
			return Result{}, fmt.Errorf("edit description of task %d: %w", m.TaskID, err)
		}
	}
	action := ActionEdited
	switch {
	case !isOpen(m.Status):
		if it.f.Status == finding.StatusResolved {
			break
		}
		closed := time.Time{}
		if t, ok := tasks[m.TaskID]; ok {
			closed = t.Closed
		}
		if !f.opts.ReopenOnRegression || !closed.IsZero() && !it.f.LastSeen.After(closed) {
			break
		}
		if err := f.comment(ctx, it, m, updateComment(&it.f, m, true), "open"); err != nil {
			return Result{}, err
		}
		f.log.Info("regression: task reopened", "task", m.TaskID, "kind", it.f.Kind, "key", it.f.Key)
		return it.result(ActionReopened, m), nil
	case it.f.Status == finding.StatusResolved:
		if err := f.comment(ctx, it, m, resolvedComment(&it.f), ""); err != nil {
			return Result{}, err
		}
		action = ActionCommented
	case it.f.Returned:
		text := "sheriff: this problem is back, after it looked resolved. Last seen " + fmtTS(it.f.LastSeen) + "."
		if it.f.Details != "" {
			text += "\n\n" + it.f.Details
		}
		if err := f.comment(ctx, it, m, text, ""); err != nil {
			return Result{}, err
		}
		action = ActionCommented
	}
	m.ReportedCount, m.ReportedFacets = it.f.Count, facetValues(it.f.Facets)
	if err := f.putMapping(ctx, f.db, m); err != nil {
		return Result{}, err
	}
	return it.result(action, m), nil
}

// EditDescription implements DescriptionEditor.
func (p *Phabricator) EditDescription(ctx context.Context, id int, description string) error {
	if _, err := p.c.EditTask(ctx, "T"+strconv.Itoa(id), []conduit.Transaction{conduit.TxDescription(description)}); err != nil {
		return rejected(err)
	}
	return nil
}

// EditDescription implements DescriptionEditor: the task file is rewritten
// and each edit is kept beside it (.edit-NNNN.md), so a dry run shows every
// state the description went through.
func (o *Outbox) EditDescription(_ context.Context, id int, description string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, err := o.byID(id)
	if err != nil {
		return err
	}
	if t.Description == description {
		return nil
	}
	t.Description = description
	if err := writeFile(t.file, t.render()); err != nil {
		return fmt.Errorf("filer: outbox: %w", err)
	}
	base := strings.TrimSuffix(t.file, ".md")
	n := 1
	for {
		path := fmt.Sprintf("%s.edit-%04d.md", base, n)
		if _, err := os.Stat(path); err != nil {
			if err := writeFile(path, fmt.Sprintf("---\ntask: %d\nedited: %s\n---\n%s", id, o.now().UTC().Format(time.RFC3339Nano), description)); err != nil {
				return fmt.Errorf("filer: outbox: %w", err)
			}
			break
		}
		n++
	}
	o.log.Info("dry-run: description edited in outbox", "file", t.file, "task", id)
	return nil
}
