#!/usr/bin/env bash
# Installs what kontor needs from Debian's packages and the npm registry.
# Safe to run again: it installs only what is missing.
#
#   scripts/deps.sh        everything: build, run, test and benchmark
#   scripts/deps.sh run    only what building and serving need
set -euo pipefail
cd "$(dirname "$0")/.."

scope=${1:-all}
packages=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
	libpq-dev libsodium-dev libcurl4-openssl-dev libgd-dev zlib1g-dev)
case $scope in
run) ;;
all) packages+=(libcmocka-dev sqlite3 postgresql wrk nginx-light chromium curl nodejs npm time) ;;
*)
	echo "usage: $0 [run]" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from outside Debian (as on the development machines): accept any node >= 18.
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
	missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	sudo_cmd=()
	[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $scope == all && -f package.json && ( ! -d node_modules || package.json -nt node_modules/.package-lock.json ) ]]; then
	echo "deps: installing npm packages" >&2
	npm ci --no-audit --no-fund --silent 2>/dev/null || npm install --no-audit --no-fund --silent
fi
