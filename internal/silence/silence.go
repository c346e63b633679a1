// Package silence keeps the human decisions that mute sheriff: silences
// (a matcher with an author, a reason and an expiry, like Alertmanager's),
// acknowledgements (someone has claimed a finding) and the audit log of
// every mutating command.
//
// Tables live in the "silence" component of the store.
package silence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/wikimedia/sheriff/internal/textscan"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wikimedia/sheriff/internal/store"
)

// Kind says what a silence's matcher is compared with.
type Kind string

const (
	KindKey     Kind = "key"     // a finding key (signature id), exact
	KindTask    Kind = "task"    // a Phabricator task id such as T12345
	KindPattern Kind = "pattern" // a case-insensitive glob on the finding title
)

// MaxPatternLen bounds glob patterns so that matching stays cheap.
const MaxPatternLen = 200

var (
	ErrNotFound       = errors.New("silence: not found")
	ErrAlreadyExpired = errors.New("silence: already expired")
	ErrInvalid        = errors.New("silence: invalid")
)

// Silence mutes every finding its matcher matches until Expires.
type Silence struct {
	ID      int64
	Kind    Kind
	Matcher string
	Author  string // NickServ account of who created it
	Reason  string
	Created time.Time
	Expires time.Time
	// EndedBy and Ended are set when someone lifted the silence early.
	EndedBy string
	Ended   time.Time
}

// Until is when the silence stops being active: Ended if it was lifted,
// else Expires.
func (s Silence) Until() time.Time {
	if !s.Ended.IsZero() && s.Ended.Before(s.Expires) {
		return s.Ended
	}
	return s.Expires
}

// String is a short description for IRC and logs.
func (s Silence) String() string {
	return fmt.Sprintf("#%d %s %s by %s until %s: %s", s.ID, s.Kind, s.Matcher, s.Author,
		s.Until().UTC().Format("2006-01-02 15:04Z"), s.Reason)
}

// Ack records that someone has claimed a finding or a task.
type Ack struct {
	Key string
	Who string
	At  time.Time
}

// AuditEntry is one mutating command, whether it succeeded or was refused.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Who    string // NickServ account, or "nick (no account)" for refusals
	Action string // "ack", "silence", ...
	Args   string
	Result string // "ok", "refused: ...", "error: ..."
}

var taskRe = regexp.MustCompile(`^[Tt][0-9]{1,10}$`)

// ParseMatcher classifies a matcher as typed by a person: "T123" is a task,
// anything with glob metacharacters (* ?) is a title pattern, everything
// else a finding key.
func ParseMatcher(s string) (Kind, string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "", fmt.Errorf("%w: empty matcher", ErrInvalid)
	case !utf8.ValidString(s):
		return "", "", fmt.Errorf("%w: matcher is not UTF-8", ErrInvalid)
	case taskRe.MatchString(s):
		return KindTask, strings.ToUpper(s), nil
	case strings.ContainsAny(s, "*?"):
		if len(s) > MaxPatternLen {
			return "", "", fmt.Errorf("%w: pattern longer than %d bytes", ErrInvalid, MaxPatternLen)
		}
		if strings.Trim(s, "*? ") == "" {
			return "", "", fmt.Errorf("%w: pattern %q would match everything", ErrInvalid, s)
		}
		return KindPattern, s, nil
	case len(s) > 512:
		return "", "", fmt.Errorf("%w: key longer than 512 bytes", ErrInvalid)
	default:
		return KindKey, s, nil
	}
}

// Glob reports whether title matches pattern, where * matches any run of
// characters (including none and '/') and ? exactly one character, without
// regard to case. It runs in O(len(pattern)*len(title)) at worst.
func Glob(pattern, title string) bool {
	return textscan.Glob(strings.ToLower(pattern), strings.ToLower(title))
}

