#!/usr/bin/env bash
# Part of generate.sh: real `puppet agent` runs against fakeserver.rb.
# usage: agent.sh WORKDIR FIXTUREDIR CERTNAME
set -euo pipefail
W=$1 here=$2 A=$3
port=18140
ssl="$W/aconf/ssl"
mkdir -p "$ssl/certs" "$ssl/private_keys" "$ssl/public_keys" "$W/srvssl" "$W/acode/environments/production/manifests"

# A CA, a server certificate for 127.0.0.1 and the agent's certificate, as
# `puppetserver ca` would have issued them.
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Puppet CA: fixture" \
	-keyout "$W/srvssl/ca.key" -out "$ssl/certs/ca.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$W/srvssl/server.key" -out "$W/srvssl/server.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$W/srvssl/san.ext"
ossl x509 -req -in "$W/srvssl/server.csr" -CA "$ssl/certs/ca.pem" -CAkey "$W/srvssl/ca.key" -CAcreateserial \
	-days 30 -extfile "$W/srvssl/san.ext" -out "$W/srvssl/server.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=$A" -keyout "$ssl/private_keys/$A.pem" -out "$W/srvssl/agent.csr"
ossl x509 -req -in "$W/srvssl/agent.csr" -CA "$ssl/certs/ca.pem" -CAkey "$W/srvssl/ca.key" -CAcreateserial \
	-days 30 -out "$ssl/certs/$A.pem"
ossl pkey -in "$ssl/private_keys/$A.pem" -pubout -out "$ssl/public_keys/$A.pem"
# A second CA that did not sign the server: certificate verification fails.
mkdir -p "$W/otherssl/certs"
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Puppet CA: other" \
	-keyout "$W/otherssl/ca.key" -out "$W/otherssl/ca.pem"

code="$W/acode"
site="$code/environments/production/manifests/site.pp"
echo 200 >"$W/report_status"
start() {
	ruby "$here/fakeserver.rb" "$port" "$W/srvssl" "$code" "$W" &
	echo $! >"$W/server.pid"
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.2
	done
	echo "fake server did not start" >&2
	return 1
}
stop() { kill "$(cat "$W/server.pid")" 2>/dev/null || true; wait "$(cat "$W/server.pid")" 2>/dev/null || true; rm -f "$W/server.pid"; }

run() { # $1 = fixture name, extra agent args follow
	local name=$1
	shift
	rm -f "$W/$name.json"
	timeout 300 puppet agent --onetime --no-daemonize --color=false \
		--confdir "$W/aconf" --vardir "$W/avar" --ssldir "$ssl" --codedir "$W/agent-unused" \
		--certname "$A" --server 127.0.0.1 --serverport "$port" --waitforcert 0 \
		--no-pluginsync --certificate_revocation false --no-splay \
		--logdest "$W/$name.json" "$@" >/dev/null 2>&1 || true
	ruby "$here/to-syslog.rb" "$W/$name.json" >>"$here/$name.log"
}

start
printf 'node default {\n  file { "%s/out/agent-ok": ensure => file, content => "ok\\n" }\n}\n' "$W" >"$site"
run agent_success
run agent_success # idempotent second run
printf '# site.pp on the beta puppetmaster\n\nnode default {\n    include ::profile::does_not_exist\n}\n' >"$site"
run agent_catalog_error --no-usecacheonfailure
run agent_cached_catalog --usecacheonfailure
printf "node default {\n  \$port = lookup('profile::mediawiki::php::fpm_port')\n  notify { \"port \${port}\": }\n}\n" >"$site"
run agent_missing_hiera --no-usecacheonfailure
cat >"$site" <<P
class profile::mediawiki::php {
  service { 'php7.4-fpm': ensure => running }
  exec { 'compile-l10n': command => '/bin/sh -c "echo cannot write cache >&2; exit 2"', path => '/bin:/usr/bin' }
  file { '$W/out/l10n-done': ensure => file, require => Exec['compile-l10n'] }
}
node default { include profile::mediawiki::php }
P
run agent_resource_failure
printf 'node default {\n  file { "%s/out/agent-ok": ensure => file, content => "ok\\n" }\n}\n' "$W" >"$site"
echo 500 >"$W/report_status"
run agent_report_failure
echo 200 >"$W/report_status"

# Another agent run holds the lock.
ruby -e 'sleep 1000' -- puppet-agent-holder &
holder=$!
mkdir -p "$W/avar/state"
echo "$holder" >"$W/avar/state/agent_catalog_run.lock"
run agent_locked
kill "$holder"
rm -f "$W/avar/state/agent_catalog_run.lock"

puppet agent --disable "T123456 investigating scap failures --sheriff" --confdir "$W/aconf" --vardir "$W/avar" >/dev/null 2>&1
run agent_disabled
puppet agent --enable --confdir "$W/aconf" --vardir "$W/avar" >/dev/null 2>&1

# The agent trusts a CA that did not sign the server's certificate.
cp "$ssl/certs/ca.pem" "$W/ca.good"
cp "$W/otherssl/ca.pem" "$ssl/certs/ca.pem"
run agent_ssl --no-usecacheonfailure
cp "$W/ca.good" "$ssl/certs/ca.pem"

stop
run agent_unreachable --no-usecacheonfailure
