#!/usr/bin/env bash
# Copies every row of a kontor SQLite database into a PostgreSQL database, so
# that bench/run.sh can measure both drivers on the same organization without
# waiting for `kontor demo` to insert a million tasks row by row. kontor
# creates the schema on both sides, then each table goes through
# `sqlite3 -csv` into PostgreSQL's COPY, and VACUUM ANALYZE gives the planner
# statistics, as a long-running database would have.
#
# usage: copy-to-postgresql.sh SQLITE_FILE POSTGRESQL_URI PEPPER_FILE
#
# The target database loses its rows first (TRUNCATE), so point it only at a
# database made for the benchmark. KONTOR_BIN sets the kontor binary
# (default build/kontor). Progress goes to stderr.
set -euo pipefail

KONTOR_BIN=${KONTOR_BIN:-build/kontor}
MIGRATE_TIMEOUT=60

# Tables whose rows belong to the running database rather than to the
# organization: the applied migrations, which kontor writes on both sides, and
# the leases of running nodes, which a copy would turn into stale claims.
SKIPPED_TABLES=" schema_migrations node_leases "

die() {
	echo "copy-to-postgresql: $*" >&2
	exit 1
}

[[ $# -eq 3 ]] || die "usage: $0 SQLITE_FILE POSTGRESQL_URI PEPPER_FILE"
sqlite_file=$1
uri=$2
pepper_file=$3
[[ -f $sqlite_file ]] || die "$sqlite_file not found"
[[ -f $pepper_file ]] || die "$pepper_file not found"
[[ -x $KONTOR_BIN ]] || die "$KONTOR_BIN not found: build it with make"

log_file=$(mktemp /tmp/kontor-copy.XXXXXX)
kontor_pid=

cleanup() {
	if [[ -n $kontor_pid ]]; then
		kill -TERM "$kontor_pid" 2>/dev/null || true
		wait "$kontor_pid" 2>/dev/null || true
	fi
	rm -f "$log_file"
}
trap cleanup EXIT

# Brings the schema of DB up to date the way kontor does it on every start:
# `kontor serve` applies the missing migrations before it serves, and stops
# cleanly on SIGTERM once it serves.
migrate() {
	local db=$1 started=$SECONDS

	: >"$log_file"
	KONTOR_LOG_LEVEL=info "$KONTOR_BIN" serve --db "$db" --pepper-file "$pepper_file" \
		--listen 127.0.0.1:0 >/dev/null 2>"$log_file" &
	kontor_pid=$!
	until grep -q '"message":"serving"' "$log_file"; do
		if ! kill -0 "$kontor_pid" 2>/dev/null; then
			wait "$kontor_pid" || true
			kontor_pid=
			tail -n 20 "$log_file" >&2
			die "kontor serve exited before serving $db (its log is above)"
		fi
		((SECONDS - started < MIGRATE_TIMEOUT)) ||
			die "kontor serve did not serve $db within ${MIGRATE_TIMEOUT}s"
		sleep 0.1
	done
	kill -TERM "$kontor_pid"
	if ! wait "$kontor_pid"; then
		kontor_pid=
		tail -n 20 "$log_file" >&2
		die "kontor serve failed while stopping on $db (its log is above)"
	fi
	kontor_pid=
}

sql() {
	psql "$uri" -X -q -At -v ON_ERROR_STOP=1 "$@"
}

sqlite_count() {
	sqlite3 -readonly "$sqlite_file" "SELECT count(*) FROM \"$1\""
}

echo "copy-to-postgresql: creating the schema" >&2
migrate "$sqlite_file"
migrate "$uri"

tables=()
while read -r table; do
	[[ $SKIPPED_TABLES == *" $table "* ]] || tables+=("$table")
done < <(sql -c "SELECT table_name FROM information_schema.tables
	WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name")
((${#tables[@]} > 0)) || die "no tables in $uri after the migrations"

# kontor's first start wrote rows of its own (the pagination key, the
# scheduled jobs), which the copy replaces with the SQLite file's.
sql -c "TRUNCATE $(
	IFS=,
	echo "${tables[*]}"
)"

for table in "${tables[@]}"; do
	rows=$(sqlite_count "$table") || die "table $table is missing in $sqlite_file"
	((rows > 0)) || continue

	columns=$(sql -c "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '$table'")
	binary=$(sql -c "SELECT count(*) FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = '$table' AND data_type = 'bytea'")
	# sqlite3's CSV output has no encoding for a BLOB that COPY could read
	# back as bytea. The demo leaves the only such table (photos) empty.
	((binary == 0)) || die "table $table has $rows rows with binary columns, which this copy cannot carry"

	echo "copy-to-postgresql: $table, $rows rows" >&2
	# sqlite3 writes NULL as an empty field and an empty string as "", which
	# is what COPY's CSV format reads as NULL and as an empty string. The
	# replica role skips the foreign key triggers, because the rows come from
	# a database in which kontor enforced the same keys.
	sqlite3 -readonly -bail -csv -separator , -newline $'\n' "$sqlite_file" \
		"SELECT $columns FROM \"$table\"" |
		sql -c "SET session_replication_role = replica" \
			-c "COPY $table ($columns) FROM STDIN WITH (FORMAT csv)"

	copied=$(sql -c "SELECT count(*) FROM $table")
	[[ $copied == "$rows" ]] || die "table $table: $rows rows in $sqlite_file but $copied in PostgreSQL"
done

echo "copy-to-postgresql: VACUUM ANALYZE" >&2
sql -c "VACUUM ANALYZE"
