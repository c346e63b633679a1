// Command gen writes the bundled demo sample of MediaWiki logstash events
// (internal/demo/sample.ndjson). The output is deterministic:
//
//	go run ./internal/demo/gen > internal/demo/sample.ndjson
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"
)

type kind struct {
	channel, level string
	class          string // exception class, "" for plain PHP errors
	tmpl           string // normalized message after the prefix; {x} are filled per event
	file           string // in-app file raising it
	frames         []string
	ecs            bool   // emit the ECS shape
	noNorm         bool   // producer sent no normalized_message
	norm           string // PSR-3 template when the producer logged one; else the interpolated message is sent
	weight         int
}

var wikis = []string{"enwiki", "dewiki", "commonswiki", "wikidatawiki", "metawiki", "enwiktionary", "frwiki", "hewiki", "zhwiki", "loginwiki", "en_rtlwiki", "simplewiki"}
var versions = []string{"1.47.0-wmf.16", "1.47.0-wmf.17"}
var hosts = []string{"deployment-mediawiki11", "deployment-mediawiki12", "deployment-mediawiki13", "deployment-jobrunner04", "deployment-deploy03", "deployment-snapshot01"}
var titles = []string{"Main_Page", "Special:RecentChanges", "Albert_Einstein", "Talk:Beta_Cluster", "User:Example/sandbox", "Special:Search", "Q42", "File:Wikipedia-logo-v2.svg", "Special:BlankPage", "Category:Physics"}

