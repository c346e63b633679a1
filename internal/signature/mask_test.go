package signature

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain words", "Undefined index in ApiMain", "Undefined index in ApiMain"},
		{"integer", "revision 6786905 not found", "revision {num} not found"},
		{"negative and decimal", "offset -12 ratio 3.14", "offset -{num} ratio {num}"},
		{"number with unit", "took 1234ms and 64KB", "took {num}ms and {num}KB"},
		{"iso timestamp", "at 2026-11-21T06:00:32.970Z", "at {num}-{num}-{num}T{num}:{num}:{num}Z"},
		{"clock time is not IPv6", "at 12:34:56", "at {num}:{num}:{num}"},
		{"hex 0x", "flags 0x1F set", "flags {hex} set"},
		{"hex digest", "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1 {num}"},
		{"hex and decimal alike", "job 1234abcd job 12345678", "job {num} job {num}"},
		{"short hex-ish word kept", "cafe and face", "cafe and face"},
		{"uuid", "req 123e4567-e89b-12d3-a456-426614174000 failed", "req {uuid} failed"},
		{"uuid upper", "A1B2C3D4-E5F6-A7B8-C9D0-E1F2A3B4C5D6", "{uuid}"},
		{"random id", "token aB3xYz9Qw2Er7Ty1Ui8o here", "token {id} here"},
		{"ipv4", "from 172.16.4.188 via 10.0.0.1:8080", "from {ip} via {ip}:{num}"},
		{"not ipv4: octet too big", "1.2.3.456", "{num}"},
		{"version dotted", "MediaWiki 1.47.0 and 3.2", "MediaWiki {num} and {num}"},
		{"train version", "on 1.47.0-wmf.16 now", "on {version} now"},
		{"train version in dir", "php-1.47.0-wmf.17", "php-{version}"},
		{"ipv6 full", "2001:0db8:85a3:0000:0000:8a2e:0370:7334 x", "{ip} x"},
		{"ipv6 compressed", "client 2001:db8::1 said", "client {ip} said"},
		{"ipv6 loopback", "from ::1 ok", "from {ip} ok"},
		{"ipv6 zone", "fe80::1%eth0 down", "{ip} down"},
		{"ipv6 mapped v4", "::ffff:192.0.2.1 in", "{ip} in"},
		{"ipv6 bracketed with port", "[2001:db8::42]:443", "[{ip}]:{num}"},
		{"ipv6 upper", "2001:DB8::A1", "{ip}"},
		{"php static call not ipv6", "ApiMain::execute and Face::add and dead::beef", "ApiMain::execute and Face::add and dead::beef"},
		{"email", "mail john.doe+wiki@example.org now", "mail {email} now"},
		{"email subdomain", "<a@mx.wikimedia.org>", "<{email}>"},
		{"at without domain", "user@localhost", "user@localhost"},
		{"double quoted", `Undefined array key "foo"`, `Undefined array key {quoted}`},
		{"single quoted", `Table 'enwiki.page' doesn't exist`, `Table {quoted} doesn't exist`},
		{"escaped quote", `key "a\"b" end`, `key {quoted} end`},
		{"apostrophes kept", "Can't load users' pages", "Can't load users' pages"},
		{"empty quotes kept", `Title '' is invalid and ""`, `Title '' is invalid and ""`},
		{"unterminated quote", `say "hello`, `say "hello`},
		{"quote not across lines", "a 'b\nc' d", "a 'b\nc' d"},
		{"backquotes kept", "FROM `page` WHERE page_id = 42", "FROM `page` WHERE page_id = {num}"},
		{"psr3 placeholders kept", "[{reqId}] {exception_url} {user123} {0}", "[{reqId}] {exception_url} {user123} {0}"},
		{"version path", "in /srv/mediawiki/php-1.47.0-wmf.16/includes/Foo.php:102", "in {path}/includes/Foo.php:{num}"},
		{"beta path", "/srv/mediawiki/php-master/includes/Foo.php(12)", "{path}/includes/Foo.php({num})"},
		{"staging path", "/srv/mediawiki-staging/php-1.47.0-wmf.16/x", "{path}/x"},
		{"root path", "/srv/mediawiki/w/index.php", "{path}/w/index.php"},
		{"query values", "/w/index.php?title=Special:Search&action=view&oldid=12", "/w/index.php?title={val}&action={val}&oldid={val}"},
		{"url host", "fetch https://en.wikipedia.beta.wmcloud.org/w/api.php?action=query failed", "fetch https://{wiki}.beta.wmcloud.org/w/api.php?action={val} failed"},
		{"url host with userinfo and port", "http://user:pw@10.0.0.1:9200/_bulk", "http://{val}@{ip}:9200/_bulk"},
		{"words with digits kept", "utf8 Html5 Html5Parser x86_64 wmf_16 ab12cd", "utf8 Html5 Html5Parser x86_64 wmf_16 ab12cd"},
		{"trailing digits masked", "db1171 mw1385 Q42 T5 P31 deployment-db11 sha256", "db{num} mw{num} Q{num} T{num} P{num} deployment-db{num} sha{num}"},
		{"unicode", "Größe 42 für „Straße“ – ok", "Größe {num} für „Straße“ – ok"},
		{"unicode quoted", `Seite "Ünïcødé 123" fehlt`, `Seite {quoted} fehlt`},
		{"invalid utf8", "bad \xff\xfe byte 7", "bad \uFFFD\uFFFD byte {num}"},
		{"mysql error", "Error 1205: Lock wait timeout exceeded; try restarting transaction (db1234)",
			"Error 1205: Lock wait timeout exceeded; try restarting transaction (db{num})"},
		{"memory", "Allowed memory size of 734003200 bytes exhausted (tried to allocate 20480 bytes)",
			"Allowed memory size of {num} bytes exhausted (tried to allocate {num} bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Mask(nil, tt.in))
			if got != tt.want {
				t.Errorf("Mask(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			// Masking a template again changes nothing: rules and the fingerprint
			// command may see either form.
			if again := string(Mask(nil, got)); again != got {
				t.Errorf("Mask is not idempotent on %q: %q", got, again)
			}
		})
	}
}

