#!/usr/bin/env bash
# Re-creates the real-program corpora of internal/miner/testdata/real: runs
# Debian's daemons with throw-away configs on loopback ports (BASE_PORT..+99),
# drives each through normal use and failure (bad configs, refused
# connections, tiny disk limits, kills, bad auth, malformed requests), keeps
# their raw logs, then labels every line by the program's own format strings
# (taken from its binary or source files, see label/main.go) and writes
# <program>.tsv.gz.
#
#   sudo bash scripts/minercapture/capture.sh [program...]
#
# Needs root (daemons drop to their users), the packages listed in
# README.md (miner section), socat, curl. Nothing listens beyond 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${WORK:-/tmp/issue-15/capture}
BASE_PORT=${BASE_PORT:-19600}
OUT=${OUT:-$ROOT/internal/miner/testdata/real}
RAW=$WORK/raw
mkdir -p "$RAW" "$OUT"

log() { echo "--- $*" >&2; }
# send HOST-less raw bytes to a loopback port, bounded in time
send() { printf '%b' "$2" | timeout 3 socat -t1 - "TCP:127.0.0.1:$1" >/dev/null 2>&1 || true; }
# a few seconds at most for a daemon to come up
waitport() { for _ in $(seq 50); do socat -u /dev/null "TCP:127.0.0.1:$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
stop() { [ -n "${1:-}" ] && kill "$1" 2>/dev/null; sleep 0.5; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }

cap_nginx() {
	local D=$WORK/nginx P=$BASE_PORT UP=$((BASE_PORT + 99))
	rm -rf "$D" && mkdir -p "$D/www/dir" "$D/www/secret" "$D/tmp"
	echo hello >"$D/www/index.html"
	echo private >"$D/www/secret/x.html" && chmod 000 "$D/www/secret/x.html"
	cat >"$D/nginx.conf" <<CONF
worker_processes 1;
error_log $D/error.log info;
pid $D/nginx.pid;
events { worker_connections 64; }
http {
	access_log $D/access.log combined;
	client_body_temp_path $D/tmp; proxy_temp_path $D/tmp; fastcgi_temp_path $D/tmp; uwsgi_temp_path $D/tmp; scgi_temp_path $D/tmp;
	client_max_body_size 1k;
	limit_req_zone \$binary_remote_addr zone=one:1m rate=1r/s;
	server {
		listen 127.0.0.1:$P;
		root $D/www;
		location /refused { proxy_pass http://127.0.0.1:$UP; }
		location /closed { proxy_pass http://127.0.0.1:$((P + 1)); }
		location /slow { proxy_pass http://127.0.0.1:$((P + 2)); proxy_read_timeout 1s; }
		location /limited { limit_req zone=one burst=1 nodelay; }
		location /fcgi { fastcgi_pass 127.0.0.1:$UP; include /etc/nginx/fastcgi_params; }
	}
}
CONF
	# an upstream that closes at once, one that never answers
	socat TCP-LISTEN:$((P + 1)),bind=127.0.0.1,fork,reuseaddr SYSTEM:'exit 0' & local c1=$!
	socat TCP-LISTEN:$((P + 2)),bind=127.0.0.1,fork,reuseaddr SYSTEM:'sleep 3' & local c2=$!
	nginx -c "$D/nginx.conf" -g 'daemon off;' 2>>"$D/error.log" & local pid=$!
	waitport $P
	local paths=(/ /index.html /missing.html /nope/deeper.png /dir/ /secret/x.html /refused/a /closed/b /fcgi/x.php /limited /limited /limited /robots.txt /favicon.ico)
	for i in $(seq 1 12); do
		for p in "${paths[@]}"; do curl -s -o /dev/null "http://127.0.0.1:$P$p?i=$i" -A "capture/$i" ; done
		curl -s -o /dev/null -X POST --data "$(head -c 4000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$P/upload?i=$i"
		curl -s -o /dev/null -X DELETE "http://127.0.0.1:$P/missing$i"
		curl -s -o /dev/null -I "http://127.0.0.1:$P/"
		send $P "FOO$i /bad HTTP/1.1\r\nHost: x\r\n\r\n"
		send $P "GET /x HTTP/9.$i\r\n\r\n"
		send $P "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"
		send $P "GET /$i HTTP/1.1\r\nHost: a b c\r\n\r\n"
		send $P "GET /$i HTTP/1.1\r\n"
		[ $((i % 4)) = 0 ] && curl -s -o /dev/null -m 3 "http://127.0.0.1:$P/slow/$i"
	done
	kill -HUP $pid; sleep 0.5; kill -USR1 $pid; sleep 0.3
	stop $pid; stop $c1; stop $c2
	# bad configurations, each checked with -t
	local bad=$D/bad.conf
	for body in "foo bar;" "worker_processes;" "events { } http { server { listen 127.0.0.1:abc; } }" \
		"events { } http { include /nonexistent/x.conf; }" "events { } http { server { location / { proxy_pass http://[::1; } } }" \
		"events { } http { server { listen 127.0.0.1:$P; server_name a; } server { listen 127.0.0.1:$P; server_name a; } }" \
		"events { } http { upstream u { server 127.0.0.1:1 weight=x; } }" "events { " "events { } http { ssl_certificate /nonexistent.pem; server { listen 127.0.0.1:$P ssl; } }" \
		"events { } http { limit_req_zone \$binary_remote_addr zone=one:1k rate=1r/s; }" "events { } http { server { location { } } }" \
		"events { } http { server { return 999; } }" "user nosuchuser; events { }"; do
		for i in 1 2; do
			printf 'error_log %s/error.log info; pid %s/nginx.pid;\n%s\n' "$D" "$D" "$body" >"$bad"
			nginx -t -c "$bad" -g "error_log $D/error.log;" >>"$D/error.log" 2>&1
		done
	done
	# the port is taken
	socat TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork SYSTEM:'exit 0' & c1=$!
	sleep 0.2; timeout 8 nginx -c "$D/nginx.conf" -g 'daemon off;' 2>>"$D/error.log"; stop $c1
	cat "$D/error.log" >"$RAW/nginx-error.log"
	cat "$D/access.log" >"$RAW/nginx-access.log"
}

cap_redis() {
	local D=$WORK/redis P=$((BASE_PORT + 10))
	rm -rf "$D" && mkdir -p "$D/data" && chown redis: "$D/data" 2>/dev/null
	local L=$D/redis.log
	cat >"$D/redis.conf" <<CONF
port $P
bind 127.0.0.1
dir $D/data
logfile $L
loglevel verbose
requirepass sekrit
maxclients 6
maxmemory 2mb
maxmemory-policy noeviction
save 1 1
appendonly yes
CONF
	local r=(redis-cli -p $P -a sekrit --no-auth-warning)
	for round in 1 2 3; do
		redis-server "$D/redis.conf" & local pid=$!
		waitport $P
		for i in $(seq 1 30); do
			"${r[@]}" set "k$i" "$(head -c $((i * 2000)) /dev/zero | tr '\0' x)" >/dev/null
			redis-cli -p $P -a wrong$i --no-auth-warning ping >/dev/null
			redis-cli -p $P get x >/dev/null
			[ $((i % 5)) = 0 ] && "${r[@]}" bgsave >/dev/null
			[ $((i % 7)) = 0 ] && "${r[@]}" bgrewriteaof >/dev/null
			send $P "*1\r\n\$4\r\nPING\r\n*x\r\n"
			send $P "POST / HTTP/1.1\r\nHost: x\r\n\r\n"
			[ $((i % 10)) = 0 ] && "${r[@]}" client kill type normal >/dev/null
		done
		# more clients than maxclients
		for i in $(seq 1 10); do (timeout 2 redis-cli -p $P -a sekrit --no-auth-warning blpop nokey 1 >/dev/null &); done
		sleep 2.5
		"${r[@]}" config set maxmemory 1mb >/dev/null; "${r[@]}" debug sleep 0 >/dev/null
		"${r[@]}" replicaof 127.0.0.1 $((BASE_PORT + 98)) >/dev/null; sleep 2; "${r[@]}" replicaof no one >/dev/null
		case $round in
		1) "${r[@]}" shutdown >/dev/null ;;
		2) kill -9 $pid ;;
		3) kill $pid ;;
		esac
		stop $pid
	done
	# bad configurations
	for bad in "port abc" "maxmemory-policy sometimes" "nosuchdirective yes" "dir /nonexistent/dir" "save x y" "bind 127.0.0.1" ; do
		for i in 1 2; do printf 'logfile %s\n%s\nport %s\n' "$L" "$bad" $P >"$D/bad.conf"; timeout 3 redis-server "$D/bad.conf" >>"$L" 2>&1; done
	done
	# the port is taken
	socat TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork SYSTEM:'exit 0' & local c=$!
	sleep 0.2; timeout 3 redis-server "$D/redis.conf"; stop $c
	# a disk that is full: the data directory on a 1 MiB limit is simulated
	# with a read-only directory
	chmod 555 "$D/data"; chown root: "$D/data"
	redis-server "$D/redis.conf" --save "" --appendonly no & pid=$!
	waitport $P; "${r[@]}" set a b >/dev/null; "${r[@]}" bgsave >/dev/null; sleep 1; "${r[@]}" save >/dev/null; stop $pid
	cat "$L" >"$RAW/redis.log"
}

cap_memcached() {
	local D=$WORK/memcached P=$((BASE_PORT + 20))
	rm -rf "$D" && mkdir -p "$D"
	for round in 1 2; do
		# stdbuf: memcached's -vv trace is stdio, lost on a kill otherwise
		stdbuf -oL -eL memcached -u memcache -l 127.0.0.1 -p $P -U 0 -m 2 -I 512k -c 32 -vv >>"$D/memcached.log" 2>&1 & local pid=$!
		waitport $P
		for i in $(seq 1 25); do
			send $P "set key$i 0 0 5\r\nhello\r\nget key$i key$((i + 1))\r\ndelete key$i\r\nincr n$i 1\r\nquit\r\n"
			send $P "bogus command $i\r\n"
			send $P "set big$i 0 0 700000\r\n$(head -c 100 /dev/zero | tr '\0' a)\r\n"
			send $P "append key$i 0 0 1\r\nx\r\ntouch key$i 10\r\nflush_all\r\nstats\r\nversion\r\nverbosity 2\r\n"
			send $P "get $(head -c 300 /dev/zero | tr '\0' k)\r\n"
		done
		for i in $(seq 1 40); do (printf 'get a\r\n' | timeout 2 socat -t2 - TCP:127.0.0.1:$P >/dev/null 2>&1 &); done
		sleep 2.5
		if [ $round = 1 ]; then kill -9 $pid; else kill $pid; fi
		stop $pid
	done
	timeout 3 memcached -u memcache -l 127.0.0.1 -p abc -vv >>"$D/memcached.log" 2>&1
	timeout 3 memcached -u nosuchuser -l 127.0.0.1 -p $P -vv >>"$D/memcached.log" 2>&1
	timeout 3 memcached -u memcache -l 127.0.0.1 -p $P -m -5 -vv >>"$D/memcached.log" 2>&1
	timeout 3 memcached -u memcache -l 127.0.0.1 -p $P -c 8 -t 0 -vv >>"$D/memcached.log" 2>&1
	timeout 3 memcached -u memcache -l 127.0.0.1 -p $P -I 2k -vv >>"$D/memcached.log" 2>&1
	socat TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork SYSTEM:'exit 0' & local c=$!
	sleep 0.2; timeout 3 memcached -u memcache -l 127.0.0.1 -p $P -vv >>"$D/memcached.log" 2>&1; stop $c
	cat "$D/memcached.log" >"$RAW/memcached.log"
}

cap_postgresql() {
	local D=$WORK/postgresql P=$((BASE_PORT + 30)) B=/usr/lib/postgresql/15/bin
	rm -rf "$D" && mkdir -p "$D" && chown postgres: "$D"
	local pg=(runuser -u postgres --)
	"${pg[@]}" $B/initdb -D "$D/data" -A scram-sha-256 --pwfile=<(echo pw) -U postgres >/dev/null 2>&1 ||
		{ echo pw >"$D/pw"; chown postgres: "$D/pw"; "${pg[@]}" $B/initdb -D "$D/data" -A scram-sha-256 --pwfile="$D/pw" -U postgres >/dev/null; }
	cat >>"$D/data/postgresql.conf" <<CONF
port = $P
listen_addresses = '127.0.0.1'
unix_socket_directories = '$D'
logging_collector = off
log_connections = on
log_disconnections = on
log_checkpoints = on
log_min_duration_statement = 0
log_lock_waits = on
deadlock_timeout = 100ms
statement_timeout = 2s
temp_file_limit = 1MB
max_connections = 8
log_line_prefix = '%m [%p] %q%u@%d '
CONF
	local L=$D/postgresql.log
	touch "$L" && chown postgres: "$L"
	local q=(env PGPASSWORD=pw psql -h 127.0.0.1 -p $P -U postgres -X -q)
	for round in 1 2; do
		"${pg[@]}" $B/pg_ctl -D "$D/data" -l "$L" -w start >/dev/null
		"${q[@]}" -c "CREATE TABLE IF NOT EXISTS t(id int primary key, v text)" >/dev/null 2>&1
		for i in $(seq 1 15); do
			"${q[@]}" -c "INSERT INTO t VALUES ($i, 'v$i') ON CONFLICT DO NOTHING" -c "SELECT * FROM t WHERE id = $i" >/dev/null 2>&1
			"${q[@]}" -c "INSERT INTO t VALUES (1, 'dup')" >/dev/null 2>&1
			"${q[@]}" -c "SELECT * FROM missing_$i" >/dev/null 2>&1
			"${q[@]}" -c "SELEC $i" >/dev/null 2>&1
			"${q[@]}" -c "SELECT 1/0" >/dev/null 2>&1
			"${q[@]}" -c "SELECT nosuchcol FROM t" >/dev/null 2>&1
			"${q[@]}" -c "SELECT pg_sleep(3)" >/dev/null 2>&1
			"${q[@]}" -c "SELECT count(*) FROM generate_series(1, 200000) g ORDER BY 1" -c "SELECT g FROM generate_series(1,300000) g ORDER BY g DESC LIMIT 1" >/dev/null 2>&1
			PGPASSWORD=bad$i psql -h 127.0.0.1 -p $P -U postgres -X -c "SELECT 1" >/dev/null 2>&1
			PGPASSWORD=pw psql -h 127.0.0.1 -p $P -U nobody$i -X -c "SELECT 1" >/dev/null 2>&1
			PGPASSWORD=pw psql -h 127.0.0.1 -p $P -U postgres -d nodb$i -X -c "SELECT 1" >/dev/null 2>&1
			send $P "GET / HTTP/1.1\r\n\r\n"
			[ $((i % 5)) = 0 ] && "${q[@]}" -c "CHECKPOINT" >/dev/null 2>&1
		done
		# a lock wait and a deadlock
		"${q[@]}" -c "BEGIN; UPDATE t SET v='a' WHERE id=1; SELECT pg_sleep(1.5); UPDATE t SET v='a' WHERE id=2; COMMIT" >/dev/null 2>&1 &
		sleep 0.3; "${q[@]}" -c "BEGIN; UPDATE t SET v='b' WHERE id=2; UPDATE t SET v='b' WHERE id=1; COMMIT" >/dev/null 2>&1; wait
		# too many connections
		for i in $(seq 1 10); do ("${q[@]}" -c "SELECT pg_sleep(1)" >/dev/null 2>&1 &); done; sleep 1.5
		"${q[@]}" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()" >/dev/null 2>&1
		if [ $round = 1 ]; then
			"${pg[@]}" $B/pg_ctl -D "$D/data" -m fast -w stop >/dev/null
		else
			kill -9 "$(head -1 "$D/data/postmaster.pid")"; sleep 1
		fi
	done
	"${pg[@]}" $B/pg_ctl -D "$D/data" -l "$L" -w start >/dev/null; "${pg[@]}" $B/pg_ctl -D "$D/data" -m immediate -w stop >/dev/null
	# a bad configuration
	echo "shared_buffers = lots" >>"$D/data/postgresql.conf"; echo "no_such_setting = 1" >>"$D/data/postgresql.conf"
	"${pg[@]}" $B/pg_ctl -D "$D/data" -l "$L" -w -t 5 start >/dev/null 2>&1
	cat "$L" >"$RAW/postgresql.log"
}

cap_mariadb() {
	local D=$WORK/mariadb P=$((BASE_PORT + 40))
	rm -rf "$D" && mkdir -p "$D/data" "$D/tmp"
	mariadb-install-db --no-defaults --datadir="$D/data" --user=root --auth-root-authentication-method=normal >/dev/null 2>&1
	local L=$D/error.log
	local opts=(--no-defaults --datadir="$D/data" --socket="$D/sock" --port=$P --bind-address=127.0.0.1 --user=root
		--pid-file="$D/pid" --log-error="$L" --log-warnings=4 --max-connections=5 --max-connect-errors=1000
		--innodb-buffer-pool-size=16M --tmpdir="$D/tmp" --max-statement-time=1 --innodb-lock-wait-timeout=1)
	local m=(mariadb --no-defaults -h 127.0.0.1 -P $P -uroot)
	for round in 1 2; do
		mariadbd "${opts[@]}" & local pid=$!
		waitport $P || sleep 3
		"${m[@]}" -e "CREATE DATABASE IF NOT EXISTS w; CREATE TABLE IF NOT EXISTS w.t(id int primary key, v text); CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON w.* TO 'app'@'%'" 2>/dev/null
		for i in $(seq 1 15); do
			mariadb --no-defaults -h 127.0.0.1 -P $P -uapp -pwrong$i -e "SELECT 1" >/dev/null 2>&1
			mariadb --no-defaults -h 127.0.0.1 -P $P -unobody$i -e "SELECT 1" >/dev/null 2>&1
			mariadb --no-defaults -h 127.0.0.1 -P $P -uapp -ppw w -e "INSERT INTO t VALUES ($i, 'x')" >/dev/null 2>&1
			mariadb --no-defaults -h 127.0.0.1 -P $P -uapp -ppw nodb$i -e "SELECT 1" >/dev/null 2>&1
			"${m[@]}" w -e "SELECT SLEEP(2)" >/dev/null 2>&1
			"${m[@]}" -e "KILL 999$i" >/dev/null 2>&1
			send $P "GET / HTTP/1.1\r\n\r\n"
			send $P ""
			( "${m[@]}" w -e "SELECT SLEEP(5)" >/dev/null 2>&1 & local c=$!; sleep 0.3; kill -9 $c 2>/dev/null ) 
		done
		for i in $(seq 1 8); do ("${m[@]}" -e "SELECT SLEEP(0.9)" >/dev/null 2>&1 &); done; sleep 1.5
		if [ $round = 1 ]; then "${m[@]}" -e "SHUTDOWN" 2>/dev/null; else kill -9 $pid; fi
		stop $pid; sleep 1
	done
	mariadbd "${opts[@]}" & pid=$!; waitport $P || sleep 3
	# the port is taken
	timeout 10 mariadbd "${opts[@]}" --pid-file="$D/pid2" --socket="$D/sock2" >/dev/null 2>&1
	kill $pid; stop $pid
	# bad options
	for bad in --no-such-option=1 --innodb-buffer-pool-size=abc --default-storage-engine=NoSuchEngine --datadir=/nonexistent --log-bin=/nonexistent/x; do
		timeout 10 mariadbd "${opts[@]}" "$bad" >/dev/null 2>&1
	done
	cat "$L" >"$RAW/mariadb.log"
}

cap_sshd() {
	local D=$WORK/sshd P=$((BASE_PORT + 50))
	rm -rf "$D" && mkdir -p "$D" && chmod 700 "$D"
	ssh-keygen -q -t ed25519 -N '' -f "$D/host_ed25519"
	ssh-keygen -q -t ed25519 -N '' -f "$D/client"
	id capuser >/dev/null 2>&1 || useradd -m -s /bin/sh capuser
	echo 'capuser:goodpw' | chpasswd
	install -d -o capuser -m 700 ~capuser/.ssh && install -o capuser -m 600 "$D/client.pub" ~capuser/.ssh/authorized_keys
	cat >"$D/sshd_config" <<CONF
Port $P
ListenAddress 127.0.0.1
HostKey $D/host_ed25519
PidFile $D/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
MaxAuthTries 3
LoginGraceTime 3
PerSourcePenalties no
AllowUsers capuser root
LogLevel VERBOSE
CONF
	mkdir -p /run/sshd
	/usr/sbin/sshd -t -f "$D/sshd_config" 2>/dev/null || sed -i '/PerSourcePenalties/d' "$D/sshd_config"
	/usr/sbin/sshd -D -e -f "$D/sshd_config" 2>"$D/sshd.log" & local pid=$!
	waitport $P
	printf '#!/bin/sh\necho "$SSH_PW"\n' >"$D/askpass" && chmod 755 "$D/askpass"
	local o=(-p $P -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 -o LogLevel=QUIET)
	for i in $(seq 1 12); do
		timeout 8 ssh "${o[@]}" -i "$D/client" -o BatchMode=yes capuser@127.0.0.1 true
		SSH_PW=wrong$i SSH_ASKPASS="$D/askpass" SSH_ASKPASS_REQUIRE=force timeout 8 ssh "${o[@]}" -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=2 capuser@127.0.0.1 true </dev/null
		SSH_PW=x SSH_ASKPASS="$D/askpass" SSH_ASKPASS_REQUIRE=force timeout 8 ssh "${o[@]}" -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 "admin$i@127.0.0.1" true </dev/null
		SSH_PW=goodpw SSH_ASKPASS="$D/askpass" SSH_ASKPASS_REQUIRE=force timeout 8 ssh "${o[@]}" -o PubkeyAuthentication=no capuser@127.0.0.1 true </dev/null
		SSH_PW=x SSH_ASKPASS="$D/askpass" SSH_ASKPASS_REQUIRE=force timeout 8 ssh "${o[@]}" -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 root@127.0.0.1 true </dev/null
		timeout 8 ssh "${o[@]}" -o BatchMode=yes -i "$D/client" nobody@127.0.0.1 true
		send $P "GET / HTTP/1.1\r\n\r\n"
		send $P "SSH-2.0-capture$i\r\n"
		send $P ""
		timeout 8 ssh "${o[@]}" -o KexAlgorithms=diffie-hellman-group1-sha1 capuser@127.0.0.1 true
		timeout 8 ssh "${o[@]}" -o Ciphers=3des-cbc capuser@127.0.0.1 true
		[ $((i % 4)) = 0 ] && { timeout 8 socat -u "TCP:127.0.0.1:$P" - >/dev/null 2>&1; }
	done
	kill -HUP $pid; sleep 1; stop $pid
	for bad in "Port abc" "NoSuchOption yes" "HostKey /nonexistent/key" "ListenAddress 999.0.0.1" "MaxAuthTries -1"; do
		printf '%s\nPidFile %s/x.pid\nHostKey %s/host_ed25519\n' "$bad" "$D" "$D" >"$D/bad_config"
		timeout 3 /usr/sbin/sshd -t -f "$D/bad_config" 2>>"$D/sshd.log"
	done
	cat "$D/sshd.log" >"$RAW/sshd.log"
}

cap_ngircd() {
	local D=$WORK/ngircd P=$((BASE_PORT + 60))
	rm -rf "$D" && mkdir -p "$D"
	cat >"$D/ngircd.conf" <<CONF
[Global]
	Name = irc.capture.test
	Info = capture
	Listen = 127.0.0.1
	Ports = $P
	Password = joinpw
	MotdPhrase = hello
	PidFile = $D/ngircd.pid
[Limits]
	MaxConnections = 8
	MaxConnectionsIP = 6
	MaxNickLength = 9
	PingTimeout = 5
	PongTimeout = 3
[Options]
	PAM = no
	Ident = no
	DNS = no
[Operator]
	Name = boss
	Password = bosspw
[Channel]
	Name = #ops
	Modes = +k
	Key = chankey
CONF
	ngircd -n -f "$D/ngircd.conf" >"$D/ngircd.log" 2>&1 & local pid=$!
	waitport $P
	for i in $(seq 1 15); do
		send $P "PASS joinpw\r\nNICK u$i\r\nUSER u$i 0 * :User $i\r\nJOIN #chan$((i % 3))\r\nPRIVMSG #chan$((i % 3)) :hi\r\nJOIN #ops\r\nOPER boss wrong\r\nQUIT :bye $i\r\n"
		send $P "PASS nope\r\nNICK bad$i\r\nUSER b 0 * :B\r\n"
		send $P "NICK waytoolongnickname$i\r\nFOO bar\r\n"
		send $P "PASS joinpw\r\nNICK op$i\r\nUSER o 0 * :O\r\nOPER boss bosspw\r\nKILL u$i :test\r\nQUIT\r\n"
		send $P "GET / HTTP/1.1\r\n\r\n"
	done
	# clients that stop answering pings, and too many connections
	for i in $(seq 1 10); do (printf 'PASS joinpw\r\nNICK idle%s\r\nUSER i 0 * :I\r\n' $i | timeout 12 socat -t12 - TCP:127.0.0.1:$P >/dev/null 2>&1 &); done
	sleep 12
	kill -HUP $pid; sleep 1; stop $pid
	for bad in "Ports = abc" "NoSuchKey = 1" "[NoSuchSection]" "MaxConnections = x"; do
		printf '[Global]\nName = irc.capture.test\nPidFile = %s/x.pid\n%s\n' "$D" "$bad" >"$D/bad.conf"
		# --configtest also prints the whole configuration: keep its messages only
		timeout 3 ngircd --configtest -f "$D/bad.conf" </dev/null 2>&1 | grep -Ev '^\s*$|^\s*\w+ = |^\s*\[\w+\]$|^ngIRCd |^Copyright|^This is free|^Press enter|^OK, press' >>"$D/ngircd.log"
	done
	socat TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork SYSTEM:'exit 0' & local c=$!
	sleep 0.2; timeout 5 ngircd -n -f "$D/ngircd.conf" >>"$D/ngircd.log" 2>&1; stop $c
	cat "$D/ngircd.log" >"$RAW/ngircd.log"
}

cap_apache2() {
	local D=$WORK/apache2 P=$((BASE_PORT + 70)) M=/usr/lib/apache2/modules
	rm -rf "$D" && mkdir -p "$D/www/dir" "$D/www/secret" "$D/run"
	echo hello >"$D/www/index.html"; echo x >"$D/www/secret/x.html"; chmod 000 "$D/www/secret/x.html"
	local mods=""
	for m in mpm_event authz_core authz_host dir mime alias proxy proxy_http headers reqtimeout; do mods+="LoadModule ${m}_module $M/mod_$m.so"$'\n'; done
	cat >"$D/apache2.conf" <<CONF
$mods
ServerRoot $D
ServerName capture.test
Listen 127.0.0.1:$P
PidFile $D/run/apache2.pid
DefaultRuntimeDir $D/run
Mutex file:$D/run default
User www-data
Group www-data
ErrorLog $D/error.log
LogLevel info
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $D/access.log combined
TypesConfig /etc/mime.types
DocumentRoot $D/www
<Directory $D/www>
	Require all granted
</Directory>
<Location /denied>
	Require ip 10.255.255.1
</Location>
LimitRequestBody 1024
LimitRequestLine 512
RequestReadTimeout header=2 body=2
ProxyPass /refused http://127.0.0.1:$((BASE_PORT + 99))/
ProxyPass /closed http://127.0.0.1:$((P + 1))/
CONF
	socat TCP-LISTEN:$((P + 1)),bind=127.0.0.1,fork,reuseaddr SYSTEM:'exit 0' & local c1=$!
	apache2 -f "$D/apache2.conf" -DFOREGROUND & local pid=$!
	waitport $P || sleep 2
	local paths=(/ /index.html /missing.html /a/b/c.png /dir/ /secret/x.html /denied/x /refused/a /closed/b "/%2e%2e/etc/passwd" "/x%00y")
	for i in $(seq 1 12); do
		for p in "${paths[@]}"; do curl -s -o /dev/null --path-as-is "http://127.0.0.1:$P$p?i=$i"; done
		curl -s -o /dev/null -X POST --data "$(head -c 4000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$P/index.html?i=$i"
		curl -s -o /dev/null "http://127.0.0.1:$P/$(head -c 600 /dev/zero | tr '\0' l)"
		send $P "FOO$i\r\n\r\n"
		send $P "GET /x HTTP/9.$i\r\n\r\n"
		send $P "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"
		send $P "GET / HTTP/1.1\r\nBad Header\r\n\r\n"
		[ $((i % 4)) = 0 ] && printf 'GET / HTTP/1.1\r\n' | timeout 4 socat -t4 - TCP:127.0.0.1:$P >/dev/null 2>&1
	done
	kill -USR1 $pid; sleep 1; kill -WINCH $pid; sleep 1; stop $pid; stop $c1
	for body in "NoSuchDirective on" "Listen abc" "LoadModule foo_module /nonexistent/mod_foo.so" "<Directory /x>" "DocumentRoot /nonexistent/dir" "Include /nonexistent/*.conf" "ServerLimit x" "Require all"; do
		printf 'ServerRoot %s\nServerName capture.test\nErrorLog %s/error.log\nLoadModule mpm_event_module %s/mod_mpm_event.so\nLoadModule authz_core_module %s/mod_authz_core.so\n%s\n' "$D" "$D" "$M" "$M" "$body" >"$D/bad.conf"
		timeout 5 apache2 -t -f "$D/bad.conf" >>"$D/error.log" 2>&1
	done
	socat TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork SYSTEM:'exit 0' & c1=$!
	sleep 0.2; timeout 5 apache2 -f "$D/apache2.conf" -DFOREGROUND >>"$D/error.log" 2>&1; stop $c1
	cat "$D/error.log" >"$RAW/apache2-error.log"
	cat "$D/access.log" >"$RAW/apache2-access.log"
}

cap_puppet() {
	local D=$WORK/puppet
	rm -rf "$D" && mkdir -p "$D/m" "$D/files"
	local pa=(puppet apply --confdir "$D/conf" --vardir "$D/var" --codedir "$D/code" --logdir "$D/log" --rundir "$D/run" --color false --detailed-exitcodes)
	for i in $(seq 1 6); do
		cat >"$D/m/ok$i.pp" <<PP
file { '$D/files/f$i': ensure => file, content => "v$i \${facts['os']['family']}\n", mode => '0640' }
file { '$D/files/d$i': ensure => directory }
exec { 'touch$i': command => '/bin/touch $D/files/t$i', creates => '$D/files/t$i' }
notify { "round $i": }
PP
		"${pa[@]}" "$D/m/ok$i.pp"
		"${pa[@]}" "$D/m/ok$i.pp"
		echo "mutate $i" >>"$D/files/f$i"; "${pa[@]}" "$D/m/ok$i.pp"
		cat >"$D/m/bad$i.pp" <<PP
exec { 'fail$i': command => '/bin/false $i' }
exec { 'missing$i': command => '/nonexistent/bin$i' }
exec { 'relative$i': command => 'true$i' }
file { '$D/nodir$i/x/y': ensure => file }
file { '$D/files/after$i': ensure => file, require => Exec['fail$i'] }
service { 'nosuchservice$i': ensure => running, provider => base, start => '/bin/false', status => '/bin/false' }
user { 'nosuchuser$i': ensure => present, shell => '/bin/nosuch', provider => useradd, uid => 'abc' }
PP
		"${pa[@]}" "$D/m/bad$i.pp"
		printf "file { '%s/x$i': ensure => file\n" "$D" >"$D/m/syntax$i.pp"; "${pa[@]}" "$D/m/syntax$i.pp"
		printf "nosuchtype$i { 'x': }\n" >"$D/m/type$i.pp"; "${pa[@]}" "$D/m/type$i.pp"
		printf "file { '%s/y$i': ensure => file, require => File['/nonexistent$i'] }\n" "$D" >"$D/m/dep$i.pp"; "${pa[@]}" "$D/m/dep$i.pp"
		printf "file { 'relative$i': ensure => file }\n" >"$D/m/rel$i.pp"; "${pa[@]}" "$D/m/rel$i.pp"
		printf "\$x = undef_function$i(1)\n" >"$D/m/fn$i.pp"; "${pa[@]}" "$D/m/fn$i.pp"
		printf "file { '%s/z$i': ensure => file, nosuchparam => 1 }\n" "$D" >"$D/m/param$i.pp"; "${pa[@]}" "$D/m/param$i.pp"
		printf "include nosuchclass$i\n" >"$D/m/class$i.pp"; "${pa[@]}" "$D/m/class$i.pp"
		printf "file { '%s/dup': ensure => file }\nfile { '%s/dup': ensure => file }\n" "$D" "$D" >"$D/m/dup$i.pp"; "${pa[@]}" "$D/m/dup$i.pp"
	done
	"${pa[@]}" "$D/m/nonexistent.pp"
}

cap_rsyslog() {
	local D=$WORK/rsyslog P=$((BASE_PORT + 80))
	rm -rf "$D" && mkdir -p "$D/spool"
	for body in 'module(load="imnosuch")' '$NoSuchDirective on' 'module(load="imtcp") input(type="imtcp" port="abc")' \
		'*.* /nonexistent/dir/file' 'template(name="t" type="string")' 'if $msg contains "x" then {' 'action(type="omnosuch")' \
		'*.* :omfwd:127.0.0.1:99999' 'module(load="imuxsock" SysSock.Use="maybe")' 'main_queue(queue.size="abc")' \
		'ruleset(name="r") { stop } ruleset(name="r") { stop }' 'global(workDirectory="/nonexistent")'; do
		for i in 1 2; do
			printf 'global(workDirectory="%s/spool")\n%s\n' "$D" "$body" >"$D/bad.conf"
			timeout 5 rsyslogd -N1 -f "$D/bad.conf" -i "$D/pid" >>"$D/rsyslog.log" 2>&1
		done
	done
	cat >"$D/ok.conf" <<CONF
global(workDirectory="$D/spool" maxMessageSize="1k")
module(load="imtcp" MaxSessions="3")
input(type="imtcp" port="$P" address="127.0.0.1")
*.* action(type="omfile" file="$D/out.log")
*.* action(type="omfwd" target="127.0.0.1" port="$((BASE_PORT + 99))" protocol="tcp" action.resumeRetryCount="1")
syslog.* action(type="omfile" file="$D/internal.log")
CONF
	rsyslogd -n -f "$D/ok.conf" -i "$D/pid" >>"$D/rsyslog.log" 2>&1 & local pid=$!
	waitport $P || sleep 2
	for i in $(seq 1 8); do
		send $P "<13>Dec  4 21:00:0$i host app: hello $i\n"
		send $P "<13>Dec  4 21:00:00 host app: $(head -c 1500 /dev/zero | tr '\0' a)\n"
		send $P "garbage without priority $i\n"
		for j in 1 2 3 4 5; do (timeout 2 socat -t2 - TCP:127.0.0.1:$P </dev/null >/dev/null 2>&1 &); done
		sleep 0.3
	done
	sleep 2; kill -HUP $pid; sleep 1; stop $pid
	cat "$D/rsyslog.log" "$D/internal.log" 2>/dev/null >"$RAW/rsyslog.log"
}

main() {
	local progs=("$@")
	[ ${#progs[@]} = 0 ] && progs=(nginx redis memcached postgresql mariadb sshd ngircd apache2 puppet rsyslog)
	for p in "${progs[@]}"; do
		log "$p"
		if [ "$p" = puppet ]; then cap_puppet >"$RAW/puppet.log" 2>&1; else "cap_$p"; fi
	done
	go run ./internal/miner/testdata/capture -raw "$RAW" -out "$OUT"
}

[ "${BASH_SOURCE[0]}" = "$0" ] && main "$@"
