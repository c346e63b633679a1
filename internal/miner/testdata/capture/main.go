// Command capture labels the raw logs that scripts/minercapture/capture.sh
// collected from real programs and writes the corpora of
// internal/miner/testdata/real as <name>.tsv.gz.
//
// A line is labelled by the program's own format strings, not by the miner:
// the strings are read from the program's binaries, modules, message files
// or sources as installed, each printf/ruby/nginx-variable directive becomes
// a wildcard, and the line takes the format that matches it whole with the
// most literal text. Text that the program's logging machinery adds around a
// message (nginx's ", client: ..." context and errno, postgres' DETAIL:
// prefixes, puppet's resource paths) is peeled off first and named in the
// label. Lines no format explains are left out and listed, with a count, in
// <work>/unlabelled-<name>.txt: they are reported, not guessed.
//
//	go run ./internal/miner/testdata/capture -raw /tmp/issue-15/capture/raw -out internal/miner/testdata/real
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// peel is text the logging machinery adds at one end of a message: it is
// cut off and its tag (with $1... expanded) joins the label.
type peel struct {
	re  *regexp.Regexp
	tag string
}

type source struct {
	name   string
	raw    []string       // raw files under -raw
	header *regexp.Regexp // the line prefix a log collector parses off
	peels  []peel
	bins   []string // files whose printable strings are format strings (globs)
	rubies []string // directories of ruby sources whose literals are format strings
	confs  []string // files whose quoted strings are format strings (log formats)
	dollar bool     // $variables are directives (nginx log_format)
	// maxPerLabel keeps at most this many lines of one label (0: all), for
	// a program that repeats one line hundreds of times per run.
	maxPerLabel int
}

func p(re, tag string) peel { return peel{regexp.MustCompile(re), tag} }

func sources() []source {
	nginxPeels := []peel{
		p(`, client: .*$`, "+client"),
		p(` while ([a-z ]+)$`, "+while $1"),
		p(` \((\d+): [^)]*\)$`, "+errno $1"),
		p(` in /\S+:\d+$`, "+in file"),
	}
	return []source{
		{name: "nginx", raw: []string{"nginx-error.log", "nginx-access.log"},
			header: regexp.MustCompile(`^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#\d+: (?:\*\d+ )?|nginx: (?:\[\w+\] )?)`),
			peels:  nginxPeels, bins: []string{"/usr/sbin/nginx"}, dollar: true},
		{name: "redis", raw: []string{"redis.log"},
			header: regexp.MustCompile(`^\d+:(?:[XCSM] \d\d \w{3} \d{4} [\d:.]+ [.\-*#] |signal-handler \(\d+\) )`),
			peels:  []peel{p(`^WARNING:? `, "+WARNING")},
			bins:   []string{"/usr/bin/redis-server"}},
		{name: "memcached", raw: []string{"memcached.log"}, bins: []string{"/usr/bin/memcached"},
			// the -vv trace: fprintf(stderr, ">%d %s"...) with the reply or
			// command word
			peels: []peel{p(`^>\d+ (\S+).*$`, "+reply $1"), p(`^<\d+ (\S+).*$`, "+command $1")}},
		{name: "postgresql", raw: []string{"postgresql.log"},
			header: regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] (?:\S+@\S+ )?(?:(?:LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO):  )?`),
			peels:  []peel{p(`^STATEMENT:  .*$`, "+STATEMENT"), p(`^(DETAIL|HINT|CONTEXT):  `, "+$1"), p(` at character \d+$`, "+at character")},
			bins:   []string{"/usr/lib/postgresql/15/bin/postgres", "/usr/lib/postgresql/15/bin/pg_ctl"}},
		{name: "mariadb", raw: []string{"mariadb.log"},
			header: regexp.MustCompile(`^\d{4}-\d\d-\d\d\s+\d+:\d\d:\d\d \d+ \[\w+\] (?:mariadbd: )?`),
			bins:   []string{"/usr/sbin/mariadbd", "/usr/share/mysql/english/errmsg.sys"}},
		{name: "sshd", raw: []string{"sshd.log"}, bins: []string{"/usr/sbin/sshd"},
			// sshd's logger puts the function's name before some messages
			peels: []peel{p(`^([a-z_ ]+): `, "+in $1")}},
		{name: "ngircd", raw: []string{"ngircd.log"}, header: regexp.MustCompile(`^\[\d+:\d+\s+\d+\] `), bins: []string{"/usr/sbin/ngircd"}},
		{name: "apache2", raw: []string{"apache2-error.log", "apache2-access.log"},
			header: regexp.MustCompile(`^\[[^\]]+\] \[[\w:]+\] \[pid \d+(?::tid \d+)?\] `),
			peels: []peel{p(`^\((\d+)\)[^:]*: `, "+errno $1"), p(`^\[client [^\]]+\] `, "+client"), p(`, referer: \S*$`, "+referer"),
				p(`^apache2: Syntax error on line \d+ of [^:]+: `, "+syntax error")},
			bins: []string{"/usr/sbin/apache2", "/usr/lib/apache2/modules/*.so"}, confs: []string{"/etc/apache2/apache2.conf"}},
		{name: "puppet", raw: []string{"puppet.log"},
			header: regexp.MustCompile(`^(?:Notice|Info|Warning|Error|Debug): `),
			peels: []peel{p(`^/Stage\[\w+\]/.*\]/(\w+): `, "+resource/$1"), p(`^/Stage\[\w+\]/.*\]: `, "+resource"),
				p(`^Facter: (.*) @ (\w+) - .*$`, "+Facter: $1 @ $2"),
				p(`^Evaluation Error: `, "+Evaluation Error"), p(`^Could not parse for environment \w+: `, "+parse error"),
				p(` \((?:file|line|column|file: \S+|line: \d+|column: \d+|[a-z]+: [^)]*)(?:, [a-z]+: [^)]*)*\)$`, "+position"),
				p(` on node \S+$`, "+on node")},
			// Facter prints one "Permission denied @ rb_sysopen -
			// /proc/N/environ" per process on every run here.
			rubies: []string{"/usr/lib/ruby/vendor_ruby/puppet", "/usr/lib/ruby/vendor_ruby/facter"}, maxPerLabel: 60},
		{name: "rsyslog", raw: []string{"rsyslog.log"},
			header: regexp.MustCompile(`^(?:\S+ \S+ rsyslogd: |rsyslogd: )`),
			peels:  []peel{p(` \[v[\d.]+ try https?://www\.rsyslog\.com/e/(-?\d+) \]$`, "+e/$1"), p(` \[v[\d.]+\]$`, "+version")},
			bins:   []string{"/usr/sbin/rsyslogd", "/usr/lib/x86_64-linux-gnu/rsyslog/*.so"}},
	}
}

