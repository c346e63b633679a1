package signature

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wikimedia/sheriff/internal/event"
)

// A generator of realistic MediaWiki logstash documents (classic and ECS
// shapes) over a few dozen distinct errors, with everything that must not
// split a signature varied per event: request id, wiki, host, IP, train
// version, URL, and the numbers, titles and quoted values in messages.

var (
	genWikis    = []string{"enwiki", "dewiki", "commonswiki", "wikidatawiki", "simplewiki", "metawiki", "frwiktionary", "loginwiki"}
	genHosts    = []string{"deployment-mediawiki11", "deployment-mediawiki12", "deployment-jobrunner04", "deployment-snapshot01", "deployment-parsoid14"}
	genVersions = []string{"1.47.0-wmf.16", "1.47.0-wmf.17"}
	genUsers    = []string{"Example", "Jdoe (WMF)", "Zoë", "Beta-tester-42", "Jimmy Wales", "172.16.4.188", "~2026-12345-67"}
	genTitles   = []string{"Albert_Einstein", "Special:Search", "Main_Page", "User:Foo/sandbox", "Q42", "Talk:Zürich", "File:Ünïcødé.jpg"}
)

type genKind struct {
	channel, class string
	// msg returns the interpolated message and the template MediaWiki would
	// put in normalized_message ("" when it sends none).
	msg   func(r *rand.Rand, root string) (string, string)
	trace []string // frames, "{root}" replaced by the install root
	ecs   bool     // ECS-shaped document
}

func rootOf(version string) string { return "/srv/mediawiki/php-" + version }

