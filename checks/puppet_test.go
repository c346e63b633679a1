package checks

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wikimedia/sheriff/internal/event"
	"github.com/wikimedia/sheriff/internal/filer"
	"github.com/wikimedia/sheriff/internal/finding"
	"github.com/wikimedia/sheriff/internal/store"
)

const (
	puppetHostA = "deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud"
	puppetHostB = "deployment-jobrunner04.deployment-prep.eqiad1.wikimedia.cloud"
)

var puppetT0 = time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)

var puppetRxFixtureDir = regexp.MustCompile(`/tmp/sheriff-puppet-fixtures\.\w+`)

// puppetLogLine is one line of a fixture in testdata/puppet.
type puppetLogLine struct {
	at    time.Time
	level string
	msg   string
}

func loadPuppetFixture(t testing.TB, name string) []puppetLogLine {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "puppet", name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []puppetLogLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		ts, rest, ok1 := strings.Cut(sc.Text(), " ")
		level, msg, ok2 := strings.Cut(rest, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if !ok1 || !ok2 || err != nil {
			t.Fatalf("%s.log:%d: want '<time> <level> <message>', got %q", name, n, sc.Text())
		}
		out = append(out, puppetLogLine{at, level, msg})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s.log is empty", name)
	}
	return out
}

// puppetEvents wraps fixture lines into the syslog-shaped events logstash
// hands out, moved in time so that the first line is at start.
func puppetEvents(host string, lines []puppetLogLine, start time.Time) []event.Event {
	var evs []event.Event
	for _, l := range lines {
		evs = append(evs, event.Event{
			Timestamp: start.Add(l.at.Sub(lines[0].at)), Type: "syslog", Host: host,
			Program: "puppet-agent", Level: strings.ToUpper(l.level), Message: l.msg,
		})
	}
	return evs
}

type puppetHarness struct {
	t   testing.TB
	ctx context.Context
	db  *store.DB
	p   *Puppet
	now time.Time
}

