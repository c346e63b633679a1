package conduit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// cursor is Conduit's paging block.
type cursor struct {
	Limit json.Number `json:"limit"`
	After *string     `json:"after"`
}

// unixTime decodes Conduit's epoch seconds (a number, a numeric string or null).
type unixTime struct{ time.Time }

func (u *unixTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" || s == "0" {
		return nil
	}
	var n json.Number = json.Number(s)
	v, err := n.Int64()
	if err != nil {
		return fmt.Errorf("bad epoch %s: %w", b, err)
	}
	u.Time = time.Unix(v, 0).UTC()
	return nil
}

// User is the account behind the token.
type User struct {
	PHID     string `json:"phid"`
	UserName string `json:"userName"`
	RealName string `json:"realName"`
}

// WhoAmI returns the token's user (user.whoami).
func (c *Client) WhoAmI(ctx context.Context) (User, error) {
	var u User
	if err := c.Call(ctx, "user.whoami", nil, &u); err != nil {
		return User{}, err
	}
	if u.PHID == "" {
		return User{}, fmt.Errorf("conduit user.whoami: answer without phid")
	}
	return u, nil
}

// Project is one project.search result.
type Project struct {
	ID   int
	PHID string
	Name string
	Slug string
}

type projectSearchResult struct {
	Data []struct {
		ID     int    `json:"id"`
		PHID   string `json:"phid"`
		Fields struct {
			Name string `json:"name"`
			Slug string `json:"slug"`
		} `json:"fields"`
	} `json:"data"`
	Cursor cursor `json:"cursor"`
}

// SearchProjects calls project.search with constraints.
func (c *Client) SearchProjects(ctx context.Context, constraints map[string]any) ([]Project, error) {
	var out []Project
	err := c.page(ctx, "project.search", map[string]any{"constraints": constraints}, 0, func(raw json.RawMessage) (int, *string, error) {
		var r projectSearchResult
		if err := json.Unmarshal(raw, &r); err != nil {
			return 0, nil, err
		}
		for _, d := range r.Data {
			out = append(out, Project{ID: d.ID, PHID: d.PHID, Name: d.Fields.Name, Slug: d.Fields.Slug})
		}
		return len(r.Data), r.Cursor.After, nil
	})
	return out, err
}

// slugOf turns a project name or hashtag into the slug Phabricator derives.
func slugOf(name string) string {
	s := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "#")))
	return strings.Join(strings.Fields(s), "_")
}

// ResolveProjects maps project names or hashtags ("#beta-cluster",
// "Beta-Cluster-Infrastructure") to PHIDs. A value already a project PHID is
// kept. Any name that matches no project, or several, is an error wrapping
// ErrUnknownProject and naming it.
func (c *Client) ResolveProjects(ctx context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	var unknown []string
	for _, name := range names {
		if strings.HasPrefix(name, "PHID-PROJ-") {
			out[name] = name
			continue
		}
		slug := slugOf(name)
		if slug == "" {
			unknown = append(unknown, fmt.Sprintf("%q", name))
			continue
		}
		ps, err := c.SearchProjects(ctx, map[string]any{"slugs": []string{slug}})
		if err != nil {
			return nil, err
		}
		if len(ps) != 1 {
			// Not a hashtag: try the display name, matched exactly.
			byName, err := c.SearchProjects(ctx, map[string]any{"name": strings.TrimPrefix(name, "#")})
			if err != nil {
				return nil, err
			}
			ps = ps[:0]
			for _, p := range byName {
				if strings.EqualFold(p.Name, strings.TrimPrefix(name, "#")) {
					ps = append(ps, p)
				}
			}
		}
		if len(ps) != 1 {
			unknown = append(unknown, fmt.Sprintf("%q (%d matches)", name, len(ps)))
			continue
		}
		out[name] = ps[0].PHID
	}
	if len(unknown) > 0 {
		return out, fmt.Errorf("conduit: %w: %s", ErrUnknownProject, strings.Join(unknown, ", "))
	}
	return out, nil
}

