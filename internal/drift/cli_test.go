package drift

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestMainExitStatus(t *testing.T) {
	dir := t.TempDir()
	noDrift := filepath.Join(dir, "rules.yaml")
	// A rules file that accepts everything left real in the fixtures.
	if err := os.WriteFile(noDrift, []byte(`rules:
  - name: fixture-puppet
    reason: the fixture's remaining differences are on purpose
    match: {source: puppet}
  - name: fixture-helm
    reason: the fixture's remaining differences are on purpose
    match: {source: helm}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	badRules := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badRules, []byte("rules:\n  - name: x\n    reason: y\n    match: {colour: red}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"real drift", []string{"--puppet", puppetFixture, "--charts", chartsFixture}, ExitDrift, "Real drift", "broken.yaml:2"},
		{"explained by rules", []string{"--puppet", puppetFixture, "--rules", noDrift}, ExitOK, "0 real drift", ""},
		{"json", []string{"--charts", chartsFixture, "--format", "json"}, ExitDrift, `"summary": {`, ""},
		{"markdown", []string{"--charts", chartsFixture, "--format", "markdown"}, ExitDrift, "## Real drift", ""},
		{"no source", nil, ExitError, "", "give at least one of"},
		{"bad format", []string{"--charts", chartsFixture, "--format", "pdf"}, ExitError, "", "unknown --format"},
		{"bad rules file", []string{"--charts", chartsFixture, "--rules", badRules}, ExitError, "", "bad.yaml:4:13: unknown match field \"colour\""},
		{"missing rules file", []string{"--charts", chartsFixture, "--rules", filepath.Join(dir, "none.yaml")}, ExitError, "", "none.yaml"},
		{"not a directory", []string{"--puppet", filepath.Join(dir, "nope")}, ExitError, "", "is not a directory"},
		{"not a checkout", []string{"--puppet", dir}, ExitError, "", "no hieradata directory"},
		{"stray argument", []string{"--charts", chartsFixture, "extra"}, ExitError, "", "unexpected argument"},
		{"update without baseline", []string{"--charts", chartsFixture, "--update-baseline"}, ExitError, "", "--update-baseline needs --baseline"},
		{"help", []string{"--help"}, ExitOK, "", "usage: sheriff drift"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, head(stdout))
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

func TestMainBaselineFlow(t *testing.T) {
	dir := t.TempDir()
	bl := filepath.Join(dir, "accepted.yaml")
	out := filepath.Join(dir, "report.json")
	args := []string{"--puppet", puppetFixture, "--charts", chartsFixture, "--baseline", bl}

	// First run: the baseline does not exist, it is written and applied.
	code, _, stderr := runMain(t, append(args, "--format", "json", "--output", out)...)
	if code != ExitOK || !strings.Contains(stderr, "wrote") {
		t.Fatalf("first run: exit %d, stderr %s", code, stderr)
	}
	if _, err := os.Stat(bl); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	first, err := ReadJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if first.Summary.Real != 0 || first.Summary.Accepted == 0 {
		t.Errorf("first run summary %+v", first.Summary)
	}

	// Second run reads it: still nothing new.
	if code, _, stderr := runMain(t, args...); code != ExitOK || strings.Contains(stderr, "wrote") {
		t.Errorf("second run: exit %d, stderr %s", code, stderr)
	}

	// Something new appears: a copy of the charts with one more difference.
	charts := filepath.Join(dir, "charts")
	copyDir(t, chartsFixture, charts)
	staging := filepath.Join(charts, "helmfile.d/services/eventgate/values-staging.yaml")
	b, _ := os.ReadFile(staging)
	if err := os.WriteFile(staging, append(b, "new_setting: 1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runMain(t, "--puppet", puppetFixture, "--charts", charts, "--baseline", bl, "--previous", out)
	if code != ExitOK { // new beta-only finding, but nothing real
		t.Errorf("third run exit %d", code)
	}
	if !strings.Contains(stdout, "helm: eventgate new_setting [new]") || !strings.Contains(stdout, "1 new, 0 resolved") {
		t.Errorf("third run does not report the new finding:\n%s", head(stdout))
	}

	// --update-baseline accepts it and keeps the file's reasons.
	raw, _ := os.ReadFile(bl)
	i := bytes.Index(raw, []byte("\naccepted:"))
	raw = append(raw[:i:i], bytes.Replace(raw[i:], []byte(ReasonPlaceholder), []byte("known, T1"), 1)...)
	if err := os.WriteFile(bl, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMain(t, "--puppet", puppetFixture, "--charts", charts, "--baseline", bl, "--update-baseline"); code != ExitOK {
		t.Fatalf("update: exit %d %s", code, stderr)
	}
	raw, _ = os.ReadFile(bl)
	if !bytes.Contains(raw, []byte("new_setting")) || !bytes.Contains(raw, []byte("known, T1")) {
		t.Errorf("updated baseline:\n%s", raw)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMainOutputFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	code, stdout, _ := runMain(t, "--charts", chartsFixture, "--format", "html", "--output", out)
	if code != ExitDrift || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) {
		t.Errorf("output file: %v %.100s", err, b)
	}
}
