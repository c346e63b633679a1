<?php
return [
	'eqiad' => [
		'statsd' => 'prometheus-labmon.eqiad.wmnet',
		'logstash' => [
			'10.2.2.36',
		],
		'poolcounter' => [
			'deployment-poolcounter07.deployment-prep.eqiad1.wikimedia.cloud',
		],
		'device-analytics' => null,
	],
];
