# Shared settings for the mwcorpus scripts (sourced, not executed).
# Everything lives under $MWC_ROOT; ports come from the 19700-19799 range.
MWC_ROOT=${MWC_ROOT:-/tmp/issue-10-corpus}
MWC_DB_PORT=${MWC_DB_PORT:-19701}
MWC_MC_PORT=${MWC_MC_PORT:-19702}
MWC_WEB_PORT=${MWC_WEB_PORT:-19703}
MWC_DEAD_PORT=${MWC_DEAD_PORT:-19709}   # nothing listens here: "connection refused"
MWC_DB_SOCK=$MWC_ROOT/mysql/mysqld.sock
MWC_IP=/usr/share/mediawiki
MWC_CONF=$MWC_ROOT/LocalSettings.php
MWC_LOG=$MWC_ROOT/logs/logstash.ndjson
MWC_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MW_CONFIG_FILE=$MWC_CONF
mwc_sql() { mariadb --protocol=socket -S "$MWC_DB_SOCK" -uroot "$@"; }