var kinds = []kind{
	{channel: "error", level: "WARNING", tmpl: `PHP Warning: Undefined array key "{key}"`, file: "includes/api/ApiMain.php", frames: []string{"includes/api/ApiMain.php(2006): ApiMain->executeAction()", "includes/api/ApiMain.php(921): ApiMain->executeActionWithErrorHandling()", "includes/api/ApiEntryPoint.php(152): ApiMain->execute()"}, weight: 9},
	{channel: "exception", level: "ERROR", class: `Wikimedia\Rdbms\DBQueryError`, tmpl: "Error 1205: Lock wait timeout exceeded; try restarting transaction\nFunction: {fn}\nQuery: UPDATE  page SET page_touched = '{ts}' WHERE page_id = {n}", file: "includes/libs/rdbms/database/Database.php", frames: []string{"includes/libs/rdbms/database/Database.php(1198): Wikimedia\\Rdbms\\Database->getQueryException()", "includes/libs/rdbms/database/Database.php(1172): Wikimedia\\Rdbms\\Database->getQueryExceptionAndLog()", "includes/page/WikiPage.php(1290): Wikimedia\\Rdbms\\Database->update()"}, weight: 7},
	{channel: "fatal", level: "ERROR", class: "Error", tmpl: `Call to a member function getId() on null`, file: "extensions/Echo/includes/Push/PushNotifier.php", frames: []string{"extensions/Echo/includes/Push/PushNotifier.php(47): MediaWiki\\Extension\\Notifications\\Push\\PushNotifier::notifyWithPush()", "extensions/Echo/includes/Notifier.php(93): MediaWiki\\Extension\\Notifications\\Push\\PushNotifier::notifyWithPush()", "includes/jobqueue/JobRunner.php(382): MediaWiki\\Extension\\Notifications\\Jobs\\NotificationJob->run()"}, weight: 6},
	{channel: "exception", level: "ERROR", class: "TypeError", tmpl: `MediaWiki\Revision\RevisionStore::getRevisionById(): Argument #1 ($id) must be of type int, string given, called in /srv/mediawiki/php-{ver}/includes/Revision/RevisionLookup.php on line {line}`, file: "includes/Revision/RevisionStore.php", frames: []string{"includes/Revision/RevisionLookup.php(88): MediaWiki\\Revision\\RevisionStore->getRevisionById()", "includes/actions/HistoryAction.php(211): MediaWiki\\Revision\\RevisionLookup->getRevision()", "includes/actions/ActionEntryPoint.php(733): HistoryAction->show()"}, weight: 5},
	{channel: "exception", level: "ERROR", class: `Wikimedia\Assert\PreconditionException`, tmpl: `Precondition failed: Expected a ProperPageIdentity, got page {page} in namespace {ns}`, file: "vendor/wikimedia/assert/src/Assert.php", frames: []string{"vendor/wikimedia/assert/src/Assert.php(44): Wikimedia\\Assert\\Assert::precondition()", "includes/page/PageStoreRecord.php(52): Wikimedia\\Assert\\Assert::precondition()", "extensions/DiscussionTools/includes/Hooks/PageHooks.php(120): MediaWiki\\Page\\PageStoreRecord->__construct()"}, weight: 4},
	{channel: "exception", level: "ERROR", class: "MWException", tmpl: `Could not find file "/srv/mediawiki/php-{ver}/extensions/WikimediaMessages/i18n/{lang}.json"`, file: "includes/language/LocalisationCache.php", frames: []string{"includes/language/LocalisationCache.php(512): LocalisationCache->readJSONFile()", "includes/language/LocalisationCache.php(1040): LocalisationCache->readSourceFilesAndRegisterDeps()", "maintenance/rebuildLocalisationCache.php(210): LocalisationCache->recache()"}, weight: 3},
	{channel: "exception", level: "ERROR", class: "JobQueueError", tmpl: `Could not enqueue jobs: Unable to deliver all events: 503: Service Unavailable (request id {uuid})`, file: "extensions/EventBus/includes/JobQueueEventBus.php", frames: []string{"extensions/EventBus/includes/JobQueueEventBus.php(111): MediaWiki\\Extension\\EventBus\\JobQueueEventBus->doBatchPush()", "includes/jobqueue/JobQueue.php(353): MediaWiki\\Extension\\EventBus\\JobQueueEventBus->doBatchPush()", "includes/deferred/LinksUpdate/LinksUpdate.php(281): JobQueueGroup->push()"}, weight: 4},
	{channel: "error", level: "WARNING", tmpl: `PHP Warning: Trying to access array offset on value of type null`, file: "extensions/CirrusSearch/includes/Search/CirrusSearchResultSet.php", frames: []string{"extensions/CirrusSearch/includes/Search/CirrusSearchResultSet.php(214): MediaWiki\\Exception\\MWExceptionHandler::handleError()", "extensions/CirrusSearch/includes/Searcher.php(802): CirrusSearch\\Search\\CirrusSearchResultSet->extractResults()", "includes/specials/SpecialSearch.php(410): CirrusSearch\\Searcher->search()"}, weight: 6},
	{channel: "error", level: "INFO", tmpl: `PHP Deprecated: Use of ParserOutput::getText was deprecated in MediaWiki 1.42. [Called from {fn}]`, file: "includes/debug/MWDebug.php", frames: []string{"includes/debug/MWDebug.php(386): trigger_error()", "includes/debug/MWDebug.php(356): MWDebug::sendMessage()", "extensions/Popups/includes/PopupsHooks.php(77): MWDebug::deprecated()"}, weight: 3},
	{channel: "exception", level: "ERROR", class: `Wikimedia\Rdbms\DBConnectionError`, tmpl: `Cannot access the database: Can't connect to MySQL server on '{ip}' (110)`, file: "includes/libs/rdbms/loadbalancer/LoadBalancer.php", frames: []string{"includes/libs/rdbms/loadbalancer/LoadBalancer.php(935): Wikimedia\\Rdbms\\LoadBalancer->reportConnectionError()", "includes/libs/rdbms/loadbalancer/LoadBalancer.php(902): Wikimedia\\Rdbms\\LoadBalancer->getServerConnection()", "includes/user/UserFactory.php(146): Wikimedia\\Rdbms\\LoadBalancer->getConnection()"}, weight: 3},
	{channel: "exception", level: "ERROR", class: "InvalidArgumentException", tmpl: `Invalid username: {user}`, file: "includes/user/UserIdentityValue.php", frames: []string{"includes/user/UserIdentityValue.php(61): MediaWiki\\User\\UserIdentityValue->__construct()", "extensions/CentralAuth/includes/CentralAuthUser.php(3012): MediaWiki\\User\\UserIdentityValue::newRegistered()", "extensions/CentralAuth/includes/Hooks/Handlers/LoginHookHandler.php(155): CentralAuthUser->authenticate()"}, weight: 3},
	{channel: "exception", level: "ERROR", class: `MediaWiki\Extension\AbuseFilter\Parser\Exception\UserVisibleException`, tmpl: `Unrecognised token "{tok}" at character {n}`, file: "extensions/AbuseFilter/includes/Parser/AbuseFilterTokenizer.php", frames: []string{"extensions/AbuseFilter/includes/Parser/AbuseFilterTokenizer.php(180): MediaWiki\\Extension\\AbuseFilter\\Parser\\AbuseFilterTokenizer->nextToken()", "extensions/AbuseFilter/includes/Parser/AbuseFilterCachingParser.php(98): MediaWiki\\Extension\\AbuseFilter\\Parser\\AbuseFilterTokenizer->getTokens()", "extensions/AbuseFilter/includes/FilterRunner.php(310): MediaWiki\\Extension\\AbuseFilter\\Parser\\AbuseFilterCachingParser->checkSyntax()"}, weight: 2},
	{channel: "exception", level: "ERROR", class: `Wikibase\Lib\Store\StorageException`, tmpl: `Failed to load entity {qid} from revision {n}`, file: "extensions/Wikibase/lib/includes/Store/Sql/WikiPageEntityDataLoader.php", frames: []string{"extensions/Wikibase/lib/includes/Store/Sql/WikiPageEntityDataLoader.php(60): Wikibase\\Lib\\Store\\Sql\\WikiPageEntityDataLoader->loadEntityDataFromWikiPageRevision()", "extensions/Wikibase/lib/includes/Store/Sql/WikiPageEntityRevisionLookup.php(93): Wikibase\\Lib\\Store\\Sql\\WikiPageEntityDataLoader->loadEntityDataFromWikiPageRevision()", "extensions/Wikibase/repo/includes/Api/GetEntities.php(260): Wikibase\\Lib\\Store\\Sql\\WikiPageEntityRevisionLookup->getEntityRevision()"}, ecs: true, weight: 4},
	{channel: "exception", level: "ERROR", class: "RuntimeException", tmpl: `Failed to parse JSON from https://meta.wikimedia.beta.wmcloud.org/w/api.php?action=query&meta=siteinfo&token={hex}: Syntax error`, file: "extensions/GlobalBlocking/includes/GlobalBlockLookup.php", frames: []string{"extensions/GlobalBlocking/includes/GlobalBlockLookup.php(402): MediaWiki\\Http\\HttpRequestFactory->get()", "extensions/GlobalBlocking/includes/GlobalBlockLookup.php(155): MediaWiki\\Extension\\GlobalBlocking\\GlobalBlockLookup->fetch()", "includes/Permissions/PermissionManager.php(770): MediaWiki\\Extension\\GlobalBlocking\\GlobalBlockLookup->getUserBlock()"}, ecs: true, weight: 3},
	{channel: "error", level: "WARNING", tmpl: `PHP Warning: filemtime(): stat failed for /srv/mediawiki/php-{ver}/skins/Vector/resources/{file}.less`, file: "includes/ResourceLoader/FileModule.php", frames: []string{"includes/ResourceLoader/FileModule.php(1091): filemtime()", "includes/ResourceLoader/FileModule.php(650): MediaWiki\\ResourceLoader\\FileModule->getFileHashes()", "includes/ResourceLoader/Module.php(933): MediaWiki\\ResourceLoader\\FileModule->getDefinitionSummary()"}, weight: 4},
	{channel: "fatal", level: "ERROR", class: "Error", tmpl: `Allowed memory size of {n} bytes exhausted (tried to allocate {n} bytes)`, file: "includes/parser/Parser.php", frames: []string{"includes/parser/Parser.php(1611): Parser->internalParse()", "includes/parser/Parser.php(700): Parser->internalParseHalfParsed()", "includes/content/WikitextContentHandler.php(380): Parser->parse()"}, weight: 3},
	{channel: "exception", level: "ERROR", class: `MediaWiki\Session\SessionOverflowException`, tmpl: `Multiple sessions for this request tied for top priority: CentralAuthSessionProvider, BotPasswordSessionProvider`, file: "includes/session/SessionManager.php", frames: []string{"includes/session/SessionManager.php(516): MediaWiki\\Session\\SessionManager->getSessionInfoForRequest()", "includes/session/SessionManager.php(184): MediaWiki\\Session\\SessionManager->getSessionInfoForRequest()", "includes/Request/WebRequest.php(853): MediaWiki\\Session\\SessionManager->getSessionForRequest()"}, weight: 2},
	{channel: "memcached", level: "ERROR", tmpl: `Memcached error for key "{wiki}:page-recent-delete:{hex}" on server "{ip}:11211": SERVER HAS FAILED AND IS DISABLED UNTIL TIMED RETRY`, norm: `Memcached error for key "{memcached-key}" on server "{memcached-server}": {memcached-error}`, weight: 4},
	{channel: "error", level: "ERROR", tmpl: `PHP Notice: Undefined index: {key} in /srv/mediawiki/php-{ver}/extensions/UniversalLanguageSelector/includes/Hooks.php on line {line}`, noNorm: true, weight: 2},
	{channel: "exception", level: "ERROR", class: "UnexpectedValueException", tmpl: `Unexpected page namespace {ns} for page id {n}; expected one of 0, 2, 4`, file: "extensions/PageTriage/includes/PageTriage.php", frames: []string{"extensions/PageTriage/includes/PageTriage.php(183): MediaWiki\\Extension\\PageTriage\\PageTriage->retrieve()", "extensions/PageTriage/includes/Api/ApiPageTriageList.php(96): MediaWiki\\Extension\\PageTriage\\PageTriage->addToPageTriageQueue()", "includes/api/ApiMain.php(2006): MediaWiki\\Extension\\PageTriage\\Api\\ApiPageTriageList->execute()"}, weight: 2},
	{channel: "error", level: "WARNING", tmpl: `PHP Warning: Cannot modify header information - headers already sent by (output started at /srv/mediawiki/php-{ver}/includes/OutputHandler.php:{line})`, file: "includes/Request/WebResponse.php", frames: []string{"includes/Request/WebResponse.php(74): header()", "includes/Output/OutputPage.php(3090): MediaWiki\\Request\\WebResponse->header()", "includes/actions/ActionEntryPoint.php(160): MediaWiki\\Output\\OutputPage->output()"}, weight: 2},
	{channel: "exception", level: "ERROR", class: `MediaWiki\Extension\Math\MathRestbaseInterface\MathRestbaseException`, tmpl: `Math extension cannot connect to Restbase at https://{wiki}.beta.wmcloud.org/api/rest_v1/media/math/check/tex (HTTP {status})`, file: "extensions/Math/src/MathRestbaseInterface.php", frames: []string{"extensions/Math/src/MathRestbaseInterface.php(335): MediaWiki\\Extension\\Math\\MathRestbaseInterface->evaluateContentMathMLResponse()", "extensions/Math/src/MathMathML.php(274): MediaWiki\\Extension\\Math\\MathRestbaseInterface->getSuccess()", "extensions/Math/src/Hooks/ParserHooksHandler.php(141): MediaWiki\\Extension\\Math\\MathMathML->render()"}, ecs: true, weight: 3},
	{channel: "exception", level: "ERROR", class: "LogicException", tmpl: `Cannot call getTitle() on a section-less revision {n}`, file: "extensions/Flow/includes/Model/AbstractRevision.php", frames: []string{"extensions/Flow/includes/Model/AbstractRevision.php(812): Flow\\Model\\AbstractRevision->getTitle()", "extensions/Flow/includes/Formatter/RevisionFormatter.php(289): Flow\\Model\\AbstractRevision->getCollection()", "extensions/Flow/includes/Api/ApiFlowViewTopic.php(45): Flow\\Formatter\\RevisionFormatter->formatApi()"}, weight: 2},
	{channel: "error", level: "ERROR", tmpl: `PHP Fatal error: Uncaught ValueError: array_combine(): Argument #1 ($keys) and argument #2 ($values) must have the same number of elements`, file: "extensions/TemplateData/includes/TemplateDataBlob.php", frames: []string{"extensions/TemplateData/includes/TemplateDataBlob.php(211): array_combine()", "extensions/TemplateData/includes/Hooks.php(140): MediaWiki\\Extension\\TemplateData\\TemplateDataBlob->getJSON()", "includes/parser/Parser.php(4012): MediaWiki\\Extension\\TemplateData\\Hooks->render()"}, weight: 2},
	{channel: "exception", level: "ERROR", class: `Wikimedia\Rdbms\DBTransactionSizeError`, tmpl: `Transaction spent {n} second(s) in writes, exceeding the limit of 3`, file: "includes/libs/rdbms/loadbalancer/LoadBalancer.php", frames: []string{"includes/libs/rdbms/loadbalancer/LoadBalancer.php(1593): Wikimedia\\Rdbms\\Database->assertWriteTimeLimit()", "includes/libs/rdbms/lbfactory/LBFactory.php(365): Wikimedia\\Rdbms\\LoadBalancer->approvePrimaryChanges()", "includes/deferred/DeferredUpdates.php(251): Wikimedia\\Rdbms\\LBFactory->commitPrimaryChanges()"}, weight: 2},
	{channel: "exception", level: "ERROR", class: "ErrorPageError", tmpl: `Unable to reach the thumbnailer at http://{ip}:8080/wikipedia/commons/thumb/{hex}/{n}px-Example.jpg`, file: "includes/media/ThumbnailRenderJob.php", frames: []string{"includes/media/ThumbnailRenderJob.php(120): ThumbnailRenderJob->hitThumbUrl()", "includes/jobqueue/JobRunner.php(382): ThumbnailRenderJob->run()", "includes/jobqueue/JobRunner.php(244): JobRunner->executeJob()"}, ecs: true, noNorm: true, weight: 3},
	{channel: "exception", level: "ERROR", class: "BadMethodCallException", tmpl: `Call to undefined method MediaWiki\Linker\LinkRenderer::makeBrokenLink()`, file: "extensions/Kartographer/includes/Tag/MapLinkTag.php", frames: []string{"extensions/Kartographer/includes/Tag/MapLinkTag.php(66): MediaWiki\\Linker\\LinkRenderer->__call()", "extensions/Kartographer/includes/Tag/LegacyTagHandler.php(130): Kartographer\\Tag\\MapLinkTag->render()", "includes/parser/Parser.php(4012): Kartographer\\Tag\\LegacyTagHandler::handle()"}, weight: 2},
	{channel: "error", level: "WARNING", tmpl: `PHP Warning: Undefined property: stdClass::${prop}`, file: "extensions/ContentTranslation/includes/CXCorporaDump.php", frames: []string{"extensions/ContentTranslation/includes/CXCorporaDump.php(144): MediaWiki\\Exception\\MWExceptionHandler::handleError()", "extensions/ContentTranslation/includes/ActionApi/ApiContentTranslationCorpora.php(80): ContentTranslation\\CXCorporaDump->get()", "includes/api/ApiMain.php(2006): ContentTranslation\\ActionApi\\ApiContentTranslationCorpora->execute()"}, weight: 2},
	{channel: "exception", level: "ERROR", class: `MediaWiki\Extension\OATHAuth\OATHAuthException`, tmpl: `Failed to decrypt secret for user {user} ({email})`, file: "extensions/OATHAuth/src/Key/TOTPKey.php", frames: []string{"extensions/OATHAuth/src/Key/TOTPKey.php(233): MediaWiki\\Extension\\OATHAuth\\Key\\EncryptionHelper::decrypt()", "extensions/OATHAuth/src/Module/TOTP.php(101): MediaWiki\\Extension\\OATHAuth\\Key\\TOTPKey->verify()", "extensions/OATHAuth/src/Auth/TOTPSecondaryAuthenticationProvider.php(97): MediaWiki\\Extension\\OATHAuth\\Module\\TOTP->verify()"}, weight: 2},
}

