package filer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wikimedia/sheriff/internal/conduit"
)

// Phabricator is the Backend that files through Conduit.
type Phabricator struct {
	c        *conduit.Client
	log      *slog.Logger
	me       string            // the bot's user PHID
	projects map[string]string // name or hashtag -> PHID
}

// NewPhabricator returns a Conduit backend. Init (called by New) checks the
// token and resolves the projects.
func NewPhabricator(c *conduit.Client, log *slog.Logger) *Phabricator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Phabricator{c: c, log: log.With("component", "phabricator"), projects: map[string]string{}}
}

// ID implements Backend.
func (p *Phabricator) ID() string { return "phabricator:" + p.c.BaseURL() }

// Init implements Backend: it identifies the bot (user.whoami, which also
// proves the token) and resolves the configured projects; an unknown one is
// an error.
func (p *Phabricator) Init(ctx context.Context, projects []string) error {
	u, err := p.c.WhoAmI(ctx)
	if err != nil {
		return fmt.Errorf("phabricator: check token: %w", err)
	}
	p.me = u.PHID
	m, err := p.c.ResolveProjects(ctx, projects)
	if err != nil {
		return fmt.Errorf("phabricator: projects: %w", err)
	}
	for k, v := range m {
		p.projects[k] = v
	}
	p.log.Info("connected to Phabricator", "url", p.c.BaseURL(), "user", u.UserName, "projects", len(m))
	return nil
}

func (p *Phabricator) phids(ctx context.Context, names []string) []string {
	var out []string
	for _, n := range names {
		phid, ok := p.projects[n]
		if !ok {
			m, err := p.c.ResolveProjects(ctx, []string{n})
			if err != nil {
				// A per-rule project that does not exist should not stop
				// the filing; the configured ones were checked at start.
				p.log.Warn("project not tagged", "project", n, "err", err)
				continue
			}
			phid = m[n]
			p.projects[n] = phid
		}
		out = append(out, phid)
	}
	return out
}

func (p *Phabricator) task(t conduit.Task) Task {
	return Task{ID: t.ID, PHID: t.PHID, URL: p.c.BaseURL() + "/T" + strconv.Itoa(t.ID), Title: t.Title,
		Description: t.Description, Status: t.Status, Created: t.Created, Closed: t.Closed}
}

func (p *Phabricator) search(ctx context.Context, q conduit.TaskQuery) ([]Task, error) {
	ts, err := p.c.SearchTasks(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = p.task(t)
	}
	return out, nil
}

// SearchText implements Backend. The word is quoted: Phorge then matches it
// literally (no stemming, no function parsing).
func (p *Phabricator) SearchText(ctx context.Context, word string, projects []string) ([]Task, error) {
	q := `"` + word + `"`
	phids := p.phids(ctx, projects)
	if len(phids) == 0 {
		return p.search(ctx, conduit.TaskQuery{Query: q})
	}
	// Phorge's projects constraint wants every project on the task; search
	// each project so that a task someone untagged from one is still found.
	seen := map[int]bool{}
	var out []Task
	for _, ph := range phids {
		ts, err := p.search(ctx, conduit.TaskQuery{Query: q, Projects: []string{ph}})
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if !seen[t.ID] {
				seen[t.ID] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// CreatedSince implements Backend: author and creation-date constraints are
// answered from the database, not the search index.
func (p *Phabricator) CreatedSince(ctx context.Context, since time.Time) ([]Task, error) {
	return p.search(ctx, conduit.TaskQuery{AuthorPHIDs: []string{p.me}, CreatedStart: since})
}

// Get implements Backend.
func (p *Phabricator) Get(ctx context.Context, ids []int) ([]Task, error) {
	var out []Task
	for len(ids) > 0 {
		n := min(len(ids), 100)
		ts, err := p.search(ctx, conduit.TaskQuery{IDs: ids[:n]})
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
		ids = ids[n:]
	}
	return out, nil
}

// rejected marks errors after which the write is known not to have happened.
func rejected(err error) error {
	var ce *conduit.Error
	var he *conduit.HTTPError
	if errors.As(err, &ce) || errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 &&
		he.StatusCode != http.StatusRequestTimeout {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}

// Create implements Backend.
func (p *Phabricator) Create(ctx context.Context, nt NewTask) (Task, error) {
	txs := []conduit.Transaction{conduit.TxTitle(nt.Title), conduit.TxDescription(nt.Description)}
	if ph := p.phids(ctx, nt.Projects); len(ph) > 0 {
		txs = append(txs, conduit.TxProjectsAdd(ph))
	}
	if nt.Priority != "" {
		txs = append(txs, conduit.TxPriority(nt.Priority))
	}
	if len(nt.Subscribers) > 0 {
		txs = append(txs, conduit.TxSubscribersAdd(nt.Subscribers))
	}
	r, err := p.c.EditTask(ctx, "", txs)
	if err != nil {
		return Task{}, rejected(err)
	}
	return Task{ID: r.ID, PHID: r.PHID, URL: p.c.BaseURL() + "/T" + strconv.Itoa(r.ID), Title: nt.Title,
		Description: nt.Description, Status: "open", Created: time.Now()}, nil
}

// Comment implements Backend.
func (p *Phabricator) Comment(ctx context.Context, id int, text, status string) error {
	txs := []conduit.Transaction{conduit.TxComment(text)}
	if status != "" {
		txs = append(txs, conduit.TxStatus(status))
	}
	if _, err := p.c.EditTask(ctx, "T"+strconv.Itoa(id), txs); err != nil {
		return rejected(err)
	}
	return nil
}

// CommentsSince implements Backend, through transaction.search.
func (p *Phabricator) CommentsSince(ctx context.Context, id int, since time.Time) ([]string, error) {
	xs, err := p.c.SearchTransactions(ctx, "T"+strconv.Itoa(id), []string{p.me})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, x := range xs {
		if x.Type == "comment" && !x.Created.Before(since.Truncate(time.Second)) {
			out = append(out, x.Comments...)
		}
	}
	return out, nil
}

var _ Backend = (*Phabricator)(nil)
var _ Backend = (*Outbox)(nil)
