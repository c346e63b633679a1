// Command gen writes the miner's labelled evaluation corpus:
// one file per system, one record per line, "<label>\t<line>".
//
//	go run ./internal/miner/testdata/gen -out internal/miner/testdata/corpus
//
// The label is the event type that printed the line: the code site, with the
// words that select a different message (Accepted/Failed, opened/closed) part
// of it, and everything a caller passes in (users, hosts, ids, paths, numbers,
// error strings, lists, titles, descriptions) a parameter. Where the code
// formats a small enumeration as a parameter (mysql's "using password:
// YES/NO") it is labelled as one event, even though no parser can know.
//
// Lines are the message as logstash hands it to sheriff (the syslog or
// log4j header already split into fields), with the prefixes that really are
// part of the message kept: request contexts, [client ...] blocks, dmesg
// time stamps, puppet resource paths.
//
// The generator is deterministic (fixed seed); the files are committed.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

type randT = rand.Rand

type event struct {
	label  string
	weight int
	format string
}

type system struct {
	name   string
	lines  int
	events []event
}

func main() {
	out := flag.String("out", "internal/miner/testdata/corpus", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i, sys := range systems {
		r := rand.New(rand.NewPCG(uint64(i+1), 20240601))
		var b strings.Builder
		total := 0
		for _, e := range sys.events {
			total += e.weight
		}
		for range sys.lines {
			x := r.IntN(total)
			var e event
			for _, e = range sys.events {
				if x < e.weight {
					break
				}
				x -= e.weight
			}
			line := strings.ReplaceAll(expand(r, e.format), "\n", " ")
			fmt.Fprintf(&b, "%s\t%s\n", e.label, line)
		}
		path := filepath.Join(*out, sys.name+".tsv")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// expand replaces every {name} by a value of the generator of that name.
func expand(r *rand.Rand, f string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(f, '{')
		if i < 0 {
			b.WriteString(f)
			return b.String()
		}
		j := strings.IndexByte(f[i:], '}')
		if j < 0 {
			panic("unclosed { in " + f)
		}
		b.WriteString(f[:i])
		name := f[i+1 : i+j]
		g, ok := gens[name]
		if !ok {
			panic("no generator " + name + " in " + f)
		}
		b.WriteString(g(r))
		f = f[i+j+1:]
	}
}

func pick(xs ...string) func(*rand.Rand) string {
	return func(r *rand.Rand) string {
		x := xs[r.IntN(len(xs))]
		if strings.Contains(x, "{") && !strings.HasPrefix(x, "{") {
			return expand(r, x)
		}
		return x
	}
}

func intn(lo, hi int) func(*rand.Rand) string {
	return func(r *rand.Rand) string { return fmt.Sprint(lo + r.IntN(hi-lo+1)) }
}

func hexs(n int) func(*rand.Rand) string {
	return func(r *rand.Rand) string {
		const d = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = d[r.IntN(16)]
		}
		return string(b)
	}
}

func alnum(r *rand.Rand, n int) string {
	const d = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = d[r.IntN(len(d))]
	}
	return string(b)
}

// list joins 1..max values of g with sep: a variable-length parameter.
func list(g func(*rand.Rand) string, maxN int, sep string) func(*rand.Rand) string {
	return func(r *rand.Rand) string {
		n := 1 + r.IntN(maxN)
		xs := make([]string, n)
		for i := range xs {
			xs[i] = g(r)
		}
		return strings.Join(xs, sep)
	}
}

