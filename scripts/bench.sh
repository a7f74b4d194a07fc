#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench / make bench-quick: builds the benchmark workloads and the forwarding-only null
# shim (tests/bench/) into $BUILD/bench/, then runs scripts/bench.py, which times every workload
# plain and under each profiler and writes $BUILD/bench/results.{md,json}.
# Usage: scripts/bench.sh full|quick   (BUILD=build by default; see scripts/bench.py for the
# BENCH_* overrides). A profiler that is missing or crashes is reported, never fatal; a target
# MISS does not fail the command. Exit status is non-zero only if the harness itself breaks.
# $CC, $CXX and the flag variables are word-split on purpose (they hold several words).
# shellcheck disable=SC2086
set -eu
MODE=${1:-quick}
case "$MODE" in full | quick) ;; *)
	echo "usage: $0 full|quick" >&2
	exit 1
	;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
OUT=$BUILD/bench
mkdir -p "$OUT"
CC=${CC:-cc}
CXX=${CXX:-c++}
# Workloads are built like a user's program: optimised, debug info, frame pointers kept.
WFLAGS="-O2 -g -fno-omit-frame-pointer -Wall -Wextra -D_GNU_SOURCE"

# stale OUT SRC...: true when OUT is missing or older than any existing SRC.
stale() {
	local out=$1
	shift
	[ -e "$out" ] || return 0
	local s
	for s in "$@"; do
		[ -e "$s" ] && [ "$s" -nt "$out" ] && return 0
	done
	return 1
}

build() { # build OUT CMD...: runs CMD, prints it on failure, keeps going.
	local out=$1
	shift
	echo "  BENCH   $out"
	if ! "$@" 2>"$OUT/build.err"; then
		echo "bench: build of $out failed:" >&2
		sed 's/^/    /' "$OUT/build.err" | head -20 >&2
		rm -f "$out"
		return 1
	fi
}

COMMON=tests/bench/bench_common.h
UT_HDR=include/mapprof/uthash.h
# uthash churn with map tracking when the repo has include/mapprof/uthash.h (checked on every
# run, so the binary is rebuilt when the header appears); else plain <uthash.h>.
if [ -f "$UT_HDR" ]; then
	UT_VARIANT="mapprof/uthash.h"
else
	UT_VARIANT="uthash.h"
fi
if [ "$(cat "$OUT/churn_uthash.variant" 2>/dev/null)" != "$UT_VARIANT" ] ||
	stale "$OUT/churn_uthash" tests/bench/churn_uthash.c $COMMON $UT_HDR include/mapprof.h; then
	ok=0
	if [ "$UT_VARIANT" = "mapprof/uthash.h" ]; then
		build "$OUT/churn_uthash" $CC -std=gnu11 $WFLAGS -include mapprof/uthash.h -Iinclude \
			-o "$OUT/churn_uthash" tests/bench/churn_uthash.c && ok=1
		if [ $ok = 0 ]; then
			echo "bench: falling back to plain uthash.h for churn_uthash" >&2
			UT_VARIANT="uthash.h (fallback: mapprof/uthash.h did not build)"
		fi
	fi
	if [ $ok = 0 ]; then
		build "$OUT/churn_uthash" $CC -std=gnu11 $WFLAGS -o "$OUT/churn_uthash" \
			tests/bench/churn_uthash.c || true
	fi
	echo "$UT_VARIANT" >"$OUT/churn_uthash.variant"
fi
if stale "$OUT/unordered_map_churn" tests/bench/unordered_map_churn.cc $COMMON; then
	build "$OUT/unordered_map_churn" $CXX -std=gnu++17 $WFLAGS -o "$OUT/unordered_map_churn" \
		tests/bench/unordered_map_churn.cc || true
fi
if stale "$OUT/malloc_tight" tests/bench/malloc_tight.c $COMMON; then
	build "$OUT/malloc_tight" $CC -std=gnu11 $WFLAGS -o "$OUT/malloc_tight" \
		tests/bench/malloc_tight.c || true
fi
if stale "$OUT/fastpath_pair" tests/bench/fastpath_pair.c $COMMON; then
	build "$OUT/fastpath_pair" $CC -std=gnu11 $WFLAGS -o "$OUT/fastpath_pair" \
		tests/bench/fastpath_pair.c || true
fi
if stale "$OUT/malloc_tight_mt" tests/bench/malloc_tight_mt.c $COMMON; then
	build "$OUT/malloc_tight_mt" $CC -std=gnu11 $WFLAGS -pthread -o "$OUT/malloc_tight_mt" \
		tests/bench/malloc_tight_mt.c || true
fi
# The floor shim as the shim is built: PIC, hidden, initial-exec TLS. The _count variant is
# only used once per workload to count allocation calls.
SHIM_FLAGS="-std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -shared -fPIC -fvisibility=hidden \
-ftls-model=initial-exec -fno-omit-frame-pointer"
if stale "$OUT/null_shim.so" tests/bench/null_shim.c; then
	build "$OUT/null_shim.so" $CC $SHIM_FLAGS -o "$OUT/null_shim.so" tests/bench/null_shim.c ||
		true
fi
if stale "$OUT/null_shim_count.so" tests/bench/null_shim.c; then
	build "$OUT/null_shim_count.so" $CC $SHIM_FLAGS -DNULL_SHIM_COUNT \
		-o "$OUT/null_shim_count.so" tests/bench/null_shim.c || true
fi
if stale "$OUT/bench_spawn" tests/bench/bench_spawn.c; then
	build "$OUT/bench_spawn" $CC -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE \
		-o "$OUT/bench_spawn" tests/bench/bench_spawn.c || true
fi
rm -f "$OUT/build.err"

# The dump generator for the analyzer step belongs to the analyzer's tests; build it if the
# Makefile knows it, else bench.py reports "SKIP: gendump not built".
GENDUMP=$BUILD/tests/tools/mapprof-gendump
if make -n BUILD="$BUILD" "$GENDUMP" >/dev/null 2>&1; then
	make --no-print-directory BUILD="$BUILD" "$GENDUMP" >/dev/null 2>&1 || true
fi

exec python3 scripts/bench.py "$MODE"
