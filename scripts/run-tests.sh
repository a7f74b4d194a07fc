#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs every test suite: the cmocka unit tests (build/tests/unit/test_*) and the integration
# scripts (tests/integration/*.sh, which print TAP-style "ok"/"not ok" lines through
# tests/integration/lib.sh). Ends with one line over all suites: "N passed, N failed".
# TESTS=pattern runs only the suites whose name contains it.
set -u
BUILD=${BUILD:-build}
export BUILD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
rm -rf "$LOGDIR/unit-dumps"
pass=0
fail=0
failed_suites=()

shopt -s nullglob
for t in "$BUILD"/tests/unit/test_*; do
	case "$t" in *.d) continue ;; esac
	name=$(basename "$t")
	[[ -n "${TESTS:-}" && "$name" != *"$TESTS"* ]] && continue
	if [ ! -x "$t" ]; then # listed, then gone: its build tree went away under the run
		fail=$((fail + 1))
		failed_suites+=("$name")
		printf '%-40s %3d passed, %d failed (gone)\n' "$name" 0 1
		continue
	fi
	log=$LOGDIR/$name.log
	# Tests that link the shim's objects run it in their own process: its exit dump goes
	# under build/, not into the working tree.
	mkdir -p "$LOGDIR/unit-dumps"
	MAPPROF_OUT="$LOGDIR/unit-dumps/$name.%p.%n.mprof" CMOCKA_MESSAGE_OUTPUT=STDOUT "$t" >"$log" 2>&1
	rc=$?
	[ -f "$log" ] || rc=99 # the build tree went away under the run: no result is a failure
	p=$(grep -c '^\[       OK \]' "$log" 2>/dev/null)
	f=$(grep -c '^\[  FAILED  \] [a-z_0-9]' "$log" 2>/dev/null)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed before reporting
	pass=$((pass + p))
	fail=$((fail + f))
	printf '%-40s %3d passed, %d failed\n' "$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		failed_suites+=("$name")
		sed 's/^/    /' "$log" | grep -E 'FAILED|ERROR|error|Assert|failure' | head -20
	fi
done

for s in tests/integration/*.sh; do
	[ -f "$s" ] || continue
	case "$s" in */lib.sh) continue ;; esac
	name=$(basename "$s" .sh)
	[[ -n "${TESTS:-}" && "$name" != *"$TESTS"* ]] && continue
	log=$LOGDIR/$name.log
	timeout 600 bash "$s" >"$log" 2>&1
	rc=$?
	[ -f "$log" ] || rc=99
	p=$(grep -c '^ok ' "$log" 2>/dev/null)
	f=$(grep -c '^not ok ' "$log" 2>/dev/null)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited $rc" >>"$log"; fi
	pass=$((pass + p))
	fail=$((fail + f))
	printf '%-40s %3d passed, %d failed\n' "$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		failed_suites+=("$name")
		grep -A8 '^not ok ' "$log" | sed 's/^/    /' | head -40
	fi
done

if [ "${#failed_suites[@]}" -ne 0 ]; then
	echo "failed suites: ${failed_suites[*]} (logs in $LOGDIR)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
