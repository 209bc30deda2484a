#!/usr/bin/env bash
# Read and export benchmark of kontor (`make bench`). It serves the demo organization,
# saves the body of GET /api/1.0/tasks/{gid} and has nginx serve that file as
# the reference, then loads both servers with wrk on loopback, times the first
# page of a long list against a deep page, and appends the figures with the
# machine's facts to bench/RESULTS.md. By default it does this twice, first on
# SQLite and then on a private PostgreSQL cluster holding a copy of the same
# organization, and compares the two. On the SQLite part it also times
# `kontor export` against `sqlite3 -json` over the same rows and records
# kontor's peak memory. bench/README.md explains each figure and the
# settings below.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# ---------------------------------------------------------------- settings

BENCH_SIZE=${BENCH_SIZE:-large}
BENCH_DATA_DIR=${BENCH_DATA_DIR:-bench/data}
BENCH_DB=${BENCH_DB:-}
BENCH_DRIVERS=${BENCH_DRIVERS:-sqlite postgresql}
BENCH_PG_DIR=${BENCH_PG_DIR:-$BENCH_DATA_DIR/pg-$BENCH_SIZE}
BENCH_EMAIL=${BENCH_EMAIL:-admin@exempel.se}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_WARMUP=${BENCH_WARMUP:-3s}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64 8}
BENCH_WRK_THREADS=${BENCH_WRK_THREADS:-2}
BENCH_REPEATS=${BENCH_REPEATS:-3}
BENCH_DEEP_PAGE=${BENCH_DEEP_PAGE:-10000}
BENCH_LIST_LIMITS=${BENCH_LIST_LIMITS:-1 100}
BENCH_SAMPLES=${BENCH_SAMPLES:-200}
BENCH_CREATE_TIMEOUT=${BENCH_CREATE_TIMEOUT:-3600}
BENCH_COPY_TIMEOUT=${BENCH_COPY_TIMEOUT:-1800}
BENCH_RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
BENCH_PROFILE=${BENCH_PROFILE:-0}
BENCH_KONTOR_THREADS=${BENCH_KONTOR_THREADS:-}
# 1: measure only the export (no wrk, nginx or listings), e.g. with BENCH_SIZE=small for a quick check.
BENCH_EXPORT_ONLY=${BENCH_EXPORT_ONLY:-0}
KONTOR_BIN=${KONTOR_BIN:-build/kontor}

# Targets of the read benchmark.
TARGET_RPS_RATIO=0.6
TARGET_P99_MS=5
TARGET_DEEP_RATIO=1.2
TARGET_CONNECTIONS=64
# Targets of the export benchmark: kontor export against sqlite3 -json over the same rows.
TARGET_EXPORT_RATIO=0.5
TARGET_EXPORT_RSS_MB=64

# ---------------------------------------------------------------- helpers

die() {
	echo "bench: $*" >&2
	exit 1
}

need_tool() {
	command -v "$1" >/dev/null || die "$1 not found: install it with scripts/deps.sh (or make deps)"
}

# Prints a free TCP port on 127.0.0.1, found by binding port 0. Another
# process could take the port before nginx binds it. nginx then fails to
# start, and the script stops and shows nginx's error log.
free_port() {
	node -e 'const s = require("net").createServer();
		s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Prints the median of the arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints A / B with two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'
}

# Prints "yes" when A <= B, else "no".
at_most() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "yes" : "no" }'
}

# Replaces a password in a postgresql:// URI so that it can go into the results.
redact_db() {
	sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"
}

