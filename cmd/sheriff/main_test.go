package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wikimedia/sheriff/internal/demo"
)

// TestMain lets tests run the real binary: the test executable re-executes
// itself as `sheriff` when SHERIFF_TEST_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("SHERIFF_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func sheriffCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "SHERIFF_TEST_MAIN=1")
	return cmd
}

func runSheriff(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestVersionAndUsage(t *testing.T) {
	out, _, code := runSheriff(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "sheriff ") {
		t.Fatalf("version: %q %d", out, code)
	}
	_, errOut, code := runSheriff(t, "", "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "replay") {
		t.Fatalf("unknown command: %q %d", errOut, code)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	rulesFile := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rulesFile, []byte("rules:\n  - name: x\n    match: {channel: fatal}\n    action: route\n    severity: unbreak\n"), 0o644)
	os.WriteFile(good, []byte("listen: 127.0.0.1:9999\nrules:\n  files: [rules.yaml]\n"), 0o644)
	out, errOut, code := runSheriff(t, "", "check-config", good)
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("good config rejected: %s %s", out, errOut)
	}
	// A bad rule file referenced by a good config is caught with its position.
	os.WriteFile(rulesFile, []byte("rules:\n  - name: x\n    match: {chanel: fatal}\n    action: route\n    severity: unbreak\n"), 0o644)
	_, errOut, code = runSheriff(t, "", "check-config", good)
	if code != 1 || !strings.Contains(errOut, "rules.yaml:3:13: unknown field \"chanel\"") {
		t.Fatalf("bad rule file: code %d, %q", code, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("logstash:\n  urls: [http://localhost:9200]\n  poll_intervall: 1m\n"), 0o644)
	_, errOut, code = runSheriff(t, "", "check-config", bad)
	if code != 1 || !strings.Contains(errOut, "bad.yaml:3:3: logstash.poll_intervall: unknown key") {
		t.Fatalf("bad config: code %d, %q", code, errOut)
	}
}

func TestReplayPrintsWhatWouldBeFiled(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(dir, "sample.ndjson")
	if err := os.WriteFile(sample, demo.Sample(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runSheriff(t, "", "replay", "--json", sample)
	if code != 0 {
		t.Fatalf("replay failed: %s", errOut)
	}
	var res struct {
		Events, Malformed int
		Tasks             []struct {
			Signature, Title, Action string
			Count                    int64
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, out)
	}
	if res.Events != 640 || res.Malformed != 2 || len(res.Tasks) < 20 {
		t.Fatalf("replay: %d events, %d malformed, %d tasks", res.Events, res.Malformed, len(res.Tasks))
	}

	// A rule that ignores one of them removes its task from the output.
	victim := res.Tasks[0]
	rules := filepath.Join(dir, "ignore.yaml")
	os.WriteFile(rules, []byte("rules:\n  - name: drop-lock-waits\n    reason: test\n    match: {exception.message: 'Error 1205:*'}\n    action: ignore\n"), 0o644)
	out2, errOut, code := runSheriff(t, "", "replay", "--rules", rules, sample)
	if code != 0 {
		t.Fatalf("replay with rules: %s", errOut)
	}
	if !strings.Contains(out2, "would be filed") {
		t.Fatalf("text output lacks the summary: %s", out2)
	}
	out3, _, _ := runSheriff(t, "", "replay", sample)
	if strings.Count(out2, "signature ") >= strings.Count(out3, "signature ") {
		t.Errorf("ignore rule did not remove a task:\nwith rule:\n%s\nwithout:\n%s", out2, out3)
	}
	_ = victim
}

func TestFingerprintJSONIsStableAcrossVersions(t *testing.T) {
	ev := func(ver string) string {
		return fmt.Sprintf(`{"@timestamp":"2026-11-21T06:00:00Z","type":"mediawiki","channel":"exception","message":"x","exception":{"class":"TypeError","message":"Argument #1 ($id) must be of type int\nin a two-line message","trace":"#0 /srv/mediawiki/php-%s/includes/Revision/RevisionLookup.php(88): MediaWiki\\Revision\\RevisionStore->getRevisionById()\n#1 {main}"}}`, ver)
	}
	out, errOut, code := runSheriff(t, ev("1.47.0-wmf.16")+"\n"+ev("1.47.0-wmf.17")+"\n", "fingerprint", "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one output line per input line, got %q", out)
	}
	id1, _, _ := strings.Cut(lines[0], "\t")
	id2, _, _ := strings.Cut(lines[1], "\t")
	if id1 == "" || id1 != id2 {
		t.Fatalf("train versions changed the signature: %q vs %q", lines[0], lines[1])
	}
}

var listenRE = regexp.MustCompile(`msg="sheriff running" .* port=(\d+)`)

// startBinary starts `sheriff run` and returns its HTTP base URL.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := sheriffCmd(t, append([]string{"run", "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := &bytes.Buffer{}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatalf("sheriff exited before listening")
		}
		return cmd, "http://127.0.0.1:" + addr, logs
	case <-time.After(60 * time.Second):
		t.Fatal("sheriff did not start listening")
	}
	return nil, "", nil
}