func genKinds() []genKind {
	same := func(f func(r *rand.Rand, root string) string) func(r *rand.Rand, root string) (string, string) {
		return func(r *rand.Rand, root string) (string, string) { m := f(r, root); return m, m }
	}
	apiTrace := []string{
		"{root}/includes/api/ApiMain.php(2006): ApiMain->executeAction()",
		"{root}/includes/api/ApiMain.php(1050): ApiMain->executeActionWithErrorHandling()",
		"{root}/includes/api/ApiEntryPoint.php(174): ApiMain->execute()",
		"{root}/includes/MediaWikiEntryPoint.php(202): MediaWiki\\Api\\ApiEntryPoint->execute()",
		"/srv/mediawiki/w/api.php(44): MediaWiki\\MediaWikiEntryPoint->run()",
		"{main}",
	}
	dbTrace := []string{
		"{root}/includes/libs/rdbms/database/Database.php(1258): Wikimedia\\Rdbms\\Database->getQueryException()",
		"{root}/includes/libs/rdbms/database/Database.php(1236): Wikimedia\\Rdbms\\Database->getQueryExceptionAndLog()",
		"{root}/includes/libs/rdbms/database/Database.php(822): Wikimedia\\Rdbms\\Database->reportQueryError()",
		"{root}/includes/libs/rdbms/database/DBConnRef.php(127): Wikimedia\\Rdbms\\Database->query()",
		"{root}/includes/page/WikiPage.php(2130): Wikimedia\\Rdbms\\DBConnRef->__call()",
		"{root}/includes/jobqueue/jobs/RefreshLinksJob.php(181): WikiPage->doSecondaryDataUpdates()",
		"{main}",
	}
	return []genKind{
		{channel: "error", class: "ErrorException", msg: func(r *rand.Rand, root string) (string, string) {
			k := []string{"foo", "bar", "wgFoo", "title"}[r.IntN(4)]
			m := fmt.Sprintf(`PHP Warning: Undefined array key "%s"`, k)
			return m, m
		}, trace: append([]string{
			"{root}/includes/api/ApiQueryRevisions.php(120): MWExceptionHandler::handleError(int, string, string, int)",
			"{root}/includes/api/ApiQuery.php(671): ApiQueryRevisions->execute()",
		}, apiTrace...)},
		{channel: "error", msg: same(func(r *rand.Rand, root string) string {
			return fmt.Sprintf("PHP Notice: Trying to access array offset on value of type null in %s/includes/parser/Parser.php on line %d", root, 1000+r.IntN(5))
		})},
		{channel: "error", msg: same(func(r *rand.Rand, root string) string {
			return fmt.Sprintf("PHP Deprecated: Use of Title::getText was deprecated in MediaWiki 1.%d. [Called from Foo at %s/extensions/Foo/Foo.php:%d]", 40+r.IntN(3), root, 10+r.IntN(300))
		})},
		{channel: "exception", class: "Wikimedia\\Rdbms\\DBQueryError", msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Error 1205: Lock wait timeout exceeded; try restarting transaction\nFunction: WikiPage::doSecondaryDataUpdates\nQuery: SELECT  page_latest  FROM `page`    WHERE page_id = %d  LIMIT 1   FOR UPDATE (db%d)", r.IntN(9000000), 1100+r.IntN(100))
			return m, "Wikimedia\\Rdbms\\DBQueryError: " + m
		}, trace: dbTrace},
		{channel: "exception", class: "Wikimedia\\Rdbms\\DBQueryError", ecs: true, msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Error 1213: Deadlock found when trying to get lock; try restarting transaction\nFunction: LinksUpdate::doIncrementalUpdate\nQuery: DELETE FROM `pagelinks` WHERE pl_from = %d AND pl_target_id IN (%d,%d)", r.IntN(9000000), r.IntN(1e6), r.IntN(1e6))
			return m, ""
		}, trace: dbTrace},
		{channel: "exception", class: "MWException", msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf(`Could not find file "%s/extensions/WikimediaMessages/i18n/%s.json"`, root, []string{"en", "de", "fr"}[r.IntN(3)])
			return m, "MWException: " + m
		}, trace: []string{
			"{root}/includes/language/LocalisationCache.php(512): LocalisationCache->readJSONFile()",
			"{root}/includes/language/LocalisationCache.php(1040): LocalisationCache->readSourceFilesAndRegisterDeps()",
			"{root}/maintenance/rebuildLocalisationCache.php(210): LocalisationCache->recache()",
			"{main}",
		}},
		{channel: "exception", class: "LogicException", msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Cannot call getTitle() on a section-less revision %d", r.IntN(1e7))
			return m, "LogicException: " + m
		}, trace: []string{
			"{root}/extensions/Flow/includes/Model/AbstractRevision.php(812): Flow\\Model\\AbstractRevision->getTitle()",
			"{root}/extensions/Flow/includes/Formatter/RevisionFormatter.php(289): Flow\\Model\\AbstractRevision->getCollection()",
			"{root}/extensions/Flow/includes/Api/ApiFlowViewTopic.php(45): Flow\\Formatter\\RevisionFormatter->formatApi()",
			"{main}",
		}},
		{channel: "exception", class: "Error", msg: func(r *rand.Rand, root string) (string, string) {
			m := "Call to a member function getId() on null"
			return m, "Error: " + m
		}, trace: append([]string{
			"[internal function]: MediaWiki\\Extension\\Echo\\Hooks->onUserGetDefaultOptions(array)",
			"{root}/vendor/wikimedia/object-factory/src/ObjectFactory.php(176): call_user_func_array(array, array)",
			"{root}/extensions/Echo/includes/Hooks.php(301): MediaWiki\\User\\UserIdentityValue->getId()",
			"{root}/includes/HookContainer/HookContainer.php(159): MediaWiki\\Extension\\Echo\\Hooks->onBeforePageDisplay(OutputPage, Skin)",
		}, apiTrace...)},
		{channel: "exception", class: "TypeError", ecs: true, msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("MediaWiki\\Title\\Title::newFromID(): Argument #1 ($id) must be of type int, string given, called in %s/includes/specials/SpecialUndelete.php on line %d", root, 700+r.IntN(3))
			return m, "[{reqId}] {exception_url}   TypeError: " + m
		}, trace: []string{
			"{root}/includes/specials/SpecialUndelete.php(704): MediaWiki\\Title\\Title::newFromID(string)",
			"{root}/includes/specialpage/SpecialPage.php(719): MediaWiki\\Specials\\SpecialUndelete->execute(NULL)",
			"{main}",
		}},
		{channel: "fatal", class: "Error", msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Allowed memory size of %d bytes exhausted (tried to allocate %d bytes)", 734003200, 4096*(1+r.IntN(64)))
			return m, "Error: " + m
		}, trace: []string{
			"{root}/includes/parser/Parser.php(1682): {closure:" + "{root}/includes/parser/Parser.php:1670}(array)",
			"{root}/includes/parser/Parser.php(1690): preg_replace_callback(string, Closure, string)",
			"{main}",
		}},
		{channel: "exception", class: "Wikimedia\\Assert\\ParameterAssertionException", msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Bad value for parameter $dbkey: invalid DB key '%s'", genTitles[r.IntN(len(genTitles))])
			return m, "Wikimedia\\Assert\\ParameterAssertionException: " + m
		}, trace: []string{
			"{root}/vendor/wikimedia/assert/src/Assert.php(71): Wikimedia\\Assert\\Assert::parameter()",
			"{root}/includes/page/PageIdentityValue.php(94): Wikimedia\\Assert\\Assert::parameter(bool, string, string)",
			"{root}/includes/linker/LinkRenderer.php(197): MediaWiki\\Page\\PageIdentityValue->__construct(int, int, string, bool)",
			"{main}",
		}},
		{channel: "exception", class: "RuntimeException", msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Failed to connect to 10.64.%d.%d:6379 for session %08x-%04x-4%03x-a%03x-%012x from 2001:db8::%x", r.IntN(255), r.IntN(255), r.Uint32(), r.IntN(65535), r.IntN(4095), r.IntN(4095), r.Int64N(1<<48), r.IntN(65535))
			return m, "RuntimeException: " + m
		}, trace: []string{
			"{root}/includes/libs/objectcache/RedisBagOStuff.php(512): RedisConnectionPool->getConnection()",
			"{root}/includes/session/SessionManager.php(240): RedisBagOStuff->get()",
			"{main}",
		}},
		{channel: "mail", msg: same(func(r *rand.Rand, root string) string {
			return fmt.Sprintf("Error sending mail to user%d@example.org via https://%s/w/api.php?action=emailuser&target=User%d&token=%x: SMTP 451", r.IntN(1000), genWikis[r.IntN(len(genWikis))]+".beta.wmcloud.org", r.IntN(100), r.Uint64())
		})},
		// Values MediaWiki interpolates without quotes (intro.go).
		{channel: "exception", class: "InvalidArgumentException", msg: func(r *rand.Rand, root string) (string, string) {
			m := "Invalid username: " + genUsers[r.IntN(len(genUsers))]
			return m, "InvalidArgumentException: " + m
		}, trace: []string{
			"{root}/includes/user/UserIdentityValue.php(61): MediaWiki\\User\\UserIdentityValue->__construct(int, string)",
			"{root}/extensions/CentralAuth/includes/CentralAuthUser.php(3012): MediaWiki\\User\\UserIdentityValue::newRegistered(int, string)",
			"{main}",
		}},
		{channel: "exception", class: "Wikimedia\\Assert\\PreconditionException", ecs: true, msg: func(r *rand.Rand, root string) (string, string) {
			m := fmt.Sprintf("Precondition failed: Expected a ProperPageIdentity, got page %s in namespace %d; user %s (user%d@example.org)",
				genTitles[r.IntN(len(genTitles))], r.IntN(16), genUsers[r.IntN(len(genUsers))], r.IntN(1000))
			return m, ""
		}, trace: []string{
			"{root}/vendor/wikimedia/assert/src/Assert.php(44): Wikimedia\\Assert\\Assert::precondition(bool, string)",
			"{root}/includes/page/PageStoreRecord.php(52): Wikimedia\\Assert\\Assert::precondition(bool, string)",
			"{root}/extensions/DiscussionTools/includes/Hooks/PageHooks.php(120): MediaWiki\\Page\\PageStoreRecord->__construct(stdClass, string)",
			"{main}",
		}},
		{channel: "error", msg: func(r *rand.Rand, root string) (string, string) {
			return fmt.Sprintf("PHP Notice: Undefined index: %s in %s/extensions/UniversalLanguageSelector/includes/Hooks.php on line %d",
				[]string{"query", "continue", "pageids", "rvslots"}[r.IntN(4)], root, 100+r.IntN(5)), ""
		}},
		{channel: "JobExecutor", msg: same(func(r *rand.Rand, root string) string {
			return fmt.Sprintf("Job htmlCacheUpdate (id=%08x) failed after %d.%03ds: 'Title::invalidateCache' took too long (limit %d)", r.Uint32(), r.IntN(60), r.IntN(1000), 30)
		})},
	}
}