is_uri() {
	[[ $1 == postgres://* || $1 == postgresql://* ]]
}

kontor_revision() {
	git describe --always --dirty 2>/dev/null || echo unknown
}

# ---------------------------------------------------------------- processes

work_dir=
kontor_pid=
nginx_pid=
# The private PostgreSQL cluster this script started, stopped on exit.
pg_dir=
# The copy into that cluster while it runs.
copy_pid=

stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop_servers() {
	[[ -z $kontor_pid ]] || stop_pid "$kontor_pid"
	[[ -z $nginx_pid ]] || stop_pid "$nginx_pid"
	kontor_pid=
	nginx_pid=
}

cleanup() {
	[[ -z $copy_pid ]] || stop_pid "$copy_pid"
	stop_servers
	[[ -z $pg_dir ]] || scripts/pg-test-server.sh stop "$pg_dir" >/dev/null 2>&1 || true
	[[ -z $work_dir ]] || rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- databases

# One part of a run measures one database. These variables describe the current part.
part_kind=   # SQLite or PostgreSQL, also the key of the part's figures
part_db=     # SQLite file or postgresql:// URI given to kontor
part_pepper= # token key file; empty for the file kontor keeps beside a SQLite database
part_info=   # file whose first line gives the demo organization's counts
part_origin= # how the database got its rows, for the results
part_version= # database software, for the results

# Prints kontor's option for the token key file of the current part, if any.
pepper_args() {
	[[ -z $part_pepper ]] || printf '%s\n' --pepper-file "$part_pepper"
}

# Starts `kontor demo` on a port the kernel picks, with its log at LEVEL,
# and waits until it serves. The demo command first creates the demo
# organization when the database is empty, which can take many minutes.
# Sets kontor_pid and kontor_url. kontor's stdout stays in $work_dir/kontor.out.
launch_kontor() {
	local level=$1 out="$work_dir/kontor.out" log="$work_dir/kontor.log"
	local started=$SECONDS reported=$SECONDS tasks args
	args=(demo --db "$part_db" --size "$BENCH_SIZE" --listen 127.0.0.1:0
		--rate-limit 10000000 --max-reads 100000)
	mapfile -t -O "${#args[@]}" args < <(pepper_args)
	[[ -z $BENCH_KONTOR_THREADS ]] || args+=(--threads "$BENCH_KONTOR_THREADS")

	KONTOR_LOG_LEVEL=$level "$KONTOR_BIN" "${args[@]}" >"$out" 2>"$log" &
	kontor_pid=$!

	until grep -q '^kontor is serving ' "$out"; do
		if ! kill -0 "$kontor_pid" 2>/dev/null; then
			kontor_pid=
			tail -n 20 "$log" >&2
			die "kontor demo exited before serving (its log is above)"
		fi
		((SECONDS - started < BENCH_CREATE_TIMEOUT)) ||
			die "kontor did not serve within ${BENCH_CREATE_TIMEOUT}s (BENCH_CREATE_TIMEOUT)"
		if ((SECONDS - reported >= 30)); then
			tasks=$(sed -n 's/.*"demo tasks created".*"tasks":"\{0,1\}\([0-9]*\).*/\1/p' "$log" | tail -n 1)
			echo "bench: still starting kontor after $((SECONDS - started)) s; tasks created so far: ${tasks:-unknown}" >&2
			reported=$SECONDS
		fi
		sleep 0.2
	done
	kontor_url=$(sed -n 's/^kontor is serving \(http:[^ ]*\).*/\1/p' "$out" | head -n 1)
}

# Creates the demo organization in the part's empty database and records its
# counts in the part's info file. kontor is stopped again, because it ran with
# its log at info level to show progress.
create_demo() {
	local started=$SECONDS

	echo "bench: creating the $BENCH_SIZE demo organization in $(redact_db "$part_db") (once; later runs reuse it)" >&2
	launch_kontor info
	grep -q '^Token: ' "$work_dir/kontor.out" ||
		die "kontor demo created no organization, so $(redact_db "$part_db") already contains one that this script did not create: point the benchmark at an empty database"
	{
		grep '^Demo organization: ' "$work_dir/kontor.out" || echo "Demo organization: (counts not printed)"
		echo "created in $((SECONDS - started)) s on $(date -u '+%Y-%m-%d') by kontor $(kontor_revision)"
	} >"$part_info"
	stop_pid "$kontor_pid"
	kontor_pid=
}

# Makes FILE the current part: the SQLite demo database, created on first use.
use_sqlite() {
	part_kind=SQLite
	part_db=$1
	part_pepper=
	part_info="$1.info"
	# The .info file is written only once the demo organization was complete,
	# so a database without it may hold a half-built organization.
	if [[ -f $part_db && ! -f $part_info ]]; then
		die "$part_db exists but $part_info does not, so its creation may not have finished: delete $part_db* and run again"
	fi
	[[ -f $part_info ]] || create_demo
	part_origin="created by kontor demo ($(sed -n 2p "$part_info"))"
	part_version="SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo unknown)"
}

# Makes the PostgreSQL database at URI the current part, creating the demo
# organization in it through kontor when the database is empty.
use_postgresql_uri() {
	part_kind=PostgreSQL
	part_db=$1
	part_pepper=${KONTOR_PEPPER_FILE:-$BENCH_DATA_DIR/postgresql.pepper}
	part_info="$BENCH_DATA_DIR/postgresql-$BENCH_SIZE.info"
	[[ -f $part_info ]] || create_demo
	part_origin="created by kontor demo ($(sed -n 2p "$part_info"))"
	postgresql_version
}

postgresql_version() {
	part_version="PostgreSQL $(psql "$part_db" -X -Atc 'SHOW server_version' 2>/dev/null || echo unknown)"
	part_version+=" (libpq $(pkg-config --modversion libpq 2>/dev/null || echo unknown))"
}

# Prints the gid of the organization in a database, read directly.
sqlite_org() {
	sqlite3 -readonly "$1" 'SELECT gid FROM workspaces ORDER BY gid LIMIT 1'
}

postgresql_org() {
	psql "$1" -X -Atc 'SELECT gid FROM workspaces ORDER BY gid LIMIT 1' 2>/dev/null || true
}

# Makes a private PostgreSQL cluster in BENCH_PG_DIR the current part, holding
# a copy of the SQLite demo database FILE (which is created first if needed).
# The copy is kept between runs. BENCH_PG_DIR.info records which organization
# it contains, and the copy is made again when the SQLite file contains
# another one or the cluster lost it. kontor checks tokens with the SQLite file's key file, so
# the copied rows and new tokens work alike on both databases.
use_postgresql_copy() {
	local sqlite_file=$1 source_info source_line started

	use_sqlite "$sqlite_file"
	source_info=$part_info
	source_line="source: $sqlite_file, organization $(sqlite_org "$sqlite_file")"

	part_kind=PostgreSQL
	part_pepper="$sqlite_file.pepper"
	part_info="$BENCH_PG_DIR.info"
	pg_dir=$BENCH_PG_DIR
	echo "bench: starting PostgreSQL in $pg_dir" >&2
	part_db=$(scripts/pg-test-server.sh start "$pg_dir" | tail -n 1)
	is_uri "$part_db" || die "scripts/pg-test-server.sh start $pg_dir printed no URI"

	if [[ -f $part_info && $(sed -n 2p "$part_info") == "$source_line" &&
		$(postgresql_org "$part_db") == "$(sqlite_org "$sqlite_file")" ]]; then
		copy_note="reused the copy made earlier"
	else
		rm -f "$part_info"
		echo "bench: copying $sqlite_file into PostgreSQL (once; later runs reuse the copy)" >&2
		started=$SECONDS
		# timeout runs the copy in a process group of its own, which Ctrl-C does
		# not reach. Waiting in the background lets the INT trap run at once,
		# and cleanup then stops timeout, which passes the signal to the group.
		timeout "$BENCH_COPY_TIMEOUT" env KONTOR_BIN="$KONTOR_BIN" \
			bench/lib/copy-to-postgresql.sh "$sqlite_file" "$part_db" "$part_pepper" &
		copy_pid=$!
		wait "$copy_pid" ||
			die "copying $sqlite_file into PostgreSQL failed or took longer than ${BENCH_COPY_TIMEOUT}s (BENCH_COPY_TIMEOUT)"
		copy_pid=
		{
			head -n 1 "$source_info"
			echo "$source_line"
			echo "copied in $((SECONDS - started)) s on $(date -u '+%Y-%m-%d') by kontor $(kontor_revision)"
		} >"$part_info"
		copy_note="copied in $((SECONDS - started)) s during this run"
	fi
	part_origin="private cluster in $pg_dir (scripts/pg-test-server.sh, fsync on), rows copied from $sqlite_file by bench/lib/copy-to-postgresql.sh ($(sed -n 3p "$part_info"))"
	postgresql_version
}

# ---------------------------------------------------------------- servers

# Serves the existing demo organization with the access log off, as nginx
# does. Warnings and errors still go to the log file. Creates a token for the
# benchmark's user.
start_kontor() {
	local args=(token create --db "$part_db" --email "$BENCH_EMAIL" --name bench)

	launch_kontor warn
	mapfile -t -O "${#args[@]}" args < <(pepper_args)
	token=$("$KONTOR_BIN" "${args[@]}" | tail -n 1)
	[[ -n $token ]] || die "no token for $BENCH_EMAIL"
}

# Starts nginx serving $work_dir/nginx/www on a free port. Sets nginx_pid and nginx_url.
start_nginx() {
	local dir="$work_dir/nginx" port
	port=$(free_port)
	sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$port#g" bench/nginx.conf.template >"$dir/nginx.conf"
	nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/stderr.log" &
	nginx_pid=$!
	nginx_url="http://127.0.0.1:$port"

	for _ in $(seq 1 100); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "$nginx_url/task.json" || true) == 200 ]] && return 0
		kill -0 "$nginx_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/stderr.log" "$dir/error.log" >&2
	die "nginx did not serve $nginx_url/task.json (its error log is above)"
}

