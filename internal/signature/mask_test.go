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
		{"url host", "fetch https://en.wikipedia.beta.wmcloud.org/w/api.php?action=query failed", "fetch https://{host}/w/api.php?action={val} failed"},
		{"url host with userinfo and port", "http://user:pw@10.0.0.1:9200/_bulk", "http://{host}/_bulk"},
		{"words with digits kept", "utf8 Html5 Html5Parser x86_64 wmf_16 ab12cd", "utf8 Html5 Html5Parser x86_64 wmf_16 ab12cd"},
		{"trailing digits masked", "db1171 mw1385 Q42 T5 P31 deployment-db11 sha256", "db{num} mw{num} Q{num} T{num} P{num} deployment-db{num} sha{num}"},
		{"unicode", "Größe 42 für „Straße“ – ok", "Größe {num} für „Straße“ – ok"},
		{"unicode quoted", `Seite "Ünïcødé 123" fehlt`, `Seite {quoted} fehlt`},
		{"invalid utf8", "bad \xff\xfe byte 7", "bad \uFFFD\uFFFD byte {num}"},
		{"mysql error", "Error 1205: Lock wait timeout exceeded; try restarting transaction (db1234)",
			"Error {num}: Lock wait timeout exceeded; try restarting transaction (db{num})"},
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
