#!/usr/bin/env bash
# Part of generate.sh, runnable on its own: more REAL puppet runs for the
# failures issue 12 is about (compile errors by kind, template errors, Exec
# timeouts, a server that resets the agent's connections).
#
# usage: bash checks/testdata/puppet/more.sh   (writes the *.log fixtures it names)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/sheriff-puppet-more.XXXXXX)
trap 'kill $(cat "$W/reset.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$W/out"
A=deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud
code="$W/etc/puppet/code"
env="$code/environments/production"
mkdir -p "$env/manifests" "$env/data" "$env/modules/profile/manifests" "$env/modules/profile/templates"
printf -- '---\nversion: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n' >"$env/hiera.yaml"
printf -- '---\nprofile::known::value: present\n' >"$env/data/common.yaml"
cat >"$env/modules/profile/templates/elasticsearch.yml.erb" <<'T'
cluster.name: <%= @cluster_name %>
heap: <%= @heap_size.upcase_all %>
T
cat >"$env/modules/profile/manifests/elasticsearch.pp" <<'P'
class profile::elasticsearch {
  $cluster_name = 'beta-search'
  $heap_size = 2
  file { '/etc/elasticsearch/elasticsearch.yml': content => template('profile/elasticsearch.yml.erb') }
}
P
cat >"$env/modules/profile/manifests/typed.pp" <<'P'
class profile::typed(Integer $port) {
  notify { "port ${port}": }
}
P

common=(--color=false --vardir "$W/var" --confdir "$W/conf")
apply() { # $1 = fixture name, $2 = manifest text
	local m="$env/manifests/site.pp"
	printf '%s\n' "$2" >"$m"
	rm -f "$W/$1.json" "$here/$1.log"
	timeout 300 puppet apply "${common[@]}" --codedir "$code" --certname "$A" \
		--logdest "$W/$1.json" "$m" >/dev/null 2>&1 || true
	ruby "$here/to-syslog.rb" "$W/$1.json" >>"$here/$1.log"
}

apply template_error 'include profile::elasticsearch'
apply syntax_error 'node default {
  include profile::ok
  file { "/tmp/x": ensure => file
}'
apply unknown_function 'node default {
  $v = wmflib_missing_helper("x")
}'
apply unknown_type 'node default {
  prometheus_exporter_missing { "x": ensure => present }
}'
apply type_mismatch "class { 'profile::typed': port => 'http' }"
# Two Execs timing out in one run: each timeout belongs to its own Exec.
apply exec_timeout "exec { 'git-pull-mediawiki-config': command => '/bin/sleep 5', timeout => 1 }
exec { 'scap-l10n-rebuild': command => '/bin/sleep 5', timeout => 1 }"

# A server that rejects the agent's certificate: the TLS handshake is reset.
# The agent also trusts a CA that did not issue its own certificate, which
# is what puppet warns about.
port=19340
ssl="$W/aconf/ssl"
mkdir -p "$ssl/certs" "$ssl/private_keys" "$ssl/public_keys"
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Puppet CA: deployment-puppetserver-1" -keyout "$W/ca.key" -out "$W/ca.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=$A" -keyout "$ssl/private_keys/$A.pem" -out "$W/agent.csr"
ossl x509 -req -in "$W/agent.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 30 -out "$ssl/certs/$A.pem"
ossl pkey -in "$ssl/private_keys/$A.pem" -pubout -out "$ssl/public_keys/$A.pem"
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Puppet CA: other" -keyout "$W/other.key" -out "$ssl/certs/ca.pem"
ruby -rsocket -e '
srv = TCPServer.new("127.0.0.1", Integer(ARGV[0]))
loop do
  c = srv.accept
  c.readpartial(4096) rescue nil # the ClientHello: the handshake has begun
  c.setsockopt(Socket::SOL_SOCKET, Socket::SO_LINGER, [1, 0].pack("ii")) # close = RST
  c.close
end' "$port" &
echo $! >"$W/reset.pid"
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
agent() { # $1 = fixture name
	rm -f "$W/$1.json" "$here/$1.log"
	timeout 300 puppet agent --onetime --no-daemonize --color=false \
		--confdir "$W/aconf" --vardir "$W/avar" --ssldir "$ssl" --codedir "$W/agent-unused" \
		--certname "$A" --server 127.0.0.1 --serverport "$port" --waitforcert 0 \
		--certificate_revocation false --no-splay --no-usecacheonfailure \
		--logdest "$W/$1.json" >/dev/null 2>&1 || true
	ruby "$here/to-syslog.rb" "$W/$1.json" >>"$here/$1.log"
}
agent agent_cert_rejected
echo "more fixtures written to $here"
