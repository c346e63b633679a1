package silence

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/store"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// Migrating twice is harmless.
	if _, err := New(ctx, db); err != nil {
		t.Fatal(err)
	}
	now := t0
	st.Now = func() time.Time { return now }
	return st, &now
}

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in      string
		kind    Kind
		matcher string
		bad     bool
	}{
		{in: "T123", kind: KindTask, matcher: "T123"},
		{in: "t42", kind: KindTask, matcher: "T42"},
		{in: "T12x", kind: KindKey, matcher: "T12x"},
		{in: "3fa9c1d2", kind: KindKey, matcher: "3fa9c1d2"},
		{in: "*Database*", kind: KindPattern, matcher: "*Database*"},
		{in: "Wikimedia\\Rdbms\\DBQueryError?", kind: KindPattern, matcher: "Wikimedia\\Rdbms\\DBQueryError?"},
		{in: "", bad: true},
		{in: "   ", bad: true},
		{in: "**", bad: true},
		{in: "*?*", bad: true},
		{in: "\xff\xfe", bad: true},
		{in: "*" + strings.Repeat("a", MaxPatternLen), bad: true},
		{in: strings.Repeat("k", 513), bad: true},
	}
	for _, tc := range tests {
		k, m, err := ParseMatcher(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseMatcher(%q) err = %v, want ErrInvalid", tc.in, err)
			}
			continue
		}
		if err != nil || k != tc.kind || m != tc.matcher {
			t.Errorf("ParseMatcher(%q) = %q, %q, %v; want %q, %q", tc.in, k, m, err, tc.kind, tc.matcher)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, title string
		want           bool
	}{
		{"*DBQueryError*", "Wikimedia\\Rdbms\\DBQueryError: Error 1205", true},
		{"*dbqueryerror*", "Wikimedia\\Rdbms\\DBQueryError: x", true},
		{"*/srv/*", "Warning: file /srv/mediawiki/php/x.php", true},
		{"Fatal*", "PHP Fatal error", false},
		{"PHP ?atal*", "PHP Fatal error", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbYcZ", false},
		{"*", "", true},
		{"?", "é", true},
		{"*ß*", "Straße", true},
		{"", "x", false},
	}
	for _, tc := range tests {
		if got := Glob(tc.pattern, tc.title); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.title, got, tc.want)
		}
	}
}

// A pathological pattern against a long title finishes quickly (no
// exponential backtracking); the benchmark shows the cost.
func BenchmarkGlobPathological(b *testing.B) {
	p := strings.Repeat("*a", 50) + "b"
	s := strings.Repeat("a", 10000)
	for i := 0; i < b.N; i++ {
		if Glob(p, s) {
			b.Fatal("matched")
		}
	}
}