// Matches reports whether s matches a finding with this key, task and title.
// It ignores time; see Store.Match.
func (s Silence) Matches(key, taskID, title string) bool {
	switch s.Kind {
	case KindKey:
		return key != "" && s.Matcher == key
	case KindTask:
		return taskID != "" && strings.EqualFold(s.Matcher, taskID)
	case KindPattern:
		return title != "" && Glob(s.Matcher, title)
	}
	return false
}

var migrations = []store.Migration{
	{Version: 1, SQL: `
CREATE TABLE silence_silences (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind      TEXT NOT NULL,
	matcher   TEXT NOT NULL,
	author    TEXT NOT NULL,
	reason    TEXT NOT NULL,
	created   INTEGER NOT NULL, -- unix milliseconds
	expires   INTEGER NOT NULL,
	ended_by  TEXT NOT NULL DEFAULT '',
	ended     INTEGER NOT NULL DEFAULT 0,
	announced INTEGER NOT NULL DEFAULT 0 -- expiry told to the channel
);
CREATE INDEX silence_silences_expires ON silence_silences(expires);
CREATE TABLE silence_acks (
	key TEXT PRIMARY KEY,
	who TEXT NOT NULL,
	at  INTEGER NOT NULL
);
CREATE TABLE silence_audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	who    TEXT NOT NULL,
	action TEXT NOT NULL,
	args   TEXT NOT NULL,
	result TEXT NOT NULL
);`},
}

// Store is the silence, ack and audit state. It is safe for concurrent use.
type Store struct {
	db *store.DB
	// Now is the clock for records made without an explicit time; tests
	// replace it.
	Now func() time.Time
}

// New migrates the "silence" tables and returns the store.
func New(ctx context.Context, db *store.DB) (*Store, error) {
	if err := db.Migrate(ctx, "silence", migrations); err != nil {
		return nil, fmt.Errorf("silence: %w", err)
	}
	return &Store{db: db, Now: time.Now}, nil
}

// Add stores a new silence and returns its id. Created defaults to now;
// Kind and Matcher are normalised with ParseMatcher when Kind is empty.
func (st *Store) Add(ctx context.Context, s Silence) (int64, error) {
	if s.Kind == "" {
		k, m, err := ParseMatcher(s.Matcher)
		if err != nil {
			return 0, err
		}
		s.Kind, s.Matcher = k, m
	}
	switch {
	case s.Kind != KindKey && s.Kind != KindTask && s.Kind != KindPattern:
		return 0, fmt.Errorf("%w: kind %q", ErrInvalid, s.Kind)
	case s.Matcher == "":
		return 0, fmt.Errorf("%w: empty matcher", ErrInvalid)
	case strings.TrimSpace(s.Author) == "":
		return 0, fmt.Errorf("%w: no author", ErrInvalid)
	case strings.TrimSpace(s.Reason) == "":
		return 0, fmt.Errorf("%w: no reason", ErrInvalid)
	}
	if s.Created.IsZero() {
		s.Created = st.Now()
	}
	if !s.Expires.After(s.Created) {
		return 0, fmt.Errorf("%w: expiry %s not after creation %s", ErrInvalid, s.Expires, s.Created)
	}
	res, err := st.db.ExecContext(ctx, `INSERT INTO silence_silences(kind, matcher, author, reason, created, expires)
		VALUES(?,?,?,?,?,?)`, string(s.Kind), s.Matcher, s.Author, s.Reason, store.Millis(s.Created), store.Millis(s.Expires))
	if err != nil {
		return 0, fmt.Errorf("silence: add: %w", err)
	}
	return res.LastInsertId()
}

const cols = `id, kind, matcher, author, reason, created, expires, ended_by, ended`

func scan(rows store.Row) (Silence, error) {
	var s Silence
	var kind string
	var created, expires, ended int64
	err := rows.Scan(&s.ID, &kind, &s.Matcher, &s.Author, &s.Reason, &created, &expires, &s.EndedBy, &ended)
	s.Kind, s.Created, s.Expires, s.Ended = Kind(kind), store.FromMillis(created), store.FromMillis(expires), store.FromMillis(ended)
	return s, err
}