# ---------------------------------------------------------------- wrk

# Runs wrk once and prints "REQUESTS_PER_S P50_MS P99_MS ERRORS", where
# ERRORS counts non-2xx responses and socket errors.
run_wrk() {
	local connections=$1 duration=$2 url=$3 out="$work_dir/wrk.out"
	shift 3
	wrk -t"$BENCH_WRK_THREADS" -c"$connections" -d"$duration" --latency "$@" "$url" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed against $url"; }
	awk '
		function ms(v) {
			if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
			if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
			if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
			if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
			return v + 0
		}
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		$1 == "Requests/sec:" { rps = $2 }
		/Non-2xx or 3xx responses:/ { errors += $NF }
		/Socket errors:/ { for (i = 3; i <= NF; i += 2) { v = $(i + 1); sub(/,/, "", v); errors += v } }
		END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, errors }
	' "$out"
}

kontor_wrk() {
	BENCH_TOKEN=$token run_wrk "$1" "$2" "$kontor_url$task_path" -s bench/lib/auth.lua
}

nginx_wrk() {
	run_wrk "$1" "$2" "$nginx_url/task.json"
}

# Measures both servers BENCH_REPEATS times at one connection count,
# alternating between them so that slow drift of the machine hits both.
# Records the medians, each run's requests/s and the error count in the
# arrays below, keyed by "PART,SERVER,CONNECTIONS".
declare -A med_rps med_p50 med_p99 all_rps total_errors
measure_connections() {
	local c=$1 server rep figures rps p50 p99 errors key
	local -A list_rps list_p50 list_p99

	for server in nginx kontor; do
		"${server}_wrk" "$c" "$BENCH_WARMUP" >/dev/null
		list_rps[$server]=''
		list_p50[$server]=''
		list_p99[$server]=''
		total_errors[$part_kind,$server,$c]=0
	done
	for rep in $(seq 1 "$BENCH_REPEATS"); do
		for server in nginx kontor; do
			figures=$("${server}_wrk" "$c" "$BENCH_DURATION")
			read -r rps p50 p99 errors <<<"$figures"
			echo "  $server, $c connections, run $rep: $rps requests/s, p50 $p50 ms, p99 $p99 ms, $errors errors" >&2
			list_rps[$server]+=" $rps"
			list_p50[$server]+=" $p50"
			list_p99[$server]+=" $p99"
			key="$part_kind,$server,$c"
			total_errors[$key]=$((total_errors[$key] + errors))
		done
	done
	for server in nginx kontor; do
		key="$part_kind,$server,$c"
		# shellcheck disable=SC2086 # the lists are space-separated numbers
		med_rps[$key]=$(median ${list_rps[$server]})
		# shellcheck disable=SC2086
		med_p50[$key]=$(median ${list_p50[$server]})
		# shellcheck disable=SC2086
		med_p99[$key]=$(median ${list_p99[$server]})
		all_rps[$key]=$(tr ' ' '/' <<<"${list_rps[$server]# }")
	done
}