func main() {
	r := rand.New(rand.NewPCG(2026, 11))
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	start := time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	ts := start
	const n = 640
	for i := range n {
		ts = ts.Add(time.Duration(r.IntN(810_000)) * time.Millisecond)
		pick := r.IntN(total)
		var k kind
		for _, c := range kinds {
			if pick < c.weight {
				k = c
				break
			}
			pick -= c.weight
		}
		// The second train version rolls out half-way through the sample.
		ver := versions[0]
		if i > n/2 && r.IntN(4) != 0 {
			ver = versions[1]
		}
		wiki := wikis[r.IntN(len(wikis))]
		host := hosts[r.IntN(len(hosts))]
		reqID := randID(r)
		ip := fmt.Sprintf("172.16.%d.%d", r.IntN(8), 2+r.IntN(250))
		if r.IntN(5) == 0 {
			ip = fmt.Sprintf("2a02:ec80:a000:%x::%x", r.IntN(0xffff), r.IntN(0xfff))
		}
		path := fmt.Sprintf("/w/index.php?title=%s&action=%s", titles[r.IntN(len(titles))], []string{"view", "edit", "history", "info"}[r.IntN(4)])
		if strings.Contains(k.file, "api") || strings.Contains(k.file, "Api") {
			path = fmt.Sprintf("/w/api.php?action=query&format=json&titles=%s&formatversion=2", titles[r.IntN(len(titles))])
		}
		url := "https://" + domain(wiki) + path
		msg := fill(r, k.tmpl, ver, wiki)
		ev := map[string]any{
			"@timestamp":  ts.Format("2006-01-02T15:04:05.000Z"),
			"type":        "mediawiki",
			"channel":     k.channel,
			"level":       k.level,
			"reqId":       reqID,
			"wiki":        wiki,
			"host":        host,
			"servergroup": servergroup(host),
			"mwversion":   ver,
			"url":         path,
			"ip":          ip,
			"http_method": "GET",
			"message":     fmt.Sprintf("[%s] %s   %s", reqID, path, msgHead(k, msg)),
		}
		normalized := "[{reqId}] {exception_url}   " + msgHead(k, msg)
		if k.norm != "" {
			normalized = k.norm
			ev["message"] = msg
		}
		trace := traceFor(k, ver)
		if k.ecs {
			delete(ev, "mwversion")
			delete(ev, "url")
			delete(ev, "wiki")
			ev["service"] = map[string]any{"version": ver, "type": "mediawiki"}
			ev["url"] = map[string]any{"full": url}
			ev["labels"] = map[string]any{"wiki": wiki, "channel": k.channel}
			delete(ev, "channel")
			ev["log"] = map[string]any{"level": strings.ToLower(k.level), "logger": k.channel}
			delete(ev, "level")
			if k.class != "" {
				ev["error"] = map[string]any{"type": k.class, "message": msg, "stack_trace": trace}
			}
			if !k.noNorm {
				ev["labels"].(map[string]any)["normalized_message"] = normalized
			}
		} else {
			if !k.noNorm {
				ev["normalized_message"] = normalized
			}
			if k.class != "" {
				ev["exception"] = map[string]any{
					"class":   k.class,
					"message": msg,
					"code":    0,
					"file":    fmt.Sprintf("/srv/mediawiki/php-%s/%s:%d", ver, k.file, 100+r.IntN(5)),
					"trace":   trace,
				}
			}
		}
		if err := enc.Encode(ev); err != nil {
			panic(err)
		}
		// Real exports contain the odd broken line; the demo shows they are counted and skipped.
		if i == 200 {
			fmt.Fprintln(w, `{"@timestamp": "2026-11-21T09:00:00.000Z", "type": "mediawiki", "message": "truncated by a shipper restart`)
		}
		if i == 400 {
			fmt.Fprintln(w, `{"type": "mediawiki", "channel": "exception", "message": "event without a timestamp"}`)
		}
	}
}

