package signature

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/event"
)

// Tests for the eight grouping mechanisms of issue 10, on events shaped like
// what MediaWiki 1.39 logs (traces and messages as in
// internal/mwcorpus/testdata).

const root = "/srv/mediawiki/php-1.47.0-wmf.16/"

// trace builds a PHP trace from "file(line): function()" frames under root.
func trace(frames ...string) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("#")
		b.WriteString(itoa(i))
		b.WriteByte(' ')
		if !strings.HasPrefix(f, "[") && f != "{main}" {
			b.WriteString(root)
		}
		b.WriteString(f)
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// exc builds a classic exception-channel event the way MediaWiki logs it,
// with normalized_message cut at 255 bytes as wmf-config does.
func exc(t *testing.T, class, msg, file, tr string) *event.Event {
	t.Helper()
	norm := "[{reqId}] {exception_url}   " + class + ": " + msg
	if len(norm) > 255 {
		norm = norm[:255]
	}
	d := map[string]any{"@timestamp": "2026-12-04T21:00:00Z", "type": "mediawiki", "channel": "exception", "level": "ERROR",
		"message": "[abc] /w/index.php   " + class + ": " + msg, "normalized_message": norm,
		"exception": map[string]any{"class": class, "message": msg, "file": root + file, "trace": tr}}
	return fromMap(t, d)
}

func fromMap(t *testing.T, d map[string]any) *event.Event {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(b))
}

var dbTail = []string{
	"includes/libs/rdbms/database/Database.php(1602): Wikimedia\\Rdbms\\Database->getQueryException()",
	"includes/libs/rdbms/database/Database.php(1576): Wikimedia\\Rdbms\\Database->getQueryExceptionAndLog()",
	"includes/libs/rdbms/database/Database.php(952): Wikimedia\\Rdbms\\Database->reportQueryError()",
	"includes/libs/rdbms/database/Database.php(1711): Wikimedia\\Rdbms\\Database->query()",
	"includes/libs/rdbms/database/DBConnRef.php(103): Wikimedia\\Rdbms\\Database->select()",
}

// dbTrace is a query error raised in Rdbms and reached from caller (a call
// at callerFile) via outer.
func dbTrace(callerFile, outer string) string {
	return trace(append(append([]string{}, dbTail...),
		"includes/libs/rdbms/database/DBConnRef.php(326): Wikimedia\\Rdbms\\DBConnRef->__call()",
		callerFile+": Wikimedia\\Rdbms\\DBConnRef->select()",
		outer,
		"{main}")...)
}

func sig(f *Fingerprinter, ev *event.Event) Signature { return f.Compute(ev) }

// 1. The 255-byte cut of normalized_message never decides a signature.
func TestPoint1NormalizedCut(t *testing.T) {
	f := NewFingerprinter()
	tr := trace("includes/Title.php(120): Title->secureAndSplit()", "includes/Foo.php(7): Title::newFromText()", "{main}")
	short := strings.Repeat("x", 150)
	long := strings.Repeat("y", 230)
	// the value sits before byte 255: the cut falls inside the quotes for
	// one event, after them for the other
	a := sig(f, exc(t, "MalformedTitleException", `The title "`+short+`" contains invalid characters`, "includes/Title.php:99", tr))
	b := sig(f, exc(t, "MalformedTitleException", `The title "`+long+`" contains invalid characters`, "includes/Title.php:99", tr))
	if a.ID != b.ID {
		t.Errorf("cut position split one site:\n%q\n%q", a.Template, b.Template)
	}
	// without an exception message, the cut partial token and an unclosed
	// quote are dropped
	mk := func(v string) *event.Event {
		// the value is concatenated into the template, as Job::toString()
		// output is; the message is the interpolated whole
		n := `{title}: Lua error in "` + v + `" while saving page X with options` + strings.Repeat(" opt=1", 40)
		return &event.Event{Channel: "Scribunto", Message: strings.Replace(n, "{title}", "Foo", 1), Normalized: n[:255]}
	}
	c, d := sig(f, mk("Module:A"+strings.Repeat("b", 200))), sig(f, mk("Module:A"+strings.Repeat("b", 100)))
	if c.ID != d.ID {
		t.Errorf("cut template split:\n%q\n%q", c.Template, d.Template)
	}
	if got := uncut(`Lua error in "Module:Abbbb`); got != "Lua error in" {
		t.Errorf("uncut left %q", got)
	}
}