func (st *Store) query(ctx context.Context, q string, args ...any) ([]Silence, error) {
	out, err := store.Query(ctx, st.db, scan, q, args...)
	if err != nil {
		return nil, fmt.Errorf("silence: %w", err)
	}
	return out, nil
}

// Get returns silence id, active or not.
func (st *Store) Get(ctx context.Context, id int64) (Silence, error) {
	s, err := scan(st.db.QueryRowContext(ctx, `SELECT `+cols+` FROM silence_silences WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Silence{}, fmt.Errorf("silence #%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Silence{}, fmt.Errorf("silence: get: %w", err)
	}
	return s, nil
}

// Expire lifts silence id now, recording who did it. Lifting an already
// ended or expired silence returns ErrAlreadyExpired. Its expiry is not
// announced to the channel: whoever lifted it was told.
func (st *Store) Expire(ctx context.Context, id int64, by string) error {
	now := store.Millis(st.Now())
	return st.db.Tx(ctx, func(tx *sql.Tx) error {
		var expires, ended int64
		err := tx.QueryRowContext(ctx, `SELECT expires, ended FROM silence_silences WHERE id=?`, id).Scan(&expires, &ended)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("silence #%d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("silence: expire: %w", err)
		}
		if ended != 0 || expires <= now {
			return fmt.Errorf("silence #%d: %w", id, ErrAlreadyExpired)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE silence_silences SET ended=?, ended_by=?, announced=1 WHERE id=?`,
			now, by, id); err != nil {
			return fmt.Errorf("silence: expire: %w", err)
		}
		return nil
	})
}

// Active returns the silences in force at now, soonest expiry first.
func (st *Store) Active(ctx context.Context, now time.Time) ([]Silence, error) {
	return st.query(ctx, `SELECT `+cols+` FROM silence_silences
		WHERE created <= ? AND expires > ? AND ended = 0 ORDER BY expires, id`, store.Millis(now), store.Millis(now))
}

// Match returns the active silence (the longest-lasting one if several)
// that matches a finding with this key, task id and title.
func (st *Store) Match(ctx context.Context, key, taskID, title string, now time.Time) (Silence, bool, error) {
	active, err := st.Active(ctx, now)
	if err != nil {
		return Silence{}, false, err
	}
	var best Silence
	found := false
	for _, s := range active {
		if s.Matches(key, taskID, title) && (!found || s.Expires.After(best.Expires)) {
			best, found = s, true
		}
	}
	return best, found, nil
}

// ExpiredUnannounced returns silences that ran out by themselves before
// now and whose expiry has not been announced (see MarkAnnounced).
func (st *Store) ExpiredUnannounced(ctx context.Context, now time.Time) ([]Silence, error) {
	return st.query(ctx, `SELECT `+cols+` FROM silence_silences
		WHERE expires <= ? AND ended = 0 AND announced = 0 ORDER BY expires, id`, store.Millis(now))
}

// MarkAnnounced records that the expiry of silence id has been told.
func (st *Store) MarkAnnounced(ctx context.Context, id int64) error {
	if _, err := st.db.ExecContext(ctx, `UPDATE silence_silences SET announced=1 WHERE id=?`, id); err != nil {
		return fmt.Errorf("silence: mark announced: %w", err)
	}
	return nil
}

// Ack records that who has claimed key (a finding key or a task id). A
// second ack replaces the first.
func (st *Store) Ack(ctx context.Context, key, who string) error {
	if key == "" || who == "" {
		return fmt.Errorf("%w: ack needs a key and a person", ErrInvalid)
	}
	if _, err := st.db.ExecContext(ctx, `INSERT INTO silence_acks(key, who, at) VALUES(?,?,?)
		ON CONFLICT(key) DO UPDATE SET who=excluded.who, at=excluded.at`, key, who, store.Millis(st.Now())); err != nil {
		return fmt.Errorf("silence: ack: %w", err)
	}
	return nil
}

