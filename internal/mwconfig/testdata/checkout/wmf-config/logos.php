<?php
return [
'wmgSiteLogo1x' => [
	'default' => '/static/images/project-logos/default.png',
	'enwiki' => '/static/images/project-logos/enwiki.png',
],
];
