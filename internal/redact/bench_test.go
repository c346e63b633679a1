package redact

import (
	"strings"
	"testing"
)

// go test -run XXX -bench . -cpu 1 ./internal/redact/

func benchText(b *testing.B, withSecrets bool) []string {
	b.Helper()
	ordinary := []string{
		`Wikimedia\Rdbms\DBQueryError: Error 1205: Lock wait timeout exceeded; try restarting transaction`,
		"#0 /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php(2006): ApiMain->executeAction()",
		"#1 /srv/mediawiki/php-1.47.0-wmf.16/includes/libs/rdbms/database/Database.php(1258): Wikimedia\\Rdbms\\Database->getQueryException()",
		"PHP Warning: Undefined array key \"foo\" in /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php on line 1234",
		"https://en.wikipedia.beta.wmcloud.org/w/index.php?title=Special:Search&action=view",
		"New signature 80622e366070988d on enwiki (12 events), deployment-mediawiki11, 1.47.0-wmf.16",
	}
	if !withSecrets {
		return ordinary
	}
	var out []string
	for _, c := range readPlanted(&testing.T{}) {
		out = append(out, c.text)
	}
	return append(out, ordinary...)
}

func benchRedact(b *testing.B, withSecrets bool, patterns ...string) {
	r, err := New(Config{Fields: []string{"Jane Doe", "Ximena Q. Example"}, Patterns: patterns})
	if err != nil {
		b.Fatal(err)
	}
	texts := benchText(b, withSecrets)
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	b.SetBytes(int64(total / len(texts)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.String(texts[i%len(texts)])
	}
}

// BenchmarkString: the planted corpus (every text has secrets) plus ordinary
// lines; BenchmarkStringClean: log lines and task text without secrets, the
// common case, which must not allocate; BenchmarkStringCleanPattern: the same
// with one configured regexp, to show what Config.Patterns cost.
func BenchmarkString(b *testing.B)      { benchRedact(b, true) }
func BenchmarkStringClean(b *testing.B) { benchRedact(b, false) }
func BenchmarkStringCleanPattern(b *testing.B) {
	benchRedact(b, false, `\bINC-[0-9]{4,}\b`)
}

func BenchmarkStringNoConfig(b *testing.B) {
	r, _ := New(Config{})
	s := strings.Repeat("#0 /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php(2006): ApiMain->executeAction()\n", 20)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.String(s)
	}
}
