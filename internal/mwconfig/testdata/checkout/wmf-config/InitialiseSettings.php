<?php
# Fixture in the shape of operations/mediawiki-config InitialiseSettings.php.
use MediaWiki\Foo\Bar;

return [
'@replaceableSettings' => [
	'wgLanguageCode',
	'wgServer',
],
'wgLanguageCode' => [
	'default' => '$lang',
	'commonswiki' => 'en',
],
'wgServer' => [
	'wikipedia' => '//$lang.wikipedia.org',
	'wiktionary' => '//$lang.wiktionary.org',
	'commonswiki' => '//commons.wikimedia.org',
],
// aawiki's tags are [ wikipedia, closed, small ]: 'closed' wins over
// 'small' although 'small' comes first here.
'wgTagOrder' => [
	'default' => 'default',
	'small' => 'small',
	'closed' => 'closed',
],
'wmgUseFlow' => [
	'default' => false,
	'flow' => true,
],
// Beta changes 'default', but every Beta wiki resolves through a tag
// (wikipedia, special) or its family (wiktionary).
'wgTagResolved' => [
	'default' => 'prod-default',
	'wikipedia' => 'wp',
	'special' => 'sp',
	'wiktionary' => 'wikt',
],
'wgReplaced' => [
	'default' => 1,
	'enwiki' => 2,
],
'wgStale' => [
	'default' => 'same',
],
'wgClass' => [
	'default' => Bar::class,
],
'wgBits' => [
	'default' => NS_USER | 8,
],
'wgNamespacesWithSubpages' => [
	'default' => [ NS_TALK => true, NS_USER => true ],
	'+enwiki' => [ 100 => true ],
],
'wgLangTag' => [
	'default' => 'x',
	'de' => 'german',
],
'wgUnknown' => [
	'default' => WHAT_IS_THIS,
],
'wgArith' => [
	'default' => 60 * 60 * 24,
	'enwiki' => -1,
],
];