// 2. Stack first: class plus the first in-app frame; library and helper
// frames are not in-app; values in the message do not split one site; a
// helper reached from two callers is two signatures.
func TestPoint2StackFirst(t *testing.T) {
	f := NewFingerprinter()
	dt := func(input string) *event.Event {
		msg := "DateTime::__construct(): Failed to parse time string (" + input + ") at position 0 (" + input[:1] + "): The timezone could not be found in the database"
		return exc(t, "Exception", msg, "includes/specials/SpecialLog.php:210", trace(
			"includes/specials/SpecialLog.php(210): DateTime->__construct()",
			"includes/specials/SpecialPage.php(701): SpecialLog->execute()", "{main}"))
	}
	a, b := sig(f, dt("now+9d")), sig(f, dt("tomorrow noon"))
	if a.ID != b.ID {
		t.Errorf("user input split a site: %q vs %q", a.Template, b.Template)
	}
	if len(a.Frames) != 1 || a.Frames[0] != "SpecialLog->execute" {
		t.Errorf("caller %q, want SpecialLog->execute", a.Frames)
	}
	// a PCRE compile failure reported through the error handler
	pcre := func(reason, caller string) *event.Event {
		msg := "PHP Warning: preg_match(): Compilation failed: " + reason + " at offset 3"
		return exc(t, "ErrorException", msg, "includes/Foo.php:12", trace(
			"[internal function]: MWExceptionHandler::handleError()",
			"includes/Foo.php(12): preg_match()",
			"includes/Bar.php(5): "+caller+"()", "{main}"))
	}
	p1, p2 := sig(f, pcre("missing closing parenthesis", "Foo->match")), sig(f, pcre("quantifier does not follow a repeatable item", "Foo->match"))
	if p1.ID != p2.ID {
		t.Errorf("PCRE reasons split a site: %q vs %q", p1.Template, p2.Template)
	}
	// one throw helper (wfDeprecated via MWDebug) from two callers
	dep := func(caller string) *event.Event {
		return exc(t, "ErrorException", "PHP Deprecated: Use of Foo::bar was deprecated in MediaWiki 1.40.", "includes/debug/MWDebug.php:381", trace(
			"[internal function]: MWExceptionHandler::handleError()",
			"includes/debug/MWDebug.php(381): trigger_error()",
			"includes/debug/MWDebug.php(360): MWDebug::sendRawDeprecated()",
			"includes/GlobalFunctions.php(1050): MWDebug::deprecated()",
			"extensions/Foo/includes/Hooks.php(33): wfDeprecated()",
			"includes/HookContainer.php(338): "+caller+"()", "{main}"))
	}
	d1, d2 := sig(f, dep("Foo\\Hooks::onBeforePageDisplay")), sig(f, dep("Foo\\Hooks::onParserFirstCallInit"))
	if d1.ID == d2.ID {
		t.Error("one helper reached from two callers shares a signature")
	}
	if d1.Frames[0] != "Foo\\Hooks::onBeforePageDisplay" {
		t.Errorf("caller %q: helper and library frames must be skipped", d1.Frames)
	}
	// vendor/ and includes/libs/ frames are not in-app
	q := sig(f, exc(t, "Wikimedia\\Rdbms\\DBQueryError", "Error 1146: Table 'w.categorylinks' doesn't exist\nFunction: CategoryViewer::doCategoryQuery\nQuery: SELECT 1",
		"includes/libs/rdbms/database/Database.php:1618", dbTrace("includes/CategoryViewer.php(418)", "includes/CategoryViewer.php(112): CategoryViewer->doCategoryQuery()")))
	if q.Frames[0] != "CategoryViewer->doCategoryQuery" {
		t.Errorf("caller %q, want CategoryViewer->doCategoryQuery", q.Frames)
	}
	// the same site reached from two entry points is one signature
	q2 := sig(f, exc(t, "Wikimedia\\Rdbms\\DBQueryError", "Error 1146: Table 'w.categorylinks' doesn't exist\nFunction: CategoryViewer::doCategoryQuery\nQuery: SELECT 2",
		"includes/libs/rdbms/database/Database.php:1618", dbTrace("includes/CategoryViewer.php(418)", "includes/api/ApiQuery.php(9): CategoryViewer->doCategoryQuery()")))
	if q.ID != q2.ID {
		t.Error("one site reached from two entry points split")
	}
}

