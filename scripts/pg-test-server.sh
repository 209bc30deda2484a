#!/usr/bin/env bash
# Runs a private PostgreSQL 15 cluster for tests, reachable only from this
# machine. It listens on 127.0.0.1 alone (no Unix socket), trusts loopback
# connections, keeps fsync on, and contains one database `kontor` owned by the
# superuser role `kontor`.
#
#   scripts/pg-test-server.sh start DIR   create the cluster in DIR if needed, start it,
#                                         and print its URI as the last line of stdout
#   scripts/pg-test-server.sh stop DIR    stop it (fast shutdown: sessions are ended)
#   scripts/pg-test-server.sh uri DIR     print the URI again
#
# PostgreSQL refuses to run as root, so when run as root the cluster belongs
# to the system user kontor-pg, which is created if missing. DIR and every
# folder above it must then be searchable by that user (/tmp is, /root is not).
# Set PG_BIN to use binaries other than /usr/lib/postgresql/15/bin.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=kontor-pg
FIRST_PORT=54320
PORT_TRIES=100

usage() {
	echo "usage: $0 start|stop|uri DIR" >&2
	exit 2
}

die() {
	echo "pg-test-server: $*" >&2
	exit 1
}

# Runs a command as the cluster owner: kontor-pg when root, else the caller.
as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

ensure_owner() {
	[[ $(id -u) -eq 0 ]] || return 0
	if ! getent passwd "$PG_USER" >/dev/null; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$PG_USER" ||
			die "could not create the system user $PG_USER"
	fi
}

# Succeeds when something already accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

print_uri() {
	local port
	[[ -s "$dir/port" ]] || die "no cluster started in $dir (missing $dir/port)"
	port=$(<"$dir/port")
	[[ $port =~ ^[0-9]+$ ]] || die "invalid port '$port' in $dir/port"
	echo "postgresql://kontor@127.0.0.1:$port/kontor"
}

is_running() {
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

init_cluster() {
	# fsync is on by default and is set again below, because a test cluster
	# that trades durability for speed would make durability tests prove nothing.
	as_owner "$PG_BIN/initdb" -D "$dir/data" --username=kontor --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1 ||
		die "initdb failed; see $dir/initdb.log"

	# Replaces initdb's pg_hba.conf, which also trusts the Unix socket and ::1.
	as_owner tee "$dir/data/pg_hba.conf" >/dev/null <<-'EOF'
		# TYPE  DATABASE  USER  ADDRESS       METHOD
		host    all       all   127.0.0.1/32  trust
	EOF
	as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<-'EOF'

		# Set by scripts/pg-test-server.sh.
		listen_addresses = '127.0.0.1'
		unix_socket_directories = ''
		fsync = on
		synchronous_commit = on
		timezone = 'UTC'
	EOF
}

# Starts the server on the first port from FIRST_PORT that it can bind. A port
# can be taken between the check and the bind, so a failed start moves on.
start_server() {
	local port last=$((FIRST_PORT + PORT_TRIES - 1))
	for ((port = FIRST_PORT; port <= last; port++)); do
		port_in_use "$port" && continue
		if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
			-o "-p $port" start >/dev/null; then
			echo "$port" >"$dir/port"
			return 0
		fi
		grep -q 'could not bind\|could not create any TCP/IP sockets' "$dir/postgres.log" ||
			die "PostgreSQL did not start; see $dir/postgres.log"
	done
	die "no free port from $FIRST_PORT to $last on 127.0.0.1"
}

create_database() {
	local port
	port=$(<"$dir/port")
	if ! as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U kontor -d postgres -Atq \
		-c "SELECT 1 FROM pg_database WHERE datname = 'kontor'" | grep -q 1; then
		as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U kontor -O kontor kontor ||
			die "could not create the database kontor"
	fi
}

cmd_start() {
	[[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL 15 binaries not found in $PG_BIN (install postgresql-15)"
	ensure_owner
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [[ $(id -u) -eq 0 ]]; then
		chown "$PG_USER:" "$dir"
		chmod 700 "$dir"
		runuser -u "$PG_USER" -- test -w "$dir" ||
			die "$PG_USER cannot write to $dir; pick a folder whose parents it can search, such as one under /tmp"
	fi
	# PostgreSQL's tools complain when started from a folder the owner cannot
	# read, such as root's home.
	cd "$dir"

	[[ -f "$dir/data/PG_VERSION" ]] || init_cluster
	if is_running; then
		[[ -s "$dir/port" ]] || die "a server runs in $dir/data but $dir/port is missing"
	else
		rm -f "$dir/port"
		start_server
	fi
	create_database
	print_uri
}

cmd_stop() {
	[[ -d "$dir/data" ]] || die "no cluster in $dir"
	dir=$(cd "$dir" && pwd)
	cd "$dir"
	if is_running; then
		as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ||
			die "pg_ctl stop failed; see $dir/postgres.log"
	else
		echo "pg-test-server: no server running in $dir" >&2
	fi
}

[[ $# -eq 2 ]] || usage
dir=$2
case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
uri) print_uri ;;
*) usage ;;
esac
