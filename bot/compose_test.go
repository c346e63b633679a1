package bot

import (
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
	if len(single) != 1 || len(single[0].text) > budget || !strings.HasSuffix(single[0].text, " "+url) ||
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
		!strings.HasPrefix(burst.text, "alice: 30 new error signatures (#10–#39): Ünïcödé") ||
		!strings.Contains(burst.text, "more see https://sheriff.example/recent") || !utf8.ValidString(burst.text) {
		t.Errorf("burst = %q (len %d, ids %v)", burst.text, len(burst.text), burst.ids)
	}
	for i, want := range []string{
		"alice: regressed error signature #50: old bug",
		"bob: #3 not acked by alice for 1h0m0s: unacked thing " + url,
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
