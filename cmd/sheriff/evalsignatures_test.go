package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/demo"
	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/mwcorpus"
	"github.com/wikimedia/sheriff/internal/signature"
)

type replayResult struct {
	Events, Malformed int
	Tasks             []struct {
		Signature, Title string
		Count            int64
	}
}

func replayJSON(t *testing.T, file string) replayResult {
	t.Helper()
	out, errOut, code := runSheriff(t, "", "replay", "--json", file)
	if code != 0 {
		t.Fatalf("replay failed: %s", errOut)
	}
	var res replayResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, out)
	}
	return res
}

// TestFingerprintPrintsPipelineIDs: `sheriff fingerprint --json` prints,
// event by event, the ids `sheriff replay` records (rules applied), on the
// demo sample.
func TestFingerprintPrintsPipelineIDs(t *testing.T) {
	sample := filepath.Join(t.TempDir(), "sample.ndjson")
	if err := os.WriteFile(sample, demo.Sample(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := replayJSON(t, sample)
	recorded := map[string]int64{}
	for _, task := range res.Tasks {
		recorded[task.Signature] = task.Count
	}
	out, errOut, code := runSheriff(t, string(demo.Sample()), "fingerprint", "--json")
	if code != 0 {
		t.Fatalf("fingerprint: %s", errOut)
	}
	counts := map[string]int64{}
	for line := range strings.Lines(out) {
		id, _, _ := strings.Cut(line, "\t")
		if id != "-" {
			counts[id]++
		}
	}
	if len(counts) != len(recorded) {
		t.Errorf("fingerprint printed %d ids, replay recorded %d signatures", len(counts), len(recorded))
	}
	for id, n := range counts {
		if recorded[id] != n {
			t.Errorf("id %s: fingerprint printed it %d times, replay counted %d", id, n, recorded[id])
		}
	}
}

// TestReplayRealCorpusTitles: a replay of the real MediaWiki corpus in the
// production shape files no two tasks under one title, and every title of
// an event with a trace names its caller.
func TestReplayRealCorpusTitles(t *testing.T) {
	docs, err := mwcorpus.Load(defaultCorpus())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "real.ndjson")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	callers := map[string]string{}
	fp := signature.NewFingerprinter()
	for i, d := range docs {
		p := mwcorpus.Production(d, i, evalTrain)
		b := p.JSON()
		w.Write(b)
		w.WriteByte('\n')
		ev, err := event.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		s := fp.Compute(&ev)
		callers[s.ID] = s.Caller()
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res := replayJSON(t, file)
	if res.Events != len(docs) || len(res.Tasks) == 0 {
		t.Fatalf("replay read %d events (want %d), %d tasks", res.Events, len(docs), len(res.Tasks))
	}
	byTitle := map[string]string{}
	for _, task := range res.Tasks {
		if other, dup := byTitle[task.Title]; dup {
			t.Errorf("tasks %s and %s share the title %q", other, task.Signature, task.Title)
		}
		byTitle[task.Title] = task.Signature
		caller, ok := callers[task.Signature]
		if !ok {
			t.Errorf("task %s (%q) is not a signature the fingerprinter computes", task.Signature, task.Title)
			continue
		}
		if caller != "" && !strings.Contains(task.Title, " in "+caller) && !strings.Contains(task.Title, " via "+caller) {
			t.Errorf("title %q does not name the caller %s", task.Title, caller)
		}
	}
}

// TestEvalSignaturesThreshold: the CI threshold passes on the committed
// corpus and an impossible one fails with a non-zero exit.
func TestEvalSignaturesThreshold(t *testing.T) {
	out, errOut, code := runSheriff(t, "", "eval-signatures", "-min", "0.98")
	if code != 0 || !strings.Contains(out, "real mediawiki-1.39") || !strings.Contains(out, "held-out") {
		t.Fatalf("eval-signatures -min 0.98: code %d\n%s%s", code, out, errOut)
	}
	if _, _, code := runSheriff(t, "", "eval-signatures", "-min", "1.01"); code == 0 {
		t.Error("an unreachable threshold did not fail")
	}
	out, _, code = runSheriff(t, "", "eval-signatures", "--json")
	var res struct {
		Real []struct {
			Part string
			GA   float64
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Real) != 3 {
		t.Fatalf("eval-signatures --json: code %d %s", code, out)
	}
}