# ---------------------------------------------------------------- one part

# The task and tag of the first part, measured again in the later parts, and
# the task's body as the first part's kontor sent it.
task_gid=
tag_gid=
first_kind=
first_body=

# Listing results as JSON lines from bench/lib/listing.js, keyed by "PART,LIMIT".
declare -A list_result

# Serves the current part's database, measures it against nginx and writes
# the part's section of the results to $work_dir/part-KIND.md.
measure_part() {
	local picked key value body status same_body list_path limit profile_file=
	local load_before started=$SECONDS

	# Other programs running on the machine skew every figure, so the results record the load.
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	start_kontor
	echo "bench: kontor serves $kontor_url ($part_kind, $(head -n 1 "$part_info"))" >&2

	if [[ -z $task_gid ]]; then
		picked=$(BENCH_TOKEN=$token node bench/lib/pick.js "$kontor_url")
		while IFS='=' read -r key value; do
			case $key in
			task) task_gid=$value ;;
			tag) tag_gid=$value ;;
			esac
		done <<<"$picked"
		[[ -n $task_gid && -n $tag_gid ]] || die "could not pick a task and a tag through the API"
	fi

	task_path="/api/1.0/tasks/$task_gid"
	body="$work_dir/nginx/www/task.json"
	status=$(curl -sS -o "$body" -w '%{http_code}' -H @- "$kontor_url$task_path" <<<"Authorization: Bearer $token")
	[[ $status == 200 ]] || die "GET $task_path on $part_kind returned $status: $(head -c 300 "$body")"
	chmod 644 "$body"
	body_bytes=$(wc -c <"$body")
	# permalink_url contains kontor's own address, which differs between the
	# parts, so the bodies are compared with that address masked.
	sed "s#$kontor_url#BASE_URL#g" "$body" >"$work_dir/masked-body.json"
	if [[ -z $first_body ]]; then
		first_kind=$part_kind
		first_body="$work_dir/first-body.json"
		mv "$work_dir/masked-body.json" "$first_body"
		same_body=
	elif cmp -s "$work_dir/masked-body.json" "$first_body"; then
		same_body="the same as on $first_kind but for the server address in permalink_url"
	else
		same_body="NOT the same as on $first_kind, even with the server address in permalink_url masked"
		echo "bench: kontor on $part_kind sent another body for $task_path than on $first_kind" >&2
	fi

	start_nginx
	echo "bench: nginx serves $nginx_url/task.json ($body_bytes bytes)" >&2

	# The comparison is only fair while both servers send the same body.
	curl -sS -o "$work_dir/kontor.body" -D "$work_dir/kontor.headers" -H @- "$kontor_url$task_path" <<<"Authorization: Bearer $token"
	curl -sS -o "$work_dir/nginx.body" -D "$work_dir/nginx.headers" "$nginx_url/task.json"
	cmp -s "$work_dir/kontor.body" "$work_dir/nginx.body" || die "kontor and nginx sent different bodies for the task"
	kontor_header_bytes=$(wc -c <"$work_dir/kontor.headers")
	nginx_header_bytes=$(wc -c <"$work_dir/nginx.headers")

	for c in $BENCH_CONNECTIONS; do
		echo "bench: $part_kind: wrk -t$BENCH_WRK_THREADS -c$c -d$BENCH_DURATION, $BENCH_REPEATS runs per server" >&2
		measure_connections "$c"
	done

	list_path="/api/1.0/tags/$tag_gid/tasks"
	for limit in $BENCH_LIST_LIMITS; do
		echo "bench: $part_kind: listing $list_path at limit=$limit, walking to page $BENCH_DEEP_PAGE" >&2
		list_result[$part_kind,$limit]=$(BENCH_TOKEN=$token node bench/lib/listing.js "$kontor_url" "$list_path" \
			"$limit" "$BENCH_DEEP_PAGE" "$BENCH_SAMPLES")
	done

	if [[ $BENCH_PROFILE == 1 ]]; then
		profile_file="$work_dir/profile.txt"
		profile_kontor "$profile_file"
	fi

	write_part_section "$load_before" "$same_body" "$list_path" "$profile_file" \
		"$((SECONDS - started))" >"$work_dir/part-$part_kind.md"
	stop_servers
}

