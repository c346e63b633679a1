package miner

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wikimedia/sheriff/internal/store"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Accepted publickey for alice from 10.64.0.12 port 51234 ssh2", "Accepted publickey for alice from <*> port <*> ssh2"},
		{"Connection to [2620:0:861::1]:443 failed", "Connection to [<*> failed"},
		{"request 3f2a9c1b-0d4e-4c5b-9a6e-1234567890ab took 35ms", "request <*> took <*>"},
		{"estimated size 12.5 MB, free 3 GB)", "estimated size <*>, free <*>)"},
		{"GET /w/index.php?title=Main_Page returned 404", "GET <*> returned <*>"},
		{"connecting to deployment-db11.deployment-prep.eqiad1.wikimedia.cloud", "connecting to <*>"},
		{"fetching en.wikipedia.org", "fetching <*>"},
		{"java.io.IOException: boom", "java.io.IOException: boom"},
		{"user=root status=exited code= msg=\"foo bar baz\"", "user=<*> status=<*> code= msg=\"<*>\""},
		{"change from 'stopped' to 'running' failed", "change from '<*>' to '<*>' failed"},
		{"Access denied for user 'root'@'localhost' (using password: YES)", "Access denied for user '<*>' (using password: YES)"},
		{"Query: 'UPDATE `user` SET a = '2024' WHERE b = 4' done", "Query: '<*>' done"},
		{"Could not start Service[nginx]: Execution failed", "Could not start Service[<*>]: Execution failed"},
		{"Could not find dependency File[/etc/foo bar] for Exec[apt-get update]", "Could not find dependency File[<*>] for Exec[<*>]"},
		{"(/Stage[main]/Profile::Foo/Exec[apt-get update]/returns) change failed", "(<*>) change failed"},
		{"Registered signal handlers for [TERM, HUP, INT]", "Registered signal handlers for [<*>]"},
		{"[    3.123456] EXT4-fs (sda1): mounted", "[<*>] <*> (sda1): mounted"},
		{"10.250.19.102:50010:Served block blk_-42 to /10.1.2.3", "<*>:Served block <*> to <*>"},
		{"Can't connect to host", "Can't connect to host"},
		{"Started Daily apt upgrade and clean activities.", "Started Daily apt upgrade and clean activities ."},
		{"Started User Manager for UID 1000.", "Started User Manager for UID <*> ."},
		{"Starting Rotate log files...", "Starting Rotate log files ..."},
		{"session for mallory@example.org closed", "session for <*> closed"},
		{"  spaced   out\ttabs  ", "spaced out tabs"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskBoundsTokens(t *testing.T) {
	long := strings.Repeat("word ", 1000)
	toks := tokenize(long, nil)
	if len(toks) != maxTokens {
		t.Fatalf("got %d tokens, want %d", len(toks), maxTokens)
	}
	if !toks[len(toks)-1].wild() {
		t.Error("the folded tail should be a parameter")
	}
}

// An id handed out early (and filed) keeps receiving events after its
// template merges into another: Resolve maps it to the survivor, and lines of
// the early shape now come back under the survivor's id.
func TestAliasOnMerge(t *testing.T) {
	m := New(Options{})
	first := m.Add("User alice logged in from the web")
	if !first.New {
		t.Fatal("first line should start a template")
	}
	filed := m.Add("User bob logged in from the web").ID // a task is filed for this one
	if filed == first.ID {
		t.Fatal("two user names are not yet proof of a parameter; want two ids")
	}
	m.Add("User carol logged in from the web")
	merge := m.Add("User dave logged in from the web")
	if merge.ID != first.ID {
		t.Errorf("survivor = %s, want the oldest id %s", merge.ID, first.ID)
	}
	if merge.Template != "User <*> logged in from the web" {
		t.Errorf("template = %q", merge.Template)
	}
	if !contains(merge.Merged, filed) {
		t.Errorf("Merged = %v, want it to include the filed id %s", merge.Merged, filed)
	}
	if got := m.Resolve(filed); got != first.ID {
		t.Errorf("Resolve(filed) = %s, want %s", got, first.ID)
	}
	// The filed signature keeps receiving its events: a new bob line lands on
	// the id the filed one resolves to.
	again := m.Add("User bob logged in from the web")
	if again.ID != m.Resolve(filed) || again.New {
		t.Errorf("bob again = %+v, want id %s", again, m.Resolve(filed))
	}
	if st := m.Stats(); st.Aliases != 2 || st.Merges != 2 || st.Templates != 1 {
		t.Errorf("stats = %+v, want 2 aliases, 2 merges, 1 template", st)
	}
	if got := m.Resolve("unknown"); got != "unknown" {
		t.Errorf("Resolve(unknown) = %q", got)
	}
}

// Chains of merges resolve to the final survivor.
func TestAliasChain(t *testing.T) {
	m := New(Options{})
	var early []string
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		early = append(early, m.Add("Session for "+u+" on enwiki expired").ID)
	}
	for _, w := range []string{"dewiki", "frwiki", "eswiki", "itwiki"} {
		early = append(early, m.Add("Session for erin on "+w+" expired").ID)
	}
	final := m.Add("Session for zed on jawiki expired")
	for _, id := range early {
		if got := m.Resolve(id); got != final.ID {
			t.Errorf("Resolve(%s) = %s, want %s", id, got, final.ID)
		}
	}
	if final.Template != "Session for <*> on <*> expired" {
		t.Errorf("template = %q", final.Template)
	}
}

