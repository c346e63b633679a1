package bot

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/rota"
)

func TestCompose(t *testing.T) {
	r, err := rota.New(testRota)
	if err != nil {
		t.Fatal(err)
	}
	b := &Bot{cfg: Config{Link: "https://sheriff.example/recent", EscalateAfter: 30 * time.Minute}, rota: r}
	const budget = 300
	url := "https://phabricator.wikimedia.org/T123456"
	long := strings.Repeat("Ünïcödé ", 100)

	single := b.compose([]announcement{{ID: 7, Reason: reasonNew, Kind: finding.KindError, Status: "new", Title: long, TaskURL: url}}, t0, budget)
	if len(single) != 1 || len(single[0].text) > budget || !strings.HasSuffix(single[0].text, " — "+url) ||
		!strings.HasPrefix(single[0].text, "alice: new error signature #7: Ünïcödé") || !utf8.ValidString(single[0].text) || single[0].to != "alice" {
		t.Errorf("single = %+v (len %d)", single, len(single[0].text))
	}

	var rows []announcement
	for i := 0; i < 30; i++ {
		rows = append(rows, announcement{ID: int64(10 + i), Reason: reasonNew, Kind: finding.KindError, Status: "new", Title: long})
	}
	rows = append(rows, announcement{ID: 50, Reason: reasonNew, Kind: finding.KindError, Status: "regressed", Title: "old bug"},
		announcement{ID: 51, Reason: reasonEscalate, Ref: 3, Title: "unacked thing", TaskURL: url},
		announcement{ID: 52, Reason: reasonExpired, Ref: 4, Key: "*Deadlock*", Status: "bob", Title: "db maintenance", TaskURL: "pattern"})
	lines := b.compose(rows, t0, budget)
	if len(lines) != 4 {
		t.Fatalf("got %d lines: %+v", len(lines), lines)
	}
	burst := lines[0]
	if len(burst.ids) != 30 || burst.ids[0] != 10 || burst.ids[29] != 39 || len(burst.text) > budget ||
		!strings.HasPrefix(burst.text, "alice: 30 new error signatures (#10–#39, burst b10): Ünïcödé") ||
		!strings.Contains(burst.text, "more — see https://sheriff.example/recent") || !utf8.ValidString(burst.text) {
		t.Errorf("burst = %q (len %d, ids %v)", burst.text, len(burst.text), burst.ids)
	}
	for i, want := range []string{
		"alice: regressed error signature #50: old bug",
		"bob: #3 not acked by alice for 1 h: unacked thing — " + url,
		"silence #4 (pattern *Deadlock*, by bob) has expired: db maintenance",
	} {
		if lines[i+1].text != want {
			t.Errorf("line %d = %q, want %q", i+1, lines[i+1].text, want)
		}
	}
	if lines[2].to != "bob" {
		t.Errorf("escalation addressed to %q", lines[2].to)
	}
}

// A round of reminders is one line to the person on duty, a round of
// escalations one line to the next person, and new findings come first.
func TestComposeFoldsRounds(t *testing.T) {
	r, err := rota.New(testRota)
	if err != nil {
		t.Fatal(err)
	}
	b := &Bot{cfg: Config{Link: "https://sheriff.example/recent", EscalateAfter: 30 * time.Minute}, rota: r}
	var rows []announcement
	for i := 1; i <= 32; i++ {
		rows = append(rows, announcement{ID: int64(100 + i), Reason: reasonRemind, Ref: int64(i), Title: fmt.Sprintf("error %d", i)})
	}
	for i := 1; i <= 32; i++ {
		rows = append(rows, announcement{ID: int64(200 + i), Reason: reasonEscalate, Ref: int64(i), Title: fmt.Sprintf("error %d", i)})
	}
	rows = append(rows, announcement{ID: 300, Reason: reasonNew, Kind: finding.KindError, Status: "new", Title: "fresh"})
	lines := b.compose(rows, t0, 400)
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3: %+v", len(lines), lines)
	}
	want := []struct{ prefix, to string }{
		{"alice: new error signature #300: fresh", "alice"},
		{"alice: 32 findings not acked for 30 min (#1–#32): error 1, error 2", "alice"},
		{"bob: 32 findings not acked by alice for 1 h (#1–#32): error 1, error 2", "bob"},
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i].text, w.prefix) || lines[i].to != w.to || len(lines[i].text) > 400 {
			t.Errorf("line %d = %q to %q, want prefix %q to %q", i, lines[i].text, lines[i].to, w.prefix, w.to)
		}
	}
	if !strings.HasSuffix(lines[1].text, " — see https://sheriff.example/recent") || len(lines[1].ids) != 32 || len(lines[2].ids) != 32 {
		t.Errorf("reminder line %q covers %d rows, escalation %d", lines[1].text, len(lines[1].ids), len(lines[2].ids))
	}
	if lines[0].prio != prioNew || lines[1].prio != prioFollowUp {
		t.Errorf("priorities %d, %d", lines[0].prio, lines[1].prio)
	}
}
