#!/usr/bin/env bash
# Read benchmark of kontor (`make bench`). It serves the demo organization,
# saves the body of GET /api/1.0/tasks/{gid} and has nginx serve that file as
# the reference, then loads both servers with wrk on loopback, times the first
# page of a long list against a deep page, and appends the figures with the
# machine's facts to bench/RESULTS.md. bench/README.md explains each figure
# and the settings below.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# ---------------------------------------------------------------- settings

BENCH_SIZE=${BENCH_SIZE:-large}
BENCH_DATA_DIR=${BENCH_DATA_DIR:-bench/data}
BENCH_DB=${BENCH_DB:-$BENCH_DATA_DIR/$BENCH_SIZE.db}
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
BENCH_RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
BENCH_PROFILE=${BENCH_PROFILE:-0}
BENCH_KONTOR_THREADS=${BENCH_KONTOR_THREADS:-}
KONTOR_BIN=${KONTOR_BIN:-build/kontor}

# Targets of the read benchmark.
TARGET_RPS_RATIO=0.6
TARGET_P99_MS=5
TARGET_DEEP_RATIO=1.2
TARGET_CONNECTIONS=64

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

is_postgres() {
	[[ $BENCH_DB == postgres://* || $BENCH_DB == postgresql://* ]]
}

# ---------------------------------------------------------------- processes

work_dir=
kontor_pid=
nginx_pid=

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

cleanup() {
	[[ -z $kontor_pid ]] || stop_pid "$kontor_pid"
	[[ -z $nginx_pid ]] || stop_pid "$nginx_pid"
	[[ -z $work_dir ]] || rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts `kontor demo` on a port the kernel picks, with its log at LEVEL,
# and waits until it serves. The demo command first creates the demo
# organization when the database is empty, which can take many minutes.
# Sets kontor_pid and kontor_url. kontor's stdout stays in $work_dir/kontor.out.
launch_kontor() {
	local level=$1 out="$work_dir/kontor.out" log="$work_dir/kontor.log"
	local started=$SECONDS reported=$SECONDS tasks args
	args=(demo --db "$BENCH_DB" --size "$BENCH_SIZE" --listen 127.0.0.1:0
		--rate-limit 10000000 --max-reads 100000)
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

# Creates the demo organization in an empty database, records its counts in
# INFO_FILE and sets token to the token the demo command printed. kontor is
# stopped again, because it ran with its log at info level to show progress.
create_demo() {
	local info_file=$1 started=$SECONDS

	echo "bench: creating the $BENCH_SIZE demo organization in $(redact_db "$BENCH_DB") (once; later runs reuse it)" >&2
	launch_kontor info
	token=$(sed -n 's/^Token: //p' "$work_dir/kontor.out" | head -n 1)
	[[ -n $token ]] || die "kontor demo printed no token, so $(redact_db "$BENCH_DB") already holds an organization that this script did not create: set BENCH_DB to an empty database"
	{
		grep '^Demo organization: ' "$work_dir/kontor.out" || echo "Demo organization: (counts not printed)"
		echo "created in $((SECONDS - started)) s on $(date -u '+%Y-%m-%d') by kontor $(git describe --always --dirty 2>/dev/null || echo unknown)"
	} >"$info_file"
	stop_pid "$kontor_pid"
	kontor_pid=
}

# Serves the existing demo organization with the access log off, as nginx
# does. Warnings and errors still go to the log file. Creates a token when
# token is not set yet.
start_kontor() {
	launch_kontor warn
	if [[ -z ${token:-} ]]; then
		token=$("$KONTOR_BIN" token create --db "$BENCH_DB" --email "$BENCH_EMAIL" --name bench | tail -n 1)
	fi
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
# arrays below, keyed by "SERVER,CONNECTIONS".
declare -A med_rps med_p50 med_p99 all_rps total_errors
measure_connections() {
	local c=$1 server rep figures rps p50 p99 errors
	local -A list_rps list_p50 list_p99

	for server in nginx kontor; do
		"${server}_wrk" "$c" "$BENCH_WARMUP" >/dev/null
		list_rps[$server]=''
		list_p50[$server]=''
		list_p99[$server]=''
		total_errors[$server,$c]=0
	done
	for rep in $(seq 1 "$BENCH_REPEATS"); do
		for server in nginx kontor; do
			figures=$("${server}_wrk" "$c" "$BENCH_DURATION")
			read -r rps p50 p99 errors <<<"$figures"
			echo "  $server, $c connections, run $rep: $rps requests/s, p50 $p50 ms, p99 $p99 ms, $errors errors" >&2
			list_rps[$server]+=" $rps"
			list_p50[$server]+=" $p50"
			list_p99[$server]+=" $p99"
			total_errors[$server,$c]=$((total_errors[$server,$c] + errors))
		done
	done
	for server in nginx kontor; do
		# shellcheck disable=SC2086 # the lists are space-separated numbers
		med_rps[$server,$c]=$(median ${list_rps[$server]})
		# shellcheck disable=SC2086
		med_p50[$server,$c]=$(median ${list_p50[$server]})
		# shellcheck disable=SC2086
		med_p99[$server,$c]=$(median ${list_p99[$server]})
		all_rps[$server,$c]=$(tr ' ' '/' <<<"${list_rps[$server]# }")
	done
}

# ---------------------------------------------------------------- checks

need_tool wrk
need_tool nginx
need_tool curl
need_tool node
[[ -x $KONTOR_BIN ]] || die "$KONTOR_BIN not found: build it with make"
case $BENCH_SIZE in small | large) ;; *) die "BENCH_SIZE: expected small or large, got \"$BENCH_SIZE\"" ;; esac

mkdir -p "$BENCH_DATA_DIR"
if is_postgres; then
	db_kind=PostgreSQL
	info_file="$BENCH_DATA_DIR/postgresql-$BENCH_SIZE.info"
	export KONTOR_PEPPER_FILE=${KONTOR_PEPPER_FILE:-$BENCH_DATA_DIR/postgresql.pepper}
	db_exists=$([[ -f $info_file ]] && echo 1 || echo 0)
else
	db_kind=SQLite
	info_file="$BENCH_DB.info"
	db_exists=$([[ -f $BENCH_DB ]] && echo 1 || echo 0)
fi

# The .info file is written only once the demo organization was complete, so
# a database without it may hold a half-built organization.
if [[ $db_exists == 1 && ! -f $info_file ]]; then
	die "$BENCH_DB exists but $info_file does not, so its creation may not have finished: delete $BENCH_DB* and run again"
fi

# Other programs running on the machine skew every figure, so the results record the load.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work_dir=$(mktemp -d /tmp/kontor-bench.XXXXXX)
# nginx's workers drop root and must still read the served file.
chmod 755 "$work_dir"
mkdir -p "$work_dir/nginx/www"

# ---------------------------------------------------------------- kontor and the task

token=
[[ -f $info_file ]] || create_demo "$info_file"
start_kontor
echo "bench: kontor serves $kontor_url ($db_kind, $(head -n 1 "$info_file"))" >&2

picked=$(BENCH_TOKEN=$token node bench/lib/pick.js "$kontor_url")
while IFS='=' read -r key value; do
	case $key in
	task) task_gid=$value ;;
	tag) tag_gid=$value ;;
	esac
done <<<"$picked"
[[ -n ${task_gid:-} && -n ${tag_gid:-} ]] || die "could not pick a task and a tag through the API"

task_path="/api/1.0/tasks/$task_gid"
body="$work_dir/nginx/www/task.json"
status=$(curl -sS -o "$body" -w '%{http_code}' -H @- "$kontor_url$task_path" <<<"Authorization: Bearer $token")
[[ $status == 200 ]] || die "GET $task_path returned $status: $(head -c 300 "$body")"
chmod 644 "$body"
body_bytes=$(wc -c <"$body")

start_nginx
echo "bench: nginx serves $nginx_url/task.json ($body_bytes bytes)" >&2

# The comparison is only fair while both servers send the same body.
curl -sS -o "$work_dir/kontor.body" -D "$work_dir/kontor.headers" -H @- "$kontor_url$task_path" <<<"Authorization: Bearer $token"
curl -sS -o "$work_dir/nginx.body" -D "$work_dir/nginx.headers" "$nginx_url/task.json"
cmp -s "$work_dir/kontor.body" "$work_dir/nginx.body" || die "kontor and nginx sent different bodies for the task"
kontor_header_bytes=$(wc -c <"$work_dir/kontor.headers")
nginx_header_bytes=$(wc -c <"$work_dir/nginx.headers")

# ---------------------------------------------------------------- load

for c in $BENCH_CONNECTIONS; do
	echo "bench: wrk -t$BENCH_WRK_THREADS -c$c -d$BENCH_DURATION, $BENCH_REPEATS runs per server" >&2
	measure_connections "$c"
done

# ---------------------------------------------------------------- listing

list_path="/api/1.0/tags/$tag_gid/tasks"
list_results=()
for limit in $BENCH_LIST_LIMITS; do
	echo "bench: listing $list_path at limit=$limit, walking to page $BENCH_DEEP_PAGE" >&2
	list_json=$(BENCH_TOKEN=$token node bench/lib/listing.js "$kontor_url" "$list_path" "$limit" \
		"$BENCH_DEEP_PAGE" "$BENCH_SAMPLES")
	list_results+=("$list_json")
done

# ---------------------------------------------------------------- profile

profile_file=
if [[ $BENCH_PROFILE == 1 ]]; then
	need_tool perf
	profile_file="$work_dir/profile.txt"
	echo "bench: profiling kontor with perf during one wrk run at $TARGET_CONNECTIONS connections" >&2
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
	} >"$profile_file"