// Templates differing only in one constant word stay apart, however many
// lines they get; a word position with enough different words is a
// parameter.
func TestOneWordApart(t *testing.T) {
	m := New(Options{})
	ids := map[string]map[string]bool{}
	for i := range 200 {
		verb := []string{"closed", "reset"}[i%2]
		line := fmt.Sprintf("Connection %s by 10.0.%d.%d port %d", verb, i%7, i%250, 1000+i)
		id := m.Add(line).ID
		if ids[verb] == nil {
			ids[verb] = map[string]bool{}
		}
		ids[verb][id] = true
	}
	var closed, reset string
	for id := range ids["closed"] {
		closed = m.Resolve(id)
	}
	for id := range ids["reset"] {
		reset = m.Resolve(id)
	}
	if len(ids["closed"]) != 1 || len(ids["reset"]) != 1 || closed == reset {
		t.Errorf("closed ids %v, reset ids %v: want one distinct id each", ids["closed"], ids["reset"])
	}
}

// Puppet failures group by cause: host, resource title, paths and numbers
// are parameters; the resource type and the error are not.
func TestPuppetGroupsByCause(t *testing.T) {
	lines := map[string][]string{
		"service": {
			"(/Stage[main]/Profile::Mediawiki::Php/Service[php7.4-fpm]/ensure) change from 'stopped' to 'running' failed: Systemd start for php7.4-fpm failed!",
			"(/Stage[main]/Profile::Envoy/Service[envoyproxy]/ensure) change from 'stopped' to 'running' failed: Systemd start for envoyproxy failed!",
			"(/Stage[main]/Profile::Redis/Service[redis-instance-tcp_6379]/ensure) change from 'stopped' to 'running' failed: Systemd start for redis-instance-tcp_6379 failed!",
		},
		"package": {
			"(/Stage[main]/Mediawiki::Packages/Package[php7.4-cli]/ensure) change from 'purged' to 'present' failed: Execution of '/usr/bin/apt-get -q -y install php7.4-cli' returned 100: E: Unable to locate package php7.4-cli",
			"(/Stage[main]/Profile::Base/Package[tcpdump]/ensure) change from 'purged' to 'present' failed: Execution of '/usr/bin/apt-get -q -y install tcpdump' returned 100: E: Unable to locate package tcpdump",
		},
		"hiera": {
			"Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Function lookup() did not find a value for the name 'profile::mediawiki::php::fpm_workers' (file: /srv/puppet/modules/profile/manifests/mediawiki/php.pp, line: 12, column: 5) on node deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud",
			"Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Function lookup() did not find a value for the name 'profile::envoy::ensure' (file: /srv/puppet/modules/profile/manifests/envoy.pp, line: 3, column: 19) on node deployment-cache-text08.deployment-prep.eqiad1.wikimedia.cloud",
		},
		"evaluation": {
			"Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Evaluation Error: Error while evaluating a Resource Statement, Unknown resource type: 'foo::bar' (file: /srv/puppet/modules/role/manifests/beta.pp, line: 7, column: 3) on node deployment-db11.deployment-prep.eqiad1.wikimedia.cloud",
			"Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Evaluation Error: Error while evaluating a Resource Statement, Unknown resource type: 'profile::nope' (file: /srv/puppet/modules/role/manifests/x.pp, line: 70, column: 1) on node deployment-memc05.deployment-prep.eqiad1.wikimedia.cloud",
		},
		"cycle": {
			"Found 1 dependency cycle: (File[/etc/foo] => Service[foo] => File[/etc/foo])",
			"Found 1 dependency cycle: (File[/etc/nginx/nginx.conf] => Service[nginx] => File[/etc/nginx/nginx.conf])",
		},
	}
	m := New(Options{})
	got := map[string]string{}
	for _, cause := range []string{"service", "package", "hiera", "evaluation", "cycle"} {
		for _, l := range lines[cause] {
			id := m.Add(l).ID
			if prev, ok := got[cause]; ok && m.Resolve(prev) != id {
				t.Errorf("%s: %q got %s, earlier lines %s", cause, l, id, prev)
			}
			got[cause] = id
		}
	}
	seen := map[string]string{}
	for cause, id := range got {
		if other, dup := seen[m.Resolve(id)]; dup {
			t.Errorf("causes %s and %s share signature %s", cause, other, id)
		}
		seen[m.Resolve(id)] = cause
	}
}

