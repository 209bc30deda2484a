#!/usr/bin/env bash
# Runs kontor's tests and ends with one line, "N passed, N failed".
#
#   scripts/test.sh        all parts below, in this order
#   scripts/test.sh unit   build, then each cmocka binary in build/tests/unit/
#   scripts/test.sh api    build, then the API tests (node --test tests/api) on SQLite
#   scripts/test.sh browser  build, then the admin console tests in Chromium (tests/browser)
#   scripts/test.sh pg     unit and API tests on a private PostgreSQL server
#                          started by scripts/pg-test-server.sh
#   scripts/test.sh san    unit and API tests with the sanitizer build (make SAN=1),
#                          on SQLite, and on PostgreSQL too when the pg part started one
#
# A build error, a crash or a missing test summary counts as one failed test.
# Exits 1 if any test failed, 2 on a usage error.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
case $mode in
all | unit | api | browser | pg | san) ;;
*)
	echo "usage: $0 [unit|api|browser|pg|san]" >&2
	exit 2
	;;
esac

# Sanitizer settings for the san part: report leaks, and stop at the first
# error so that it cannot scroll past unnoticed.
SAN_ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
SAN_UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

passed=0
failed=0
work_dir=$(mktemp -d)
pg_dir=
pg_uri=

cleanup() {
	if [[ -n $pg_dir ]]; then
		scripts/pg-test-server.sh stop "$pg_dir" >/dev/null 2>&1 ||
			echo "test: could not stop the PostgreSQL test server in $pg_dir" >&2
		rm -rf "$pg_dir"
	fi
	rm -rf "$work_dir"
}
trap cleanup EXIT

part() {
	printf '\n==> %s\n' "$*"
}

# Count a failure that has no test count of its own, such as a build error.
fail_part() {
	echo "FAILED: $*"
	failed=$((failed + 1))
}

# Build kontor and the unit test binaries. The arguments go to make (SAN=1).
# Each build runs once, and a failed build counts as one failure.
declare -A build_result=()
build() {
	local key="make${*:+ $*}"
	if [[ -z ${build_result[$key]:-} ]]; then
		part "build: $key all unit-bins"
		if make -j"$(nproc)" "$@" all unit-bins; then
			build_result[$key]=ok
		else
			build_result[$key]=failed
			fail_part "$key all unit-bins failed"
		fi
	fi
	[[ ${build_result[$key]} == ok ]]
}