// 3. Identity values: the MySQL errno, the fname and the database's error
// text name the failure.
func TestPoint3IdentityValues(t *testing.T) {
	f := NewFingerprinter()
	tr := dbTrace("includes/page/WikiPage.php(2719)", "includes/page/WikiPage.php(2000): WikiPage->lockAndGetLatest()")
	q := func(errno, text, fname string) Signature {
		return sig(f, exc(t, "Wikimedia\\Rdbms\\DBQueryError", "Error "+errno+": "+text+"\nFunction: "+fname+"\nQuery: SELECT page_latest FROM `page` WHERE page_id = 42 FOR UPDATE",
			"includes/libs/rdbms/database/Database.php:1618", tr))
	}
	lock := q("1205", "Lock wait timeout exceeded; try restarting transaction", "WikiPage::lockAndGetLatest")
	dead := q("1213", "Deadlock found when trying to get lock; try restarting transaction", "WikiPage::lockAndGetLatest")
	other := q("1205", "Lock wait timeout exceeded; try restarting transaction", "WikiPage::updateRevisionOn")
	if lock.ID == dead.ID || lock.ID == other.ID {
		t.Error("two SQL errors, or one error from two functions, share a signature")
	}
	if again := q("1205", "Lock wait timeout exceeded; try restarting transaction", "WikiPage::lockAndGetLatest"); again.ID != lock.ID {
		t.Error("the same query error split")
	}
	// DBConnection channel: one template, the error in the context
	conn := func(errno, err string) Signature {
		return sig(f, fromMap(t, map[string]any{"@timestamp": "2026-12-04T21:00:00Z", "type": "mediawiki", "channel": "DBConnection",
			"message": "Error connecting to 10.0.0.1 as user wikiuser: " + err, "normalized_message": "Error connecting to {db_server} as user {db_user}: {error}",
			"error": err, "errno": errno,
			"exception": map[string]any{"class": "RuntimeException", "message": "", "file": root + "includes/libs/rdbms/database/Database.php:1634",
				"trace": trace("includes/libs/rdbms/database/DatabaseMysqlBase.php(150): Wikimedia\\Rdbms\\Database->newExceptionAfterConnectError()",
					"includes/language/MessageCache.php(574): Wikimedia\\Rdbms\\DBConnRef->anyString()",
					"includes/language/MessageCache.php(481): MessageCache->loadFromDB()", "{main}")}}))
	}
	refused := conn("2002", ":real_connect(): (HY000/2002): Connection refused")
	unknown := conn("1049", ":real_connect(): (HY000/1049): Unknown database 'nosuchwiki_9514'")
	if refused.ID == unknown.ID {
		t.Error("connection refused and unknown database share a signature")
	}
	if refused.Title == unknown.Title {
		t.Errorf("two signatures share the title %q", refused.Title)
	}
	if u2 := conn("1049", ":real_connect(): (HY000/1049): Unknown database 'other_1'"); u2.ID != unknown.ID {
		t.Error("the database name split unknown-database errors")
	}
	// DBConnectionError exceptions, the reason in the message
	ce := func(reason string) Signature {
		return sig(f, exc(t, "Wikimedia\\Rdbms\\DBConnectionError", "Cannot access the database: "+reason+" (10.0.0.1:3306)",
			"includes/libs/rdbms/loadbalancer/LoadBalancer.php:1477", trace(
				"includes/libs/rdbms/loadbalancer/LoadBalancer.php(972): Wikimedia\\Rdbms\\LoadBalancer->reportConnectionError()",
				"includes/page/PageStore.php(199): Wikimedia\\Rdbms\\DBConnRef->selectRow()",
				"includes/page/PageStore.php(150): MediaWiki\\Page\\PageStore->loadPageFromConditions()", "{main}")))
	}
	if ce("Connection refused").ID == ce("Unknown database 'x'").ID {
		t.Error("DBConnectionError reasons share a signature")
	}
	if Mask(nil, "Error 1205: Lock wait")[6] != '1' {
		t.Error("the errno was masked")
	}
}

