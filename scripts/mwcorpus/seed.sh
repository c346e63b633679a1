#!/bin/bash
# Seed the throwaway wiki with pages, users, templates, a Lua module and
# categories, so that the scenarios have something to render and query.
set -euo pipefail
. "$(dirname "$0")/env.sh"
. "$MWC_SCRIPTS/scenarios.sh"
export MWC_SERVERGROUP=maintenance
edit() { # title text
	printf '%s' "$2" | php "$M/edit.php" --user Admin --summary seed "$1" >/dev/null 2>&1 || true
}
for u in "${USERS[@]}"; do
	php "$M/createAndPromote.php" --force "$u" "Corpus-pw-$RANDOM-x" >/dev/null 2>&1 || true
done
edit "Template:Infobox" '<div class="infobox">{{{1|}}} {{#if:{{{2|}}}|{{{2}}}|none}}</div>[[Category:Templates]]'
edit "Module:Corpus" 'local p = {} function p.hello(frame) return "Hello " .. (frame.args[1] or "x") end return p'
i=0
for t in "${TITLES[@]}"; do
	i=$((i+1))
	body="{{Infobox|$t|$i}} '''$t''' is page $i.<ref>Source $i</ref> See [[${TITLES[$(( i % ${#TITLES[@]} ))]}]] and [https://example.org/$i link]. {{#invoke:Corpus|hello|$t}}
== Section $i ==
Text $RANDOM.
<references/>
[[Category:Corpus]] [[Category:Group $((i % 4))]]"
	edit "$t" "$body"
	edit "$t" "$body
Second revision $RANDOM."
done