# Samples kontor with perf during one more wrk run and writes the top
# libraries and symbols by self time to FILE.
profile_kontor() {
	local file=$1 perf_pid
	echo "bench: $part_kind: profiling kontor with perf during one wrk run at $TARGET_CONNECTIONS connections" >&2
	perf record -q -e cpu-clock -F 999 -o "$work_dir/perf.data" -p "$kontor_pid" 2>/dev/null &
	perf_pid=$!
	kontor_wrk "$TARGET_CONNECTIONS" "$BENCH_DURATION" >/dev/null
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
	# perf pads its report with empty columns; keep the share, the library and the symbol.
	{
		echo "by library:"
		perf report -i "$work_dir/perf.data" --sort dso --stdio 2>/dev/null |
			awk '/^ +[0-9.]+%/ { printf "  %7s  %s\n", $1, $2 }' | head -n 8 || true
		echo "by symbol:"
		perf report -i "$work_dir/perf.data" --sort dso,symbol --stdio 2>/dev/null |
			awk '/^ +[0-9.]+%/ { printf "  %7s  %-26s %s\n", $1, $2, $4 }' | head -n 20 || true
	} >"$file"
}

# ---------------------------------------------------------------- export

# Times FILE's command ARGS... with /usr/bin/time, leaving its output in FILE.out and
# its report in FILE.time. Prints "SECONDS PEAK_RSS_KB".
timed() {
	local file=$1 started ended
	shift
	started=$(date +%s.%N)
	/usr/bin/time -v -o "$file.time" "$@" >"$file.out" 2>"$file.err" || die "$* failed: $(tail -n 5 "$file.err")"
	ended=$(date +%s.%N)
	echo "$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }') $(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$file.time")"
}