func newPuppetHarness(t testing.TB) *puppetHarness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sheriff.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &puppetHarness{t: t, ctx: ctx, db: db, now: puppetT0}
	h.p, err = NewPuppet(ctx, db, PuppetOptions{Now: func() time.Time { return h.now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *puppetHarness) observe(evs []event.Event) {
	h.t.Helper()
	for _, ev := range evs {
		if ev.Timestamp.After(h.now) {
			h.now = ev.Timestamp
		}
	}
	err := h.db.Tx(h.ctx, func(tx *sql.Tx) error { return h.p.Observe(h.ctx, tx, evs, h.now) })
	if err != nil {
		h.t.Fatal(err)
	}
}

// run feeds one fixture as host's agent run starting at start.
func (h *puppetHarness) run(host, fixture string, start time.Time) {
	h.t.Helper()
	h.observe(puppetEvents(host, loadPuppetFixture(h.t, fixture), start))
}

// pending reports every transition, round after round as the reporter does,
// and returns each finding as its last transition left it, in order of
// first appearance.
func (h *puppetHarness) pending() []finding.Finding { return h.report() }

// report hands every transition to a filer that comments on it, and
// returns each finding as its last transition left it.
func (h *puppetHarness) report() []finding.Finding {
	h.t.Helper()
	var out []finding.Finding
	at := map[string]int{}
	for {
		fs, err := h.p.Pending(h.ctx, h.now)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(fs) == 0 {
			return out
		}
		for _, f := range fs {
			if err := h.p.Reported(h.ctx, f, filer.Result{Key: f.Key, Kind: f.Kind, Action: filer.ActionCommented, TaskID: 7}); err != nil {
				h.t.Fatal(err)
			}
			if i, ok := at[f.Key]; ok {
				out[i] = f
				continue
			}
			at[f.Key] = len(out)
			out = append(out, f)
		}
	}
}

func puppetByKey(fs []finding.Finding, key string) (finding.Finding, bool) {
	for _, f := range fs {
		if f.Key == key {
			return f, true
		}
	}
	return finding.Finding{}, false
}

func puppetHostsOf(f finding.Finding) []string { return puppetSortedKeys(f.Facets["host"]) }

// TestPuppetFixtureCauses feeds the output of real puppet runs (see
// testdata/puppet/generate.sh) and checks which causes each produces.
func TestPuppetFixtureCauses(t *testing.T) {
	tests := []struct {
		fixture string
		host    string
		titles  []string // causes, sorted
		note    string
		success bool // the run ended with a successful catalog application
	}{
		{fixture: "success", success: true},
		{fixture: "agent_success", success: true},
		{fixture: "missing_class", titles: []string{"Puppet: could not find class profile::does_not_exist"}},
		{fixture: "missing_class_b", host: puppetHostB, titles: []string{"Puppet: could not find class profile::does_not_exist"}},
		{fixture: "agent_catalog_error", titles: []string{"Puppet: could not find class profile::does_not_exist"}},
		{fixture: "agent_cached_catalog", titles: []string{"Puppet: could not find class profile::does_not_exist"}},
		{fixture: "missing_hiera", titles: []string{"Puppet: missing hiera key profile::foo::bar"}},
		{fixture: "missing_hiera_b", host: puppetHostB, titles: []string{"Puppet: missing hiera key profile::foo::bar"}},
		{fixture: "agent_missing_hiera", titles: []string{"Puppet: missing hiera key profile::mediawiki::php::fpm_port"}},
		{fixture: "class_param", titles: []string{"Puppet: Class[Profile::Needs_param] expects a value for parameter 'listen_port'"}},
		{fixture: "exec_failure", titles: []string{"Puppet: Exec[reload-thing] failed", "Puppet: Exec[scap-sync-check] failed"}},
		{fixture: "service_failure", titles: []string{"Puppet: Service[apache2] failed", "Puppet: Service[nginx] failed to start"}},
		{fixture: "service_failure_b", host: puppetHostB, titles: []string{"Puppet: Service[nginx] failed to start"}},
		{fixture: "agent_resource_failure", titles: []string{"Puppet: Exec[compile-l10n] failed", "Puppet: Service[php7.4-fpm] failed to start"}},
		{fixture: "package_failure", titles: []string{"Puppet: Package[sheriff-fixture-missing] failed to install"}},
		{fixture: "agent_report_failure", titles: []string{"Puppet: could not send report: No space left on device"}, success: true},
		{fixture: "agent_ssl", titles: []string{"Puppet: TLS/certificate error: certificate verify failed [unable to get local issuer certificate for CN=<ip>]"}},
		{fixture: "agent_unreachable", titles: []string{"Puppet: cannot connect to puppet server 127.0.0.1:18140: Connection refused"}},
		{fixture: "cycle", titles: []string{"Puppet: dependency cycle File[$W/out/a] => Service[b]"}},
		{fixture: "duplicate", titles: []string{"Puppet: duplicate declaration of File[$W/out/dup]"}},
		{fixture: "file_source", titles: []string{"Puppet: File[$W/out/src] failed"}, success: false},
		// Compile errors are titled by kind (issue 12, point 4).
		{fixture: "template_error", titles: []string{"Puppet: template elasticsearch.yml.erb failed: undefined method `upcase_all' for <N>:Integer"}},
		{fixture: "syntax_error", titles: []string{"Puppet: syntax error at end of manifests/site.pp"}},
		{fixture: "unknown_function", titles: []string{"Puppet: unknown function wmflib_missing_helper()"}},
		{fixture: "unknown_type", titles: []string{"Puppet: unknown resource type prometheus_exporter_missing"}},
		{fixture: "type_mismatch", titles: []string{"Puppet: type mismatch for parameter port of Class[Profile::Typed] (expects an Integer value, got String)"}},
		// "Command exceeded timeout" belongs to the Exec line after it; two
		// Execs timing out are two causes (point 3).
		{fixture: "exec_timeout", titles: []string{"Puppet: Exec[git-pull-mediawiki-config] timed out", "Puppet: Exec[scap-l10n-rebuild] timed out"}},
		// Four connection resets and the issuer warning: one cause, named
		// by the warning (point 3).
		{fixture: "agent_cert_rejected", titles: []string{"Puppet: agent certificate rejected by deployment-puppetserver-1"}},
		{fixture: "agent_locked", note: "run skipped: another agent run holds the lock"},
		{fixture: "agent_disabled", note: "puppet agent disabled: T123456 investigating scap failures --sheriff"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			host := tt.host
			if host == "" {
				host = puppetHostA
			}
			h := newPuppetHarness(t)
			h.run(host, tt.fixture, puppetT0)
			var titles []string
			for _, f := range h.pending() {
				if f.Key == PuppetStaleKey {
					t.Errorf("stale finding right after a run: %+v", f)
					continue
				}
				// The fixtures' work directory changes with every generate.sh run.
				titles = append(titles, puppetRxFixtureDir.ReplaceAllString(f.Title, "$$W"))
				if f.Kind != finding.KindPuppet || f.Status != finding.StatusNew || len(f.Key) != 16 {
					t.Errorf("finding %q: kind %s, status %s, key %q", f.Title, f.Kind, f.Status, f.Key)
				}
				if diff := cmp.Diff([]string{host}, puppetHostsOf(f)); diff != "" {
					t.Errorf("hosts of %q (-want +got):\n%s", f.Title, diff)
				}
			}
			slices.Sort(titles)
			if diff := cmp.Diff(tt.titles, titles); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
			hosts, err := h.p.Hosts(h.ctx)
			if err != nil || len(hosts) != 1 {
				t.Fatalf("Hosts() = %+v, %v", hosts, err)
			}
			hs := hosts[0]
			if hs.Note != tt.note {
				t.Errorf("note = %q, want %q", hs.Note, tt.note)
			}
			if got := !hs.LastSuccess.IsZero(); got != tt.success {
				t.Errorf("last success = %v, want a success: %v", hs.LastSuccess, tt.success)
			}
			if got := !hs.FailingSince.IsZero(); got != (len(tt.titles) > 0) {
				t.Errorf("failing since = %v with %d causes", hs.FailingSince, len(tt.titles))
			}
			if len(hs.Causes) != len(tt.titles) {
				t.Errorf("host lists %d causes, want %d", len(hs.Causes), len(tt.titles))
			}
		})
	}
}

// TestPuppetSameCauseEverywhere: the same failure on different hosts, from
// different code paths, at different lines, via puppet apply or through the
// puppetserver, is one cause listing every host.
func TestPuppetSameCauseEverywhere(t *testing.T) {
	groups := []struct {
		name  string
		runs  []string // fixture, host a, b alternately
		title string
	}{
		{"missing class", []string{"missing_class", "missing_class_b", "agent_catalog_error"}, "Puppet: could not find class profile::does_not_exist"},
		{"missing hiera key", []string{"missing_hiera", "missing_hiera_b"}, "Puppet: missing hiera key profile::foo::bar"},
		{"service", []string{"service_failure", "service_failure_b"}, "Puppet: Service[nginx] failed to start"},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			h := newPuppetHarness(t)
			hosts := []string{puppetHostA, puppetHostB, "deployment-deploy04.deployment-prep.eqiad1.wikimedia.cloud"}
			for i, fx := range g.runs {
				h.run(hosts[i], fx, puppetT0.Add(time.Duration(i)*7*time.Minute))
			}
			var match []finding.Finding
			for _, f := range h.pending() {
				if f.Title == g.title {
					match = append(match, f)
				}
			}
			if len(match) != 1 {
				t.Fatalf("want one finding %q, got %d: %+v", g.title, len(match), match)
			}
			if diff := cmp.Diff(puppetSortedHosts(hosts[:len(g.runs)]), puppetHostsOf(match[0])); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
		})
	}
}