func genReqID(r *rand.Rand) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	for i := range b {
		b[i] = a[r.IntN(len(a))]
	}
	return string(b)
}

// genDoc builds one logstash document of kind k.
func genDoc(r *rand.Rand, k genKind, version string) map[string]any {
	root := rootOf(version)
	msg, norm := k.msg(r, root)
	frames := make([]string, len(k.trace))
	for i, f := range k.trace {
		frames[i] = fmt.Sprintf("#%d %s", i, strings.ReplaceAll(f, "{root}", root))
	}
	trace := strings.Join(frames, "\n")
	reqID := genReqID(r)
	url := fmt.Sprintf("/w/index.php?title=%s&action=%s", genTitles[r.IntN(len(genTitles))], []string{"view", "edit", "info"}[r.IntN(3)])
	ip := fmt.Sprintf("172.16.%d.%d", r.IntN(8), r.IntN(255))
	prefixed := fmt.Sprintf("[%s] %s   ", reqID, url)
	full := msg
	if k.class != "" && k.class != "ErrorException" {
		full = k.class + ": " + msg
	}
	wiki := genWikis[r.IntN(len(genWikis))]
	host := genHosts[r.IntN(len(genHosts))]
	ts := fmt.Sprintf("2026-11-21T%02d:%02d:%02d.%03dZ", r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
	if k.ecs {
		d := map[string]any{
			"@timestamp": ts, "message": prefixed + full,
			"log":     map[string]any{"level": "ERROR", "logger": k.channel},
			"labels":  map[string]any{"channel": k.channel, "wiki": wiki},
			"host":    map[string]any{"name": host},
			"service": map[string]any{"version": version},
			"trace":   map[string]any{"id": reqID},
			"url":     map[string]any{"full": "https://" + wiki + ".beta.wmcloud.org" + url},
			"client":  map[string]any{"ip": ip},
		}
		if norm != "" {
			d["labels"].(map[string]any)["normalized_message"] = norm
		}
		if k.class != "" {
			d["error"] = map[string]any{"type": k.class, "message": msg, "stack_trace": trace}
		}
		return d
	}
	d := map[string]any{
		"@timestamp": ts, "type": "mediawiki", "channel": k.channel, "level": "ERROR",
		"message": prefixed + full, "reqId": reqID, "wiki": wiki, "host": host,
		"mwversion": version, "url": url, "ip": ip, "servergroup": "appserver",
	}
	if norm != "" {
		if !strings.HasPrefix(norm, "[{reqId}]") {
			n := norm
			if k.class != "" && k.class != "ErrorException" && !strings.HasPrefix(n, k.class) {
				n = k.class + ": " + n
			}
			norm = "[{reqId}] {exception_url}   " + n
		}
		d["normalized_message"] = norm
	}
	if k.class != "" {
		d["exception"] = map[string]any{"class": k.class, "message": msg, "trace": trace, "code": 0,
			"file": root + "/includes/Foo.php:12"}
	}
	return d
}

// genCorpus returns n JSON documents over every kind, seeded for
// reproducibility.
func genCorpus(tb testing.TB, n int, seed uint64) [][]byte {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	kinds := genKinds()
	out := make([][]byte, n)
	for i := range out {
		k := kinds[r.IntN(len(kinds))]
		b, err := json.Marshal(genDoc(r, k, genVersions[r.IntN(len(genVersions))]))
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func decodeAll(tb testing.TB, docs [][]byte) []event.Event {
	tb.Helper()
	evs := make([]event.Event, len(docs))
	for i, d := range docs {
		ev, err := event.Decode(d)
		if err != nil {
			tb.Fatalf("doc %d: %v\n%s", i, err, d)
		}
		evs[i] = ev
	}
	return evs
}
