// Command timeline builds a three-day, 28-host puppet agent timeline from the
// real agent runs in checks/testdata/puppet (see generate.sh, more.sh): every
// run of every host is one of those recorded runs, re-stamped with the
// host's name and the run's time. Nothing is written by hand: the scenario
// only says which recorded failure each host has when.
//
// It writes timeline.ndjson (one syslog document per line, as logstash holds
// them) and timeline_truth.json: per failure, the hosts it was on and when
// it was present and proven gone, and every host's runs, so tests can
// compare what sheriff says at any point with what happened.
//
// usage: go run ./checks/testdata/puppet/timeline [-dir checks/testdata/puppet]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

const domain = ".deployment-prep.eqiad1.wikimedia.cloud"

// The certnames and server addresses the fixtures were recorded with.
var recorded = []string{"deployment-mediawiki11" + domain, "deployment-jobrunner04" + domain}

const server = "deployment-puppetserver-1" + domain

var hosts = []string{
	"deployment-mediawiki11", "deployment-mediawiki12", "deployment-mediawiki13", "deployment-mediawiki14",
	"deployment-jobrunner04", "deployment-jobrunner05", "deployment-deploy04",
	"deployment-elastic01", "deployment-elastic02", "deployment-elastic03",
	"deployment-cache-text08", "deployment-cache-upload08", "deployment-db11", "deployment-db12",
	"deployment-memc09", "deployment-memc10", "deployment-parsoid14", "deployment-restbase04",
	"deployment-kafka-main05", "deployment-kafka-main06", "deployment-mx03", "deployment-ms-fe04",
	"deployment-ms-be07", "deployment-ms-be08", "deployment-snapshot03", "deployment-docker-cxserver01",
	"deployment-eventgate-4", "deployment-mwmaint02",
}

// Stages as a run reaches them: a failure at one stage masks the later ones.
const (
	connect  = 0
	compile  = 1
	resource = 3
	post     = 4
)

type fault struct {
	label   string
	fixture string
	stage   int
	titles  []string // the causes sheriff should name (expectations, checked by the tests)
	hosts   []string
	from    float64 // hours after t0
	to      float64
}

var t0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

const days = 3

var (
	dead     = "deployment-snapshot03" // deleted instance: stops logging at 60h
	deadAt   = 60.0
	disabled = "deployment-mx03" // agent disabled from 24h to 40h
)

