<?php
/**
 * Logging for the throwaway corpus wiki, shaped like Wikimedia's
 * wmf-config/logging.php: MonologSpi, the same processor set (wiki, psr, pid,
 * uid, web, wmfconfig) and MediaWiki's LogstashFormatter (v1, no extra/context
 * prefix), per-channel minimum levels from the Beta Cluster's
 * wmgMonologChannels. The only difference: the logstash handler writes JSON
 * lines to a file instead of a syslog/UDP socket.
 *
 * Included from LocalSettings.php; expects $mwcLogFile.
 */

use MediaWiki\Logger\Monolog\LogstashFormatter;

// Per-channel logstash levels (subset of InitialiseSettings-labs.php
// wmgMonologChannels 'default'; '@default' => 'error' as in production).
$mwcChannels = [
	'@default' => 'error',
	'AbuseFilter' => 'debug',
	'captcha' => 'debug',
	'cite' => 'debug',
	'deprecated' => 'debug',
	'DBQuery' => 'error',
	'DBConnection' => 'error',
	'DBReplication' => 'warning',
	'DBPerformance' => 'warning',
	'rdbms' => 'warning',
	'editpage' => 'warning',
	'error' => 'debug',
	'exception' => 'debug',
	'exec' => 'debug',
	'fatal' => 'debug',
	'FileOperation' => 'debug',
	'JobExecutor' => 'warning',
	'LockManager' => 'warning',
	'memcached' => 'error',
	'message-format' => 'warning',
	'objectcache' => 'warning',
	'ParserCache' => 'warning',
	'redis' => 'info',
	'Renameuser' => 'debug',
	'resourceloader' => 'info',
	'RevisionStore' => 'info',
	'runJobs' => 'warning',
	'Scribunto' => 'warning',
	'SpamBlacklistHit' => 'debug',
	'SpamRegex' => 'debug',
	'SQLBagOStuff' => 'debug',
	'TitleBlacklist-cache' => 'debug',
	'upload' => 'debug',
	'wfLogDBError' => 'debug',
];

$mwcProcessors = [
	'wiki' => [ 'class' => \MediaWiki\Logger\Monolog\WikiProcessor::class ],
	'psr' => [ 'class' => \Monolog\Processor\PsrLogMessageProcessor::class ],
	'pid' => [ 'class' => \Monolog\Processor\ProcessIdProcessor::class ],
	'uid' => [ 'class' => \Monolog\Processor\UidProcessor::class ],
	'web' => [
		'class' => \Monolog\Processor\WebProcessor::class,
		'args' => [
			static function () {
				// As wmf-config: make WebProcessor's data UTF-8 safe.
				$keys = [ 'REQUEST_URI', 'REMOTE_ADDR', 'REQUEST_METHOD', 'SERVER_NAME', 'HTTP_REFERER' ];
				$serverData = [];
				foreach ( $keys as $key ) {
					if ( isset( $_SERVER[$key] ) ) {
						$serverData[$key] = htmlentities( $_SERVER[$key], ENT_NOQUOTES, 'UTF-8', false );
					}
				}
				return $serverData;
			},
		],
	],
	// The 'wmfconfig' processor: servergroup/phpversion/shard and the message
	// *before* PSR-3 interpolation, cut at 255 bytes. Monolog runs processors
	// last-pushed first, so listed last it sees the raw template.
	'wmfconfig' => [
		'factory' => static function () {
			return static function ( array $record ) {
				$record['extra']['servergroup'] = getenv( 'MWC_SERVERGROUP' ) ?: 'appserver';
				$record['extra']['phpversion'] = PHP_VERSION;
				$record['extra']['normalized_message'] = substr( $record['message'], 0, 255 );
				return $record;
			};
		},
	],
];

$mwcConfig = [
	'loggers' => [],
	'processors' => $mwcProcessors,
	'handlers' => [
		'blackhole' => [ 'class' => \Monolog\Handler\NullHandler::class ],
	],
	'formatters' => [
		'logstash' => [
			'class' => LogstashFormatter::class,
			'args' => [ 'mediawiki', php_uname( 'n' ), '', '', LogstashFormatter::V1 ],
		],
	],
];
foreach ( $mwcChannels as $channel => $level ) {
	$handler = "logstash-$level";
	if ( !isset( $mwcConfig['handlers'][$handler] ) ) {
		$mwcConfig['handlers'][$handler] = [
			'class' => \Monolog\Handler\StreamHandler::class,
			// level as a Monolog level name; file opened in append mode,
			// one JSON document per line.
			'args' => [ $mwcLogFile, $level ],
			'formatter' => 'logstash',
		];
	}
	$mwcConfig['loggers'][$channel] = [
		'handlers' => [ $handler ],
		'processors' => array_keys( $mwcProcessors ),
		// T116550; T99581 (Monolog 2: the timezone is per logger).
		'calls' => [
			'useMicrosecondTimestamps' => [ false ],
			'setTimezone' => [ new DateTimeZone( 'UTC' ) ],
		],
	];
}

$wgMWLoggerDefaultSpi = [
	'class' => \MediaWiki\Logger\MonologSpi::class,
	'args' => [ $mwcConfig ],
];
