package main

import "regexp"

// noTraceSites maps log calls that carry no exception (so no file or trace)
// to the line of MediaWiki that emits them. Each entry was found by grepping
// the message text in /usr/share/mediawiki (1.39.17) and is checked against
// the installed source by gen's -verify flag.
var noTraceSites = []struct {
	channel string
	re      *regexp.Regexp
	site    string // file:line of the log call (or of the helper's caller)
	needle  string // text that must occur on that line of the source
}{
	{"memcached", regexp.MustCompile(`^Memcached error: Error connecting to `),
		"includes/libs/objectcache/utils/MemcachedClient.php:848", `"Error connecting to $host: $errstr"`},
	{"memcached", regexp.MustCompile(`^Memcached error: error reading line from `),
		"includes/libs/objectcache/utils/MemcachedClient.php:1353", `'error reading line from $1'`},
	{"SQLBagOStuff", regexp.MustCompile(`^SqlBagOStuff::setAndLogDBError: ignoring connection error$`),
		"includes/objectcache/SqlBagOStuff.php:1745", `ignoring connection error`},
	{"DBReplication", regexp.MustCompile(`^Wikimedia\\Rdbms\\ChronologyProtector::persistSessionReplicationPositions: failed to save primary positions`),
		"includes/libs/rdbms/ChronologyProtector.php:358", `failed to save primary positions`},
}

func noTraceLabel(channel, normalized string) (string, bool) {
	for _, s := range noTraceSites {
		if s.channel == channel && s.re.MatchString(normalized) {
			return channel + "@" + s.site, true
		}
	}
	return "", false
}
