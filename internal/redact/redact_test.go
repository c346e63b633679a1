package redact

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp/syntax"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

type plantedCase struct {
	name    string
	line    int
	text    string
	planted []string
}

// readPlanted parses testdata/planted.txt (format described in the file).
func readPlanted(t *testing.T) []plantedCase {
	t.Helper()
	f, err := os.Open("testdata/planted.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []plantedCase
	var cur *plantedCase
	inPlanted := false
	var text []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "@@ "):
			cases = append(cases, plantedCase{name: line[3:], line: n})
			cur, inPlanted, text = &cases[len(cases)-1], false, nil
		case cur == nil:
			// header comments
		case line == "-- planted":
			cur.text, inPlanted = strings.Join(text, "\n"), true
		case inPlanted:
			if line != "" {
				cur.planted = append(cur.planted, line)
			}
		default:
			text = append(text, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.text == "" || len(c.planted) == 0 {
			t.Fatalf("planted.txt:%d: case %q has no text or no planted values", c.line, c.name)
		}
		for _, v := range c.planted {
			if !strings.Contains(c.text, v) {
				t.Fatalf("planted.txt:%d: case %q: planted value %q is not in its text", c.line, c.name, v)
			}
		}
	}
	return cases
}

// forms are the ways a planted value could still show.
func forms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	if len(v) >= 16 { // a long secret must not survive in part either
		for i := 0; i+12 <= len(v); i++ {
			out = append(out, v[i:i+12])
		}
	}
	return out
}

func corpusRedactor(t testing.TB) *Redactor {
	r, err := New(Config{
		Fields:   []string{"Jane Doe", "Ximena Q. Example"},
		Patterns: []string{`(?i)phone:\s*(\+?[0-9][0-9 ()-]{7,}[0-9])`, `\bINC-[0-9]{4,}\b`},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPlantedSecrets(t *testing.T) {
	r := corpusRedactor(t)
	cases := readPlanted(t)
	total := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.String(c.text)
			for _, v := range c.planted {
				total++
				for _, f := range forms(v) {
					if strings.Contains(got, f) {
						t.Errorf("planted.txt:%d: %q survived (as %q) in:\n%s", c.line, v, f, got)
						break
					}
				}
			}
			if !strings.Contains(got, "[") {
				t.Errorf("nothing was labelled in:\n%s", got)
			}
			// Redacting twice changes nothing more (logs may be redacted again).
			if again := r.String(got); again != got {
				t.Errorf("not idempotent:\n%s\n%s", got, again)
			}
		})
	}
	t.Logf("%d cases, %d planted values", len(cases), total)
}