func TestMaskAppends(t *testing.T) {
	dst := []byte("prefix:")
	got := string(Mask(dst, "id 7"))
	if got != "prefix:id {num}" {
		t.Fatalf("got %q", got)
	}
}

func TestMaskLargeInput(t *testing.T) {
	var b strings.Builder
	for b.Len() < 64<<10 {
		b.WriteString(`PHP Warning: key "k" at 10.1.2.3 rev 12345 a@b.org 'x `)
	}
	in := b.String()
	out := Mask(nil, in)
	if !utf8.Valid(out) {
		t.Fatal("output is not valid UTF-8")
	}
	if strings.Contains(string(out), "10.1.2.3") || strings.Contains(string(out), "12345") {
		t.Fatal("values survived masking")
	}
	if len(out) > len(in)*2 {
		t.Fatalf("output grew from %d to %d bytes", len(in), len(out))
	}
}

func TestStripPrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[{reqId}] {exception_url}   PHP Warning: x", "PHP Warning: x"},
		{"[vOhCTFDhTC3FgFY62nsmUdnX] /w/index.php?title=Albert_Einstein&action=info   MWException: y", "MWException: y"},
		{"[{reqId}] [no req]   Foo: bar", "Foo: bar"},
		{"[abc] /rpc/RunSingleJob.php  two spaces", "two spaces"},
		{"[SQL] select 1   x", "[SQL] select 1   x"},
		{"[a b] c   d", "[a b] c   d"},
		{"[Flow] something  happened", "[Flow] something  happened"},
		{"[x] https://en.wikipedia.org/wiki/X   msg", "msg"},
		{"plain message", "plain message"},
		{"[abc]", "[abc]"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := StripPrefix(tt.in); got != tt.want {
			t.Errorf("StripPrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMaskUnquotedValues covers values MediaWiki interpolates without quotes,
// recognised by the noun that introduces them (intro.go), and the English
// and code around them that must survive.
func TestMaskUnquotedValues(t *testing.T) {
	masked := []struct{ name, in, want string }{
		{"username", "Invalid username: Example", "Invalid username: {val}"},
		{"username with staff suffix", "Invalid username: Jdoe (WMF)", "Invalid username: {val}"},
		{"username non-ASCII", "Invalid username: Zoë", "Invalid username: {val}"},
		{"username with digits", "Invalid username: Beta-tester-42", "Invalid username: {val}"},
		{"username with spaces", "Invalid username: Jimmy Wales", "Invalid username: {val}"},
		{"username is an IP", "Invalid username: 172.16.4.188", "Invalid username: {val}"},
		{"temporary account", "Invalid username: ~2026-12345-67", "Invalid username: {val}"},
		{"username then sentence end", "Invalid username: Foo. Aborting", "Invalid username: {val}. Aborting"},
		{"user before email", "Failed to decrypt secret for user Zoë (user12@example.org)", "Failed to decrypt secret for user {val} ({email})"},
		{"user with suffix before email", "Failed to decrypt secret for user Jdoe (WMF) (user3@example.org)", "Failed to decrypt secret for user {val} ({email})"},
		{"user capitalised words", "for user Jimmy Wales (x@example.org)", "for user {val} ({email})"},
		{"user at sentence start", "User Example is blocked", "User {val} is blocked"},
		{"page special", "got page Special:RecentChanges in namespace 9", "got page {val} in namespace {num}"},
		{"page underscores", "got page Main_Page in namespace 0", "got page {val} in namespace {num}"},
		{"page subpage", "got page User:Example/sandbox in namespace 2", "got page {val} in namespace {num}"},
		{"page file", "got page File:Wikipedia-logo-v2.svg in namespace 6", "got page {val} in namespace {num}"},
		{"page wikibase item", "got page Q42 in namespace 0", "got page {val} in namespace {num}"},
		{"page non-ASCII", "got page Talk:Zürich in namespace 1", "got page {val} in namespace {num}"},
		{"page with spaces", "got page Main Page in namespace 0", "got page {val} in namespace {num}"},
		{"page disambiguation", "Cannot render page Mercury (planet) now", "Cannot render page {val} now"},
		{"page in parentheses", "(page Foo)", "(page {val})"},
		{"title colon", "Bad title: Talk:Foo, giving up", "Bad title: {val}, giving up"},
		{"php 7 undefined index", "PHP Notice: Undefined index: pageids in /srv/mediawiki/php-1.47.0-wmf.16/extensions/UniversalLanguageSelector/includes/Hooks.php on line 123",
			"PHP Notice: Undefined index: {val} in {path}/extensions/UniversalLanguageSelector/includes/Hooks.php on line {num}"},
		{"undefined index at end", "Undefined index: query", "Undefined index: {val}"},
		{"undefined property", "PHP Warning: Undefined property: stdClass::$targetTitle", "PHP Warning: Undefined property: stdClass::${val}"},
		{"undefined property with location", "Undefined property: stdClass::$sourceLanguage in /srv/mediawiki/php-1.47.0-wmf.16/x.php on line 5",
			"Undefined property: stdClass::${val} in {path}/x.php on line {num}"},
		{"cache key", "Memcached error for key enwiki:page-recent-delete:ab on server", "Memcached error for key {val} on server"},
		{"wiki id", "No LoadBalancer for wiki en_rtlwiki.", "No LoadBalancer for wiki {val}."},
		{"database id", "Cannot select database dewiktionary on db1234", "Cannot select database {val} on db{num}"},
	}
	for _, tt := range masked {
		t.Run("mask/"+tt.name, func(t *testing.T) { checkMask(t, tt.in, tt.want) })
	}

	kept := []struct{ name, in, want string }{
		{"member function", "Call to a member function getId() on null", ""},
		{"headers already sent", "PHP Warning: Cannot modify header information - headers already sent by (output started at /srv/mediawiki/php-1.47.0-wmf.16/includes/OutputHandler.php:123)",
			"PHP Warning: Cannot modify header information - headers already sent by (output started at {path}/includes/OutputHandler.php:{num})"},
		{"page namespace and page id", "Unexpected page namespace 4 for page id 1234; expected one of 0, 2, 4",
			"Unexpected page namespace {num} for page id {num}; expected one of {num}, {num}, {num}"},
		{"class names", "Multiple sessions for this request tied for top priority: CentralAuthSessionProvider, BotPasswordSessionProvider", ""},
		{"static method", "Call to undefined method MediaWiki\\Linker\\LinkRenderer::makeBrokenLink()", ""},
		{"qualified class", "Use of Title::getText was deprecated; User::newFromName too", ""},
		{"english after user", "the user is blocked and the page does not exist", ""},
		{"user ID", "no user ID for this page ID", ""},
		{"lowercase after username colon", "Invalid username: contains illegal characters", ""},
		{"sql keywords", "Query: UPDATE  page SET page_touched = 1 WHERE page_id = 2",
			"Query: UPDATE  page SET page_touched = {num} WHERE page_id = {num}"},
		{"sql join", "SELECT * FROM user JOIN page ON page_id = user_id", ""},
		{"sql backquoted", "FROM `page` WHERE page_title = 'X'", "FROM `page` WHERE page_title = {quoted}"},
		{"quoted value keeps its placeholder", `Undefined array key "foo"`, `Undefined array key {quoted}`},
		{"quoted user", "for user 'Foo' now", "for user {quoted} now"},
		{"psr-3 placeholder after introducer", "Failed to decrypt secret for user {user} ({email})", ""},
		{"number after page", "for page 1234", "for page {num}"},
		{"wikibase entity", "Failed to load entity Q42 from revision 123", "Failed to load entity Q{num} from revision {num}"},
		{"undefined index without colon", "Undefined index in ApiMain", ""},
		{"typed property", "Typed property Foo::$bar must not be accessed before initialization", ""},
		{"variable and namespace", "$user Foo and Foo\\User Bar and ->page Baz", ""},
		{"query value", "/w/index.php?title=Foo&action=edit", "/w/index.php?title={val}&action={val}"},
		{"no value after introducer", "key exists; primary key violation; title", ""},
		{"database without a wiki id", "Cannot access the database: Can't connect to MySQL server on '10.0.0.1' (110)",
			"Cannot access the database: Can't connect to MySQL server on {quoted} ({num})"},
		{"wiki words", "wiki page farm and wiki mediawiki", "wiki page farm and wiki mediawiki"},
		{"lua module", "Lua error in Module:Citation at line 42", "Lua error in Module:Citation at line {num}"},
		{"file path", "Could not open file extensions/Foo/skin.json", ""},
		{"suffix is not a number", "user Foo (110)", "user {val} ({num})"},
		{"suffix is not a phrase", "user Foo (HTTP 502)", "user {val} (HTTP {num})"},
	}
	for _, tt := range kept {
		want := tt.want
		if want == "" {
			want = tt.in
		}
		t.Run("keep/"+tt.name, func(t *testing.T) { checkMask(t, tt.in, want) })
	}
}

// checkMask checks Mask(in) == want and that masking the result again
// changes nothing: rules and the fingerprint command may see either form.
func checkMask(t *testing.T, in, want string) {
	t.Helper()
	got := string(Mask(nil, in))
	if got != want {
		t.Errorf("Mask(%q)\n got %q\nwant %q", in, got, want)
	}
	if again := string(Mask(nil, got)); again != got {
		t.Errorf("Mask is not idempotent on %q: %q", got, again)
	}
}