// 4. Bare words after separators, empty quotes and trailing words vary
// within one (class, caller) bucket without splitting it.
func TestPoint4UnquotedValues(t *testing.T) {
	tr := trace("includes/parser/ParserOptions.php(300): ParserOptions->getOption()",
		"includes/parser/Parser.php(40): ParserOptions->get()", "{main}")
	tests := []struct{ class, a, b string }{
		{"TimestampException", "Invalid timestamp - now+9d", "Invalid timestamp - 2026-13-45"},
		{"InvalidArgumentException", "Unknown parser option thumbsizex", "Unknown parser option foo_bar"},
		{"RuntimeException", "Cannot register tag using name = editcheck-references", "Cannot register tag using name = foo"},
		{"UnexpectedValueException", `Bad row: user_name="" for actor 5`, `Bad row: user_name="Foo" for actor 6`},
	}
	for _, tt := range tests {
		f := NewFingerprinter()
		a := sig(f, exc(t, tt.class, tt.a, "includes/parser/ParserOptions.php:300", tr))
		b := sig(f, exc(t, tt.class, tt.b, "includes/parser/ParserOptions.php:300", tr))
		if a.ID != b.ID {
			t.Errorf("%s split: %q vs %q", tt.class, tt.a, tt.b)
		}
	}
	// but two different throws of one class in one function stay apart
	f := NewFingerprinter()
	a := sig(f, exc(t, "InvalidArgumentException", "Unknown parser option x", "includes/parser/ParserOptions.php:300", tr))
	b := sig(f, exc(t, "InvalidArgumentException", "Invalid value for option x", "includes/parser/ParserOptions.php:300", tr))
	if a.ID == b.ID {
		t.Error("two messages of one site merged")
	}
}

// 5. Job failures are keyed on the job type and job_error.
func TestPoint5Jobs(t *testing.T) {
	f := NewFingerprinter()
	job := func(typ, title, params, err string) Signature {
		m := typ + " " + title + " " + params + " (id=abc,timestamp=20261204210000) t={job_duration} error={job_error}"
		return sig(f, fromMap(t, map[string]any{"@timestamp": "2026-12-04T21:00:00Z", "type": "mediawiki", "channel": "runJobs", "level": "ERROR",
			"message": strings.ReplaceAll(m, "{job_error}", err), "normalized_message": m, "job_type": typ, "job_error": err, "job_duration": 12}))
	}
	a := job("refreshLinks", "Talk:Foo", "pages={\"12\":[1,\"Foo\"]} rootJobTimestamp=20261204", "Error 1205: Lock wait timeout exceeded")
	b := job("refreshLinks", "User:Jdoe/sandbox", "isOpportunistic=1 causeAction=edit", "Error 1205: Lock wait timeout exceeded")
	if a.ID != b.ID {
		t.Errorf("job parameters split: %q vs %q", a.Template, b.Template)
	}
	if c := job("refreshLinks", "Talk:Foo", "x=1", "Error 1213: Deadlock found"); c.ID == a.ID {
		t.Error("two job errors share a signature")
	}
	if d := job("htmlCacheUpdate", "Talk:Foo", "x=1", "Error 1205: Lock wait timeout exceeded"); d.ID == a.ID {
		t.Error("two job types share a signature")
	}
	if want := "Job refreshLinks failed: Error 1205: Lock wait timeout exceeded"; a.Title != want {
		t.Errorf("title %q, want %q", a.Title, want)
	}
}