# Exports the SQLite part's organization with `kontor export` and reads the
# same rows with `sqlite3 -json` (bench/lib/export-rows.sql), one after the
# other on the same cores, and writes the comparison to $work_dir/export.md.
measure_export() {
	local org kontor_rows sqlite_rows kontor_s kontor_kb sqlite_s sqlite_kb kontor_rate sqlite_rate rate_ratio rss_mb
	local gz_bytes json_bytes

	org=$(sqlite3 "$part_db" "SELECT gid FROM workspaces ORDER BY gid LIMIT 1")
	[[ -n $org ]] || die "no organization in $part_db"
	echo "bench: $part_kind: kontor export of organization $org, then sqlite3 -json over the same rows" >&2
	read -r kontor_s kontor_kb < <(timed "$work_dir/export-kontor" "$KONTOR_BIN" export --db "$part_db" --org "$org" \
		--output "$work_dir/export.json.gz")
	kontor_rows=$(sed -n 's/^kontor export: wrote \([0-9]*\) rows.*/\1/p' "$work_dir/export-kontor.err")
	[[ -n $kontor_rows ]] || die "kontor export printed no row count: $(tail -n 3 "$work_dir/export-kontor.err")"
	read -r sqlite_s sqlite_kb < <(timed "$work_dir/export-sqlite" sqlite3 -json -cmd ".parameter set @org $org" \
		"$part_db" ".read bench/lib/export-rows.sql")
	# sqlite3 prints one row per line, the first of each result after its "[".
	sqlite_rows=$(grep -c '^\[\?{' "$work_dir/export-sqlite.out" || true)
	gz_bytes=$(wc -c <"$work_dir/export.json.gz")
	json_bytes=$(wc -c <"$work_dir/export-sqlite.out")
	rm -f "$work_dir/export.json.gz" "$work_dir/export-sqlite.out"

	kontor_rate=$(awk -v r="$kontor_rows" -v s="$kontor_s" 'BEGIN { printf "%.0f", r / s }')
	sqlite_rate=$(awk -v r="$sqlite_rows" -v s="$sqlite_s" 'BEGIN { printf "%.0f", r / s }')
	rate_ratio=$(ratio "$kontor_rate" "$sqlite_rate")
	rss_mb=$(awk -v k="$kontor_kb" 'BEGIN { printf "%.1f", k / 1024 }')
	{
		echo "### Export ($part_kind)"
		echo
		echo "Organization $org of $(redact_db "$part_db"). kontor writes gzip-compressed JSON (level 1) to a file; sqlite3 writes uncompressed JSON to a file. Peak RSS from /usr/bin/time -v."
		echo
		echo "| program | rows | seconds | rows/s | peak RSS MB | output bytes |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: |"
		echo "| kontor export | $kontor_rows | $kontor_s | $kontor_rate | $rss_mb | $gz_bytes |"
		echo "| sqlite3 -json | $sqlite_rows | $sqlite_s | $sqlite_rate | $(awk -v k="$sqlite_kb" 'BEGIN { printf "%.1f", k / 1024 }') | $json_bytes |"
		echo
		echo "| target | measured | met |"
		echo "| --- | ---: | --- |"
		echo "| kontor/sqlite3 rows/s ≥ $TARGET_EXPORT_RATIO | $rate_ratio | $(at_most "$TARGET_EXPORT_RATIO" "$rate_ratio") |"
		echo "| kontor peak RSS < $TARGET_EXPORT_RSS_MB MB | $rss_mb MB | $(at_most "$rss_mb" "$TARGET_EXPORT_RSS_MB") |"
		if [[ $kontor_rows != "$sqlite_rows" ]]; then
			echo
			echo "The row counts differ: bench/lib/export-rows.sql no longer matches the export's sections."
		fi
		echo
	} >"$work_dir/export.md"
}

# ---------------------------------------------------------------- results

# Prints one listing result's field, read from its JSON line.
list_field() {
	node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$1" "$2"
}