// Task is one maniphest.search result.
type Task struct {
	ID           int
	PHID         string
	Title        string
	Description  string
	Status       string
	Priority     string
	AuthorPHID   string
	Created      time.Time
	Modified     time.Time
	Closed       time.Time
	ProjectPHIDs []string
}

// TaskQuery are maniphest.search constraints. Zero fields are not sent.
type TaskQuery struct {
	IDs          []int
	PHIDs        []string
	Query        string   // full-text query, Phorge syntax
	Projects     []string // project PHIDs (or names); tasks tagged with all of them
	Statuses     []string
	AuthorPHIDs  []string
	CreatedStart time.Time
	CreatedEnd   time.Time
	Order        string // default "newest"
	Limit        int    // results overall; 0 means all pages
}

type taskSearchResult struct {
	Data []struct {
		ID     int    `json:"id"`
		PHID   string `json:"phid"`
		Fields struct {
			Name        string `json:"name"`
			Description struct {
				Raw string `json:"raw"`
			} `json:"description"`
			AuthorPHID string `json:"authorPHID"`
			Status     struct {
				Value string `json:"value"`
			} `json:"status"`
			Priority struct {
				Name string `json:"name"`
			} `json:"priority"`
			DateCreated  unixTime `json:"dateCreated"`
			DateModified unixTime `json:"dateModified"`
			DateClosed   unixTime `json:"dateClosed"`
		} `json:"fields"`
		Attachments struct {
			Projects struct {
				ProjectPHIDs []string `json:"projectPHIDs"`
			} `json:"projects"`
		} `json:"attachments"`
	} `json:"data"`
	Cursor cursor `json:"cursor"`
}