// 6. URLs keep scheme, host, port and the first path segments.
func TestPoint6URLs(t *testing.T) {
	f := NewFingerprinter()
	tr := trace("includes/http/MWHttpRequest.php(50): MWHttpRequest->execute()", "includes/Foo.php(3): Foo->fetch()", "{main}")
	u := func(url string) Signature {
		return sig(f, exc(t, "RuntimeException", "Failed to fetch "+url, "includes/Foo.php:3", tr))
	}
	a := u("http://thumbor.svc:8800/wikipedia/commons/thumb/a/ab/Foo.jpg/120px-Foo.jpg?x=1")
	b := u("http://thumbor.svc:8800/wikipedia/commons/thumb/c/cd/Bar.png/60px-Bar.png?x=2")
	if a.ID != b.ID {
		t.Errorf("ids or titles in a URL split: %q vs %q", a.Template, b.Template)
	}
	if c := u("http://restbase.svc:7231/en.wikipedia.org/v1/page/html/Foo"); c.ID == a.ID {
		t.Error("two backends share a signature")
	}
	if d := u("http://thumbor.svc:8801/wikipedia/commons/thumb/a.jpg"); d.ID == a.ID {
		t.Error("two ports share a signature")
	}
	for in, want := range map[string]string{
		"GET http://thumbor.svc:8800/wikipedia/commons/thumb/a/ab/Foo.jpg failed": "GET http://thumbor.svc:8800/wikipedia/commons/{val} failed",
		"from https://en.wikipedia.beta.wmcloud.org/wiki/Main_Page":               "from https://{wiki}.beta.wmcloud.org/wiki/{val}",
		"to http://mw1385.eqiad.wmnet:9000/w/api.php?action=parse":                "to http://mw{num}.eqiad.wmnet:9000/w/api.php?action={val}",
	} {
		checkMask(t, in, want)
	}
}