func msgHead(k kind, msg string) string {
	if k.class == "" {
		return msg
	}
	return k.class + ": " + msg
}

func traceFor(k kind, ver string) string {
	var b strings.Builder
	for i, f := range k.frames {
		fmt.Fprintf(&b, "#%d /srv/mediawiki/php-%s/%s\n", i, ver, f)
	}
	fmt.Fprintf(&b, "#%d /srv/mediawiki/php-%s/includes/MediaWikiEntryPoint.php(202): MediaWiki\\MediaWikiEntryPoint->execute()\n", len(k.frames), ver)
	fmt.Fprintf(&b, "#%d /srv/mediawiki/w/index.php(58): MediaWiki\\MediaWikiEntryPoint->run()\n", len(k.frames)+1)
	fmt.Fprintf(&b, "#%d {main}", len(k.frames)+2)
	return b.String()
}

func fill(r *rand.Rand, tmpl, ver, wiki string) string {
	repl := map[string]func() string{
		"{key}": func() string { return []string{"query", "continue", "pageids", "rvslots"}[r.IntN(4)] },
		"{fn}": func() string {
			return []string{"WikiPage::doViewUpdates", "MediaWiki\\Deferred\\LinksUpdate\\LinksUpdate::doUpdate"}[r.IntN(2)]
		},
		"{ts}":   func() string { return fmt.Sprintf("2026112%d%06d", r.IntN(3), r.IntN(235959)) },
		"{n}":    func() string { return fmt.Sprint(1000 + r.IntN(9_000_000)) },
		"{ver}":  func() string { return ver },
		"{line}": func() string { return fmt.Sprint(50 + r.IntN(900)) },
		"{page}": func() string { return titles[r.IntN(len(titles))] },
		"{ns}":   func() string { return fmt.Sprint(r.IntN(15)) },
		"{lang}": func() string { return []string{"en", "de", "fr", "he", "zh-hans"}[r.IntN(5)] },
		"{uuid}": func() string {
			return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(0xffff), r.IntN(0xfff), r.IntN(0xfff), r.Uint64()&0xffffffffffff)
		},
		"{ip}":     func() string { return fmt.Sprintf("172.16.%d.%d", r.IntN(8), 2+r.IntN(250)) },
		"{user}":   func() string { return []string{"Example", "Jdoe (WMF)", "Beta-tester-42", "Zoë"}[r.IntN(4)] },
		"{tok}":    func() string { return []string{"&&&", "}", "rlike(", "§"}[r.IntN(4)] },
		"{qid}":    func() string { return fmt.Sprintf("Q%d", 1+r.IntN(200000)) },
		"{hex}":    func() string { return fmt.Sprintf("%016x", r.Uint64()) },
		"{file}":   func() string { return []string{"common/typography", "components/Menu", "skin"}[r.IntN(3)] },
		"{wiki}":   func() string { return wiki },
		"{status}": func() string { return []string{"400", "502", "504"}[r.IntN(3)] },
		"{prop}":   func() string { return []string{"sourceLanguage", "targetTitle"}[r.IntN(2)] },
		"{email}":  func() string { return fmt.Sprintf("user%d@example.org", r.IntN(1000)) },
	}
	// Fixed order: ranging over the map would make the output differ per run.
	keys := make([]string, 0, len(repl))
	for k := range repl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := tmpl
	for _, k := range keys {
		for strings.Contains(out, k) {
			out = strings.Replace(out, k, repl[k](), 1)
		}
	}
	return out
}

func domain(wiki string) string {
	switch wiki {
	case "commonswiki":
		return "commons.wikimedia.beta.wmcloud.org"
	case "wikidatawiki":
		return "wikidata.beta.wmcloud.org"
	case "metawiki":
		return "meta.wikimedia.beta.wmcloud.org"
	case "loginwiki":
		return "login.wikimedia.beta.wmcloud.org"
	case "enwiktionary":
		return "en.wiktionary.beta.wmcloud.org"
	}
	return strings.TrimSuffix(strings.ReplaceAll(wiki, "_", "-"), "wiki") + ".wikipedia.beta.wmcloud.org"
}

func servergroup(host string) string {
	switch {
	case strings.Contains(host, "jobrunner"):
		return "jobrunner"
	case strings.Contains(host, "deploy"), strings.Contains(host, "snapshot"):
		return "maintenance"
	}
	return "appserver"
}

func randID(r *rand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