func faults() []fault {
	all20 := slices.Clone(hosts[:20])
	return []fault{
		{"missing-class", "agent_catalog_error", compile, []string{"Puppet: could not find class profile::does_not_exist"},
			[]string{"deployment-mediawiki11", "deployment-jobrunner04"}, 2, 10},
		{"nginx", "service_failure_b", resource, []string{"Puppet: Service[nginx] failed to start"},
			[]string{"deployment-cache-text08", "deployment-cache-upload08", "deployment-mediawiki12"}, 4, 36},
		{"report", "agent_report_failure", post, []string{"Puppet: could not send report: No space left on device"},
			[]string{"deployment-eventgate-4"}, 8, 9},
		// A broken hiera change: 20 hosts, masking what failed on them before.
		{"hiera-change", "agent_missing_hiera", compile, []string{"Puppet: missing hiera key profile::mediawiki::php::fpm_port"},
			all20, 14, 18},
		{"php", "agent_resource_failure", resource, []string{"Puppet: Service[php7.4-fpm] failed to start", "Puppet: Exec[compile-l10n] failed"},
			[]string{"deployment-docker-cxserver01"}, 20, 24},
		// A 25-minute puppet server outage.
		{"outage", "agent_unreachable", connect, []string{"Puppet: cannot connect to puppet server " + server + ":8140: Connection refused"},
			slices.Clone(hosts), 27, 27 + 25.0/60},
		{"cert", "agent_cert_rejected", connect, []string{"Puppet: agent certificate rejected by deployment-puppetserver-1"},
			[]string{"deployment-deploy04"}, 30, 33},
		{"exec-timeout", "exec_timeout", resource, []string{"Puppet: Exec[git-pull-mediawiki-config] timed out", "Puppet: Exec[scap-l10n-rebuild] timed out"},
			[]string{"deployment-mwmaint02", "deployment-snapshot03"}, 34, 38},
		{"template", "template_error", compile, []string{"Puppet: template elasticsearch.yml.erb failed: undefined method `upcase_all' for <N>:Integer"},
			[]string{"deployment-elastic01", "deployment-elastic02", "deployment-elastic03"}, 39, 50},
		{"file-source", "file_source", resource, []string{"Puppet: File[$W/out/src] failed"},
			[]string{"deployment-mwmaint02"}, 40, 42},
		// nginx comes back on one host after it had resolved.
		{"nginx-again", "service_failure_b", resource, []string{"Puppet: Service[nginx] failed to start"},
			[]string{"deployment-cache-text08"}, 44, 46},
		{"package", "package_failure", resource, []string{"Puppet: Package[sheriff-fixture-missing] failed to install"},
			[]string{"deployment-parsoid14"}, 49, 53},
		{"syntax", "syntax_error", compile, []string{"Puppet: syntax error at end of manifests/site.pp"},
			[]string{"deployment-db11", "deployment-db12", "deployment-memc09", "deployment-memc10", "deployment-mx03"}, 54, 55},
		{"unknown-function", "unknown_function", compile, []string{"Puppet: unknown function wmflib_missing_helper()"},
			[]string{"deployment-kafka-main05", "deployment-kafka-main06"}, 56, 58},
		{"unknown-type", "unknown_type", compile, []string{"Puppet: unknown resource type prometheus_exporter_missing"},
			[]string{"deployment-restbase04"}, 59, 61},
		{"type-mismatch", "type_mismatch", compile, []string{"Puppet: type mismatch for parameter port of Class[Profile::Typed] (expects an Integer value, got String)"},
			[]string{"deployment-ms-fe04"}, 62, 64},
		{"missing-hiera", "missing_hiera", compile, []string{"Puppet: missing hiera key profile::foo::bar"},
			[]string{"deployment-jobrunner05"}, 65, 67},
		{"exec", "exec_failure", resource, []string{"Puppet: Exec[scap-sync-check] failed", "Puppet: Exec[reload-thing] failed"},
			[]string{"deployment-ms-be07"}, 66, 68},
		{"duplicate", "duplicate", compile, []string{"Puppet: duplicate declaration of File[$W/out/dup]"},
			[]string{"deployment-ms-be08"}, 67, 69},
		{"cycle", "cycle", compile, []string{"Puppet: dependency cycle File[$W/out/a] => Service[b]"},
			[]string{"deployment-mediawiki13"}, 68, 70},
		{"class-param", "class_param", compile, []string{"Puppet: Class[Profile::Needs_param] expects a value for parameter 'listen_port'"},
			[]string{"deployment-mediawiki14"}, 69, 71},
	}
}

type line struct {
	at    time.Time
	level string
	msg   string
}

func load(dir, name string) []line {
	f, err := os.Open(filepath.Join(dir, name+".log"))
	if err != nil {
		fail(err)
	}
	defer f.Close()
	var out []line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ts, rest, _ := strings.Cut(sc.Text(), " ")
		level, msg, _ := strings.Cut(rest, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
		out = append(out, line{at, level, msg})
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "timeline:", err)
	os.Exit(1)
}

// Truth is what happened, for the tests.
type Truth struct {
	Start  time.Time            `json:"start"`
	Faults []TruthFault         `json:"faults"`
	Runs   map[string][]RunSpan `json:"runs"`
}

type TruthFault struct {
	Label  string      `json:"label"`
	Titles []string    `json:"titles"`
	Stage  int         `json:"stage"`
	Hosts  []TruthHost `json:"hosts"`
}

// TruthHost: the failure was first shown by the run starting at From; the
// fault was gone before the run starting at GoneBy (zero: never), which is
// the first run to prove it, ending at ProvenAt.
type TruthHost struct {
	Host     string    `json:"host"`
	From     time.Time `json:"from"`
	GoneBy   time.Time `json:"gone_by"`
	ProvenAt time.Time `json:"proven_at"`
}

// RunSpan is one agent run (or disabled-agent log) of a host.
type RunSpan struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Ran   bool      `json:"ran"` // false: the agent is disabled and did not run
}

type run struct {
	start   time.Time
	shown   *fault // nil: clean (or disabled)
	stage   int    // stage the run got to: the shown fault's, or 5 when clean
	ran     bool
	fixture string
}