func main() {
	raw := flag.String("raw", "/tmp/issue-15/capture/raw", "directory of raw logs")
	out := flag.String("out", "internal/miner/testdata/real", "output directory")
	only := flag.String("only", "", "comma-separated corpus names (default all)")
	show := flag.String("formats", "", "print the patterns of the formats holding this text, and exit")
	flag.Parse()
	if *show != "" {
		for _, s := range sources() {
			if *only != "" && !strings.Contains(","+*only+",", ","+s.name+",") {
				continue
			}
			fs, err := loadFormats(s)
			if err != nil {
				slog.Error("capture", "corpus", s.name, "err", err)
				os.Exit(1)
			}
			for _, f := range fs.all {
				if strings.Contains(f.text, *show) {
					fmt.Printf("%s\t%q\t%s\n", s.name, f.text, f.pattern)
				}
			}
		}
		return
	}
	for _, s := range sources() {
		if *only != "" && !strings.Contains(","+*only+",", ","+s.name+",") {
			continue
		}
		if err := run(s, *raw, *out); err != nil {
			slog.Error("capture", "corpus", s.name, "err", err)
			os.Exit(1)
		}
	}
}

func run(s source, rawDir, outDir string) error {
	var lines []string
	for _, f := range s.raw {
		b, err := os.ReadFile(filepath.Join(rawDir, f))
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, strings.TrimRight(l, "\r"))
			}
		}
	}
	fs, err := loadFormats(s)
	if err != nil {
		return err
	}
	var recs []string
	var unl []string
	perLabel := map[string]int{}
	for _, l := range lines {
		msg := l
		if s.header != nil {
			msg = s.header.ReplaceAllString(msg, "")
		}
		msg = strings.TrimSpace(msg)
		if msg == "" || strings.ContainsRune(msg, '\t') && strings.TrimLeft(msg, "\t") == "" {
			continue
		}
		label, ok := fs.label(s, msg)
		if !ok && msg != strings.TrimSpace(l) {
			// Some programs print their own prefix as part of the format
			// ("rsyslogd: run failed with error %d ...").
			label, ok = fs.label(source{}, strings.TrimSpace(l))
		}
		if !ok {
			unl = append(unl, msg)
			continue
		}
		if perLabel[label]++; s.maxPerLabel > 0 && perLabel[label] > s.maxPerLabel {
			continue
		}
		recs = append(recs, label+"\t"+strings.ReplaceAll(msg, "\t", " "))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for _, r := range recs {
		fmt.Fprintln(zw, r)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, s.name+".tsv.gz"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	unlPath := filepath.Join(filepath.Dir(rawDir), "unlabelled-"+s.name+".txt")
	if err := os.WriteFile(unlPath, []byte(strings.Join(unl, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	labels := map[string]bool{}
	for _, r := range recs {
		labels[r[:strings.IndexByte(r, '\t')]] = true
	}
	fmt.Printf("%-10s %5d lines  %4d labelled events  %4d unlabelled (%s)\n", s.name, len(recs), len(labels), len(unl), unlPath)
	return nil
}

// format is one format string of a program, as a whole-message pattern.
type format struct {
	text    string
	lit     int    // literal bytes
	longest string // longest literal chunk, for a cheap prefilter
	re      *regexp.Regexp
	pattern string
	// logFormat: an access log format, all fields and punctuation; it
	// needs no words of its own.
	logFormat bool
}

type formats struct{ all []*format }

var (
	printfRe = regexp.MustCompile(`%(?:[-+ #0'>]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:ui|uA|uz|uD|xd|Xd|[hlLqjzZt]{0,2}[a-zA-Z])|\{[\w-]*\}[a-zA-Z]?|<\w+>[a-z])`)
	rubyRe   = regexp.MustCompile(`#\{[^}]*\}|%\{\w+\}|%<\w+>[a-z]|%[-+ 0#]*\d*(?:\.\d+)?[sdifgxp]`)
	dollarRe = regexp.MustCompile(`\$[a-z_]+`)
	litRe    = regexp.MustCompile(`"((?:[^"\\\n]|\\.){6,})"|'((?:[^'\\\n]|\\.){6,})'`)
)

func loadFormats(s source) (*formats, error) {
	seen := map[string]bool{}
	logFormats := map[string]bool{} // access log formats: one field per directive
	var texts []string
	add := func(t string) {
		t = strings.TrimSpace(t)
		if len(t) >= 5 && !seen[t] {
			seen[t] = true
			texts = append(texts, t)
		}
	}
	for _, g := range s.bins {
		paths, _ := filepath.Glob(g)
		if len(paths) == 0 {
			return nil, fmt.Errorf("no file for %s", g)
		}
		for _, path := range paths {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			for _, t := range printable(b) {
				add(t)
				// A string may follow unrelated bytes that happen to be
				// printable ("coOhAFork CoW for %s"): try it from a capital.
				for i := 1; i < min(8, len(t)); i++ {
					if isUpper(t[i]) && t[i-1] != ' ' {
						add(t[i:])
					}
				}
			}
		}
	}
	for _, c := range s.confs {
		b, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*LogFormat\s+"((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(b), -1) {
			t := strings.ReplaceAll(m[1], `\"`, `"`)
			add(t)
			logFormats[t] = true
		}
	}
	for _, dir := range s.rubies {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rb") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range litRe.FindAllStringSubmatch(string(b), -1) {
				t := m[1] + m[2]
				t = strings.NewReplacer(`\"`, `"`, `\'`, `'`, `\n`, ``, `\\`, `\`).Replace(t)
				add(t)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("no format strings found")
	}
	fs := &formats{}
	for _, t := range texts {
		f := compile(t, s, logFormats[t] || s.dollar && strings.Contains(t, "$"))
		if f != nil {
			fs.all = append(fs.all, f)
		}
	}
	return fs, nil
}

// printable returns the runs of printable ASCII of at least 5 bytes that
// hold a letter, as strings(1) would.
func printable(b []byte) []string {
	var out []string
	start := -1
	for i := 0; i <= len(b); i++ {
		if i < len(b) && (b[i] >= 0x20 && b[i] < 0x7f || b[i] == '\t') {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 5 {
			out = append(out, string(b[start:i]))
		}
		start = -1
	}
	return out
}

// compile turns a format into a whole-line pattern. In an access log format
// (logFormat) a field holds no blank unless it is quoted or bracketed.
func compile(text string, s source, logFormat bool) *format {
	dir := printfRe
	if s.rubies != nil {
		dir = rubyRe
		// "%%{seconds}" survives one formatting pass as "%{seconds}"
		// and is filled by the next.
		text = strings.ReplaceAll(text, "%%{", "%{")
	}
	locs := dir.FindAllStringIndex(text, -1)
	if s.dollar {
		locs = append(locs, dollarRe.FindAllStringIndex(text, -1)...)
		sort.Slice(locs, func(i, j int) bool { return locs[i][0] < locs[j][0] })
	}
	var pat strings.Builder
	pat.WriteString("^")
	lit, letters := 0, 0
	longest := ""
	prev := 0
	emit := func(l string) {
		l = strings.ReplaceAll(l, "%%", "%")
		lit += len(l)
		for _, c := range l {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				letters++
			}
		}
		if len(l) > len(longest) {
			longest = l
		}
		// Blanks may be padded or folded by the logger.
		for i, part := range strings.Fields(" " + l + " ") {
			if i > 0 {
				pat.WriteString(`\s+`)
			}
			pat.WriteString(regexp.QuoteMeta(part))
		}
	}
	for _, lc := range locs {
		if lc[0] < prev {
			continue
		}
		emit(text[prev:lc[0]])
		if strings.HasSuffix(text[prev:lc[0]], " ") {
			pat.WriteString(`\s*`)
		}
		switch {
		case !logFormat:
			pat.WriteString(`(.*?)`)
		case lc[0] > 0 && text[lc[0]-1] == '"':
			pat.WriteString(`([^"]*?)`)
		case lc[0] > 0 && text[lc[0]-1] == '[':
			pat.WriteString(`([^\]]*?)`)
		case text[lc[0]:lc[1]] == "%t":
			pat.WriteString(`(\[[^\]]*\])`)
		default:
			pat.WriteString(`(\S*?)`)
		}
		if lc[1] < len(text) && text[lc[1]] == ' ' {
			pat.WriteString(`\s*`)
		}
		prev = lc[1]
	}
	emit(text[prev:])
	pat.WriteString("$")
	// A log format (nginx $variables, apache %h...) is all directives and
	// punctuation; any other format needs words of its own.
	if !(logFormat && len(locs) >= 4) && (letters < 4 || len(strings.TrimSpace(longest)) < 4) {
		return nil
	}
	return &format{text: text, lit: lit, longest: strings.TrimSpace(longest), pattern: pat.String(), logFormat: logFormat}
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// label finds the best format for msg: first for the message whole, then
// for its core once s's envelope is peeled off.
func (fs *formats) label(s source, msg string) (string, bool) {
	if l, ok := fs.match(msg); ok {
		return l, true
	}
	core := msg
	var tags []string
	for _, pl := range s.peels {
		m := pl.re.FindStringSubmatchIndex(core)
		if m == nil {
			continue
		}
		tags = append(tags, string(pl.re.ExpandString(nil, pl.tag, core, m)))
		core = strings.TrimSpace(core[:m[0]] + core[m[1]:])
	}
	if len(tags) == 0 {
		return "", false
	}
	if core == "" {
		return strings.Join(tags, " "), true
	}
	l, ok := fs.match(core)
	return l + " " + strings.Join(tags, " "), ok
}

// match returns the format that matches text whole with the most literal
// text, if its literal text covers enough of the line.
func (fs *formats) match(core string) (string, bool) {
	var best *format
	for _, f := range fs.all {
		if f.lit > len(core) || !strings.Contains(core, f.longest) {
			continue
		}
		if best != nil && f.lit <= best.lit {
			continue
		}
		if f.re == nil {
			re, err := regexp.Compile(f.pattern)
			if err != nil {
				continue
			}
			f.re = re
		}
		if f.re.MatchString(core) {
			best = f
		}
	}
	if best == nil || !best.logFormat && best.lit*100 < len(core)*25 && best.lit < 16 {
		return "", false
	}
	return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(best.text), true
}