func totalCount(t *testing.T, base string) int64 {
	t.Helper()
	resp, err := http.Get(base + "/api/signatures?limit=10000")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sigs []struct{ Count int64 }
	if err := json.NewDecoder(resp.Body).Decode(&sigs); err != nil {
		return -1
	}
	var n int64
	for _, s := range sigs {
		n += s.Count
	}
	return n
}

// TestSIGTERMMidPollLosesNothing stops the service with SIGTERM while it is
// ingesting a large recording, restarts it, and checks that every event is
// counted exactly once.
func TestSIGTERMMidPollLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	dir := t.TempDir()
	sample := demo.Sample()
	var big bytes.Buffer
	const copies = 40
	for range copies {
		big.Write(sample)
	}
	recording := filepath.Join(dir, "big.ndjson")
	os.WriteFile(recording, big.Bytes(), 0o644)
	cfgFile := filepath.Join(dir, "sheriff.yaml")
	os.WriteFile(cfgFile, []byte("sample: big.ndjson\n"), 0o644)
	want := int64(640 * copies)

	cmd, base, logs := startBinary(t, "--config", cfgFile, "--data-dir", filepath.Join(dir, "data"))
	// Wait for the first committed batch, then interrupt in the middle of the rest.
	deadline := time.Now().Add(60 * time.Second)
	for totalCount(t, base) <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no batch recorded:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM did not stop sheriff cleanly: %v\n%s", err, logs)
	}
	if !strings.Contains(logs.String(), "sheriff stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", logs)
	}

	_, base, logs = startBinary(t, "--config", cfgFile, "--data-dir", filepath.Join(dir, "data"))
	deadline = time.Now().Add(120 * time.Second)
	var got int64
	for {
		got = totalCount(t, base)
		if got >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("after SIGTERM and restart, %d events counted, want exactly %d\n%s", got, want, logs)
	}
}

func TestTasksListShowsTheMapping(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(dir, "sample.ndjson")
	if err := os.WriteFile(sample, demo.Sample(), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if _, errOut, code := runSheriff(t, "", "replay", "--keep", state, sample); code != 0 {
		t.Fatalf("replay: %s", errOut)
	}
	out, errOut, code := runSheriff(t, "", "tasks", "list", "--data-dir", state)
	if code != 0 {
		t.Fatalf("tasks list: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 21 || !strings.HasPrefix(lines[0], "KIND") || !strings.Contains(out, "open") {
		t.Fatalf("tasks list printed:\n%s", out)
	}
	if _, errOut, code := runSheriff(t, "", "tasks", "frobnicate"); code != 2 || !strings.Contains(errOut, "usage") {
		t.Fatalf("bad subcommand: %d %s", code, errOut)
	}
}