write_part_section() {
	local load_before=$1 same_body=$2 list_path=$3 profile_file=$4 seconds=$5
	local c s key json limit depth deep_ratio rps_ratio

	echo "### $part_kind"
	echo
	echo "- Database: $part_version; $(redact_db "$part_db"), $BENCH_SIZE demo: $(head -n 1 "$part_info" | sed 's/^Demo organization: //'); $part_origin."
	echo "- Task: GET $task_path, body $body_bytes bytes${same_body:+, $same_body}; headers $kontor_header_bytes bytes (kontor), $nginx_header_bytes bytes (nginx)."
	echo "- Load average $load_before before this part, which took $seconds s."
	echo
	echo "| connections | server | requests/s | p50 ms | p99 ms | errors | runs |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | --- |"
	for c in $BENCH_CONNECTIONS; do
		for s in nginx kontor; do
			key="$part_kind,$s,$c"
			echo "| $c | $s | ${med_rps[$key]} | ${med_p50[$key]} | ${med_p99[$key]} | ${total_errors[$key]} | ${all_rps[$key]} |"
		done
	done
	echo
	echo "Listing: GET $list_path (a tag's tasks, the longest list of the demo), $BENCH_SAMPLES fetches of each page, median ms."
	echo
	echo "| limit | deep page | rows walked | first page ms | deep page ms | first p90 ms | deep p90 ms | deep/first |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for limit in $BENCH_LIST_LIMITS; do
		node -e 'const r = JSON.parse(process.argv[1]);
			const deep = r.depth_reached === r.depth_requested ? `${r.depth_reached}` : `${r.depth_reached} (last full page)`;
			console.log(`| ${r.limit} | ${deep} | ${r.rows_walked} | ${r.first_median_ms} | ${r.deep_median_ms} | ${r.first_p90_ms} | ${r.deep_p90_ms} | ${r.ratio} |`);' \
			"${list_result[$part_kind,$limit]}"
	done
	echo
	echo "| target | measured | met |"
	echo "| --- | ---: | --- |"
	c=$TARGET_CONNECTIONS
	if [[ -n ${med_rps[$part_kind,kontor,$c]:-} ]]; then
		rps_ratio=$(ratio "${med_rps[$part_kind,kontor,$c]}" "${med_rps[$part_kind,nginx,$c]}")
		echo "| kontor/nginx requests/s at $c connections ≥ $TARGET_RPS_RATIO | $rps_ratio | $(at_most "$TARGET_RPS_RATIO" "$rps_ratio") |"
		echo "| kontor p99 at $c connections ≤ $TARGET_P99_MS ms | ${med_p99[$part_kind,kontor,$c]} ms | $(at_most "${med_p99[$part_kind,kontor,$c]}" "$TARGET_P99_MS") |"
	fi
	for limit in $BENCH_LIST_LIMITS; do
		json=${list_result[$part_kind,$limit]}
		depth=$(list_field "$json" depth_reached)
		deep_ratio=$(list_field "$json" ratio)
		echo "| deep/first page time ≤ $TARGET_DEEP_RATIO (limit $limit, page $depth) | $deep_ratio | $(at_most "$deep_ratio" "$TARGET_DEEP_RATIO") |"
	done
	if [[ -n $profile_file ]]; then
		echo
		echo "Profile of kontor (perf record -e cpu-clock, one wrk run at $TARGET_CONNECTIONS connections), share of samples by self time:"
		echo
		echo '```'
		cat "$profile_file"
		echo '```'
	fi
	echo
}

# Prints one row of the summary: LABEL, then the output of FUNCTION PART for each part.
summary_row() {
	local label=$1 function=$2 kind row
	shift 2
	row="| $label |"
	for kind in "${parts[@]}"; do
		row+=" $("$function" "$kind" "$@") |"
	done
	echo "$row"
}

cell_rps() { echo "${med_rps[$1,$2,$3]}"; }
cell_rps_ratio() { ratio "${med_rps[$1,kontor,$2]}" "${med_rps[$1,nginx,$2]}"; }
cell_latency() { echo "${med_p50[$1,kontor,$2]} / ${med_p99[$1,kontor,$2]}"; }
cell_deep() {
	local json=${list_result[$1,$2]}
	echo "$(list_field "$json" first_median_ms) / $(list_field "$json" deep_median_ms) ms, $(list_field "$json" ratio) (page $(list_field "$json" depth_reached))"
}

# Prints the table that puts the parts of this run side by side.
write_summary() {
	local kind c limit header="| figure |" rule="| --- |"

	for kind in "${parts[@]}"; do
		header+=" $kind |"
		rule+=" ---: |"
	done
	echo "$header"
	echo "$rule"
	for c in $BENCH_CONNECTIONS; do
		summary_row "kontor requests/s at $c connections" cell_rps kontor "$c"
		summary_row "nginx requests/s at $c connections" cell_rps nginx "$c"
		summary_row "kontor/nginx requests/s at $c connections" cell_rps_ratio "$c"
		summary_row "kontor p50 / p99 ms at $c connections" cell_latency "$c"
	done
	for limit in $BENCH_LIST_LIMITS; do
		summary_row "first / deep page, deep/first, limit $limit" cell_deep "$limit"
	done
	echo
}

