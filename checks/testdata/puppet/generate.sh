#!/usr/bin/env bash
# Regenerates the puppet agent fixtures in this directory from REAL puppet
# runs: `puppet apply` on deliberately broken manifests and hiera data, and
# `puppet agent` against a local fake puppetserver (fakeserver.rb) that
# answers with the errors a broken Beta Cluster puppetmaster produces.
#
# Usage: bash checks/testdata/puppet/generate.sh      (needs puppet-agent:
#        apt-get install -y puppet-agent; ruby, openssl; runs as any user,
#        touches nothing outside a temporary directory)
#
# Every run is logged with --logdest FILE.json; to-syslog.rb turns the JSON
# log into the lines puppet's own syslog destination writes (one line per
# message line, "(source) " prefix unless the source is "Puppet"), so each
# fixture line is exactly one syslog event as logstash receives it:
#
#	<RFC 3339 time> <syslog level> <message>
#
# Fixtures ending in _b are from host deployment-jobrunner04, all others from
# deployment-mediawiki11 (the certname puppet ran as).
#
# Facter's "Permission denied ... /proc/1/environ" errors are container noise
# (no access to PID 1) and are filtered out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/sheriff-puppet-fixtures.XXXXXX)
trap 'kill $(cat "$W/server.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$W/out"

# Two code layouts, as on the Beta puppetmaster (/etc) and a standalone one
# (/srv), so that the same failure is captured with different manifest paths.
layout() { # $1 = code dir
	local env="$1/environments/production"
	mkdir -p "$env/manifests" "$env/data" "$env/modules/profile/manifests"
	cat >"$env/hiera.yaml" <<'Y'
---
version: 5
hierarchy:
  - name: common
    path: common.yaml
Y
	cat >"$env/data/common.yaml" <<'Y'
---
profile::known::value: 'present'
Y
	cat >"$env/modules/profile/manifests/missing_hiera.pp" <<'P'
# Looks up a key that the hiera data does not have.
class profile::missing_hiera {
  $v = lookup('profile::foo::bar')
  notify { "value ${v}": }
}
P
	cat >"$env/modules/profile/manifests/needs_param.pp" <<'P'
class profile::needs_param(String $listen_port) {
  notify { "port ${listen_port}": }
}
P
	cat >"$env/modules/profile/manifests/ok.pp" <<P
class profile::ok {
  file { "$W/out/ok-\${facts['networking']['hostname']}": ensure => file, content => "ok\\n" }
}
P
}
layout "$W/etc/puppet/code"
layout "$W/srv/puppet_code"

common=(--color=false --vardir "$W/var" --confdir "$W/conf")
apply() { # $1 = fixture name, $2 = certname, $3 = code dir, $4 = manifest text
	local m="$3/environments/production/manifests/site.pp"
	printf '%s\n' "$4" >"$m"
	rm -f "$W/$1.json"
	timeout 300 puppet apply "${common[@]}" --codedir "$3" --certname "$2" \
		--logdest "$W/$1.json" "$m" >/dev/null 2>&1 || true
	ruby "$here/to-syslog.rb" "$W/$1.json" >>"$here/$1.log"
}

A=deployment-mediawiki11.deployment-prep.eqiad1.wikimedia.cloud
B=deployment-jobrunner04.deployment-prep.eqiad1.wikimedia.cloud
ETC="$W/etc/puppet/code"
SRV="$W/srv/puppet_code"
rm -f "$here"/*.log

apply success "$A" "$ETC" "include profile::ok"
apply success "$A" "$ETC" "include profile::ok" # second run: nothing to change

# Same failure, two hosts, two code paths, different line/column.
apply missing_class "$A" "$ETC" 'node default {
  include ::profile::does_not_exist
}'
apply missing_class_b "$B" "$SRV" '# standalone puppetmaster layout

node default {
    include profile::does_not_exist
}'
apply missing_hiera "$A" "$ETC" 'include profile::missing_hiera'
apply missing_hiera_b "$B" "$SRV" '

include profile::missing_hiera'
apply class_param "$A" "$ETC" 'include profile::needs_param'
apply duplicate "$A" "$ETC" "file { '$W/out/dup': ensure => file }
file { '$W/out/dup': ensure => file }"

apply exec_failure "$A" "$ETC" "exec { 'scap-sync-check':
  command => '/bin/false --flag $W/out/lock.12345',
}
file { '$W/out/after-exec': ensure => file, require => Exec['scap-sync-check'] }
file { '$W/out/trigger': ensure => file, content => \"x\\n\" }
exec { 'reload-thing': command => '/bin/sh -c \"exit 3\"', refreshonly => true, subscribe => File['$W/out/trigger'] }"

# No init system in the container: puppet's default provider finds no init
# script, an explicit systemd provider is "not functional". Both are real
# service failures as the agent reports them.
apply service_failure "$A" "$ETC" "service { 'nginx': ensure => running }
service { 'apache2': ensure => running, provider => systemd }"
apply service_failure_b "$B" "$SRV" "service { 'nginx': ensure => running }"

# The package does not exist in the (offline) apt lists.
apply package_failure "$A" "$ETC" "package { 'sheriff-fixture-missing': ensure => present }"

apply cycle "$A" "$ETC" "file { '$W/out/a': ensure => file, require => Service['b'] }
service { 'b': ensure => running, require => File['$W/out/a'] }"

apply file_source "$A" "$ETC" "file { '$W/out/src': ensure => file, source => 'puppet:///modules/nonexistent/x' }"

# puppet agent against a fake puppetserver on loopback.
bash "$here/agent.sh" "$W" "$here" "$A"
echo "fixtures written to $here"

# The failures issue 12 added (compile errors by kind, templates, Exec
# timeouts, certificate rejection), then the three-day timeline built from
# all of them.
bash "$here/more.sh"
(cd "$here/../../.." && go run ./checks/testdata/puppet/timeline)