func TestLookupDoesNotLearn(t *testing.T) {
	m := New(Options{})
	if _, ok := m.Lookup("disk full on 10.0.0.1"); ok {
		t.Fatal("empty miner matched")
	}
	a := m.Add("disk full on 10.0.0.1")
	got, ok := m.Lookup("disk full on 10.9.9.9")
	if !ok || got.ID != a.ID {
		t.Errorf("Lookup = %+v, %v; want %s", got, ok, a.ID)
	}
	before := m.Stats()
	m.Lookup("something else entirely")
	if after := m.Stats(); after != before {
		t.Errorf("Lookup changed stats: %+v -> %+v", before, after)
	}
}

func TestVariableLengthParameter(t *testing.T) {
	m := New(Options{})
	descs := []string{"Rotate log files", "Puppet agent", "Daily apt upgrade and clean activities",
		"Message of the Day", "Envoy proxy", "Cleanup of Temporary Directories", "User Manager for UID 1000"}
	ids := map[string]bool{}
	var last Match
	for range 3 {
		for _, d := range descs {
			last = m.Add("Started " + d + ".")
			ids[last.ID] = true
		}
	}
	final := map[string]bool{}
	for id := range ids {
		final[m.Resolve(id)] = true
	}
	if len(final) != 1 || last.Template != "Started <*> ." {
		t.Errorf("final ids %v, template %q: want one group 'Started <*> .'", final, last.Template)
	}
	if st := m.Stats(); st.Templates != 1 {
		t.Errorf("templates = %d, want 1", st.Templates)
	}
	// The verb is not part of the parameter.
	if s := m.Add("Stopped Rotate log files."); s.ID == last.ID {
		t.Error("Stopped merged with Started")
	}
}