func main() {
	dir := flag.String("dir", "checks/testdata/puppet", "fixture directory (output goes there too)")
	flag.Parse()
	fs := faults()
	clean := load(*dir, "success")
	clean = clean[len(clean)-2:] // the second run: nothing to change
	fixtures := map[string][]line{"success": clean, "agent_disabled": load(*dir, "agent_disabled")}
	for _, f := range fs {
		if fixtures[f.fixture] == nil {
			fixtures[f.fixture] = load(*dir, f.fixture)
		}
	}

	// Titles naming managed files carry the fixtures' work directory,
	// which changes with every generate.sh run.
	work := regexp.MustCompile(`/tmp/sheriff-puppet-fixtures\.[A-Za-z0-9]+`).FindString(fixtures["file_source"][1].msg)
	for j := range fs {
		for k, title := range fs[j].titles {
			fs[j].titles[k] = strings.ReplaceAll(title, "$W", work)
		}
	}

	type doc struct {
		at  time.Time
		raw []byte
	}
	var docs []doc
	truth := Truth{Start: t0, Runs: map[string][]RunSpan{}}
	runsOf := map[string][]run{}
	for i, short := range hosts {
		fqdn := short + domain
		for k := 0; k < days*24; k++ {
			start := t0.Add(time.Duration(i)*2*time.Minute + time.Duration(k)*time.Hour)
			h := start.Sub(t0).Hours()
			if short == dead && h >= deadAt {
				break
			}
			r := run{start: start, stage: 5, ran: true, fixture: "success"}
			if short == disabled && h >= 24 && h < 40 {
				r.ran, r.fixture, r.stage = false, "agent_disabled", -1
			} else {
				for j := range fs {
					f := &fs[j]
					if h < f.from || h >= f.to || !slices.Contains(f.hosts, short) {
						continue
					}
					if r.shown == nil || f.stage < r.shown.stage || f.stage == r.shown.stage && f.from < r.shown.from {
						if r.shown != nil && f.stage == resource && r.shown.stage == resource {
							fail(fmt.Errorf("%s: two resource failures at once (%s, %s): one run shows both", short, f.label, r.shown.label))
						}
						r.shown, r.stage, r.fixture = f, f.stage, f.fixture
					}
				}
			}
			runsOf[short] = append(runsOf[short], r)
			lines := fixtures[r.fixture]
			for _, l := range lines {
				at := start.Add(l.at.Sub(lines[0].at))
				msg := l.msg
				for _, c := range recorded {
					msg = strings.ReplaceAll(msg, c, fqdn)
				}
				msg = strings.NewReplacer("127.0.0.1:18140", server+":8140", "127.0.0.1:19340", server+":8140",
					"CN=127.0.0.1", "CN="+server).Replace(msg)
				raw, err := json.Marshal(map[string]any{"@timestamp": at.Format("2006-01-02T15:04:05.000Z07:00"), "type": "syslog",
					"host": fqdn, "logsource": short, "program": "puppet-agent", "level": l.level, "message": msg})
				if err != nil {
					fail(err)
				}
				docs = append(docs, doc{at, raw})
			}
			end := start.Add(lines[len(lines)-1].at.Sub(lines[0].at))
			truth.Runs[fqdn] = append(truth.Runs[fqdn], RunSpan{Start: start, End: end, Ran: r.ran})
		}
	}
	// Truth per fault and host: shown from, gone by, proven at.
	for j := range fs {
		f := &fs[j]
		tf := TruthFault{Label: f.label, Titles: f.titles, Stage: f.stage}
		for _, short := range f.hosts {
			runs := runsOf[short]
			th := TruthHost{Host: short + domain}
			spans := truth.Runs[short+domain]
			for k, r := range runs {
				h := r.start.Sub(t0).Hours()
				if th.From.IsZero() {
					if r.shown == f {
						th.From = r.start
					}
					continue
				}
				if h < f.to || !r.ran {
					continue // still there (shown or masked)
				}
				proves := r.stage > f.stage
				if f.stage == post {
					// A report failure is logged after the run's end: the run
					// after a clean one shows there was none.
					proves = r.stage > f.stage && k > 0 && runs[k-1].stage > f.stage && runs[k-1].start.Sub(t0).Hours() >= f.to
				}
				if th.GoneBy.IsZero() && r.stage > f.stage {
					th.GoneBy = r.start
				}
				if proves {
					th.ProvenAt = spans[k].End
					break
				}
			}
			if !th.From.IsZero() {
				tf.Hosts = append(tf.Hosts, th)
			}
		}
		truth.Faults = append(truth.Faults, tf)
	}
	sort.SliceStable(docs, func(i, j int) bool { return docs[i].at.Before(docs[j].at) })
	out, err := os.Create(filepath.Join(*dir, "timeline.ndjson"))
	if err != nil {
		fail(err)
	}
	w := bufio.NewWriter(out)
	for _, d := range docs {
		w.Write(d.raw)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fail(err)
	}
	if err := out.Close(); err != nil {
		fail(err)
	}
	tj, err := json.MarshalIndent(truth, "", " ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "timeline_truth.json"), append(tj, '\n'), 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("timeline: %d events, %d hosts, %d failures over %d days\n", len(docs), len(hosts), len(fs), days)
}
