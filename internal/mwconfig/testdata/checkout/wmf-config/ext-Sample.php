<?php
$base = [
	'a' => 1,
];
return [
'wgExt' => [
	'default' => $base + [ 'b' => 2, 'a' => 99 ],
],
// Defined in InitialiseSettings.php already: the first file wins.
'wgStale' => [
	'default' => 'shadowed',
],
];
