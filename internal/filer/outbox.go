package filer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outbox is the dry-run backend: every would-be task is a Markdown file
// named by its kind and key under a directory, every comment a file next to
// it. It behaves like a tracker whose search index is always up to date, so
// the filer runs exactly the same code in dry-run as against Phabricator
// (intents, dedup, throttling, storms) and a second run writes nothing new.
//
// A task file starts with a small header that a person may edit: setting
// "status: declined" silences the signature, "status: resolved" makes the next
// occurrence a regression, as on Phabricator.
//
//	<kind>-<key>.md                 a task
//	<kind>-<key>.comment-0001.md    its comments, numbered
type Outbox struct {
	dir string
	now func() time.Time
	log *slog.Logger
	mu  sync.Mutex
	// cache holds parsed task files by name; an entry is reused while the
	// file's size and modification time are unchanged, so a person editing
	// a status is still noticed.
	cache map[string]cachedTask
}

type cachedTask struct {
	mod  time.Time
	size int64
	t    outboxTask
}

// NewOutbox opens (creating) an outbox directory.
func NewOutbox(dir string, now func() time.Time, log *slog.Logger) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("filer: outbox: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{dir: dir, now: now, log: log.With("component", "outbox"), cache: map[string]cachedTask{}}, nil
}

// ID implements Backend.
func (o *Outbox) ID() string { return "outbox" }

// Init implements Backend; the outbox knows every project.
func (o *Outbox) Init(context.Context, []string) error { return nil }

type outboxTask struct {
	Task
	file     string
	projects string
	priority string
}

// fileBase names a task's files: kind and key, with anything that is not
// safe in a file name replaced.
func fileBase(kind, key string) string {
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				b.WriteRune(r)
			} else {
				b.WriteRune('_')
			}
		}
		return b.String()
	}
	s := clean(kind) + "-" + clean(key)
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

func (o *Outbox) load() ([]outboxTask, error) {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("filer: outbox: %w", err)
	}
	var out []outboxTask
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".md") || strings.Contains(name, ".comment-") || strings.Contains(name, ".edit-") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		seen[name] = true
		if c, ok := o.cache[name]; ok && c.mod.Equal(info.ModTime()) && c.size == info.Size() {
			out = append(out, c.t)
			continue
		}
		t, err := o.read(filepath.Join(o.dir, name))
		if err != nil {
			o.log.Warn("outbox: unreadable task file skipped", "file", name, "err", err)
			continue
		}
		o.cache[name] = cachedTask{mod: info.ModTime(), size: info.Size(), t: t}
		out = append(out, t)
	}
	for name := range o.cache {
		if !seen[name] {
			delete(o.cache, name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (o *Outbox) read(path string) (outboxTask, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return outboxTask{}, err
	}
	t := outboxTask{file: path}
	t.URL = path
	s := string(b)
	head, body, ok := strings.Cut(strings.TrimPrefix(s, "---\n"), "\n---\n")
	if !strings.HasPrefix(s, "---\n") || !ok {
		return t, fmt.Errorf("%s: missing header", path)
	}
	sc := bufio.NewScanner(strings.NewReader(head))
	line := 0
	for sc.Scan() {
		line++
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			return t, fmt.Errorf("%s:%d: header line without ':'", path, line+1)
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "id":
			if t.ID, err = strconv.Atoi(v); err != nil {
				return t, fmt.Errorf("%s:%d: id: %w", path, line+1, err)
			}
		case "status":
			t.Status = v
		case "title":
			t.Title = v
		case "created":
			t.Created, _ = time.Parse(time.RFC3339Nano, v)
		case "projects":
			t.projects = v
		case "priority":
			t.priority = v
		}
	}
	if t.ID == 0 {
		return t, fmt.Errorf("%s: header has no id", path)
	}
	// The body starts with the title as a heading, for people reading the
	// file; it is not part of the description.
	t.Description = strings.TrimPrefix(body, "\n")
	if strings.HasPrefix(t.Description, "# ") {
		if _, rest, ok := strings.Cut(t.Description, "\n\n"); ok {
			t.Description = rest
		}
	}
	return t, nil
}

func (t *outboxTask) render() string {
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "id: %d\nstatus: %s\ntitle: %s\npriority: %s\nprojects: %s\ncreated: %s\n", t.ID, t.Status,
		t.Title, t.priority, t.projects, t.Created.UTC().Format(time.RFC3339Nano))
	b.WriteString("---\n\n# " + t.Title + "\n\n" + t.Description)
	return b.String()
}

