package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/diff"
)

func fixtureReport(t *testing.T, c *Checker) *Report {
	t.Helper()
	if c.Rules == nil {
		c.Rules = defaultRules(t)
	}
	c.Now = func() time.Time { return time.Date(2026, 8, 22, 3, 0, 0, 0, time.UTC) }
	rep, err := c.Check(context.Background(), Sources{Puppet: puppetFixture, Charts: chartsFixture})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestReportOrderAndSummary(t *testing.T) {
	rep := fixtureReport(t, &Checker{})
	if len(rep.Findings) == 0 {
		t.Fatal("no findings")
	}
	// Real drift first, then the other classes in report order.
	last := -1
	for _, f := range rep.Findings {
		if o := classOrder[f.Class]; o < last {
			t.Fatalf("finding %s %s (%s) after a later class", f.Key, f.Path, f.Class)
		} else {
			last = o
		}
	}
	if rep.Findings[0].Class != diff.ClassReal {
		t.Errorf("first finding is %s", rep.Findings[0].Class)
	}
	s := rep.Summary
	total := 0
	for _, n := range s.ByClass {
		total += n
	}
	if total != s.Findings || s.Real != s.ByClass[diff.ClassReal] || s.Real == 0 {
		t.Errorf("summary inconsistent: %+v", s)
	}
	if s.BySource["puppet"][diff.ClassExpected] == 0 || s.BySource["helm"][diff.ClassSizing] == 0 {
		t.Errorf("by source = %v; want expected puppet findings and helm sizing", s.BySource)
	}
	if s.Problems != len(rep.Problems) || s.Problems < 2 {
		t.Errorf("problems = %d / %v", s.Problems, rep.Problems)
	}
	if rep.Run.Stats["puppet_keys"] == 0 || rep.Run.Stats["helm_services"] != 3 {
		t.Errorf("stats = %v", rep.Run.Stats)
	}
	if len(rep.Run.Rules) != 1 || !strings.HasSuffix(rep.Run.Rules[0], "defaults/drift.yaml") {
		t.Errorf("rules = %v", rep.Run.Rules)
	}
}

func TestWriteFormats(t *testing.T) {
	rep := fixtureReport(t, &Checker{})
	for _, format := range []string{"text", "markdown", "html", "json"} {
		var buf bytes.Buffer
		if err := rep.Write(format, &buf); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		out := buf.String()
		// The summary comes first, real drift before the rest, with the
		// file and line of both values.
		sum := strings.Index(out, "real")
		realSec := strings.Index(out, "Real drift")
		stale := strings.Index(out, "Stale overrides")
		loc := strings.Index(out, "hieradata/cloud/eqiad1/deployment-prep/common.yaml:9")
		if format == "json" {
			realSec, stale = strings.Index(out, `"class": "real"`), strings.Index(out, `"class": "stale-override"`)
			loc = strings.Index(out, `"beta_line": 9`)
		}
		if sum < 0 || realSec < 0 || stale < 0 || loc < 0 || !(sum < realSec && realSec < stale) {
			t.Errorf("%s: summary %d, real %d, stale %d, location %d:\n%s", format, sum, realSec, stale, loc, head(out))
		}
		if format != "json" && !strings.Contains(out, "Beta has its own") && !strings.Contains(out, "Beta runs on its own") {
			t.Errorf("%s: rule reasons missing", format)
		}
	}
	if err := rep.Write("pdf", &bytes.Buffer{}); err == nil {
		t.Error("unknown format accepted")
	}
}

func head(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}

func TestHTMLEscapes(t *testing.T) {
	rep := &Report{Findings: []diff.Finding{{Source: "puppet", Key: "<script>alert(1)</script>", Class: diff.ClassReal,
		Prod: "<b>", ProdPresent: true}}}
	rep.summarize()
	var buf bytes.Buffer
	if err := rep.Write("html", &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>alert") || strings.Contains(buf.String(), `"<b>"`) {
		t.Error("HTML report does not escape values")
	}
}

func TestJSONShapeAndRoundTrip(t *testing.T) {
	rep := fixtureReport(t, &Checker{})
	var buf bytes.Buffer
	if err := rep.Write("json", &buf); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Summary  map[string]any   `json:"summary"`
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Summary["real"] == nil || len(raw.Findings) != len(rep.Findings) {
		t.Fatalf("summary %v, %d findings", raw.Summary, len(raw.Findings))
	}
	for _, f := range raw.Findings {
		for _, k := range []string{"source", "key", "path", "class"} {
			if _, ok := f[k]; !ok {
				t.Fatalf("finding without %q: %v", k, f)
			}
		}
		switch f["class"] {
		case "beta-only":
			if _, ok := f["prod"]; ok && f["path"] != "" {
				// a beta-only sub-path has no production value
				t.Errorf("beta-only finding with a prod value: %v", f)
			}
		case "missing-in-beta":
			if _, ok := f["beta"]; ok {
				t.Errorf("missing-in-beta finding with a beta value: %v", f)
			}
		}
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != len(rep.Findings) {
		t.Fatalf("read %d findings, wrote %d", len(back.Findings), len(rep.Findings))
	}
	for i := range rep.Findings {
		a, b := rep.Findings[i], back.Findings[i]
		if a.ID() != b.ID() || a.ProdPresent != b.ProdPresent || a.BetaPresent != b.BetaPresent ||
			!diff.Equal(diff.Normalize(a.Prod), b.Prod) || !diff.Equal(diff.Normalize(a.Beta), b.Beta) {
			t.Fatalf("round trip changed\n%+v\ninto\n%+v", a, b)
		}
	}
}

func TestPreviousRun(t *testing.T) {
	prev := fixtureReport(t, &Checker{})
	// Pretend the previous run had one finding that is gone now and lacked
	// one that is there now.
	gone := diff.Finding{Source: "helm", Key: "retired", Path: "x", Class: diff.ClassReal}
	prev.Findings = append(prev.Findings[1:], gone)
	firstNow := fixtureReport(t, &Checker{}).Findings[0]

	rep := fixtureReport(t, &Checker{Previous: prev})
	if rep.Summary.Previous == nil || rep.Summary.New != 1 || rep.Summary.Resolved != 1 {
		t.Fatalf("summary = %+v", rep.Summary)
	}
	if len(rep.Resolved) != 1 || rep.Resolved[0].Key != "retired" {
		t.Errorf("resolved = %+v", rep.Resolved)
	}
	for _, f := range rep.Findings {
		if f.New != (f.ID() == firstNow.ID()) {
			t.Errorf("finding %s new = %v", f.ID(), f.New)
		}
	}
	var buf bytes.Buffer
	if err := rep.Write("text", &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1 new, 1 resolved") || !strings.Contains(buf.String(), "helm: retired x (was real)") {
		t.Errorf("text report lacks new/resolved:\n%s", head(buf.String()))
	}
}

func TestBaseline(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "baseline.yaml")
	rep := fixtureReport(t, &Checker{})
	bl := NewBaseline(file, rep.Findings, nil)
	if len(bl.Entries) == 0 {
		t.Fatal("empty baseline")
	}
	for _, e := range bl.Entries {
		if e.Class == string(diff.ClassExpected) || e.Class == string(diff.ClassSizing) {
			t.Errorf("baseline accepts an explained finding: %+v", e)
		}
		if e.Reason != ReasonPlaceholder {
			t.Errorf("reason %q", e.Reason)
		}
	}
	if err := bl.Write(time.Now()); err != nil {
		t.Fatal(err)
	}
	// A human explains one entry; the rest keep the placeholder.
	b, _ := os.ReadFile(file)
	i := strings.Index(string(b), "\naccepted:")
	edited := string(b[:i]) + strings.Replace(string(b[i:]), ReasonPlaceholder, "Beta relies on this, see T123", 1)
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadBaseline(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Entries) != len(bl.Entries) || loaded.Entries[0].Reason != "Beta relies on this, see T123" {
		t.Fatalf("loaded %d entries, first reason %q", len(loaded.Entries), loaded.Entries[0].Reason)
	}

	rep2 := fixtureReport(t, &Checker{Baseline: loaded})
	if rep2.Summary.Real != 0 || rep2.Summary.Accepted != len(bl.Entries) {
		t.Errorf("with baseline: real %d, accepted %d (of %d)", rep2.Summary.Real, rep2.Summary.Accepted, len(bl.Entries))
	}
	for _, f := range rep2.Findings {
		if needsAcceptance(f.Class) && !f.Accepted {
			t.Errorf("finding not accepted: %+v", f)
		}
	}
	var explained bool
	for _, f := range rep2.Findings {
		explained = explained || f.AcceptedReason == "Beta relies on this, see T123"
	}
	if !explained {
		t.Error("accepted reason not carried to the finding")
	}
	// Rewriting keeps the human's reason.
	again := NewBaseline(file, rep2.Findings, loaded)
	if again.Entries[0].Reason != "Beta relies on this, see T123" {
		t.Errorf("rewrite lost the reason: %q", again.Entries[0].Reason)
	}
	// An entry for a finding that is gone is reported as unused.
	loaded.Entries = append(loaded.Entries, BaselineEntry{Source: "helm", Key: "retired", Reason: "r", Line: 99})
	loaded.index[loaded.Entries[len(loaded.Entries)-1].id()] = len(loaded.Entries) - 1
	unused := loaded.Apply(fixtureReport(t, &Checker{}).Findings)
	if len(unused) != 1 || unused[0].Key != "retired" {
		t.Errorf("unused = %+v", unused)
	}
}

func TestParseBaselineErrors(t *testing.T) {
	tests := map[string]string{
		"accepted:\n  - {source: puppet, key: k}\n":                         "b.yaml:2:5: accepted entry for k has no reason",
		"accepted:\n  - {source: puppet, reason: r}\n":                      "b.yaml:2:5: accepted entry needs source and key",
		"accepted:\n  - {source: puppet, key: k, reason: r, colour: red}\n": "b.yaml:2:41: unknown field \"colour\"",
		"acepted: []\n": "b.yaml:1:1: unknown field \"acepted\"",
		"accepted:\n  - {source: puppet, key: k, reason: r}\n  - {source: puppet, key: k, reason: s}\n": "b.yaml:3:5: duplicate entry (first at line 2)",
	}
	for src, want := range tests {
		_, err := ParseBaseline("b.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
	}
	if _, err := LoadBaseline(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bl, err := ParseBaseline("b.yaml", []byte("# empty\n"))
	if err != nil || len(bl.Entries) != 0 {
		t.Errorf("empty baseline: %v %v", bl, err)
	}
}

func TestFindingJSONPresence(t *testing.T) {
	f := diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassReal, Prod: nil, ProdPresent: true, Beta: false, BetaPresent: true}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"prod":null`) || !strings.Contains(string(b), `"beta":false`) {
		t.Errorf("json = %s", b)
	}
	var back diff.Finding
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.ProdPresent || !back.BetaPresent || back.Beta != false {
		t.Errorf("back = %+v", back)
	}
	f = diff.Finding{Source: "puppet", Key: "k", Class: diff.ClassBetaOnly, Beta: []any{1}, BetaPresent: true}
	b, _ = json.Marshal(f)
	if strings.Contains(string(b), `"prod"`) {
		t.Errorf("absent prod written: %s", b)
	}
	if err := json.Unmarshal(b, &back); err != nil || back.ProdPresent || !reflect.DeepEqual(back.Beta, []any{int64(1)}) {
		t.Errorf("back = %+v, %v", back, err)
	}
}
