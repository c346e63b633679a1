package signature

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wikimedia/sheriff/internal/event"
)

// classicDoc is a MediaWiki exception event as monolog's LogstashFormatter
// writes it; the parameters vary what must not split a signature.
func classicDoc(version, wiki, host, reqID, ip, class, msg, topFrame string) string {
	root := "/srv/mediawiki/php-" + version
	d := map[string]any{
		"@timestamp": "2026-11-21T06:00:32.970Z", "type": "mediawiki", "channel": "exception", "level": "ERROR",
		"message":            fmt.Sprintf("[%s] /w/index.php?title=Main_Page&action=edit   %s: %s", reqID, class, msg),
		"normalized_message": fmt.Sprintf("[{reqId}] {exception_url}   %s: %s", class, msg),
		"reqId":              reqID, "wiki": wiki, "host": host, "ip": ip, "mwversion": version,
		"exception": map[string]any{
			"class": class, "message": msg, "file": root + "/includes/api/ApiMain.php:1234",
			"trace": strings.Join([]string{
				"#0 " + root + "/includes/api/ApiMain.php(1959): " + topFrame + "()",
				"#1 " + root + "/includes/api/ApiMain.php(2006): ApiMain->executeAction()",
				"#2 [internal function]: ApiMain->executeActionWithErrorHandling()",
				"#3 " + root + "/vendor/wikimedia/at-ease/src/AtEase.php(93): call_user_func(Closure)",
				"#4 " + root + "/includes/api/ApiMain.php(1050): ApiMain->execute()",
				"#5 {main}"}, "\n"),
		},
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// ecsDoc is the same error in the ECS shape.
func ecsDoc(version, wiki, host, reqID, class, msg, topFrame string, withNormalized bool) string {
	root := "/srv/mediawiki/php-" + version
	labels := map[string]any{"channel": "exception", "wiki": wiki}
	if withNormalized {
		labels["normalized_message"] = fmt.Sprintf("[{reqId}] {exception_url}   %s: %s", class, msg)
	}
	d := map[string]any{
		"@timestamp": "2026-11-21T06:00:32.970Z",
		"message":    fmt.Sprintf("[%s] /w/api.php   %s: %s", reqID, class, msg),
		"log":        map[string]any{"level": "ERROR"},
		"labels":     labels,
		"host":       map[string]any{"name": host},
		"service":    map[string]any{"version": version},
		"trace":      map[string]any{"id": reqID},
		"error": map[string]any{
			"type": class, "message": msg,
			"stack_trace": strings.Join([]string{
				"#0 " + root + "/includes/api/ApiMain.php(1960): " + topFrame + "()",
				"#1 " + root + "/includes/api/ApiMain.php(2007): ApiMain->executeAction()",
				"#2 " + root + "/includes/api/ApiMain.php(1051): ApiMain->execute()",
				"#3 {main}"}, "\n"),
		},
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func decode(t *testing.T, doc string) *event.Event {
	t.Helper()
	ev, err := event.Decode([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return &ev
}

const (
	dbClass = `Wikimedia\Rdbms\DBQueryError`
	dbMsg   = "Error 1205: Lock wait timeout exceeded; try restarting transaction\nFunction: ApiMain::execute\nQuery: SELECT * FROM `page` WHERE page_id = 123456 (10.64.16.77)"
)

func TestSignatureStability(t *testing.T) {
	f := NewFingerprinter()
	base := f.Compute(decode(t, classicDoc("1.47.0-wmf.16", "enwiki", "deployment-mediawiki11", "aB3xYz9Qw2Er7Ty1Ui8oPqRs", "172.16.4.188", dbClass, dbMsg, "ApiMain->executeModule")))
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(base.ID) {
		t.Fatalf("id %q is not 16 lowercase hex digits", base.ID)
	}
	same := map[string]string{
		"next train version, other wiki, host, reqId, IP": classicDoc("1.47.0-wmf.17", "dewiki", "deployment-mediawiki12", "ZqK3vQpAIDcAAG7xQ2kAAAAJ", "172.16.5.3", dbClass, dbMsg, "ApiMain->executeModule"),
		"other numbers and server in the message":         classicDoc("1.47.0-wmf.17", "enwiki", "deployment-mediawiki11", "r", "10.0.0.1", dbClass, strings.NewReplacer("123456", "99", "10.64.16.77", "10.64.48.10").Replace(dbMsg), "ApiMain->executeModule"),
		"class with leading backslash":                    classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", `\`+dbClass, dbMsg, "ApiMain->executeModule"),
		"ECS shape with labels.normalized_message":        ecsDoc("1.47.0-wmf.17", "frwiki", "deployment-mediawiki14", "x1", dbClass, dbMsg, "ApiMain->executeModule", true),
		"ECS shape without normalized message":            ecsDoc("1.47.0-wmf.16", "frwiki", "deployment-mediawiki14", "x1", dbClass, dbMsg, "ApiMain->executeModule", false),
	}
	for name, doc := range same {
		t.Run(name, func(t *testing.T) {
			got := f.Compute(decode(t, doc))
			if got.ID != base.ID {
				t.Errorf("id %s != %s\n got  %q %q\n base %q %q", got.ID, base.ID, got.Template, got.Frames, base.Template, base.Frames)
			}
		})
	}
	different := map[string]string{
		"other exception class": classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", `Wikimedia\Rdbms\DBConnectionError`, dbMsg, "ApiMain->executeModule"),
		"other top frame":       classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", dbClass, dbMsg, "ApiMain->setupModule"),
		"other message":         classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", dbClass, strings.Replace(dbMsg, "Lock wait", "Lock", 1), "ApiMain->executeModule"),
	}
	for name, doc := range different {
		t.Run(name, func(t *testing.T) {
			if got := f.Compute(decode(t, doc)); got.ID == base.ID {
				t.Errorf("%s: same id %s", name, got.ID)
			}
		})
	}
	t.Run("other channel", func(t *testing.T) {
		ev := decode(t, classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", dbClass, dbMsg, "ApiMain->executeModule"))
		ev.Channel = "DBQuery"
		if got := f.Compute(ev); got.ID == base.ID {
			t.Errorf("same id %s", got.ID)
		}
	})
}

// TestSignatureGolden pins ids: they are stored in the database and in
// Phabricator task markers, so a change of Mask or of the frame rules that
// changes them must be deliberate (bump idVersion and say so in the release
// notes).
func TestSignatureGolden(t *testing.T) {
	tests := []struct {
		name, doc, id, title string
	}{
		{"DBQueryError", classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", dbClass, dbMsg, "ApiMain->executeModule"),
			"dfcd032c643b5440", `Wikimedia\Rdbms\DBQueryError: Error 1205: Lock wait timeout exceeded; try restarting transaction in ApiMain::execute via ApiMain::executeModule`},
		{"PHP warning without exception", `{"@timestamp":"2026-11-21T06:00:00Z","channel":"error","wiki":"enwiki",` +
			`"message":"[Xy12] /w/index.php   PHP Warning: Undefined array key \"foo\" in /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php on line 1234",` +
			`"normalized_message":"[{reqId}] {exception_url}   PHP Warning: Undefined array key \"foo\" in /srv/mediawiki/php-1.47.0-wmf.16/includes/api/ApiMain.php on line 1234"}`,
			"e0203d4b4cb2e8f6", `PHP Warning: Undefined array key in includes/api/ApiMain.php`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewFingerprinter().Compute(decode(t, tt.doc))
			if s.ID != tt.id || s.Title != tt.title {
				t.Errorf("got id %s title %q, want %s %q (template %q, frames %q)", s.ID, s.Title, tt.id, tt.title, s.Template, s.Frames)
			}
		})
	}
}

func TestPHPWarningShapes(t *testing.T) {
	f := NewFingerprinter()
	// A PHP warning reported through MWExceptionHandler::handleError as an
	// ErrorException, on two train versions and in the ECS shape.
	mk := func(version, key string, ecs bool) *event.Event {
		root := "/srv/mediawiki/php-" + version
		msg := `PHP Warning: Undefined array key "` + key + `"`
		trace := "#0 " + root + "/includes/api/ApiMain.php(1234): MWExceptionHandler::handleError(int, string, string, int)\n" +
			"#1 " + root + "/includes/api/ApiMain.php(2006): ApiMain->execute()\n#2 {main}"
		var d map[string]any
		if ecs {
			d = map[string]any{"@timestamp": "2026-11-21T06:00:00Z", "message": "[r] /w/api.php   " + msg,
				"labels": map[string]any{"channel": "error", "normalized_message": "[{reqId}] {exception_url}   " + msg},
				"error":  map[string]any{"type": "ErrorException", "message": msg, "stack_trace": trace}}
		} else {
			d = map[string]any{"@timestamp": "2026-11-21T06:00:00Z", "channel": "error", "message": "[r] /w/api.php   " + msg,
				"normalized_message": "[{reqId}] {exception_url}   " + msg,
				"exception":          map[string]any{"class": "ErrorException", "message": msg, "trace": trace}}
		}
		b, _ := json.Marshal(d)
		return decode(t, string(b))
	}
	a := f.Compute(mk("1.47.0-wmf.16", "foo", false))
	for _, ev := range []*event.Event{mk("1.47.0-wmf.17", "bar", false), mk("1.47.0-wmf.16", "baz", true)} {
		if s := f.Compute(ev); s.ID != a.ID {
			t.Errorf("split: %q %q vs %q %q", s.Template, s.Frames, a.Template, a.Frames)
		}
	}
	if want := "PHP Warning: Undefined array key in ApiMain::execute"; a.Title != want {
		t.Errorf("title %q, want %q", a.Title, want)
	}
	if len(a.Frames) != 1 || a.Frames[0] != "ApiMain->execute" {
		t.Errorf("frames %q: the error handler frame must be skipped", a.Frames)
	}
}

func TestComputeExplicit(t *testing.T) {
	f := NewFingerprinter()
	a := decode(t, classicDoc("1.47.0-wmf.16", "enwiki", "h", "r", "1.1.1.1", dbClass, dbMsg, "ApiMain->executeModule"))
	b := decode(t, classicDoc("1.47.0-wmf.17", "enwiki", "h", "r", "1.1.1.1", "LogicException", "something else", "Foo->bar"))
	sa, sb := f.ComputeExplicit(a, "db-lock-timeouts"), f.ComputeExplicit(b, "db-lock-timeouts")
	if sa.ID != sb.ID {
		t.Errorf("explicit fingerprint did not regroup: %s vs %s", sa.ID, sb.ID)
	}
	if sa.Title == sb.Title || !strings.Contains(sb.Title, "LogicException") {
		t.Errorf("titles must describe each event: %q, %q", sa.Title, sb.Title)
	}
	if c := f.ComputeExplicit(a, "other"); c.ID == sa.ID {
		t.Error("different fingerprints share an id")
	}
	if c := f.Compute(a); c.ID == sa.ID {
		t.Error("explicit and computed ids collide")
	}
	a.Channel = "other"
	if c := f.ComputeExplicit(a, "db-lock-timeouts"); c.ID == sa.ID {
		t.Error("the channel is not part of an explicit id")
	}
}

func TestTitle(t *testing.T) {
	long := strings.Repeat("Ünïcødé ", 60)
	tests := []struct {
		name, class, tmpl string
		frames            []string
		want              string
	}{
		{"warning", "ErrorException", "PHP Warning: Undefined array key {quoted}", []string{"ApiMain->execute"}, "PHP Warning: Undefined array key in ApiMain::execute"},
		{"namespaced", `Wikimedia\Rdbms\DBQueryError`, "Error {num}: Deadlock\nQuery: x", []string{`Wikimedia\Rdbms\Database->query`}, `Wikimedia\Rdbms\DBQueryError: Error <num>: Deadlock in Database::query`},
		{"static", "", "Oops", []string{`MediaWiki\Title\Title::newFromID`}, "Oops in Title::newFromID"},
		{"only a placeholder", "", "{quoted}", nil, "<quoted>"},
		{"property", "", "PHP Warning: Undefined property: stdClass::${val}", nil, "PHP Warning: Undefined property: stdClass"},
		{"value inside", "", "Failed for user {val} ({email})", []string{"A->b"}, "Failed for user <val> (<email>) in A::b"},
		{"whitespace collapsed", "", "a \t\x01 b", nil, "a b"},
		{"no message", "RuntimeException", "", []string{"f"}, "RuntimeException in f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Title(tt.class, tt.tmpl, tt.frames); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	got := Title("X", long, []string{"Foo->bar"})
	if len(got) > MaxTitleBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "… in Foo::bar") {
		t.Errorf("long title %d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
}

func TestFrames(t *testing.T) {
	trace := strings.Join([]string{
		"#0 [internal function]: MWExceptionHandler::handleError(int, string)",
		"#1 /srv/mediawiki/php-1.47.0-wmf.16/vendor/guzzlehttp/guzzle/src/Client.php(12): GuzzleHttp\\Client->send()",
		"#2 /srv/mediawiki/php-1.47.0-wmf.16/includes/Foo.php(12): {closure}(array)",
		"#3 /srv/mediawiki/php-1.47.0-wmf.16/includes/Bar.php(7): {closure:/srv/mediawiki/php-1.47.0-wmf.16/includes/Bar.php:99}(int)",
		"#4 /srv/mediawiki/php-1.47.0-wmf.16/includes/Baz.php(7): Baz->{closure:Baz::run():41}()",
		"#5 /srv/mediawiki/php-1.47.0-wmf.16/includes/Qux.php(7): Qux->never()",
		"#6 {main}",
	}, "\n")
	got, n := appendFrames(nil, trace, "", 3)
	want := "{closure:includes/Bar.php}\nBaz->{closure:Baz::run()}\nQux->never\n"
	if string(got) != want || n != 3 {
		t.Errorf("got %d %q\nwant %q", n, got, want)
	}
	if got, n := appendFrames(nil, "garbage\n\n#x\n#1\n#2 {main}", "", 3); n != 0 || len(got) != 0 {
		t.Errorf("garbage gave %d frames %q", n, got)
	}
}

// TestCacheTransparent checks that the caches never change a result, also when
// they overflow and are emptied.
func TestCacheTransparent(t *testing.T) {
	evs := decodeAll(t, genCorpus(t, 3000, 7))
	cached := NewFingerprinter()
	cached.maxTmpl, cached.maxSigs = 50, 20
	bare := &Fingerprinter{}
	for i := range evs {
		a, b := cached.Compute(&evs[i]), bare.Compute(&evs[i])
		if a.ID != b.ID || a.Title != b.Title || a.Template != b.Template || fmt.Sprint(a.Frames) != fmt.Sprint(b.Frames) {
			t.Fatalf("event %d: cached %+v\nuncached %+v", i, a, b)
		}
	}
	if len(cached.tmpl) > 50 || len(cached.sigs) > 20 {
		t.Errorf("caches exceeded their bounds: %d, %d", len(cached.tmpl), len(cached.sigs))
	}
}

func TestCorpusOneSignaturePerKind(t *testing.T) {
	kinds := genKinds()
	r := rand.New(rand.NewPCG(1, 2))
	f := NewFingerprinter()
	ids := map[string]int{}
	for ki, k := range kinds {
		var first Signature
		for i := 0; i < 50; i++ {
			b, err := json.Marshal(genDoc(r, k, genVersions[i%2]))
			if err != nil {
				t.Fatal(err)
			}
			s := f.Compute(decode(t, string(b)))
			if i == 0 {
				first = s
				continue
			}
			if s.ID != first.ID {
				t.Fatalf("kind %d split:\n %q %q %q\n %q %q %q", ki, first.Template, first.Frames, first.Class, s.Template, s.Frames, s.Class)
			}
		}
		if other, dup := ids[first.ID]; dup {
			t.Fatalf("kinds %d and %d share id %s", other, ki, first.ID)
		}
		ids[first.ID] = ki
	}
}

func TestComputeDoesNotAllocateWhenWarm(t *testing.T) {
	evs := decodeAll(t, genCorpus(t, 64, 3))
	f := NewFingerprinter()
	for i := range evs {
		f.Compute(&evs[i])
	}
	ev := &evs[0]
	if n := testing.AllocsPerRun(100, func() { f.Compute(ev) }); n != 0 {
		t.Errorf("warm Compute allocates %.1f times per event", n)
	}
}

func TestLongMessagesAreBounded(t *testing.T) {
	f := NewFingerprinter()
	head := "Huge dump: " + strings.Repeat("Ünïcødé word ", 400) // > MaxTemplateBytes
	a := f.Compute(&event.Event{Channel: "x", Message: head + "tail one"})
	b := f.Compute(&event.Event{Channel: "x", Message: head + "tail two"})
	if len(a.Template) > MaxTemplateBytes || !utf8.ValidString(a.Template) || !strings.HasSuffix(a.Template, "…") {
		t.Errorf("template of %d bytes, valid %v", len(a.Template), utf8.ValidString(a.Template))
	}
	if a.ID != b.ID {
		t.Error("messages differing only beyond MaxTemplateBytes got different ids")
	}
	trace := "#0 /x.php(1): {closure:" + strings.Repeat("é", 400) + "}()"
	s := f.Compute(&event.Event{Channel: "x", Message: "m", ExcTrace: trace})
	if len(s.Frames) != 1 || len(s.Frames[0]) > maxFrameBytes || !utf8.ValidString(s.Frames[0]) {
		t.Errorf("frame not bounded: %d bytes", len(s.Frames[0]))
	}
}
