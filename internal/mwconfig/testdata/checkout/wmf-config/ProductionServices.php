<?php
$common = [
	'statsd' => '10.64.16.81', # statsd.eqiad.wmnet
	'logstash' => [
		'10.2.2.36',
	],
];

$services = [
	'eqiad' => $common + [
		'poolcounter' => [
			'10.64.0.150',
		],
		'search-chi' => [
			[
				'transport' => CirrusSearch\Elastica\DeprecationLoggedHttp::class,
				'port' => 6102,
			]
		],
	],
	'codfw' => $common + [
		'poolcounter' => [
			'10.192.0.9',
		],
	],
];
unset( $common );
return $services;