func TestRedactReadable(t *testing.T) {
	r := corpusRedactor(t)
	tests := []struct{ in, want string }{
		{"from 10.64.16.77:3306 and ::1", "from [IP]:3306 and ::1"}, // loopback names no one
		{"listening on 127.0.0.1:8080, 0.0.0.0:9090 and [::1]:80", "listening on 127.0.0.1:8080, 0.0.0.0:9090 and [::1]:80"},
		{"fe80::1%eth0 down", "[IP] down"},
		{"mail jane.doe@example.org now", "mail [EMAIL] now"},
		{"/w/api.php?action=edit&token=abc123%2B%5C&title=Foo", "/w/api.php?action=edit&token=[REDACTED]&title=Foo"},
		{"Authorization: Bearer abc.DEF-123_xyz", "Authorization: Bearer [REDACTED]"},
		{"Cookie: a=b; enwikiSession=xyz", "Cookie: [REDACTED]"},
		{`{"password":"p","page":"Main"}`, `{"password":"[REDACTED]","page":"Main"}`},
		{"password: hunter2 was wrong", "password: [REDACTED] was wrong"},
		{"'wgDBpassword' => 'x',", "'wgDBpassword' => '[REDACTED]',"},
		{"https://user:pass@gerrit.example.org/r/x", "https://[REDACTED]@gerrit.example.org/r/x"},
		{"Special:Contributions/Jane_Doe by Jane Doe", "Special:Contributions/[REDACTED] by [REDACTED]"},
		{"phone: 555-123-4567 ok", "phone: [REDACTED] ok"},
		{"ip:10.0.0.1 and [2001:db8::1]:443", "ip:[IP] and [[IP]]:443"},
		{`{"user":"Foo","ip":"::ffff:10.1.2.3"}`, `{"user":"[REDACTED]","ip":"[IP]"}`},
		{"SessionManager: bad id; session: abc", "SessionManager: bad id; session: [REDACTED]"},
		{"template /w/api.php?action={val}&token={val}", "template /w/api.php?action={val}&token={val}"},
		{"uuid 123e4567-e89b-12d3-a456-426614174000 sessionid=123e4567-e89b-12d3-a456-426614174000",
			"uuid 123e4567-e89b-12d3-a456-426614174000 sessionid=[REDACTED]"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestOrdinaryTextSurvives guards readability: what sheriff writes into tasks
// must not be destroyed by over-eager rules.
func TestOrdinaryTextSurvives(t *testing.T) {
	r := corpusRedactor(t)
	for _, s := range []string{
		`Wikimedia\Rdbms\DBQueryError: Error 1205: Lock wait timeout exceeded; try restarting transaction`,
		"#0 /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php(2006): ApiMain->executeAction()",
		"#1 /srv/mediawiki/php-1.47.0-wmf.17/includes/libs/rdbms/database/Database.php(1258): Wikimedia\\Rdbms\\Database->getQueryException()",
		"MediaWiki\\Title\\Title::newFromID(): Argument #1 ($id) must be of type int, string given",
		"in /srv/mediawiki/php-1.47.0-wmf.16/includes/Foo.php:102 and ApiMain.php:123",
		"ApiMain::execute Face::add dead::beef Cache::get std::vector Foo::bar2",
		"versions 1.47.0-wmf.16 and 1.47.0-wmf.17, PHP 8.3.14, MariaDB 10.6.18",
		"2026-11-21T06:00:32.970Z 2026-11-21 06:00:32 12:34:56 +00:00",
		"signature 80622e366070988d task T12345 PHID-TASK-abcdefghijklmnopqrst",
		"reqId vOhCTFDhTC3FgFY62nsmUdnX uuid 123e4567-e89b-12d3-a456-426614174000",
		"https://en.wikipedia.beta.wmcloud.org/w/index.php?title=Special:Search&action=view",
		"https://logstash-beta.wmcloud.org/app/dashboards#/view/mediawiki-errors?_g=(time:(from:now-1h))",
		"deployment-mediawiki11 deployment-db13 mw1385.eqiad.wmnet db1171",
		"Allowed memory size of 734003200 bytes exhausted (tried to allocate 20480 bytes)",
		"Bearer token missing; Basic information; the key is valid; user: unknown",
		"includes/libs/rdbms/loadbalancer/LoadBalancer.php extensions/Wikibase/repo/includes/Api/EditEntity.php",
		"ÜberKlasse->größe() für „Straße“ – ok 🙂",
		"a == b, x != y, i <= 3",
		"",
	} {
		if got := r.String(s); got != s {
			t.Errorf("ordinary text changed:\n got %q\nwant %q", got, s)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct {
		patterns []string
		want     string
	}{
		{[]string{`ok`, `(`}, "patterns[1]"},
		{[]string{``}, "patterns[0]: empty"},
		{[]string{`a`, `b`, `x*`}, "patterns[2]"},
	} {
		_, err := New(Config{Patterns: tt.patterns})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q) = %v, want an error naming %q", tt.patterns, err, tt.want)
		}
	}
	var syn *syntax.Error
	if _, err := New(Config{Patterns: []string{`[`}}); !errors.As(err, &syn) {
		t.Errorf("the regexp error is not wrapped: %v", err)
	}
}

func TestFields(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.String("User:Bob edited"); got != "User:Bob edited" {
		t.Fatalf("nothing configured, got %q", got)
	}
	r.AddFields("bob", "x", "")
	tests := []struct{ in, want string }{
		{"User:Bob edited", "User:[REDACTED] edited"},
		{"bob and Bobcat and bobby", "[REDACTED] and Bobcat and bobby"},
		{"a x b", "a x b"}, // too short to redact
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	r := corpusRedactor(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if g == 0 {
					r.AddFields(fmt.Sprintf("User%d", i))
				}
				if got := r.String("ip 10.0.0.1 token=abc"); got != "ip [IP] token=[REDACTED]" {
					t.Errorf("got %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := r.String("by User150"); got != "by [REDACTED]" {
		t.Errorf("added field not redacted: %q", got)
	}
}

func TestLargeInputLinear(t *testing.T) {
	r := corpusRedactor(t)
	// pathological shapes for the look-back and run detectors
	for _, unit := range []string{"a-", "a.a@", "1:", "token=", "::", "'", "eyJ", "a%40"} {
		s := strings.Repeat(unit, (256<<10)/len(unit))
		r.String(s) // must finish quickly; a quadratic scan would take minutes
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("token=abc 10.0.0.1 a@b.org https://u:p@h/ fe80::1%eth0 Cookie: x=y")
	f.Add("{\\\"password\\\":\\\"x\\\"} -----BEGIN PRIVATE KEY-----\nabc")
	r, err := New(Config{Fields: []string{"Jane Doe"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := r.String(s); !utf8.ValidString(got) && utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 output %q", got)
		}
		for _, v := range []string{"10.1.2.3", "x@example.org"} {
			// a planted value appended after a separator must always go
			if out := r.String(s + " " + v + " "); strings.Contains(out, v) {
				t.Fatalf("%q survived in %q", v, out)
			}
		}
	})
}

// TestPathsAreNotSecrets: trace paths full of CamelCase class names change
// character class as often as random data, but are what people need to see.
func TestPathsAreNotSecrets(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		"#0 /srv/mediawiki/php-1.47.0-wmf.16/extensions/Wikibase/lib/includes/Store/Sql/WikiPageEntityDataLoader.php(60): x()",
		"/srv/mediawiki/php-1.47.0-wmf.16/extensions/GrowthExperiments/includes/NewcomerTasks/TaskSuggester/SearchTaskSuggester.php",
		"file=/tmp/demo2/outbox/error-c964e35973b8f53a.md",
		"Unable to reach the thumbnailer at http://thumbor:8080/wikipedia/commons/thumb/7c3f9a0e12b45d68/220px-Example.jpg",
	} {
		if got := r.String(in); got != in {
			t.Errorf("String(%q)\n = %q: a path was redacted", in, got)
		}
	}
	for _, secret := range []string{
		"sig=aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9f/Gh1jK3lM5nP7qR9sT1uV3wX5yZ7",
		"blob Zk9xY2hQbGVhc2VEb250TG9nTWUxMjM0NTY3ODkw/QWJjRGVmR2hpSmtsTW5vcFFyc1R1dg== here",
	} {
		if got := r.String(secret); strings.Contains(got, "aB3dE5fG7hJ9kL1mN3pQ5rS7") || strings.Contains(got, "Zk9xY2hQbGVhc2VEb250TG9n") {
			t.Errorf("String(%q) = %q: a base64 secret with '/' survived", secret, got)
		}
	}
}

// TestRedactSpacedEmail: MediaWiki writes user names and titles with spaces
// for underscores, so an address used as a user name has a local part in
// several words; none of it may be left behind.
func TestRedactSpacedEmail(t *testing.T) {
	r := corpusRedactor(t)
	tests := []struct{ in, want string }{
		{`Bad row: user_name="hiro t845@example.org"`, `Bad row: user_name="[EMAIL]"`},
		{"Invalid username: hiro t845@example.org", "Invalid username: [EMAIL]"},
		{"title=User:Hiro t845@example.org/sandbox", "title=User:[EMAIL]/sandbox"},
		{"(hiro t 845@example.org)", "([EMAIL])"},
		{"mail jane.doe@example.org now", "mail [EMAIL] now"}, // plain text before an address stays
	}
	for _, tt := range tests {
		got := r.String(tt.in)
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
		for _, part := range []string{"hiro", "Hiro", "t845"} {
			if strings.Contains(got, part) {
				t.Errorf("%q: %q left behind in %q", tt.in, part, got)
			}
		}
	}
}
