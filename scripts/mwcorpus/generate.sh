#!/bin/bash
# Re-create internal/mwcorpus/testdata/mediawiki-1.39.ndjson.gz from scratch on
# a Debian 12 machine: install the packages (if missing), set up a throwaway
# wiki under $MWC_ROOT (default /tmp/issue-10-corpus) with its own MariaDB,
# memcached and php -S servers on ports 19701-19720, drive it through the
# failure scenarios of triggers.sh, label the events and compress them.
#
# Idempotent: the wiki and its database are wiped and re-installed on every
# run; nothing outside $MWC_ROOT is written except the corpus files (and the
# Debian packages, when missing). Needs root only for apt-get.
#
#   scripts/mwcorpus/generate.sh [scale]     # scale multiplies request counts
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/env.sh"
scale=${1:-1}

pkgs="mediawiki php-cli php-mysql php-sqlite3 php-mbstring php-xml php-intl php-apcu mariadb-server memcached curl python3"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

cleanup() { "$here/services.sh" stop || true; "$here/db.sh" stop || true; }
trap cleanup EXIT
cleanup
rm -rf "$MWC_ROOT"
mkdir -p "$MWC_ROOT"/{conf,logs,images,cache,tmp,run}
cp "$here/LocalSettings.php" "$here/logging.php" "$MWC_ROOT/"

"$here/db.sh" start
mwc_sql -e "CREATE USER IF NOT EXISTS 'wikiuser'@'127.0.0.1' IDENTIFIED BY 'wikipass';
	GRANT ALL ON *.* TO 'wikiuser'@'127.0.0.1'; FLUSH PRIVILEGES;"
# The installer writes conf/LocalSettings.php; our LocalSettings.php wraps it.
MW_CONFIG_FILE= php "$MWC_IP/maintenance/install.php" --dbtype mysql --dbserver "127.0.0.1:$MWC_DB_PORT" \
	--dbname corpuswiki --dbuser wikiuser --dbpass wikipass --installdbuser wikiuser --installdbpass wikipass \
	--server "http://127.0.0.1:$MWC_WEB_PORT" --scriptpath "" --confpath "$MWC_ROOT/conf" \
	--pass 'Corpus-admin-pw-1' --lang en CorpusWiki Admin >"$MWC_ROOT/logs/install.log"
"$here/services.sh" mc-start
MWC_SERVERGROUP=maintenance php "$MWC_IP/maintenance/update.php" --quick >"$MWC_ROOT/logs/update.log"
"$here/seed.sh"
"$here/services.sh" web-start
# Only the scenarios' events go into the corpus.
: >"$MWC_LOG"
"$here/triggers.sh" "$scale"
cleanup
trap - EXIT

cd "$repo"
go run ./internal/mwcorpus/gen -out internal/mwcorpus/testdata/mediawiki-1.39.ndjson.gz \
	-sites internal/mwcorpus/testdata/sites.tsv "$MWC_LOG"
echo "distinct labels: $(wc -l <internal/mwcorpus/testdata/sites.tsv) (update testdata/README.md)"