write_run() {
	local cpu kind nginx_version wrk_version mhd_version sharing title=${parts[0]}
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	nginx_version=$(nginx -v 2>&1 | sed 's#.*nginx/##')
	wrk_version=$( (wrk -v 2>&1 || true) | head -n 1 | awk '{ print $2 }')
	mhd_version=$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo unknown)
	for kind in "${parts[@]:1}"; do
		title+=" and $kind"
	done

	echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), kontor $(kontor_revision), $title"
	echo
	sharing="wrk and both servers"
	[[ " ${parts[*]} " != *" PostgreSQL "* ]] || sharing="wrk, both servers and PostgreSQL"
	[[ $BENCH_EXPORT_ONLY != 1 ]] || sharing="kontor export and sqlite3, one after the other,"
	echo "- Machine: $(nproc) cores ($cpu), Linux $(uname -r); $sharing share these cores; load average $run_load_before before the run."
	echo "- Versions: nginx $nginx_version, wrk $wrk_version, libmicrohttpd $mhd_version, node $(node --version); each part names its database."
	if [[ $BENCH_EXPORT_ONLY != 1 ]]; then
		echo "- kontor: threads ${BENCH_KONTOR_THREADS:-default}, access log off; nginx: 2 workers, access log off."
		echo "- Load: wrk -t$BENCH_WRK_THREADS -d$BENCH_DURATION --latency after a $BENCH_WARMUP warm-up; median of $BENCH_REPEATS runs, whose requests/s the last column lists."
	else
		echo "- Export only (BENCH_EXPORT_ONLY=1): no read benchmark in this run."
	fi
	echo "- The run took $((SECONDS - run_started)) s${copy_note:+; PostgreSQL: $copy_note}."
	echo
	if ((${#parts[@]} > 1)) && [[ $BENCH_EXPORT_ONLY != 1 ]]; then
		write_summary
	fi
	for kind in "${parts[@]}"; do
		[[ ! -f $work_dir/part-$kind.md ]] || cat "$work_dir/part-$kind.md"
	done
	[[ ! -f $work_dir/export.md ]] || cat "$work_dir/export.md"
}

# ---------------------------------------------------------------- checks

if [[ $BENCH_EXPORT_ONLY != 1 ]]; then
	need_tool wrk
	need_tool nginx
	need_tool curl
fi
need_tool node
need_tool sqlite3
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found: the export benchmark reads peak memory from it (Debian package time)"
[[ -x $KONTOR_BIN ]] || die "$KONTOR_BIN not found: build it with make"
[[ $BENCH_PROFILE != 1 ]] || need_tool perf
case $BENCH_SIZE in small | large) ;; *) die "BENCH_SIZE: expected small or large, got \"$BENCH_SIZE\"" ;; esac

# The databases to measure, as "KIND SOURCE" lines in the order of the parts.
plan=()
if [[ -n $BENCH_DB ]]; then
	if is_uri "$BENCH_DB"; then
		plan+=("uri $BENCH_DB")
	else
		plan+=("sqlite $BENCH_DB")
	fi
else
	for driver in $BENCH_DRIVERS; do
		case $driver in
		sqlite) plan+=("sqlite $BENCH_DATA_DIR/$BENCH_SIZE.db") ;;
		postgresql) plan+=("copy $BENCH_DATA_DIR/$BENCH_SIZE.db") ;;
		*) die "BENCH_DRIVERS: expected sqlite and/or postgresql, got \"$driver\"" ;;
		esac
	done
fi
((${#plan[@]} > 0)) || die "BENCH_DRIVERS is empty: name sqlite, postgresql or both"
for entry in "${plan[@]}"; do
	[[ $entry == sqlite* ]] || need_tool psql
	[[ $entry != copy* ]] || need_tool sqlite3
done

mkdir -p "$BENCH_DATA_DIR"
run_started=$SECONDS
run_load_before=$(cut -d' ' -f1-3 /proc/loadavg)
copy_note=
work_dir=$(mktemp -d /tmp/kontor-bench.XXXXXX)
# nginx's workers drop root and must still read the served file.
chmod 755 "$work_dir"
mkdir -p "$work_dir/nginx/www"

# ---------------------------------------------------------------- the parts

parts=()
for entry in "${plan[@]}"; do
	source=${entry#* }
	case $entry in
	sqlite*) use_sqlite "$source" ;;
	uri*) use_postgresql_uri "$source" ;;
	copy*) use_postgresql_copy "$source" ;;
	esac
	# Apply pending migrations first: a schema upgrade must not count as export or serving time.
	# shellcheck disable=SC2046 # pepper_args prints zero or two words
	"$KONTOR_BIN" migrate --db "$part_db" $(pepper_args) 2>"$work_dir/migrate.err" ||
		die "kontor migrate failed on $(redact_db "$part_db"): $(tail -n 3 "$work_dir/migrate.err")"
	# The export is compared with sqlite3, so it is measured on the SQLite part only.
	[[ $part_kind != SQLite ]] || measure_export
	[[ $BENCH_EXPORT_ONLY == 1 ]] || measure_part
	parts+=("$part_kind")
done

section="$work_dir/section.md"
write_run >"$section"
if [[ ! -f $BENCH_RESULTS ]]; then
	printf '# Benchmark results\n\nEach section is one run of `make bench` (bench/run.sh). bench/README.md explains the figures.\n\n' >"$BENCH_RESULTS"
fi
cat "$section" >>"$BENCH_RESULTS"
echo
cat "$section"
echo "bench: appended to $BENCH_RESULTS; the run took $((SECONDS - run_started)) s"
