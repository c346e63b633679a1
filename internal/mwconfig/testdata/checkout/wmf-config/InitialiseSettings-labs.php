<?php
# Fixture in the shape of InitialiseSettings-labs.php.

function wmfGetOverrideSettings() {
	return [
		'@replaceableSettings' => [
		],

		'-wgServer' => [
			'wikipedia' => 'https://$lang.wikipedia.beta.wmcloud.org',
			'commonswiki' => 'https://commons.wikimedia.beta.wmcloud.org',
		],

		'wgTagResolved' => [
			'default' => 'beta-default',
		],

		'-wgReplaced' => [
			'default' => 3,
		],

		'wgStale' => [
			'default' => 'same',
		],

		'wgClass' => [
			'default' => \MediaWiki\Foo\Bar::class,
		],

		'-wgBits' => [
			'default' => 2 | 8,
		],

		'wgNamespacesWithSubpages' => [
			'+enwiki' => [ 101 => true ],
		],

		'wgBetaOnly' => [
			'default' => true,
		],

		'wgLangTag' => [
			'default' => 'y',
		],

		'wgExt' => [
			'enwiki' => [ 'a' => 1, 'b' => 2 ],
		],

		'wgArith' => [
			'enwiki' => -1,
			'dewiki' => 86400.0,
		],
	];
}
