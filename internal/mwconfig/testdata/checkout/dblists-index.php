<?php
// NOTE: Automatically generated from the /dblists directory
return [
'aawiki' => [ 'wikipedia', 'closed', 'small' ],
'commonswiki' => [ 'special' ],
'dewiki' => [ 'wikipedia' ],
'enwiki' => [ 'wikipedia' ],
'enwiktionary' => [ 'flow', 'small' ],
'frwiki' => [ 'wikipedia' ],
];