func TestDeterminism(t *testing.T) {
	lines := corpusLines(t)
	run := func() ([]string, State) {
		m := New(Options{})
		ids := make([]string, len(lines))
		for i, l := range lines {
			ids[i] = m.Add(l).ID
		}
		return ids, m.Snapshot()
	}
	ids1, st1 := run()
	ids2, st2 := run()
	if diff := cmp.Diff(ids1, ids2); diff != "" {
		t.Errorf("ids differ between runs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(st1, st2); diff != "" {
		t.Errorf("state differs between runs:\n%s", diff)
	}
}

// A miner saved halfway and loaded again hands out the same ids as one that
// never stopped, and the stored ids resolve the same way.
func TestPersistence(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	lines := corpusLines(t)
	// Interleave the systems so that the restart happens mid-stream for all.
	mixed := make([]string, 0, len(lines))
	r := rand.New(rand.NewPCG(1, 2))
	for _, i := range r.Perm(len(lines)) {
		mixed = append(mixed, lines[i])
	}
	ref := New(Options{})
	want := make([]string, len(mixed))
	for i, l := range mixed {
		want[i] = ref.Add(l).ID
	}

	half := len(mixed) / 2
	m := New(Options{})
	got := make([]string, len(mixed))
	for i, l := range mixed[:half] {
		got[i] = m.Add(l).ID
	}
	if err := Save(ctx, db, "generic", m); err != nil {
		t.Fatal(err)
	}
	if err := Save(ctx, db, "generic", m); err != nil { // saving again replaces
		t.Fatal(err)
	}
	m2, err := Load(ctx, db, "generic", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.Snapshot(), m2.Snapshot()); diff != "" {
		t.Fatalf("loaded state differs from saved (-saved +loaded):\n%s", diff)
	}
	for i, l := range mixed[half:] {
		got[half+i] = m2.Add(l).ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids after restart differ from an uninterrupted run:\n%s", diff)
	}
	for _, id := range want[:half] {
		if a, b := ref.Resolve(id), m2.Resolve(id); a != b {
			t.Errorf("Resolve(%s): uninterrupted %s, restarted %s", id, a, b)
		}
	}
	empty, err := Load(ctx, db, "other", Options{})
	if err != nil || empty.Stats().Templates != 0 {
		t.Errorf("Load of an unknown miner = %v, %v; want an empty miner", empty.Stats(), err)
	}
}

func TestRestoreRejectsBadState(t *testing.T) {
	bad := []State{
		{Templates: []TemplateState{{ID: "", Tokens: []string{"a"}, VarAt: -1}}},
		{Templates: []TemplateState{{ID: "x", Tokens: nil, VarAt: -1}}},
		{Templates: []TemplateState{{ID: "x", Tokens: []string{"a"}, VarAt: 3}}},
		{Templates: []TemplateState{{ID: "x", Tokens: []string{"a"}, VarAt: -1}, {ID: "x", Tokens: []string{"b"}, VarAt: -1}}},
		{Aliases: map[string]string{"a": "a"}},
	}
	for i, st := range bad {
		if _, err := Restore(st, Options{}); err == nil {
			t.Errorf("state %d: no error", i)
		}
	}
}

// A flood of distinct lines keeps the miner at its cap, counting evictions,
// with the alias table and the shape cache bounded too.
func TestEvictionBoundsMemory(t *testing.T) {
	const max = 1000
	m := New(Options{MaxTemplates: max})
	r := rand.New(rand.NewPCG(7, 7))
	word := func() string {
		b := make([]byte, 3+r.IntN(8))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return string(b)
	}
	n := 100000
	if testing.Short() {
		n = 20000
	}
	for range n {
		ws := make([]string, 3+r.IntN(8))
		for i := range ws {
			ws[i] = word()
		}
		m.Add(strings.Join(ws, " "))
		if len(m.live) > max {
			t.Fatalf("%d live templates, cap %d", len(m.live), max)
		}
	}
	st := m.Stats()
	if st.Templates != max {
		t.Errorf("templates = %d, want %d", st.Templates, max)
	}
	if st.Evictions < int64(n-max)-st.Merges {
		t.Errorf("evictions = %d for %d lines (merges %d)", st.Evictions, n, st.Merges)
	}
	if st.Aliases > 4*max {
		t.Errorf("aliases = %d, want <= %d", st.Aliases, 4*max)
	}
	if len(m.cache) > m.cacheCap() {
		t.Errorf("cache = %d entries, cap %d", len(m.cache), m.cacheCap())
	}
	// The index holds exactly the live templates.
	indexed := 0
	for _, b := range m.buckets {
		indexed += len(b)
	}
	if indexed+len(m.vars) != len(m.live) {
		t.Errorf("indexed %d + %d variable, live %d", indexed, len(m.vars), len(m.live))
	}
	// An evicted template that comes back gets its old id.
	m2 := New(Options{MaxTemplates: 2})
	a := m2.Add("alpha beta gamma").ID
	m2.Add("delta epsilon zeta eta")
	m2.Add("theta iota kappa lambda mu")
	if m2.Stats().Evictions != 1 {
		t.Fatalf("evictions = %d, want 1", m2.Stats().Evictions)
	}
	if got := m2.Add("alpha beta gamma"); got.ID != a || !got.New {
		t.Errorf("returning template = %+v, want new with old id %s", got, a)
	}
}

func TestFingerprintLines(t *testing.T) {
	in := "User alice logged in\nUser bob logged in\nUser carol logged in\nUser dave logged in\ndisk full on 10.0.0.1\n"
	var stream, final bytes.Buffer
	if err := FingerprintLines(strings.NewReader(in), &stream, true); err != nil {
		t.Fatal(err)
	}
	if err := FingerprintLines(strings.NewReader(in), &final, false); err != nil {
		t.Fatal(err)
	}
	sl := strings.Split(strings.TrimSpace(stream.String()), "\n")
	if len(sl) != 5 {
		t.Fatalf("stream output %q", stream.String())
	}
	ids := map[string]bool{}
	for _, l := range sl[:4] {
		id, _, _ := strings.Cut(l, "\t")
		ids[id] = true
	}
	if len(ids) != 3 { // alice, bob, carol got their own ids; dave's merged into alice's
		t.Errorf("stream ids %v, want 3 distinct as assigned on arrival", ids)
	}
	fl := strings.Split(strings.TrimSpace(final.String()), "\n")
	if len(fl) != 5 {
		t.Fatalf("final output %q, want one line per input line", final.String())
	}
	for i, l := range fl[:4] {
		if l != fl[0] {
			t.Errorf("final line %d = %q, want the same group as line 0 (%q)", i, l, fl[0])
		}
	}
	if f := strings.Split(fl[0], "\t"); len(f) != 2 || f[1] != "User <*> logged in" {
		t.Errorf("first group %q", fl[0])
	}
	if fl[4] == fl[0] {
		t.Errorf("disk full line grouped with logins: %q", fl[4])
	}
}

// TestGroupingAccuracy is the evaluation on the in-repo corpus: the average
// GA must stay at or above 0.95.
func TestGroupingAccuracy(t *testing.T) {
	results, err := EvaluateDir("testdata/corpus", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 10 {
		t.Fatalf("%d corpora, want at least 10", len(results))
	}
	var b bytes.Buffer
	if err := WriteTable(&b, results); err != nil {
		t.Fatal(err)
	}
	t.Logf("grouping accuracy:\n%s", b.String())
	if avg := AverageGA(results); avg < 0.95 {
		t.Errorf("average GA %.4f < 0.95", avg)
	}
}

func TestGAMetric(t *testing.T) {
	truth := []string{"a", "a", "b", "b", "c", "c", "c"}
	pred := []string{"1", "1", "2", "3", "4", "4", "1"}
	a := GroupingAccuracy(truth, pred)
	// Group 1 mixes a and c; b is split over 2 and 3; only nothing is exact.
	want := Accuracy{Lines: 7, Correct: 0, GA: 0, TrueGroups: 3, Predicted: 4, Split: 2, Mixed: 1}
	if a != want {
		t.Errorf("got %+v, want %+v", a, want)
	}
	a = GroupingAccuracy([]string{"a", "a", "b"}, []string{"x", "x", "y"})
	if a.GA != 1 || a.Split != 0 || a.Mixed != 0 {
		t.Errorf("perfect grouping: %+v", a)
	}
}

func TestReadCorpusErrors(t *testing.T) {
	_, err := ReadCorpus(strings.NewReader("ok\tline\nno tab here\n"), "x.tsv")
	if err == nil || !strings.Contains(err.Error(), "x.tsv:2") {
		t.Errorf("err = %v, want one naming x.tsv:2", err)
	}
}

func TestEvalMain(t *testing.T) {
	var out, errb bytes.Buffer
	if code := EvalMain(context.Background(), []string{"-min", "0.95", "testdata/corpus"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "average") || !strings.Contains(out.String(), "puppet") {
		t.Errorf("output %q", out.String())
	}
	if code := EvalMain(context.Background(), []string{t.TempDir()}, &out, &errb); code != 1 {
		t.Errorf("empty dir: exit %d, want 1", code)
	}
}

// Compressed corpora are read like plain ones, each directory gets its own
// table and average, and a threshold fails only the directory below it.
func TestEvalMainSections(t *testing.T) {
	real, gen := t.TempDir(), t.TempDir()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	fmt.Fprint(zw, "a\tConnection closed by 10.0.0.1 port 22\nb\tDisk full on /srv\na\tConnection closed by 10.0.0.2 port 23\n")
	zw.Close()
	if err := os.WriteFile(filepath.Join(real, "sshd.tsv.gz"), zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two labels that the miner cannot tell apart: GA 0 on this corpus.
	if err := os.WriteFile(filepath.Join(gen, "mixed.tsv"), []byte("x\tsame line\ny\tsame line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := EvalMain(context.Background(), []string{"-min", "0.5", real, gen}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), gen) || strings.Contains(errb.String(), real+":") {
		t.Errorf("exit %d, stderr %q: want a failure naming only %s", code, errb.String(), gen)
	}
	for _, want := range []string{real + " (" + real + ")", "sshd", "1.0000", gen + " (" + gen + ")", "mixed", "0.0000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := os.WriteFile(filepath.Join(real, "sshd.tsv"), []byte("a\tb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCorpusDir(real); !errors.Is(err, ErrCorpus) {
		t.Errorf("plain and compressed copies of one corpus: err %v, want ErrCorpus", err)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
