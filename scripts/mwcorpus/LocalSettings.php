<?php
/**
 * LocalSettings for the throwaway corpus wiki. Loaded through MW_CONFIG_FILE so
 * that nothing under /usr/share/mediawiki or /etc/mediawiki is touched.
 * The installer's output (DB credentials, secret key) is in conf/.
 * Environment knobs (set per scenario by triggers.sh):
 *   MWC_SERVERGROUP  appserver|api_appserver|jobrunner|maintenance
 *   MWC_DBSERVER     override $wgDBserver (connection refused scenario)
 *   MWC_DBNAME       override $wgDBname (unknown database scenario)
 *   MWC_MEMLIMIT     override $wgMemoryLimit
 *   MWC_TIMELIMIT    override $wgRequestTimeLimit (seconds)
 */
if ( !defined( 'MEDIAWIKI' ) ) {
	exit;
}
$mwcRoot = dirname( __FILE__ );
require "$mwcRoot/conf/LocalSettings.php";

$mwcLogFile = getenv( 'MWC_LOG' ) ?: "$mwcRoot/logs/logstash.ndjson";
require "$mwcRoot/logging.php";

if ( getenv( 'MWC_DBSERVER' ) ) {
	$wgDBserver = getenv( 'MWC_DBSERVER' );
}
if ( getenv( 'MWC_DBNAME' ) ) {
	$wgDBname = getenv( 'MWC_DBNAME' );
}
if ( getenv( 'MWC_MEMLIMIT' ) ) {
	$wgMemoryLimit = getenv( 'MWC_MEMLIMIT' );
}
if ( getenv( 'MWC_TIMELIMIT' ) ) {
	$wgRequestTimeLimit = (int)getenv( 'MWC_TIMELIMIT' );
}

// Memcached (pure-PHP client), stopped by the cache-outage scenario.
$wgMainCacheType = CACHE_MEMCACHED;
$wgParserCacheType = CACHE_MEMCACHED;
$wgMessageCacheType = CACHE_MEMCACHED;
$wgSessionCacheType = CACHE_DB;
$wgMemCachedServers = [ '127.0.0.1:' . ( getenv( 'MWC_MC_PORT' ) ?: '19702' ) ];
$wgMemCachedTimeout = 200000;

$wgShowExceptionDetails = true;
$wgShowDebug = false;
$wgJobRunRate = 0;
$wgEnableUploads = true;
$wgUploadDirectory = "$mwcRoot/images";
$wgUploadPath = '/images';
$wgCacheDirectory = "$mwcRoot/cache";
$wgTmpDirectory = "$mwcRoot/tmp";
$wgEnableEmail = false;
$wgDevelopmentWarnings = true;
$wgDeprecationReleaseLimit = false;
$wgRateLimits = [];
$wgGroupPermissions['*']['edit'] = true;
$wgGroupPermissions['*']['createpage'] = true;
$wgGroupPermissions['user']['noratelimit'] = true;

wfLoadExtensions( [
	'AbuseFilter', 'CategoryTree', 'Cite', 'CiteThisPage', 'CodeEditor', 'ConfirmEdit',
	'Gadgets', 'ImageMap', 'InputBox', 'Interwiki', 'Math', 'MultimediaViewer', 'Nuke',
	'OATHAuth', 'PageImages', 'ParserFunctions', 'PdfHandler', 'Poem', 'Renameuser',
	'ReplaceText', 'Scribunto', 'SecureLinkFixer', 'SpamBlacklist', 'SyntaxHighlight_GeSHi',
	'TemplateData', 'TextExtracts', 'TitleBlacklist', 'VisualEditor', 'WikiEditor',
] );
$wgScribuntoDefaultEngine = 'luastandalone';
$wgCaptchaTriggers = [];
$wgPFEnableStringFunctions = true;
