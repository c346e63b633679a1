package mwcorpus

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/event"
)

// TestCorpusFile checks the committed real-MediaWiki corpus: every line is a
// logstash document internal/event decodes, carries a sheriff_label of the
// documented shape, and the number of distinct labels is the one testdata/
// README.md states (so the README cannot drift from the data).
func TestCorpusFile(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "mediawiki-1.39.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	labelRE := regexp.MustCompile(`^[^@ ]+@[^ ]+\.php:\d+(<-[^ ]+\.php:\d+)?( \[.+\])?$`)
	labels := map[string]int{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		ev, err := event.Decode(line)
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if ev.Type != "mediawiki" || ev.Channel == "" {
			t.Fatalf("line %d: type %q channel %q, want a MediaWiki event", n, ev.Type, ev.Channel)
		}
		var doc struct {
			Label string `json:"sheriff_label"`
		}
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if !labelRE.MatchString(doc.Label) {
			t.Fatalf("line %d: sheriff_label %q does not have the documented shape", n, doc.Label)
		}
		labels[doc.Label]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("testdata", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := documented(t, string(readme), "Distinct labels")
	if len(labels) != want {
		t.Errorf("%d distinct labels, README.md says %d", len(labels), want)
	}
	if wantN := documented(t, string(readme), "Events"); n != wantN {
		t.Errorf("%d events, README.md says %d", n, wantN)
	}
}

// documented returns the number on the README line "- <name>: N".
func documented(t *testing.T, readme, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^- ` + regexp.QuoteMeta(name) + `: ([\d,]+)`).FindStringSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no %q line", "- "+name+": N")
	}
	v, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