// 7. Titles: "Class: message in Caller", the errno and function of DB
// errors, never garbled, never shared by two signatures.
func TestPoint7Titles(t *testing.T) {
	f := NewFingerprinter()
	q := sig(f, exc(t, "Wikimedia\\Rdbms\\DBQueryError", "Error 1146: Table 'w.categorylinks' doesn't exist\nFunction: CategoryViewer::doCategoryQuery\nQuery: SELECT 1",
		"includes/libs/rdbms/database/Database.php:1618", dbTrace("includes/CategoryViewer.php(418)", "includes/CategoryViewer.php(112): CategoryViewer->doCategoryQuery()")))
	if want := `Wikimedia\Rdbms\DBQueryError: Error 1146: Table <quoted> doesn't exist in CategoryViewer::doCategoryQuery`; q.Title != want {
		t.Errorf("title %q, want %q", q.Title, want)
	}
	for _, bad := range []string{"getQueryException", "trigger_error", " in in ", " from in ", "handleError"} {
		if strings.Contains(q.Title, bad) {
			t.Errorf("title %q contains %q", q.Title, bad)
		}
	}
	tests := []struct{ tmpl, want string }{
		{"Could not load {val} from", "X: Could not load <val> in A::b"},
		{"Failed in {path}/includes/Foo.php", "X: Failed in A::b"},
		{"Cannot access the database: {val}", "X: Cannot access the database: <val> in A::b"},
	}
	for _, tt := range tests {
		if got := Title("X", tt.tmpl, []string{"A->b"}); got != tt.want {
			t.Errorf("Title(%q) = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

// TestTitlesUnique checks on every event shape of these tests that two
// signatures never share a title.
func TestTitlesUnique(t *testing.T) {
	f := NewFingerprinter()
	titles := map[string]string{}
	for _, ev := range decodeAll(t, genCorpus(t, 2000, 9)) {
		s := f.Compute(&ev)
		if id, ok := titles[s.Title]; ok && id != s.ID {
			t.Fatalf("signatures %s and %s share the title %q", id, s.ID, s.Title)
		}
		titles[s.Title] = s.ID
	}
}

// 8. An address MediaWiki wrote with spaces for underscores is masked whole.
func TestPoint8SpacedEmail(t *testing.T) {
	checkMask(t, `Bad row: user_name="hiro t845@example.org"`, `Bad row: user_name={quoted}`)
	checkMask(t, "moved to User:Hiro t845@example.org", "moved to User:{email}")
	checkMask(t, "mail jane.doe@example.org now", "mail {email} now")
}

// TestCallerOfArgumentErrors: PHP raises a TypeError in the callee, but
// the caller passed the value: two callers are two bugs.
func TestCallerOfArgumentErrors(t *testing.T) {
	f := NewFingerprinter()
	te := func(caller, callerFile string) Signature {
		msg := "MediaWiki\\Title\\Title::newFromText(): Argument #1 ($text) must be of type string, array given, called in " + root + callerFile + " on line 12"
		return sig(f, exc(t, "TypeError", msg, "includes/Title.php:380", trace(
			callerFile+"(12): MediaWiki\\Title\\Title::newFromText()",
			"includes/api/ApiMain.php(9): "+caller+"()", "{main}")))
	}
	a, b := te("ApiQueryInfo->execute", "includes/api/ApiQueryInfo.php"), te("SpecialSearch->execute", "includes/specials/SpecialSearch.php")
	if a.ID == b.ID {
		t.Error("two callers passing a bad argument share a signature")
	}
	if a.Caller() != "ApiQueryInfo::execute" {
		t.Errorf("caller %q, want ApiQueryInfo::execute", a.Caller())
	}
}

// TestTimeLimitsByEntryPoint: a time limit fires wherever the request is;
// its entry point is the site.
func TestTimeLimitsByEntryPoint(t *testing.T) {
	f := NewFingerprinter()
	tl := func(url, file string) Signature {
		msg := "PHP Fatal Error: Maximum execution time of 2 seconds exceeded"
		return sig(f, fromMap(t, map[string]any{"@timestamp": "2026-12-04T21:00:00Z", "type": "mediawiki", "channel": "fatal", "url": url,
			"message":            "[r] " + url + "   PHP Fatal Error from line 12 of " + root + file + ": Maximum execution time of 2 seconds exceeded",
			"normalized_message": "[{reqId}] {exception_url}   PHP Fatal Error from line 12 of " + root + file + ": Maximum execution time of 2 seconds exceeded",
			"exception": map[string]any{"class": "ErrorException", "message": msg, "file": root + file + ":12",
				"trace": "#0 [internal function]: MWExceptionHandler::handleFatalError()\n#1 {main}"}}))
	}
	a, b := tl("/w/api.php?action=query", "includes/parser/Parser.php"), tl("/w/api.php?action=parse", "includes/libs/rdbms/database/Database.php")
	if a.ID != b.ID {
		t.Errorf("where a time limit hit split one entry point: %+v %+v", a, b)
	}
	if c := tl("/w/index.php?title=X", "includes/parser/Parser.php"); c.ID == a.ID {
		t.Error("two entry points share a time-limit signature")
	}
	if a.Title != "PHP Fatal Error: Maximum execution time of <num> seconds exceeded in api.php" {
		t.Errorf("title %q does not name the entry point", a.Title)
	}
}
