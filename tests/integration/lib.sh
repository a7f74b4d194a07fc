# SPDX-License-Identifier: MIT
# Shared helpers for integration suites. Each check prints one TAP-style line:
# "ok - NAME" or "not ok - NAME" followed by indented diagnostics. Sourced, not run.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
LIB=$ROOT/$BUILD/libmapprof.so
REPORT=$ROOT/$BUILD/mapprof-report
PROGS=$ROOT/$BUILD/tests/programs
# A scratch directory per suite, removed at exit.
T=$(mktemp -d "${TMPDIR:-/tmp}/mapprof-test.XXXXXX")
trap '[ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT

ok() { echo "ok - $1"; }
not_ok() {
	echo "not ok - $1"
	shift
	for l in "$@"; do echo "    $l"; done
}
# check NAME CMD...: runs CMD; ok when it exits 0, else prints its output.
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$(echo "$out" | tail -20)"; fi
}
# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi
}
# line_of FILE TEXT: the number of the first line of FILE holding TEXT.
line_of() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }
# mp_run OUTDIR CMD...: runs CMD under the shim in exact mode with dumps in OUTDIR.
mp_run() {
	local dir=$1
	shift
	mkdir -p "$dir"
	env LD_PRELOAD="$LIB" MAPPROF_RATE="${MAPPROF_RATE:-1}" MAPPROF_OUT="$dir/mapprof.%p.%n.mprof" "$@"
}