fi

# ---------------------------------------------------------------- results

versions() {
	local nginx_version wrk_version database_version mhd_version
	nginx_version=$(nginx -v 2>&1 | sed 's#.*nginx/##')
	wrk_version=$( (wrk -v 2>&1 || true) | head -n 1 | awk '{ print $2 }')
	database_version=$(pkg-config --modversion sqlite3 2>/dev/null || echo unknown)
	mhd_version=$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo unknown)
	if is_postgres; then
		database_version="PostgreSQL $(psql "$BENCH_DB" -Atc 'SHOW server_version' 2>/dev/null || echo unknown)"
		database_version+=" (libpq $(pkg-config --modversion libpq 2>/dev/null || echo unknown))"
	else
		database_version="SQLite $database_version"
	fi
	echo "nginx $nginx_version, wrk $wrk_version, $database_version, libmicrohttpd $mhd_version, node $(node --version)"
}

write_section() {
	local c s json rev cpu
	rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

	echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), kontor $rev, $db_kind"
	echo
	echo "- Machine: $(nproc) cores ($cpu), Linux $(uname -r); wrk and both servers share these cores; load average $load_before before the run."
	echo "- Versions: $(versions)."
	echo "- Database: $(redact_db "$BENCH_DB"), $BENCH_SIZE demo: $(head -n 1 "$info_file" | sed 's/^Demo organization: //')."
	echo "- kontor: threads ${BENCH_KONTOR_THREADS:-default}, access log off; nginx: 2 workers, access log off."
	echo "- Task: GET $task_path, body $body_bytes bytes; headers $kontor_header_bytes bytes (kontor), $nginx_header_bytes bytes (nginx)."
	echo "- Load: wrk -t$BENCH_WRK_THREADS -d$BENCH_DURATION --latency after a $BENCH_WARMUP warm-up; median of $BENCH_REPEATS runs, whose requests/s the last column lists."
	echo
	echo "| connections | server | requests/s | p50 ms | p99 ms | errors | runs |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | --- |"
	for c in $BENCH_CONNECTIONS; do
		for s in nginx kontor; do
			echo "| $c | $s | ${med_rps[$s,$c]} | ${med_p50[$s,$c]} | ${med_p99[$s,$c]} | ${total_errors[$s,$c]} | ${all_rps[$s,$c]} |"
		done
	done
	echo
	echo "Listing: GET $list_path (a tag's tasks, the longest list of the demo), $BENCH_SAMPLES fetches of each page, median ms."
	echo
	echo "| limit | deep page | rows walked | first page ms | deep page ms | first p90 ms | deep p90 ms | deep/first |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for json in "${list_results[@]}"; do
		node -e 'const r = JSON.parse(process.argv[1]);
			const deep = r.depth_reached === r.depth_requested ? `${r.depth_reached}` : `${r.depth_reached} (last full page)`;
			console.log(`| ${r.limit} | ${deep} | ${r.rows_walked} | ${r.first_median_ms} | ${r.deep_median_ms} | ${r.first_p90_ms} | ${r.deep_p90_ms} | ${r.ratio} |`);' "$json"
	done
	echo
	echo "| target | measured | met |"
	echo "| --- | ---: | --- |"
	c=$TARGET_CONNECTIONS
	if [[ -n ${med_rps[kontor,$c]:-} ]]; then
		local rps_ratio
		rps_ratio=$(ratio "${med_rps[kontor,$c]}" "${med_rps[nginx,$c]}")
		echo "| kontor/nginx requests/s at $c connections ≥ $TARGET_RPS_RATIO | $rps_ratio | $(at_most "$TARGET_RPS_RATIO" "$rps_ratio") |"
		echo "| kontor p99 at $c connections ≤ $TARGET_P99_MS ms | ${med_p99[kontor,$c]} ms | $(at_most "${med_p99[kontor,$c]}" "$TARGET_P99_MS") |"
	fi
	for json in "${list_results[@]}"; do
		local limit deep_ratio depth
		read -r limit depth deep_ratio < <(node -e 'const r = JSON.parse(process.argv[1]);
			console.log(r.limit, r.depth_reached, r.ratio);' "$json")
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

section="$work_dir/section.md"
write_section >"$section"
if [[ ! -f $BENCH_RESULTS ]]; then
	printf '# Benchmark results\n\nEach section is one run of `make bench` (bench/run.sh). bench/README.md explains the figures.\n\n' >"$BENCH_RESULTS"
fi
cat "$section" >>"$BENCH_RESULTS"
echo
cat "$section"
echo "bench: appended to $BENCH_RESULTS"