// Unack removes the ack on key; it returns ErrNotFound if there was none.
func (st *Store) Unack(ctx context.Context, key string) error {
	res, err := st.db.ExecContext(ctx, `DELETE FROM silence_acks WHERE key=?`, key)
	if err != nil {
		return fmt.Errorf("silence: unack: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ack %q: %w", key, ErrNotFound)
	}
	return nil
}

// Acked returns the ack on the first of keys that has one.
func (st *Store) Acked(ctx context.Context, keys ...string) (Ack, bool, error) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		a := Ack{Key: k}
		var at int64
		err := st.db.QueryRowContext(ctx, `SELECT who, at FROM silence_acks WHERE key=?`, k).Scan(&a.Who, &at)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Ack{}, false, fmt.Errorf("silence: acked: %w", err)
		}
		a.At = store.FromMillis(at)
		return a, true, nil
	}
	return Ack{}, false, nil
}

// Audit appends e to the audit log; At defaults to now.
func (st *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = st.Now()
	}
	if _, err := st.db.ExecContext(ctx, `INSERT INTO silence_audit(at, who, action, args, result) VALUES(?,?,?,?,?)`,
		store.Millis(e.At), e.Who, e.Action, e.Args, e.Result); err != nil {
		return fmt.Errorf("silence: audit: %w", err)
	}
	return nil
}

// AuditLog returns the latest n audit entries, newest first.
func (st *Store) AuditLog(ctx context.Context, n int) ([]AuditEntry, error) {
	out, err := store.Query(ctx, st.db, func(r store.Row) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		err := r.Scan(&e.ID, &at, &e.Who, &e.Action, &e.Args, &e.Result)
		e.At = store.FromMillis(at)
		return e, err
	}, `SELECT id, at, who, action, args, result FROM silence_audit ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("silence: audit log: %w", err)
	}
	return out, nil
}

// All returns every silence, active or not, newest first (at most n).
func (st *Store) All(ctx context.Context, n int) ([]Silence, error) {
	return st.query(ctx, `SELECT `+cols+` FROM silence_silences ORDER BY id DESC LIMIT ?`, n)
}

// Acks returns every ack by key.
func (st *Store) Acks(ctx context.Context) (map[string]Ack, error) {
	acks, err := store.Query(ctx, st.db, func(r store.Row) (Ack, error) {
		var a Ack
		var at int64
		err := r.Scan(&a.Key, &a.Who, &at)
		a.At = store.FromMillis(at)
		return a, err
	}, `SELECT key, who, at FROM silence_acks`)
	if err != nil {
		return nil, fmt.Errorf("silence: acks: %w", err)
	}
	out := make(map[string]Ack, len(acks))
	for _, a := range acks {
		out[a.Key] = a
	}
	return out, nil
}

// AuditMentioning returns the latest n audit entries whose arguments
// mention any of terms (a signature id, a task id), newest first.
func (st *Store) AuditMentioning(ctx context.Context, terms []string, n int) ([]AuditEntry, error) {
	var conds []string
	var args []any
	for _, t := range terms {
		if strings.TrimSpace(t) == "" {
			continue
		}
		conds = append(conds, `instr(lower(args), ?) > 0`)
		args = append(args, strings.ToLower(t))
	}
	if len(conds) == 0 {
		return nil, nil
	}
	args = append(args, n)
	out, err := store.Query(ctx, st.db, func(r store.Row) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		err := r.Scan(&e.ID, &at, &e.Who, &e.Action, &e.Args, &e.Result)
		e.At = store.FromMillis(at)
		return e, err
	}, `SELECT id, at, who, action, args, result FROM silence_audit WHERE `+strings.Join(conds, ` OR `)+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("silence: audit: %w", err)
	}
	return out, nil
}