// SearchTasks calls maniphest.search, following cursors.
func (c *Client) SearchTasks(ctx context.Context, q TaskQuery) ([]Task, error) {
	cons := map[string]any{}
	if len(q.IDs) > 0 {
		cons["ids"] = q.IDs
	}
	if len(q.PHIDs) > 0 {
		cons["phids"] = q.PHIDs
	}
	if q.Query != "" {
		cons["query"] = q.Query
	}
	if len(q.Projects) > 0 {
		cons["projects"] = q.Projects
	}
	if len(q.Statuses) > 0 {
		cons["statuses"] = q.Statuses
	}
	if len(q.AuthorPHIDs) > 0 {
		cons["authorPHIDs"] = q.AuthorPHIDs
	}
	if !q.CreatedStart.IsZero() {
		cons["createdStart"] = q.CreatedStart.Unix()
	}
	if !q.CreatedEnd.IsZero() {
		cons["createdEnd"] = q.CreatedEnd.Unix()
	}
	order := q.Order
	if order == "" {
		order = "newest"
	}
	params := map[string]any{"constraints": cons, "order": order, "attachments": map[string]any{"projects": true}}
	var out []Task
	err := c.page(ctx, "maniphest.search", params, q.Limit, func(raw json.RawMessage) (int, *string, error) {
		var r taskSearchResult
		if err := json.Unmarshal(raw, &r); err != nil {
			return 0, nil, err
		}
		for _, d := range r.Data {
			out = append(out, Task{ID: d.ID, PHID: d.PHID, Title: d.Fields.Name, Description: d.Fields.Description.Raw,
				Status: d.Fields.Status.Value, Priority: d.Fields.Priority.Name, AuthorPHID: d.Fields.AuthorPHID,
				Created: d.Fields.DateCreated.Time, Modified: d.Fields.DateModified.Time, Closed: d.Fields.DateClosed.Time,
				ProjectPHIDs: d.Attachments.Projects.ProjectPHIDs})
		}
		return len(r.Data), r.Cursor.After, nil
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, err
}

// page runs a *.search method page by page until the cursor ends or limit
// results were read.
func (c *Client) page(ctx context.Context, method string, params map[string]any, limit int,
	each func(json.RawMessage) (int, *string, error)) error {
	const pageSize = 100
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	total := 0
	for {
		size := pageSize
		if limit > 0 && limit-total < size {
			size = limit - total
		}
		p["limit"] = size
		var raw json.RawMessage
		if err := c.Call(ctx, method, p, &raw); err != nil {
			return err
		}
		if len(raw) == 0 {
			return nil
		}
		n, after, err := each(raw)
		if err != nil {
			return fmt.Errorf("conduit %s: decode result: %w", method, err)
		}
		total += n
		if after == nil || *after == "" || n == 0 || (limit > 0 && total >= limit) {
			return nil
		}
		p["after"] = *after
	}
}

// Transaction is one maniphest.edit transaction.
type Transaction struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Transaction constructors for the types sheriff uses.
func TxTitle(s string) Transaction                { return Transaction{"title", s} }
func TxDescription(s string) Transaction          { return Transaction{"description", s} }
func TxProjectsAdd(phids []string) Transaction    { return Transaction{"projects.add", phids} }
func TxPriority(p string) Transaction             { return Transaction{"priority", p} }
func TxSubscribersAdd(phids []string) Transaction { return Transaction{"subscribers.add", phids} }
func TxComment(s string) Transaction              { return Transaction{"comment", s} }
func TxStatus(s string) Transaction               { return Transaction{"status", s} }

// EditResult identifies the task maniphest.edit created or changed.
type EditResult struct {
	ID   int
	PHID string
}

// EditTask calls maniphest.edit. With an empty objectIdentifier it creates a
// task; otherwise objectIdentifier is "T123", a PHID or an id.
func (c *Client) EditTask(ctx context.Context, objectIdentifier string, txs []Transaction) (EditResult, error) {
	params := map[string]any{"transactions": txs}
	if objectIdentifier != "" {
		params["objectIdentifier"] = objectIdentifier
	}
	var r struct {
		Object struct {
			ID   int    `json:"id"`
			PHID string `json:"phid"`
		} `json:"object"`
	}
	if err := c.Call(ctx, "maniphest.edit", params, &r); err != nil {
		return EditResult{}, err
	}
	return EditResult{ID: r.Object.ID, PHID: r.Object.PHID}, nil
}

// TransactionRecord is one transaction.search result.
type TransactionRecord struct {
	ID         int
	PHID       string
	Type       string // "comment", "status", ... or "" for types without a name
	AuthorPHID string
	ObjectPHID string
	Created    time.Time
	Comments   []string // raw text of the comment versions still present
}

// SearchTransactions calls transaction.search for one object, optionally
// limited to some authors, following cursors.
func (c *Client) SearchTransactions(ctx context.Context, objectIdentifier string, authorPHIDs []string) ([]TransactionRecord, error) {
	params := map[string]any{"objectIdentifier": objectIdentifier}
	if len(authorPHIDs) > 0 {
		params["constraints"] = map[string]any{"authorPHIDs": authorPHIDs}
	}
	var out []TransactionRecord
	err := c.page(ctx, "transaction.search", params, 0, func(raw json.RawMessage) (int, *string, error) {
		var r struct {
			Data []struct {
				ID          int      `json:"id"`
				PHID        string   `json:"phid"`
				Type        *string  `json:"type"`
				AuthorPHID  string   `json:"authorPHID"`
				ObjectPHID  string   `json:"objectPHID"`
				DateCreated unixTime `json:"dateCreated"`
				Comments    []struct {
					Removed bool `json:"removed"`
					Content struct {
						Raw string `json:"raw"`
					} `json:"content"`
				} `json:"comments"`
			} `json:"data"`
			Cursor cursor `json:"cursor"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return 0, nil, err
		}
		for _, d := range r.Data {
			tr := TransactionRecord{ID: d.ID, PHID: d.PHID, AuthorPHID: d.AuthorPHID, ObjectPHID: d.ObjectPHID, Created: d.DateCreated.Time}
			if d.Type != nil {
				tr.Type = *d.Type
			}
			for _, cm := range d.Comments {
				if !cm.Removed {
					tr.Comments = append(tr.Comments, cm.Content.Raw)
				}
			}
			out = append(out, tr)
		}
		return len(r.Data), r.Cursor.After, nil
	})
	return out, err
}