func puppetSortedHosts(hs []string) []string {
	out := slices.Clone(hs)
	slices.Sort(out)
	return out
}

// TestPuppetCauseIdentity checks the cause key on variants of every failure
// kind: what must not matter (host, paths, numbers, timings, line/column,
// catalog versions, how the line was shipped) and what must (the resource,
// the class, the hiera key).
func TestPuppetCauseIdentity(t *testing.T) {
	type variant struct {
		host, level, msg string
	}
	tests := []struct {
		name     string
		same     []variant // all the same cause
		title    string
		category string
		other    []variant // each a different cause from same[0]
	}{
		{
			name: "catalog compile error, missing class",
			same: []variant{
				{"deployment-x.deployment-prep.eqiad1.wikimedia.cloud", "err", "Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Evaluation Error: Error while evaluating a Function Call, Could not find class ::foo::bar for deployment-x.deployment-prep.eqiad1.wikimedia.cloud (file: /etc/puppet/manifests/site.pp, line: 12, column: 5) on node deployment-x.deployment-prep.eqiad1.wikimedia.cloud"},
				{"deployment-y", "ERROR", "Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Evaluation Error: Error while evaluating a Function Call, Could not find class ::foo::bar for deployment-y.deployment-prep.eqiad1.wikimedia.cloud (file: /srv/puppet_code/environments/production/manifests/site.pp, line: 240, column: 9) on node deployment-y.deployment-prep.eqiad1.wikimedia.cloud"},
				{"deployment-z", "3", "Evaluation Error: Error while evaluating a Function Call, Could not find class foo::bar for deployment-z (file: /tmp/x/manifests/site.pp, line: 1, column: 1) on node deployment-z"},
				{"deployment-z", "", "Error: Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Could not find class ::Foo::Bar for deployment-z"},
			},
			title: "Puppet: could not find class foo::bar", category: "class",
			other: []variant{
				{"deployment-x", "err", "Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Evaluation Error: Error while evaluating a Function Call, Could not find class ::foo::baz for deployment-x (file: /etc/puppet/manifests/site.pp, line: 12, column: 5) on node deployment-x"},
			},
		},
		{
			name: "missing hiera data",
			same: []variant{
				{"a1", "err", "Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Function lookup() did not find a value for the name 'profile::foo::bar' (file: /etc/puppet/modules/profile/manifests/foo.pp, line: 3, column: 8) on node a1.deployment-prep.eqiad1.wikimedia.cloud"},
				{"b2", "err", "Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Evaluation Error: Error while evaluating a Function Call, Function lookup() did not find a value for the name 'profile::foo::bar' (file: /srv/x/modules/profile/manifests/foo.pp, line: 9, column: 8) on node b2.deployment-prep.eqiad1.wikimedia.cloud"},
				{"b2", "err", "Function lookup() did not find a value for the name 'profile::foo::bar'"},
			},
			title: "Puppet: missing hiera key profile::foo::bar", category: "hiera",
			other: []variant{
				{"a1", "err", "Function lookup() did not find a value for the name 'profile::foo::baz'"},
				{"a1", "err", "Evaluation Error: Error while evaluating a Function Call, Class[Profile::Foo]: expects a value for parameter 'bar' (file: /etc/puppet/manifests/site.pp, line: 3, column: 1) on node a1"},
			},
		},
		{
			name: "service start failure",
			same: []variant{
				{"h1", "err", "(/Stage[main]/Profile::Foo/Service[nginx]/ensure) change from 'stopped' to 'running' failed: Systemd start for nginx failed!"},
				{"h2", "err", "(/Stage[main]/Profile::Bar/Nginx::Instance[default]/Service[nginx]/ensure) change from 'stopped' to 'running' failed: Could not start Service[nginx]: Execution of '/bin/systemctl start nginx' returned 1: Job for nginx.service failed because the control process exited with error code."},
				{"h3", "", "Error: /Stage[main]/Profile::Foo/Service[nginx]/ensure: change from 'stopped' to 'running' failed: Systemd start for nginx failed!"},
				{"h3", "ERR", "(/Stage[main]/Profile::Foo/Service[nginx]) Failed to call refresh: Systemd restart for nginx failed!"},
			},
			title: "Puppet: Service[nginx] failed to start", category: "service",
			other: []variant{
				{"h1", "err", "(/Stage[main]/Profile::Foo/Service[apache2]/ensure) change from 'stopped' to 'running' failed: Systemd start for apache2 failed!"},
				{"h1", "err", "(/Stage[main]/Profile::Foo/Package[nginx]/ensure) change from 'purged' to 'present' failed: Execution of '/usr/bin/apt-get -q -y install nginx' returned 100: E: Unable to locate package nginx"},
			},
		},
		{
			name: "package install failure",
			same: []variant{
				{"h1", "err", "(/Stage[main]/Profile::Php/Package[php7.4-fpm]/ensure) change from 'purged' to 'present' failed: Execution of '/usr/bin/apt-get -q -y -o DPkg::Options::=--force-confold install php7.4-fpm' returned 100: Reading package lists..."},
				{"h2", "err", "(/Stage[main]/Profile::Php/Package[php7.4-fpm]/ensure) change from '7.4.30-1' to '7.4.33-1+deb11u4' failed: Execution of '/usr/bin/apt-get -q -y install php7.4-fpm=7.4.33-1+deb11u4' returned 100: E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"},
			},
			title: "Puppet: Package[php7.4-fpm] failed to install", category: "package",
			other: []variant{
				{"h1", "err", "(/Stage[main]/Profile::Php/Package[php8.1-fpm]/ensure) change from 'purged' to 'present' failed: Execution of '/usr/bin/apt-get -q -y install php8.1-fpm' returned 100: Reading package lists..."},
			},
		},
		{
			name: "exec failure",
			same: []variant{
				{"h1", "err", "(/Stage[main]/Scap::Target/Exec[scap-sync-check]/returns) change from 'notrun' to ['0'] failed: '/usr/local/bin/x --flag /tmp/lock.1234' returned 1 instead of one of [0]"},
				{"h2", "err", "(/Stage[main]/Scap::Target/Exec[scap-sync-check]/returns) change from 'notrun' to ['0'] failed: '/usr/local/bin/x --flag /tmp/lock.99' returned 2 instead of one of [0]"},
				{"h2", "err", "(/Stage[main]/Scap::Target/Exec[scap-sync-check]) Failed to call refresh: '/usr/local/bin/x --flag' returned 1 instead of one of [0]"},
			},
			title: "Puppet: Exec[scap-sync-check] failed", category: "exec",
			other: []variant{
				{"h1", "err", "(/Stage[main]/Scap::Target/Exec[scap-other]/returns) change from 'notrun' to ['0'] failed: '/usr/local/bin/x --flag' returned 1 instead of one of [0]"},
			},
		},
		{
			name: "dependency cycle",
			same: []variant{
				{"h1", "err", "(File[/a] => Service[b] => File[/a])"},
				{"h2", "err", "(Service[b] => File[/a] => Service[b])\\nTry the '--graph' option and opening the resulting '.dot' file in OmniGraffle or GraphViz"},
				{"h3", "err", "Found 1 dependency cycle:\n(File[/a] => Service[b] => File[/a])\nTry the '--graph' option and opening the resulting '.dot' file in OmniGraffle or GraphViz"},
			},
			title: "Puppet: dependency cycle File[/a] => Service[b]", category: "cycle",
			other: []variant{
				{"h1", "err", "(File[/a] => Service[c] => File[/a])"},
			},
		},
		{
			name: "could not find dependency",
			same: []variant{
				{"h1", "err", "Failed to apply catalog: Could not find dependency File[/etc/foo.conf] for Service[foo] at /etc/puppet/modules/foo/manifests/init.pp:12"},
				{"h2", "err", "Failed to apply catalog: Could not find dependency File[/etc/foo.conf] for Service[foo] at /srv/puppet/modules/foo/manifests/init.pp:40"},
			},
			title: "Puppet: could not find dependency File[/etc/foo.conf] for Service[foo]", category: "dependency",
			other: []variant{
				{"h1", "err", "Failed to apply catalog: Could not find dependency File[/etc/bar.conf] for Service[foo] at /etc/puppet/modules/foo/manifests/init.pp:12"},
			},
		},
		{
			name: "failed to apply catalog, other",
			same: []variant{
				{"h1", "err", "Failed to apply catalog: Parameter mode failed on File[/etc/x]: The file mode specification is invalid: \"0x644\" (file: /etc/puppet/modules/x/manifests/init.pp, line: 3)"},
				{"h2", "err", "Failed to apply catalog: Parameter mode failed on File[/etc/x]: The file mode specification is invalid: \"0x644\" (file: /srv/puppet/modules/x/manifests/init.pp, line: 30)"},
			},
			title: "Puppet: catalog failed: Parameter mode failed on File[/etc/x]: The file mode specification is invalid: \"0x644\" (file: module…", category: "catalog",
		},
		{
			name: "TLS",
			same: []variant{
				{"h1", "err", "Could not retrieve catalog from remote server: SSL_connect returned=1 errno=0 state=error: certificate verify failed (self signed certificate in certificate chain)"},
				{"h2", "err", "Could not retrieve catalog from remote server: SSL_connect returned=1 errno=0 peeraddr=172.16.1.10:8140 state=error: certificate verify failed (self signed certificate in certificate chain)"},
			},
			category: "ssl",
			other: []variant{
				{"h1", "err", "Could not request certificate: The certificate retrieved from the master does not match the agent's private key. Did you forget to run as root?"},
			},
		},
		{
			name: "server unreachable",
			same: []variant{
				{"h1", "err", "Connection to https://deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud:8140/puppet/v3 failed, trying next route: Request to https://deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud:8140/puppet/v3 failed after 0.002 seconds: Failed to open TCP connection"},
				{"h2", "err", "Connection to https://deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud:8140/puppet-ca/v1 failed, trying next route: Request to https://deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud:8140/puppet-ca/v1 failed after 30.01 seconds: Net::ReadTimeout"},
				{"h3", "err", "Could not retrieve catalog from remote server: Failed to open TCP connection to deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud:8140 (getaddrinfo: Name or service not known)"},
			},
			title: "Puppet: cannot connect to puppet server deployment-puppetserver-1.deployment-prep.eqiad1.wikimedia.cloud:8140", category: "unreachable",
		},
		{
			name: "unknown error lines",
			same: []variant{
				{"h1", "err", "Could not autoload puppet/provider/foo/bar: cannot load such file -- /var/lib/puppet/lib/puppet/provider/foo/bar.rb (line 12)"},
				{"h2", "err", "Could not autoload puppet/provider/foo/bar: cannot load such file -- /var/lib/puppet/lib/puppet/provider/foo/bar.rb (line 99)"},
			},
			category: "error",
			other: []variant{
				{"h1", "err", "Could not autoload puppet/provider/foo/baz: cannot load such file -- /var/lib/puppet/lib/puppet/provider/foo/baz.rb (line 12)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want PuppetCause
			for i, v := range tt.same {
				l := classifyPuppet(v.host, v.level, v.msg)
				if l.Action != puppetActCause && l.Action != puppetActUnknown {
					t.Fatalf("variant %d: action %d, want a cause: %q", i, l.Action, v.msg)
				}
				if i == 0 {
					want = l.Cause
					if tt.title != "" && want.Title != tt.title {
						t.Errorf("title = %q, want %q", want.Title, tt.title)
					}
					if want.Category != tt.category {
						t.Errorf("category = %q, want %q", want.Category, tt.category)
					}
					continue
				}
				if l.Cause.ID != want.ID {
					t.Errorf("variant %d is another cause:\n got %q (%s)\nwant %q (%s)", i, l.Cause.Identity, l.Cause.Category, want.Identity, want.Category)
				}
			}
			for i, v := range tt.other {
				l := classifyPuppet(v.host, v.level, v.msg)
				if l.Cause.ID == want.ID || l.Cause.ID == "" {
					t.Errorf("other %d is not a distinct cause: %q", i, l.Cause.Identity)
				}
			}
		})
	}
}

// TestPuppetConsequencesAndContinuations: lines that repeat or continue a
// failure, or follow from it, never become causes of their own.
func TestPuppetConsequencesAndContinuations(t *testing.T) {
	h := newPuppetHarness(t)
	at := puppetT0
	ev := func(level, msg string) event.Event {
		at = at.Add(time.Millisecond)
		return event.Event{Timestamp: at, Host: "h1", Program: "puppet-agent[4242]", Level: level, Message: msg}
	}
	h.observe([]event.Event{
		ev("ERR", "Systemd start for nginx failed!"),
		ev("ERR", "journalctl log for nginx:"),
		ev("ERR", "-- Logs begin at Mon 2025-03-10 07:00:01 UTC, end at Mon 2025-03-10 08:00:00 UTC. --"),
		ev("ERR", "Mar 10 08:00:00 h1 nginx[123]: nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)"),
		ev("ERR", "(/Stage[main]/Nginx/Service[nginx]/ensure) change from 'stopped' to 'running' failed: Systemd start for nginx failed!"),
		ev("ERR", "(/Stage[main]/Nginx/Service[nginx]/ensure) journalctl log for nginx:"),
		ev("ERR", "(/Stage[main]/Nginx/Service[nginx]/ensure) Mar 10 08:00:00 h1 nginx[123]: nginx: [emerg] bind() failed"),
		ev("NOTICE", "(/Stage[main]/Nginx/File[/etc/nginx/ok]) Dependency Service[nginx] has failures: true"),
		ev("WARNING", "(/Stage[main]/Nginx/File[/etc/nginx/ok]) Skipping because of failed dependencies"),
		ev("NOTICE", "Applied catalog in 3.21 seconds"),
	})
	fs := h.pending()
	if len(fs) != 1 || fs[0].Title != "Puppet: Service[nginx] failed to start" {
		t.Fatalf("want only the service failure, got %+v", fs)
	}
	if fs[0].Count != 1 {
		t.Errorf("count = %d, want 1 occurrence", fs[0].Count)
	}

	// A multi-line message whose continuation lands in the next batch.
	lines := loadPuppetFixture(t, "package_failure")
	evs := puppetEvents("h2", lines, puppetT0.Add(time.Hour))
	for i := range evs {
		h.observe(evs[i : i+1])
	}
	var titles []string
	for _, f := range h.pending() {
		if slices.Contains(puppetHostsOf(f), "h2") {
			titles = append(titles, f.Title)
		}
	}
	if diff := cmp.Diff([]string{"Puppet: Package[sheriff-fixture-missing] failed to install"}, titles); diff != "" {
		t.Errorf("causes of h2 (-want +got):\n%s", diff)
	}

	// Events of other programs and without a host are not puppet's.
	h.observe([]event.Event{
		{Timestamp: at, Host: "h3", Program: "systemd", Level: "ERR", Message: "Could not find init script for 'x'"},
		{Timestamp: at, Host: "", Program: "puppet-agent", Level: "ERR", Message: "Could not retrieve catalog; skipping run"},
	})
	hosts, err := h.p.Hosts(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, hs := range hosts {
		if hs.Host == "h3" || hs.Host == "" {
			t.Errorf("host %q recorded from a non-puppet event", hs.Host)
		}
	}
}

// TestPuppetHostRecoveryAndResolution follows one cause as hosts join,
// recover, and it resolves (once), then regresses.
func TestPuppetHostRecoveryAndResolution(t *testing.T) {
	h := newPuppetHarness(t)
	run := 30 * time.Minute
	h.run(puppetHostA, "service_failure", puppetT0)
	fs := h.report()
	nginx, ok := puppetByTitle(fs, "Puppet: Service[nginx] failed to start")
	if !ok || nginx.Status != finding.StatusNew {
		t.Fatalf("want a new nginx finding, got %+v", fs)
	}
	if got := h.pending(); len(got) != 0 {
		t.Fatalf("nothing changed, yet pending: %+v", got)
	}

	// B joins.
	h.run(puppetHostB, "service_failure_b", puppetT0.Add(5*time.Minute))
	f, ok := puppetByKey(h.report(), nginx.Key)
	if !ok || f.Status != finding.StatusKnown {
		t.Fatalf("after B joined: %+v", f)
	}
	if diff := cmp.Diff(puppetSortedHosts([]string{puppetHostA, puppetHostB}), puppetHostsOf(f)); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}

	// A runs cleanly: it leaves nginx and apache2; apache2 resolves.
	h.run(puppetHostA, "success", puppetT0.Add(run))
	fs = h.report()
	f, ok = puppetByKey(fs, nginx.Key)
	if !ok || f.Status != finding.StatusKnown {
		t.Fatalf("after A recovered: %+v", fs)
	}
	if diff := cmp.Diff([]string{puppetHostB}, puppetHostsOf(f)); diff != "" {
		t.Errorf("hosts after A recovered (-want +got):\n%s", diff)
	}
	if !strings.Contains(f.Details, puppetHostA+": recovered") {
		t.Errorf("details do not list A as recovered:\n%s", f.Details)
	}
	apache, ok := puppetByTitle(fs, "Puppet: Service[apache2] failed")
	if !ok || apache.Status != finding.StatusResolved || len(apache.Facets["host"]) != 0 {
		t.Errorf("apache2 should resolve with A's recovery: %+v", fs)
	}
	hosts, _ := h.p.Hosts(h.ctx)
	for _, hs := range hosts {
		switch hs.Host {
		case puppetHostA:
			if hs.LastSuccess.IsZero() || !hs.FailingSince.IsZero() || len(hs.Causes) != 0 {
				t.Errorf("A after a clean run: %+v", hs)
			}
		case puppetHostB:
			if hs.FailingSince.IsZero() || len(hs.Causes) != 1 {
				t.Errorf("B still failing: %+v", hs)
			}
		}
	}

	// B fails again in its next run: still failing, not a recovery.
	h.run(puppetHostB, "service_failure_b", puppetT0.Add(5*time.Minute+run))
	if fs := h.report(); len(fs) != 0 {
		t.Errorf("B failing again is no transition: %+v", fs)
	}

	// B recovers: resolved, once.
	h.run(puppetHostB, "success", puppetT0.Add(5*time.Minute+2*run))
	fs = h.report()
	f, ok = puppetByKey(fs, nginx.Key)
	if !ok || f.Status != finding.StatusResolved {
		t.Fatalf("after every host recovered: %+v", fs)
	}
	if !strings.Contains(f.Details, "Every host has recovered") {
		t.Errorf("details of a resolved cause:\n%s", f.Details)
	}
	if got := h.pending(); len(got) != 0 {
		t.Fatalf("resolution reported twice: %+v", got)
	}
	h.run(puppetHostB, "success", puppetT0.Add(5*time.Minute+3*run))
	if got := h.pending(); len(got) != 0 {
		t.Fatalf("clean runs are not news: %+v", got)
	}

	// It comes back.
	h.run(puppetHostA, "service_failure", puppetT0.Add(4*run))
	f, ok = puppetByKey(h.pending(), nginx.Key)
	if !ok || f.Status != finding.StatusRegressed || f.Count != 4 {
		t.Fatalf("regression: %+v", f)
	}
}

func puppetByTitle(fs []finding.Finding, title string) (finding.Finding, bool) {
	for _, f := range fs {
		if f.Title == title {
			return f, true
		}
	}
	return finding.Finding{}, false
}

// TestPuppetCatalogCausesMask: a run fails on one catalog-level cause at a
// time, so a newer one masks the older: the older stays open with the host
// marked hidden, and recovers only when a run that would show it does not
// (issue 12, point 1). A cached catalog applied after a failed retrieval
// proves nothing.
func TestPuppetCatalogCausesMask(t *testing.T) {
	h := newPuppetHarness(t)
	h.run(puppetHostA, "agent_catalog_error", puppetT0)
	h.run(puppetHostA, "agent_cached_catalog", puppetT0.Add(30*time.Minute))
	fs := h.report()
	if len(fs) != 1 || fs[0].Title != "Puppet: could not find class profile::does_not_exist" || fs[0].Status != finding.StatusNew {
		t.Fatalf("cached catalog run: %+v", fs)
	}
	class := fs[0].Key
	h.run(puppetHostA, "agent_missing_hiera", puppetT0.Add(60*time.Minute))
	fs = h.report()
	f, ok := puppetByKey(fs, class)
	if !ok || f.Status != finding.StatusKnown || !slices.Equal(puppetHostsOf(f), []string{puppetHostA}) ||
		!strings.Contains(f.Details, puppetHostA+": failing since 2025-03-10 08:00 UTC, hidden since") {
		t.Errorf("the class error is masked, not resolved: %+v", fs)
	}
	if f, ok := puppetByTitle(fs, "Puppet: missing hiera key profile::mediawiki::php::fpm_port"); !ok || f.Status != finding.StatusNew {
		t.Errorf("missing hiera key: %+v", fs)
	}
	// The server goes away: both compile errors are masked, none resolves.
	h.run(puppetHostA, "agent_unreachable", puppetT0.Add(90*time.Minute))
	for _, f := range h.report() {
		if f.Status == finding.StatusResolved {
			t.Errorf("resolved during an outage: %s", f.Title)
		}
	}
	hosts, _ := h.p.Hosts(h.ctx)
	if len(hosts) != 1 || len(hosts[0].Causes) != 3 || !hosts[0].FailingSince.Equal(puppetT0.Add(2017*time.Millisecond)) {
		t.Errorf("host failing since the first error with three causes: %+v", hosts)
	}
	// A clean run: every cause goes, each resolves once.
	h.run(puppetHostA, "agent_success", puppetT0.Add(120*time.Minute))
	fs = h.report()
	if len(fs) != 3 {
		t.Fatalf("want three resolutions, got %+v", fs)
	}
	for _, f := range fs {
		if f.Status != finding.StatusResolved {
			t.Errorf("%s: %s, want resolved", f.Title, f.Status)
		}
	}
	// A catalog-level failure says nothing about resources: they stay, hidden.
	h.run(puppetHostB, "service_failure_b", puppetT0)
	h.run(puppetHostB, "agent_unreachable", puppetT0.Add(30*time.Minute))
	hosts, _ = h.p.Hosts(h.ctx)
	for _, hs := range hosts {
		if hs.Host == puppetHostB && (len(hs.Causes) != 2 || hs.Causes[0].Hidden.IsZero()) {
			t.Errorf("B should fail on nginx (hidden) and on the unreachable server: %+v", hs.Causes)
		}
	}
}

// TestPuppetReportFailureSpansRuns: a report failure is logged after the run
// ended; it must not flap between runs and goes once a run's report is sent.
func TestPuppetReportFailureSpansRuns(t *testing.T) {
	h := newPuppetHarness(t)
	var since time.Time
	for i := range 3 {
		h.run(puppetHostA, "agent_report_failure", puppetT0.Add(time.Duration(i)*30*time.Minute))
		hosts, _ := h.p.Hosts(h.ctx)
		if i == 0 {
			since = hosts[0].FailingSince
		}
		if len(hosts[0].Causes) != 1 || since.IsZero() || !hosts[0].FailingSince.Equal(since) {
			t.Fatalf("run %d: %+v", i, hosts[0])
		}
	}
	h.report()
	h.run(puppetHostA, "agent_success", puppetT0.Add(90*time.Minute))
	h.run(puppetHostA, "success", puppetT0.Add(120*time.Minute))
	fs := h.report()
	if len(fs) != 1 || fs[0].Status != finding.StatusResolved {
		t.Fatalf("report failure should resolve: %+v", fs)
	}
}

// TestPuppetStaleHosts: an agent that stops running is stale once event
// time (the newest event of any host) is StaleAfter past its last run; the
// stale finding lists it and resolves when it runs again. Silent hosts are
// eventually forgotten, which resolves their causes. The wall clock plays no
// part (issue 12, point 5).
func TestPuppetStaleHosts(t *testing.T) {
	h := newPuppetHarness(t)
	const clock = "deployment-clock01.deployment-prep.eqiad1.wikimedia.cloud"
	tick := func(at time.Time) { h.run(clock, "success", at) }
	h.run(puppetHostA, "success", puppetT0)
	h.run(puppetHostB, "service_failure_b", puppetT0)
	h.report()

	h.now = puppetT0.Add(30 * 24 * time.Hour) // the wall clock is far ahead: it must not matter
	tick(puppetT0.Add(90 * time.Minute))
	if got := h.pending(); len(got) != 0 {
		t.Fatalf("not stale yet: %+v", got)
	}
	// A is disabled: it logs, but does not run.
	h.run(puppetHostA, "agent_disabled", puppetT0.Add(100*time.Minute))
	tick(puppetT0.Add(2*time.Hour + time.Minute))
	fs := h.report()
	stale, ok := puppetByKey(fs, PuppetStaleKey)
	if !ok || (stale.Status != finding.StatusNew && stale.Status != finding.StatusKnown) || stale.Kind != finding.KindPuppet {
		t.Fatalf("want a new stale finding (A and B went stale one after the other), got %+v", fs)
	}
	if diff := cmp.Diff(puppetSortedHosts([]string{puppetHostA, puppetHostB}), puppetHostsOf(stale)); diff != "" {
		t.Errorf("stale hosts (-want +got):\n%s", diff)
	}
	if !strings.Contains(stale.Details, "puppet agent disabled: T123456") {
		t.Errorf("stale details should say why A does not run:\n%s", stale.Details)
	}
	tick(puppetT0.Add(2*time.Hour + 20*time.Minute))
	if got := h.pending(); len(got) != 0 {
		t.Fatalf("stale reported again without change: %+v", got)
	}

	// B runs again (still failing): it is no longer stale.
	at := puppetT0.Add(2*time.Hour + 30*time.Minute)
	h.run(puppetHostB, "service_failure_b", at)
	stale, ok = puppetByKey(h.report(), PuppetStaleKey)
	if !ok || stale.Status != finding.StatusKnown {
		t.Fatalf("stale finding after B ran: %+v", stale)
	}
	if diff := cmp.Diff([]string{puppetHostA}, puppetHostsOf(stale)); diff != "" {
		t.Errorf("stale hosts (-want +got):\n%s", diff)
	}
	hosts, _ := h.p.Hosts(h.ctx)
	for _, hs := range hosts {
		if hs.Stale != (hs.Host == puppetHostA) {
			t.Errorf("%s stale = %v", hs.Host, hs.Stale)
		}
	}

	// A runs: resolved, once.
	h.run(puppetHostA, "success", at.Add(time.Minute))
	stale, ok = puppetByKey(h.report(), PuppetStaleKey)
	if !ok || stale.Status != finding.StatusResolved {
		t.Fatalf("stale finding should resolve: %+v", stale)
	}
	if _, ok := puppetByKey(h.pending(), PuppetStaleKey); ok {
		t.Fatal("stale resolution reported twice")
	}

	// B goes silent for good (instance deleted): stale, then forgotten,
	// which resolves its nginx cause.
	at = at.Add(3 * time.Hour)
	h.run(puppetHostA, "success", at)
	tick(at)
	stale, ok = puppetByKey(h.report(), PuppetStaleKey)
	if !ok || stale.Status == finding.StatusResolved || !slices.Equal(puppetHostsOf(stale), []string{puppetHostB}) {
		t.Fatalf("B stale: %+v", stale)
	}
	at = at.Add(8 * 24 * time.Hour)
	h.run(puppetHostA, "success", at) // A keeps running
	tick(at)
	fs = h.report()
	nginx, ok := puppetByTitle(fs, "Puppet: Service[nginx] failed to start")
	if !ok || nginx.Status != finding.StatusResolved {
		t.Errorf("forgetting B should resolve its cause: %+v", fs)
	}
	if f, ok := puppetByKey(fs, PuppetStaleKey); !ok || f.Status != finding.StatusResolved {
		t.Errorf("forgetting B should resolve the stale finding: %+v", fs)
	}
	hosts, _ = h.p.Hosts(h.ctx)
	if len(hosts) != 2 || slices.ContainsFunc(hosts, func(hs HostState) bool { return hs.Host == puppetHostB }) {
		t.Errorf("hosts after forgetting B: %+v", hosts)
	}
}

// TestPuppetReportedPendingOutcome: a filing whose outcome is unknown keeps
// the finding pending; a silenced one does not come back.
func TestPuppetReportedPendingOutcome(t *testing.T) {
	h := newPuppetHarness(t)
	h.run(puppetHostA, "missing_class", puppetT0)
	fs, _ := h.p.Pending(h.ctx, h.now)
	if len(fs) != 1 {
		t.Fatalf("pending: %+v", fs)
	}
	if err := h.p.Reported(h.ctx, fs[0], filer.Result{Key: fs[0].Key, Kind: fs[0].Kind, Action: filer.ActionPending}); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.p.Pending(h.ctx, h.now); len(got) != 1 || got[0].Status != finding.StatusNew {
		t.Fatalf("after an unknown outcome: %+v", got)
	}
	if err := h.p.Reported(h.ctx, fs[0], filer.Result{Key: fs[0].Key, Kind: fs[0].Kind, Action: filer.ActionSilenced, Silenced: true}); err != nil {
		t.Fatal(err)
	}
	if got := h.pending(); len(got) != 0 {
		t.Fatalf("after silencing: %+v", got)
	}
}

// TestPuppetRedaction: every text leaving the check goes through the redactor.
func TestPuppetRedaction(t *testing.T) {
	h := newPuppetHarness(t)
	red := strings.NewReplacer("profile", "[redacted]")
	h.p.opts.Redactor = puppetRedactFunc(red.Replace)
	h.run(puppetHostA, "missing_hiera", puppetT0)
	h.run(puppetHostA, "agent_disabled", puppetT0.Add(time.Minute))
	fs := h.pending()
	if len(fs) != 1 {
		t.Fatalf("pending: %+v", fs)
	}
	for _, s := range []string{fs[0].Title, fs[0].Template, fs[0].Sample} {
		if strings.Contains(s, "profile") {
			t.Errorf("not redacted: %q", s)
		}
	}
	hosts, _ := h.p.Hosts(h.ctx)
	if strings.Contains(hosts[0].Causes[0].Title, "profile") {
		t.Errorf("host cause title not redacted: %q", hosts[0].Causes[0].Title)
	}
}

type puppetRedactFunc func(string) string

func (f puppetRedactFunc) String(s string) string { return f(s) }

func TestPuppetOptionsValidation(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = NewPuppet(context.Background(), db, PuppetOptions{StaleAfter: 48 * time.Hour, ForgetAfter: time.Hour}, nil)
	if err == nil || !strings.Contains(err.Error(), "forget_after") {
		t.Errorf("want an error naming forget_after, got %v", err)
	}
}

func BenchmarkPuppetClassify(b *testing.B) {
	var lines []puppetLogLine
	for _, fx := range []string{"agent_resource_failure", "package_failure", "missing_class", "agent_unreachable", "exec_failure"} {
		lines = append(lines, loadPuppetFixture(b, fx)...)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l := lines[i%len(lines)]
		classifyPuppet(puppetHostA, l.level, l.msg)
	}
}

// TestPuppetRunLevelErrorsDoNotFlap: errors logged before the apply phase
// (facter, unknown agent errors) belong to the run that follows them; they
// do not recover at that run's end, only when a run no longer logs them.
func TestPuppetRunLevelErrorsDoNotFlap(t *testing.T) {
	h := newPuppetHarness(t)
	run := func(start time.Time, facterError bool) {
		var evs []event.Event
		if facterError {
			evs = append(evs, event.Event{Timestamp: start, Host: "h1", Program: "puppet-agent", Level: "ERR",
				Message: "(Facter) Permission denied @ rb_sysopen - /proc/1/environ"})
		}
		evs = append(evs, event.Event{Timestamp: start.Add(45 * time.Second), Host: "h1", Program: "puppet-agent", Level: "NOTICE",
			Message: "Applied catalog in 2.10 seconds"})
		h.observe(evs)
	}
	for i := range 3 {
		run(puppetT0.Add(time.Duration(i)*30*time.Minute), true)
		fs := h.report()
		if i == 0 && (len(fs) != 1 || fs[0].Title != "Puppet: Facter: Permission denied @ rb_sysopen - /proc/<N>/environ") {
			t.Fatalf("run %d: %+v", i, fs)
		}
		if i > 0 && len(fs) != 0 {
			t.Fatalf("run %d: the cause flapped: %+v", i, fs)
		}
	}
	run(puppetT0.Add(90*time.Minute), false)
	if fs := h.report(); len(fs) != 1 || fs[0].Status != finding.StatusResolved {
		t.Fatalf("a run without the error: %+v", fs)
	}
}

// TestPuppetMasking: host names become one <fqdn> placeholder; file names
// that look like host names (elasticsearch.yml.erb) stay (issue 12, point 4).
func TestPuppetMasking(t *testing.T) {
	tests := []struct{ host, in, want string }{
		{"deployment-elastic01.deployment-prep.eqiad1.wikimedia.cloud",
			"Failed to parse template profile/elasticsearch.yml.erb on node deployment-elastic01.deployment-prep.eqiad1.wikimedia.cloud",
			"Failed to parse template profile/elasticsearch.yml.erb on node <fqdn>"},
		{"h1", "Could not write report for deployment-db11.deployment-prep.eqiad1.wikimedia.cloud: disk full in /etc/mysql/my.cnf.erb",
			"Could not write report for <fqdn>: disk full in /etc/mysql/my.cnf.erb"},
		{"deployment-db11", "peer deployment-db11 and deployment-db12.eqiad.wmnet", "peer <fqdn> and <fqdn>"},
	}
	for _, tt := range tests {
		if got := puppetMaskMessage(tt.host, tt.in); got != tt.want {
			t.Errorf("puppetMaskMessage(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestPuppetCertRejectedNeedsTheWarning: connection resets without the
// issuer warning are an unreachable server, not a certificate problem.
func TestPuppetCertRejectedNeedsTheWarning(t *testing.T) {
	h := newPuppetHarness(t)
	var evs []event.Event
	for _, ev := range puppetEvents(puppetHostA, loadPuppetFixture(t, "agent_cert_rejected"), puppetT0) {
		if !strings.Contains(ev.Message, "cannot be found locally") {
			evs = append(evs, ev)
		}
	}
	h.observe(evs)
	fs := h.report()
	if len(fs) != 1 || !strings.HasPrefix(fs[0].Title, "Puppet: cannot connect to puppet server 127.0.0.1:19340: Connection reset by peer") {
		t.Errorf("resets alone: %+v", fs)
	}
}