# Run every cmocka binary in DIR/tests/unit/ and add up its
# "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" lines.
run_unit() {
	local dir=$1 label=$2
	local bin out status pass fail found=0

	part "unit tests ($label): $dir/tests/unit/"
	out="$work_dir/unit.out"
	for bin in "$dir"/tests/unit/*; do
		# The folder also contains make's .d dependency files.
		[[ -f $bin && -x $bin ]] || continue
		found=1
		echo "--- $bin"
		status=0
		"$bin" 2>&1 | tee "$out" || status=$?

		pass=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$out")
		fail=$(awk '/^\[  FAILED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$out")
		passed=$((passed + pass))
		failed=$((failed + fail))
		if ((status != 0 && fail == 0)); then
			fail_part "$bin exited with status $status without a failed test (a crash or a sanitizer report?)"
		elif ((status == 0 && pass == 0)); then
			fail_part "$bin printed no cmocka summary"
		fi
	done
	((found)) || echo "no unit test binaries in $dir/tests/unit/"
}

# Run the Node tests in DIR against the binary KONTOR_BIN. Output goes to
# the terminal (spec reporter) and to a TAP file, whose "# pass N" and
# "# fail N" lines give the counts. CONCURRENCY is how many files run at once.
run_node() {
	local dir=$1 label=$2 concurrency=$3
	local tap="$work_dir/node.tap" status=0 pass fail
	local files=()

	part "$dir ($label): ${KONTOR_BIN}"
	if [[ ! -d node_modules ]]; then
		fail_part "node_modules is missing: run scripts/deps.sh or npm ci"
		return
	fi
	mapfile -t files < <(find "$dir" -name '*.test.js' -not -path '*/node_modules/*' | sort)

	rm -f "$tap"
	node --test --test-concurrency="$concurrency" \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination="$tap" \
		"${files[@]}" || status=$?

	if ! grep -q '^# pass ' "$tap" 2>/dev/null; then
		fail_part "node --test exited with status $status and printed no summary"
		return
	fi
	pass=$(awk '/^# pass / { n += $3 } END { print n + 0 }' "$tap")
	fail=$(awk '/^# fail / { n += $3 } END { print n + 0 }' "$tap")
	passed=$((passed + pass))
	failed=$((failed + fail))
	if ((status != 0 && fail == 0)); then
		fail_part "node --test exited with status $status without a failed test"
	fi
}

# Start the PostgreSQL test server and set pg_uri. The cluster's owner is
# an unprivileged user when this runs as root, so its folder must be
# searchable by other users.
start_pg() {
	part "PostgreSQL: starting a test server"
	if [[ ! -x scripts/pg-test-server.sh ]]; then
		echo "scripts/pg-test-server.sh not found"
		return 1
	fi
	pg_dir=$(mktemp -d /tmp/kontor-pg.XXXXXX)
	chmod 755 "$pg_dir"
	if ! pg_uri=$(scripts/pg-test-server.sh start "$pg_dir" | tail -n 1) || [[ $pg_uri != postgres* ]]; then
		pg_uri=
		fail_part "scripts/pg-test-server.sh start did not print a PostgreSQL URI"
		return 1
	fi
	echo "PostgreSQL test server: $pg_uri"
}

run_api() {
	run_node tests/api "$1" 2
}

part_unit() {
	if build; then
		run_unit build SQLite
	fi
}

part_api() {
	if build; then
		KONTOR_BIN=build/kontor run_api SQLite
	fi
}

# The admin console in headless Chromium, once, on SQLite. The files run
# one after the other: they share the clipboard and take most of the CPU.
part_browser() {
	if build; then
		KONTOR_BIN=build/kontor run_node tests/browser "Chromium, SQLite" 1
	fi
}

part_pg() {
	build || return 0
	if ! start_pg; then
		# Without the helper script the part is skipped when running
		# everything, and fails when it was asked for by name.
		if [[ $mode == pg && -z $pg_dir ]]; then
			fail_part "the pg part needs scripts/pg-test-server.sh"
		elif [[ -z $pg_dir ]]; then
			echo "skipping the PostgreSQL part"
		fi
		return 0
	fi
	KONTOR_TEST_PG_URI=$pg_uri run_unit build PostgreSQL
	KONTOR_TEST_DB=pg KONTOR_TEST_PG_URI=$pg_uri KONTOR_BIN=build/kontor run_api PostgreSQL
}

part_san() {
	build SAN=1 || return 0
	ASAN_OPTIONS=$SAN_ASAN_OPTIONS UBSAN_OPTIONS=$SAN_UBSAN_OPTIONS \
		run_unit build-san "sanitizers, SQLite"
	ASAN_OPTIONS=$SAN_ASAN_OPTIONS UBSAN_OPTIONS=$SAN_UBSAN_OPTIONS KONTOR_BIN=build-san/kontor \
		run_api "sanitizers, SQLite"
	if [[ -n $pg_uri ]]; then
		ASAN_OPTIONS=$SAN_ASAN_OPTIONS UBSAN_OPTIONS=$SAN_UBSAN_OPTIONS KONTOR_TEST_PG_URI=$pg_uri \
			run_unit build-san "sanitizers, PostgreSQL"
		ASAN_OPTIONS=$SAN_ASAN_OPTIONS UBSAN_OPTIONS=$SAN_UBSAN_OPTIONS KONTOR_BIN=build-san/kontor \
			KONTOR_TEST_DB=pg KONTOR_TEST_PG_URI=$pg_uri run_api "sanitizers, PostgreSQL"
	fi
}

# Responses are checked against Asana's OpenAPI file when it is present;
# say so up front, because a skipped check does not show in the counts.
spec=${KONTOR_ASANA_SPEC:-../shared/asana/asana_oas.yaml}
if [[ -f $spec ]]; then
	echo "test: checking API responses against $spec"
else
	echo "test: WARNING: $spec not found, so responses are not checked against Asana's OpenAPI file" \
		"(set KONTOR_ASANA_SPEC to its path)"
fi

case $mode in
all)
	part_unit
	part_api
	part_browser
	part_pg
	part_san
	;;
unit) part_unit ;;
api) part_api ;;
browser) part_browser ;;
pg) part_pg ;;
san) part_san ;;
esac

echo
echo "$passed passed, $failed failed"
((failed == 0))
