#!/bin/bash
# Start (or stop) a private MariaDB instance for the throwaway wiki.
# Usage: db.sh start|stop
set -euo pipefail
. "$(dirname "$0")/env.sh"
case "${1:-start}" in
start)
	if [ -S "$MWC_DB_SOCK" ] && mwc_sql -e 'select 1' >/dev/null 2>&1; then exit 0; fi
	mkdir -p "$MWC_ROOT/mysql"
	if [ ! -d "$MWC_ROOT/mysql/data/mysql" ]; then
		mariadb-install-db --no-defaults --datadir="$MWC_ROOT/mysql/data" --user="$(id -un)" \
			--auth-root-authentication-method=socket >"$MWC_ROOT/mysql/install.log" 2>&1
	fi
	# Short lock wait so that lock-wait events come quickly; slow log off.
	mariadbd --no-defaults --datadir="$MWC_ROOT/mysql/data" --socket="$MWC_DB_SOCK" \
		--port="$MWC_DB_PORT" --bind-address=127.0.0.1 --user="$(id -un)" \
		--pid-file="$MWC_ROOT/mysql/mysqld.pid" --log-error="$MWC_ROOT/mysql/error.log" \
		--innodb-lock-wait-timeout=2 --innodb-buffer-pool-size=64M --max-connections=200 \
		--skip-name-resolve >/dev/null 2>&1 &
	for _ in $(seq 60); do
		mwc_sql -e 'select 1' >/dev/null 2>&1 && exit 0
		sleep 0.5
	done
	echo "mariadbd did not start; see $MWC_ROOT/mysql/error.log" >&2; exit 1 ;;
stop)
	if [ -f "$MWC_ROOT/mysql/mysqld.pid" ]; then
		kill "$(cat "$MWC_ROOT/mysql/mysqld.pid")" 2>/dev/null || true
		for _ in $(seq 60); do [ -f "$MWC_ROOT/mysql/mysqld.pid" ] || break; sleep 0.5; done
	fi ;;
esac