var (
	users = pick("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter", "admin", "oracle",
		"test", "guest", "ubuntu", "deploy", "jenkins", "postgres", "nagios", "git", "www", "backup")
	words = pick("cache", "purge", "session", "revision", "archive", "upload", "thumbnail", "parser",
		"search", "index", "queue", "worker", "render", "lookup", "update", "delete", "refresh", "import",
		"export", "sync", "check", "batch", "token", "login", "block", "page", "file", "user", "edit", "move")
	services = pick("nginx", "apache2", "php7.4-fpm", "envoyproxy", "mcrouter", "nutcracker", "memcached",
		"redis-server", "prometheus-node-exporter", "rsyslog", "ferm", "nscd", "puppet", "jobrunner",
		"jobchron", "mariadb", "elasticsearch", "kafka", "zookeeper", "etcd", "docker", "kubelet", "exim4",
		"postfix", "ntp", "cron", "ssh", "statsd", "varnish", "haproxy", "confd", "logstash")
	pkgs = pick("nginx-full", "php7.4-cli", "php7.4-mysql", "libapache2-mod-php", "python3-yaml", "git",
		"curl", "htop", "openjdk-11-jre-headless", "mariadb-client", "ruby-json", "jq", "rsync", "strace",
		"tcpdump", "lsof", "unzip", "ca-certificates", "libssl1.1", "prometheus-mysqld-exporter", "ferm",
		"conftool", "scap", "envoyproxy", "firejail", "imagemagick", "librsvg2-bin", "ploticus", "lilypond")
	classes = pick("profile::mediawiki::php", "profile::mediawiki::httpd", "role::beta::deployaccess",
		"profile::tlsproxy::envoy", "profile::mariadb::core", "profile::logstash::collector",
		"profile::kafka::broker", "profile::prometheus::node_exporter", "profile::base::firewall",
		"profile::mediawiki::jobrunner", "profile::memcached::instance", "profile::elasticsearch::cirrus",
		"profile::zookeeper::server", "profile::puppetmaster::backend", "mediawiki::packages",
		"role::deployment_server", "profile::cache::varnish::frontend", "profile::redis::multidc")
	wikis = pick("enwiki", "dewiki", "frwiki", "commonswiki", "wikidatawiki", "metawiki", "eswiki",
		"jawiki", "ruwiki", "zhwiki", "itwiki", "loginwiki", "testwiki", "mediawikiwiki", "enwiktionary")
	titleWords = pick("Main", "Page", "History", "of", "the", "United", "States", "Talk", "Albert",
		"Einstein", "List", "rivers", "in", "Europe", "Special:Search", "Template:Infobox", "Category:Living",
		"people", "Berlin", "Paris", "Wikipedia:Sandbox", "Project", "Portal", "music", "science", "war",
		"Village", "pump", "User:Example", "and", "film", "album", "river", "football", "club")
	unitDescs = pick("Daily apt upgrade and clean activities", "Rotate log files", "Cleanup of Temporary Directories",
		"Prometheus exporter for machine metrics", "MediaWiki job runner", "Puppet agent",
		"System Logging Service", "OpenBSD Secure Shell server", "Regular background program processing daemon",
		"Network Time Synchronization", "Discard unused blocks on filesystems from /etc/fstab",
		"Daily man-db regeneration", "Message of the Day", "Envoy proxy", "memcached daemon",
		"A high performance web server and a reverse proxy server", "Update the local ESM caches",
		"Session {n} of user {user}", "User Manager for UID {uid}", "Export puppet run metrics",
		"Periodic execution of scap pull", "Refresh fwupd metadata and update motd", "Docker Application Container Engine",
		"The PHP 7.4 FastCGI Process Manager", "Kubernetes Kubelet", "etcd key-value store")
	unitNames = pick("apt-daily-upgrade.service", "logrotate.service", "systemd-tmpfiles-clean.service",
		"prometheus-node-exporter.service", "jobrunner.service", "puppet-agent-timer.service",
		"rsyslog.service", "ssh.service", "cron.service", "systemd-timesyncd.service", "fstrim.service",
		"man-db.service", "motd-news.service", "envoyproxy.service", "memcached.service", "nginx.service",
		"session-{n}.scope", "user@{uid}.service", "export_puppet_run_metrics.service", "scap-pull.service",
		"docker.service", "php7.4-fpm.service", "kubelet.service", "etcd.service")
	errstrs = pick("Connection refused", "No route to host", "Connection timed out",
		"Name or service not known", "Connection reset by peer", "Broken pipe", "Permission denied",
		"No such file or directory", "Resource temporarily unavailable", "Network is unreachable")
	javaExc = pick("java.io.IOException", "java.net.SocketTimeoutException", "java.net.ConnectException",
		"java.io.EOFException", "org.apache.hadoop.ipc.RemoteException", "java.lang.InterruptedException",
		"java.nio.channels.ClosedChannelException")
	tables = pick("revision", "page", "text", "user", "logging", "recentchanges", "archive", "categorylinks",
		"pagelinks", "externallinks", "watchlist", "image", "slots", "content", "actor", "comment")
	namespaces = pick("mw-api-ext", "mw-web", "mw-jobrunner", "eventgate-main", "citoid", "mobileapps",
		"kube-system", "cert-manager", "changeprop", "sessionstore", "shellbox", "termbox")
)

var gens map[string]func(*rand.Rand) string