func TestSilenceLifecycle(t *testing.T) {
	ctx := context.Background()
	st, now := newStore(t)

	idKey, err := st.Add(ctx, Silence{Matcher: "abc123", Author: "alice", Reason: "known, T1", Expires: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	idTask, err := st.Add(ctx, Silence{Matcher: "t77", Author: "bob", Reason: "upstream", Expires: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	idPat, err := st.Add(ctx, Silence{Matcher: "*Deadlock*", Author: "bob", Reason: "db maint", Expires: t0.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	match := func(key, task, title string) int64 {
		t.Helper()
		s, ok, err := st.Match(ctx, key, task, title, *now)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return 0
		}
		return s.ID
	}
	if got := match("abc123", "", "x"); got != idKey {
		t.Errorf("key match = %d, want %d", got, idKey)
	}
	if got := match("zzz", "T77", "x"); got != idTask {
		t.Errorf("task match = %d, want %d", got, idTask)
	}
	if got := match("zzz", "", "Lock wait: Deadlock found"); got != idPat {
		t.Errorf("pattern match = %d, want %d", got, idPat)
	}
	// Several match: the longest-lasting wins.
	if got := match("abc123", "T77", "Deadlock"); got != idPat {
		t.Errorf("multi match = %d, want %d", got, idPat)
	}
	if got := match("ABC123", "", "other"); got != 0 {
		t.Errorf("keys are exact, matched %d", got)
	}

	// Lift the task silence early: no longer active, and its expiry is not
	// announced later.
	if err := st.Expire(ctx, idTask, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := st.Expire(ctx, idTask, "carol"); !errors.Is(err, ErrAlreadyExpired) {
		t.Errorf("second Expire err = %v", err)
	}
	if err := st.Expire(ctx, 999, "carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Expire(999) err = %v", err)
	}
	if got := match("zzz", "T77", "x"); got != 0 {
		t.Errorf("lifted silence still matches: %d", got)
	}
	s, err := st.Get(ctx, idTask)
	if err != nil || s.EndedBy != "carol" || !s.Ended.Equal(t0) {
		t.Errorf("Get = %+v, %v", s, err)
	}

	active, _ := st.Active(ctx, *now)
	if len(active) != 2 || active[0].ID != idKey || active[1].ID != idPat {
		t.Errorf("Active = %v", active)
	}

	// Time passes: the key silence runs out by itself and is reported once.
	*now = t0.Add(90 * time.Minute)
	exp, err := st.ExpiredUnannounced(ctx, *now)
	if err != nil || len(exp) != 1 || exp[0].ID != idKey {
		t.Fatalf("ExpiredUnannounced = %v, %v", exp, err)
	}
	if err := st.MarkAnnounced(ctx, idKey); err != nil {
		t.Fatal(err)
	}
	if exp, _ := st.ExpiredUnannounced(ctx, *now); len(exp) != 0 {
		t.Errorf("announced twice: %v", exp)
	}
	if err := st.Expire(ctx, idKey, "x"); !errors.Is(err, ErrAlreadyExpired) {
		t.Errorf("Expire of naturally expired = %v", err)
	}
}

func TestAddValidation(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	for _, s := range []Silence{
		{Matcher: "", Author: "a", Reason: "r", Expires: t0.Add(time.Hour)},
		{Matcher: "k", Author: "", Reason: "r", Expires: t0.Add(time.Hour)},
		{Matcher: "k", Author: "a", Reason: " ", Expires: t0.Add(time.Hour)},
		{Matcher: "k", Author: "a", Reason: "r", Expires: t0},
		{Kind: "regex", Matcher: "k", Author: "a", Reason: "r", Expires: t0.Add(time.Hour)},
	} {
		if _, err := st.Add(ctx, s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add(%+v) err = %v, want ErrInvalid", s, err)
		}
	}
}

func TestAcks(t *testing.T) {
	ctx := context.Background()
	st, now := newStore(t)
	if _, ok, _ := st.Acked(ctx, "k1"); ok {
		t.Fatal("acked before ack")
	}
	if err := st.Ack(ctx, "k1", "alice"); err != nil {
		t.Fatal(err)
	}
	*now = t0.Add(time.Minute)
	if err := st.Ack(ctx, "k1", "bob"); err != nil {
		t.Fatal(err)
	}
	a, ok, err := st.Acked(ctx, "T5", "k1")
	if err != nil || !ok || a.Who != "bob" || a.Key != "k1" || !a.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("Acked = %+v, %v, %v", a, ok, err)
	}
	if err := st.Unack(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Unack(ctx, "k1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Unack = %v", err)
	}
	if _, ok, _ := st.Acked(ctx, "k1"); ok {
		t.Error("still acked")
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	for _, e := range []AuditEntry{
		{Who: "alice", Action: "ack", Args: "k1", Result: "ok"},
		{Who: "mallory (no account)", Action: "silence", Args: "* 1d x", Result: "refused: not authorised"},
	} {
		if err := st.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	log, err := st.AuditLog(ctx, 10)
	if err != nil || len(log) != 2 {
		t.Fatalf("AuditLog = %v, %v", log, err)
	}
	if log[0].Who != "mallory (no account)" || log[0].Result != "refused: not authorised" || log[1].Action != "ack" || !log[1].At.Equal(t0) {
		t.Errorf("AuditLog = %+v", log)
	}
}
