# Scenario helpers for triggers.sh (sourced). Each scenario drives the real
# wiki through a real entry point (web, API, maintenance, job runner); nothing
# here writes log lines itself.
M=$MWC_IP/maintenance
WEB=http://127.0.0.1:$MWC_WEB_PORT
API=http://127.0.0.1:$((MWC_WEB_PORT+1))/api.php

# Varied user-controlled values, so that one bug yields different messages.
TITLES=(Albert_Einstein Main_Page Sandbox "Talk:Foo_bar" "User:Hiro/Notes" Paris "Category:Physics"
	"Template:Infobox" "Help:Contents" "Project:About" Marie_Curie "List_of_rivers_of_Peru" Zürich
	"東京" "Special_characters_(test)" "A/B/C" "Quantum_mechanics" "Draft_article_2026" "Ω" "Tea")
USERS=(Alice Bob "Hiro T" Zoë Admin "Test user 7" Carol_wiki Dmitri "Jean-Luc" Sam)
BADTS=("now+9d" "garbage" "2026-13-45" "yesterday-ish" "99999999999999999999" "12:34 tomorrow"
	"2026/02/30 25:61" "-" "1e99" "T0" "soon" "31.02.2026")

rnd() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }
maint() { MWC_SERVERGROUP=maintenance php "$M/$1" "${@:2}" >/dev/null 2>&1 || true; }
maint_ext() { MWC_SERVERGROUP=maintenance php "$MWC_IP/extensions/$1" "${@:2}" >/dev/null 2>&1 || true; }
get() { curl -s -o /dev/null --max-time 30 "$@" || true; }
api() { curl -s -o /dev/null --max-time 30 "$API" "$@" || true; }
urlenc() { python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$1"; }

# A random mix of read and write requests on random titles/users; which code
# runs (and so which caller hits a broken table) depends on the request.
TOKEN_FILE=$MWC_ROOT/run/csrf
COOKIES=$MWC_ROOT/run/cookies
login() {
	rm -f "$COOKIES"
	local lt
	lt=$(curl -s -c "$COOKIES" -b "$COOKIES" "$API?action=query&meta=tokens&type=login&format=json" | python3 -c 'import json,sys;print(json.load(sys.stdin)["query"]["tokens"]["logintoken"])')
	curl -s -c "$COOKIES" -b "$COOKIES" --data-urlencode "lgtoken=$lt" -d "action=login&lgname=Admin&lgpassword=Corpus-admin-pw-1&format=json" "$API" >/dev/null
	curl -s -c "$COOKIES" -b "$COOKIES" "$API?action=query&meta=tokens&format=json" | python3 -c 'import json,sys;print(json.load(sys.stdin)["query"]["tokens"]["csrftoken"])' >"$TOKEN_FILE"
}
apost() { curl -s -o /dev/null --max-time 30 -c "$COOKIES" -b "$COOKIES" --data-urlencode "token=$(cat "$TOKEN_FILE" 2>/dev/null)" "$@" "$API" || true; }
aget() { curl -s -o /dev/null --max-time 30 -c "$COOKIES" -b "$COOKIES" "$API?$1" || true; }
wget_() { curl -s -o /dev/null --max-time 30 -c "$COOKIES" -b "$COOKIES" "$WEB/index.php?$1" || true; }
mixed_requests() { # n
	local n=$1 t u e
	for _ in $(seq "$n"); do
		t=$(urlenc "$(rnd "${TITLES[@]}")"); u=$(urlenc "$(rnd "${USERS[@]}")")
		case $((RANDOM % 16)) in
		0) wget_ "title=$t" ;;
		1) wget_ "title=$t&action=history" ;;
		2) wget_ "title=$t&action=info" ;;
		3) wget_ "title=$t&action=edit" ;;
		4) apost --data-urlencode "text=Edit $RANDOM [[Category:Corpus]] {{Infobox|$RANDOM}}" -d "action=edit&title=$t&format=json" ;;
		5) aget "action=query&prop=info|categories|pageprops|revisions&titles=$t&format=json" ;;
		6) aget "action=query&list=recentchanges&rcprop=title|user|timestamp|tags&format=json" ;;
		7) wget_ "title=Special:Contributions/$u" ;;
		8) wget_ "title=Special:RecentChanges" ;;
		9) aget "action=query&list=logevents&format=json" ;;
		10) apost -d "action=watch&titles=$t&format=json" ;;
		11) wget_ "title=Special:Watchlist" ;;
		12) aget "action=query&meta=userinfo&uiprop=options|groups&format=json" ;;
		13) aget "action=parse&page=$t&format=json" ;;
		14) wget_ "title=Category:Corpus" ;;
		15) apost -d "action=purge&titles=$t&forcelinkupdate=1&format=json" ;;
		esac
	done
}

# Break one table (rename it away), send mixed traffic, put it back.
with_table_gone() { # table n
	mwc_sql corpuswiki -e "RENAME TABLE \`$1\` TO \`$1_gone\`" || return 0
	mixed_requests "$2"
	mwc_sql corpuswiki -e "RENAME TABLE \`$1_gone\` TO \`$1\`"
}

# Run a php -S server with scenario-specific environment on a spare port.
with_server() { # "ENV=val ..." command...
	local envs=$1; shift
	local port=$((MWC_WEB_PORT + 17))
	env $envs MWC_SERVERGROUP=appserver php -d display_errors=0 -S "127.0.0.1:$port" -t "$MWC_IP" >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 40); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
	WEB=http://127.0.0.1:$port API=http://127.0.0.1:$port/api.php "$@"
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

# Hold row locks in a second DB session while the wiki writes the same rows:
# "Error 1205: Lock wait timeout exceeded" (innodb_lock_wait_timeout=2).
with_lock() { # sql-lock-statement seconds command...
	local lock=$1 secs=$2; shift 2
	mwc_sql corpuswiki -e "BEGIN; $lock; SELECT SLEEP($secs); ROLLBACK;" >/dev/null 2>&1 &
	local pid=$!
	sleep 0.4
	"$@"
	wait "$pid" 2>/dev/null || true
}