func init() {
	gens = map[string]func(*rand.Rand) string{
		"lb":       func(*rand.Rand) string { return "{" },
		"user":     users,
		"word":     words,
		"svc":      services,
		"pkg":      pkgs,
		"pkgs":     list(pkgs, 6, " "),
		"pkgsc":    list(pkgs, 5, ", "),
		"class":    classes,
		"wiki":     wikis,
		"title":    list(titleWords, 5, " "),
		"unitdesc": func(r *rand.Rand) string { return expand(r, unitDescs(r)) },
		"unit":     func(r *rand.Rand) string { return expand(r, unitNames(r)) },
		"err":      errstrs,
		"jexc":     javaExc,
		"table":    tables,
		"ns":       namespaces,
		"n":        intn(0, 999),
		"small":    intn(1, 9),
		"big":      intn(10000, 99999999),
		"pid":      intn(300, 4194303),
		"uid":      intn(1000, 60000),
		"port":     intn(1024, 65535),
		"code":     pick("200", "301", "302", "304", "404", "500", "502", "503"),
		"status":   intn(1, 255),
		"sec":      func(r *rand.Rand) string { return fmt.Sprintf("%.2f", r.Float64()*120) },
		"ms":       func(r *rand.Rand) string { return fmt.Sprintf("%dms", r.IntN(30000)) },
		"dur": func(r *rand.Rand) string {
			return pick(fmt.Sprintf("%dms", r.IntN(999)), fmt.Sprintf("%.3fs", r.Float64()*60),
				fmt.Sprintf("%dm%ds", r.IntN(59), r.IntN(59)))(r)
		},
		"ip": func(r *rand.Rand) string { return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254)) },
		"pubip": func(r *rand.Rand) string {
			return fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		},
		"ip6": func(r *rand.Rand) string { return fmt.Sprintf("2620:0:861:%x::%x", r.IntN(0xffff), r.IntN(0xffff)) },
		"host": func(r *rand.Rand) string {
			return fmt.Sprintf("%s%d.%s.wmnet", pick("mw", "db", "an-worker", "kafka-main", "ms-be", "cp", "elastic", "mc")(r), 1000+r.IntN(1500), pick("eqiad", "codfw", "esams")(r))
		},
		"vmhost": func(r *rand.Rand) string {
			return fmt.Sprintf("deployment-%s%02d.deployment-prep.eqiad1.wikimedia.cloud", pick("mediawiki", "db", "memc", "cache-text", "deploy", "jobrunner", "puppetmaster")(r), 1+r.IntN(14))
		},
		"shost": func(r *rand.Rand) string {
			return fmt.Sprintf("%s-%s%02d", pick("deployment", "integration", "beta")(r), pick("mediawiki", "db", "memc", "cache", "docker")(r), 1+r.IntN(14))
		},
		"fqdn": pick("en.wikipedia.org", "commons.wikimedia.org", "www.wikidata.org", "meta.wikimedia.org", "upload.wikimedia.org", "phabricator.wikimedia.org", "gerrit.wikimedia.org", "apt.wikimedia.org", "deb.debian.org", "security.debian.org"),
		"path": func(r *rand.Rand) string {
			return "/" + strings.Join([]string{pick("srv", "var", "etc", "usr")(r), pick("mediawiki", "lib", "log", "local", "deployment")(r), pick("php-1.43.0-wmf.9", "puppet", "nginx", "cache", "wmf-config", "bin")(r), pick("index.php", "LocalSettings.php", "config.yaml", "data", "InitialiseSettings.php", "run.sh", "main.cf")(r)}, "/")
		},
		"ppfile": func(r *rand.Rand) string {
			return fmt.Sprintf("/srv/puppet_code/environments/production/modules/%s/manifests/%s.pp", pick("profile", "role", "mediawiki", "base", "nginx", "mariadb")(r), pick("init", "php", "httpd", "server", "config", "instance", "packages")(r))
		},
		"url": func(r *rand.Rand) string {
			return fmt.Sprintf("/w/%s?title=%s&action=%s", pick("index.php", "api.php", "load.php")(r), pick("Main_Page", "Special:Search", "Berlin", "Talk:Paris")(r), pick("raw", "edit", "history", "info")(r))
		},
		"uuid": func(r *rand.Rand) string {
			return fmt.Sprintf("%s-%s-%s-%s-%s", hexs(8)(r), hexs(4)(r), hexs(4)(r), hexs(4)(r), hexs(12)(r))
		},
		"hex8":  hexs(8),
		"hex16": hexs(16),
		"hex40": hexs(40),
		"reqid": func(r *rand.Rand) string { return "req-" + gens["uuid"](r) },
		"blk":   func(r *rand.Rand) string { return fmt.Sprintf("blk_%d", r.Int64N(1<<62)-(1<<61)) },
		"app": func(r *rand.Rand) string {
			return fmt.Sprintf("application_%d_%04d", 1445144423722+r.IntN(99999), r.IntN(9999))
		},
		"attempt": func(r *rand.Rand) string {
			return fmt.Sprintf("attempt_%d_%04d_m_%06d_%d", 1445144423722+r.IntN(99999), r.IntN(9999), r.IntN(999999), r.IntN(4))
		},
		"container": func(r *rand.Rand) string {
			return fmt.Sprintf("container_%d_%04d_01_%06d", 1445144423722+r.IntN(99999), r.IntN(9999), r.IntN(999999))
		},
		"pod":     func(r *rand.Rand) string { return fmt.Sprintf("%s-%s-%s", namespaces(r), hexs(9)(r), alnum(r, 5)) },
		"node":    func(r *rand.Rand) string { return fmt.Sprintf("kubernetes%d.eqiad.wmnet", 1001+r.IntN(60)) },
		"tid":     func(r *rand.Rand) string { return fmt.Sprintf("%d.%d", r.IntN(200), r.IntN(4)) },
		"stage":   intn(0, 300),
		"mem":     func(r *rand.Rand) string { return fmt.Sprintf("%.1f %s", r.Float64()*900, pick("KB", "MB", "GB")(r)) },
		"yesno":   pick("YES", "NO"),
		"zxid":    func(r *rand.Rand) string { return fmt.Sprintf("0x%x", r.Int64N(1<<40)) },
		"session": func(r *rand.Rand) string { return fmt.Sprintf("0x%x", r.Int64N(1<<60)) },
		"cgroup":  func(r *rand.Rand) string { return fmt.Sprintf("/system.slice/%s", expand(r, unitNames(r))) },
		"dev":     pick("sda", "sdb", "nvme0n1", "vda", "md0"),
		"part":    pick("sda1", "sdb2", "nvme0n1p1", "vda1", "md0"),
		"iface":   pick("eth0", "ens3", "eno1", "lo", "docker0", "cali1a2b3c4d5e6"),
		"mac": func(r *rand.Rand) string {
			return fmt.Sprintf("%s:%s:%s:%s:%s:%s", hexs(2)(r), hexs(2)(r), hexs(2)(r), hexs(2)(r), hexs(2)(r), hexs(2)(r))
		},
		"sql": func(r *rand.Rand) string {
			return pick("SELECT page_id,page_len FROM `page` WHERE page_namespace = 0 AND page_title = 'Berlin' LIMIT 1",
				"UPDATE `user` SET user_touched = '20240601120000' WHERE user_id = 42",
				"INSERT INTO `recentchanges` (rc_timestamp,rc_actor) VALUES ('20240601','12')",
				"DELETE FROM `objectcache` WHERE exptime < '20240601000000'")(r)
		},
		"phpfn": pick("Wikimedia\\Rdbms\\Database::query", "MediaWiki\\Revision\\RevisionStore::loadSlotContent", "WANObjectCache::fetchOrRegenerate", "Parser::braceSubstitution", "ApiMain::execute", "JobRunner::run", "LocalFile::load", "MessageCache::load"),
		"phpfile": func(r *rand.Rand) string {
			return fmt.Sprintf("/srv/mediawiki/php-1.43.0-wmf.%d/includes/%s.php", 1+r.IntN(20), pick("Setup", "Title", "parser/Parser", "user/User", "libs/rdbms/database/Database", "api/ApiMain", "WikiPage", "Linker")(r))
		},
		"phpvar":  pick("$title", "$user", "$row", "$options", "$revision", "$content", "$wgFoo", "$params", "$context", "$text"),
		"phpidx":  pick("title", "user_id", "rev_id", "page", "timestamp", "0", "1", "actor", "namespace", "comment", "wiki"),
		"method":  pick("GET", "POST", "HEAD", "PUT"),
		"ua":      pick("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0", "curl/7.88.1", "python-requests/2.31.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "Wget/1.21.3"),
		"state":   pick("stopped", "running"),
		"kver":    pick("5.10.0-28-amd64", "6.1.0-18-amd64", "6.1.0-21-cloud-amd64"),
		"cpu":     intn(0, 31),
		"sig":     pick("SIGTERM", "SIGKILL", "SIGHUP", "SIGSEGV"),
		"cmdargs": list(pick("--force", "-q", "-y", "--no-cache", "--verbose", "-n", "--dry-run", "--all"), 3, " "),
		"hosts":   list(func(r *rand.Rand) string { return gens["host"](r) }, 4, ", "),
		"brokers": list(func(r *rand.Rand) string { return fmt.Sprint(1000 + r.IntN(30)) }, 5, ","),
		"mwext":   pick("CirrusSearch", "Echo", "Flow", "Wikibase", "AbuseFilter", "Scribunto", "VisualEditor", "GlobalBlocking", "CentralAuth", "Translate"),
		"hook":    pick("PageSaveComplete", "BeforePageDisplay", "ParserFirstCallInit", "UserLoginComplete", "ArticleDeleteComplete", "LoadExtensionSchemaUpdates"),
		"group":   pick("sysop", "bureaucrat", "interface-admin", "bot", "autoconfirmed", "rollbacker"),
		"image": func(r *rand.Rand) string {
			return fmt.Sprintf("docker-registry.wikimedia.org/%s:%d-%s", pick("mediawiki-multiversion", "envoy", "citoid", "restrouter")(r), 2024+r.IntN(2), hexs(6)(r))
		},
		"reason": pick("Completed", "Error", "OOMKilled", "ContainerCannotRun"),
	}
}