// writeFile writes atomically and durably: a crash leaves the old file or
// the new one, never half of one.
func writeFile(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// SearchText implements Backend: whole-word match over title and description.
func (o *Outbox) SearchText(_ context.Context, word string, _ []string) ([]Task, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ts, err := o.load()
	if err != nil {
		return nil, err
	}
	word = strings.ToLower(word)
	var out []Task
	for _, t := range ts {
		for _, w := range words(t.Title + "\n" + t.Description) {
			if w == word {
				out = append(out, t.Task)
				break
			}
		}
	}
	return out, nil
}

// CreatedSince implements Backend.
func (o *Outbox) CreatedSince(_ context.Context, since time.Time) ([]Task, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ts, err := o.load()
	if err != nil {
		return nil, err
	}
	var out []Task
	for _, t := range ts {
		if !t.Created.Before(since) {
			out = append(out, t.Task)
		}
	}
	return out, nil
}

// Get implements Backend.
func (o *Outbox) Get(_ context.Context, ids []int) ([]Task, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ts, err := o.load()
	if err != nil {
		return nil, err
	}
	want := map[int]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []Task
	for _, t := range ts {
		if want[t.ID] {
			out = append(out, t.Task)
		}
	}
	return out, nil
}

// Create implements Backend.
func (o *Outbox) Create(_ context.Context, nt NewTask) (Task, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ts, err := o.load()
	if err != nil {
		return Task{}, err
	}
	id := 1
	if len(ts) > 0 {
		id = ts[len(ts)-1].ID + 1
	}
	path := filepath.Join(o.dir, fileBase(nt.Kind, nt.Key)+".md")
	if _, err := os.Stat(path); err == nil {
		// Two keys that differ only in unsafe characters: keep both.
		path = filepath.Join(o.dir, fileBase(nt.Kind, nt.Key)+"-"+nt.Marker+".md")
	}
	t := outboxTask{Task: Task{ID: id, URL: path, Title: nt.Title, Description: nt.Description, Status: "open",
		Created: o.now().UTC()}, file: path, projects: strings.Join(nt.Projects, ", "), priority: nt.Priority}
	if err := writeFile(path, t.render()); err != nil {
		return Task{}, fmt.Errorf("filer: outbox: %w", err)
	}
	o.log.Info("dry-run: task written to outbox", "file", path, "id", id, "kind", nt.Kind, "key", nt.Key, "title", nt.Title)
	return t.Task, nil
}

func (o *Outbox) byID(id int) (outboxTask, error) {
	ts, err := o.load()
	if err != nil {
		return outboxTask{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return outboxTask{}, fmt.Errorf("filer: outbox: no task %d: %w", id, fs.ErrNotExist)
}

func (o *Outbox) comments(t outboxTask) ([]string, error) {
	pat := strings.TrimSuffix(t.file, ".md") + ".comment-*.md"
	files, err := filepath.Glob(pat)
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// Comment implements Backend.
func (o *Outbox) Comment(_ context.Context, id int, text, status string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, err := o.byID(id)
	if err != nil {
		return err
	}
	files, err := o.comments(t)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("%s.comment-%04d.md", strings.TrimSuffix(t.file, ".md"), len(files)+1)
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntask: %d\ncreated: %s\n", id, o.now().UTC().Format(time.RFC3339Nano))
	if status != "" {
		fmt.Fprintf(&b, "status: %s\n", status)
	}
	b.WriteString("---\n" + text)
	if err := writeFile(path, b.String()); err != nil {
		return fmt.Errorf("filer: outbox: %w", err)
	}
	if status != "" && status != t.Status {
		t.Status = status
		if err := writeFile(t.file, t.render()); err != nil {
			return fmt.Errorf("filer: outbox: %w", err)
		}
	}
	o.log.Info("dry-run: comment written to outbox", "file", path, "task", id, "status", status)
	return nil
}

// CommentsSince implements Backend.
func (o *Outbox) CommentsSince(_ context.Context, id int, since time.Time) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, err := o.byID(id)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	files, err := o.comments(t)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		head, body, ok := strings.Cut(strings.TrimPrefix(string(b), "---\n"), "\n---\n")
		if !ok {
			continue
		}
		var created time.Time
		for _, l := range strings.Split(head, "\n") {
			if v, ok := strings.CutPrefix(l, "created: "); ok {
				created, _ = time.Parse(time.RFC3339Nano, v)
			}
		}
		if !created.Before(since) {
			out = append(out, body)
		}
	}
	return out, nil
}

// OutboxTaskID returns the id of the dry-run task whose file is path (the
// location the outbox gives as a task's URL), so that IRC and the
// dashboard can name it "T<id>" instead of showing a local file path.
func OutboxTaskID(path string) (int, error) {
	t, err := (&Outbox{}).read(path)
	if err != nil {
		return 0, err
	}
	return t.ID, nil
}
