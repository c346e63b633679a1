#!/bin/bash
# Drive the corpus wiki through real failure scenarios. Every log line comes
# from MediaWiki itself; this script only breaks the environment and sends
# requests. Usage: triggers.sh [scale]   (scale multiplies request counts)
set -uo pipefail
. "$(dirname "$0")/env.sh"
. "$MWC_SCRIPTS/scenarios.sh"
S=${1:-1}
login

echo "== tables renamed away"
# Only one of LinksUpdate's tables (categorylinks): the others fail in the same
# generic LinksTable code and would be different bugs behind one site.
for tb in categorylinks watchlist user_properties change_tag page_restrictions recentchanges \
	redirect user_groups searchindex ipblocks logging protected_titles module_deps; do
	with_table_gone "$tb" $((20 * S))
done

echo "== unknown database / connection refused"
for _ in $(seq $((3 * S))); do
	with_server "MWC_DBNAME=nosuchwiki_$RANDOM" mixed_requests 4
	with_server "MWC_DBSERVER=127.0.0.1:$MWC_DEAD_PORT" mixed_requests 4
done

echo "== memcached outage"
"$MWC_SCRIPTS/services.sh" mc-stop
mixed_requests $((20 * S))
"$MWC_SCRIPTS/services.sh" mc-start

echo "== lock waits held by a second session"
for _ in $(seq $((4 * S))); do
	t=$(rnd "${TITLES[@]}")
	with_lock "SELECT * FROM page WHERE page_title='${t//\'/}' FOR UPDATE" 5 \
		apost --data-urlencode "text=Locked edit $RANDOM" --data-urlencode "title=$t" -d "action=edit&format=json"
	with_lock "SELECT * FROM user WHERE user_name='Admin' FOR UPDATE" 5 \
		apost -d "action=options&change=gender=female&format=json"
	with_lock "SELECT * FROM site_stats FOR UPDATE" 5 \
		apost --data-urlencode "text=New page $RANDOM" --data-urlencode "title=New $RANDOM $t" -d "action=edit&createonly=1&format=json"
done
