#!/bin/bash
# Start/stop memcached and the PHP built-in web servers of the corpus wiki.
# Usage: services.sh start|stop|mc-start|mc-stop|web-start|web-stop
set -euo pipefail
. "$(dirname "$0")/env.sh"
mkdir -p "$MWC_ROOT/run"
mc_start() {
	[ -f "$MWC_ROOT/run/memcached.pid" ] && kill -0 "$(cat "$MWC_ROOT/run/memcached.pid")" 2>/dev/null && return 0
	memcached -d -l 127.0.0.1 -p "$MWC_MC_PORT" -U 0 -m 64 -P "$MWC_ROOT/run/memcached.pid" -u "$(id -un)"
	sleep 0.3
}
mc_stop() {
	if [ -f "$MWC_ROOT/run/memcached.pid" ]; then
		kill "$(cat "$MWC_ROOT/run/memcached.pid")" 2>/dev/null || true
		rm -f "$MWC_ROOT/run/memcached.pid"; sleep 0.3
	fi
}
# One server per server group, like appservers and API appservers.
web_one() { # port servergroup
	local port=$1 group=$2 pidf="$MWC_ROOT/run/web-$1.pid"
	[ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null && return 0
	MWC_SERVERGROUP=$group PHP_CLI_SERVER_WORKERS=2 setsid php -d display_errors=0 -d log_errors=0 \
		-S "127.0.0.1:$port" -t "$MWC_IP" >"$MWC_ROOT/run/web-$port.log" 2>&1 &
	echo $! >"$pidf"
	for _ in $(seq 40); do curl -s -o /dev/null "http://127.0.0.1:$port/load.php" && return 0; sleep 0.25; done
	echo "php -S on $port did not start" >&2; return 1
}
web_start() { web_one "$MWC_WEB_PORT" appserver; web_one "$((MWC_WEB_PORT+1))" api_appserver; }
web_stop() {
	for f in "$MWC_ROOT"/run/web-*.pid; do
		[ -f "$f" ] || continue
		kill -- -"$(cat "$f")" 2>/dev/null || kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
}
case "${1:-start}" in
start) mc_start; web_start ;;
stop) web_stop; mc_stop ;;
mc-start) mc_start ;; mc-stop) mc_stop ;;
web-start) web_start ;; web-stop) web_stop ;;
esac
