#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer target for the dump parser (tests/fuzz/fuzz_dump_read.c, with clang
# -fsanitize=fuzzer,address,undefined) and runs it for SECONDS (default 60; FUZZ_SECONDS in
# `make fuzz`). The corpus lives in $BUILD/fuzz/corpus, seeded from dumps made by
# mapprof-gendump and from tests/fuzz/regressions (every crash ever found, kept as a test).
# A crash leaves its input in $BUILD/fuzz/artifacts and the script exits 1: copy the input to
# tests/fuzz/regressions/ so the fuzz suite replays it forever.
# Usage: scripts/fuzz.sh [SECONDS]     scripts/fuzz.sh --replay (regressions only)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
SECONDS_TO_RUN=${1:-60}
[ -n "$SECONDS_TO_RUN" ] || SECONDS_TO_RUN=60
OUT=$BUILD/fuzz
BIN=$OUT/fuzz_dump_read
CLANG=${CLANG:-clang}
mkdir -p "$OUT/corpus" "$OUT/artifacts" "$OUT/seeds"

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz.sh: $CLANG not found (scripts/install-deps.sh installs it)" >&2
	exit 2
fi
# Rebuild when a source is newer than the binary.
if [ ! -x "$BIN" ] || [ -n "$(find analyzer/dump_read.c analyzer/dump_read.h analyzer/objects_at.c \
	analyzer/util.c analyzer/util.h tests/fuzz/fuzz_dump_read.c include/mapprof/dump_format.h \
	-newer "$BIN" 2>/dev/null)" ]; then
	echo "fuzz.sh: building $BIN"
	"$CLANG" -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Ianalyzer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o "$BIN" tests/fuzz/fuzz_dump_read.c analyzer/dump_read.c analyzer/objects_at.c \
		analyzer/util.c
fi

# Seeds: small generated dumps of several shapes (with and without map sections, sampled and
# exact), plus every regression input.
GEN=$BUILD/tests/tools/mapprof-gendump
if [ ! -x "$GEN" ]; then
	make --no-print-directory -s BUILD="$BUILD" "$GEN"
fi
i=0
for args in "--samples 4 --stacks 2 --depth 3" "--samples 10 --stacks 3 --grows 2 --sites 1" \
	"--samples 1 --stacks 1 --depth 1 --rate 512" "--samples 30 --stacks 5 --grows 5 --sites 3 --rate 4096" \
	"--samples 0 --stacks 1 --depth 2" "--samples 6 --stacks 4 --depth 3 --unloaded 2" \
	"--samples 8 --stacks 2 --depth 2 --rate 4096 --mixed 3"; do
	# shellcheck disable=SC2086
	"$GEN" $args --seed $((i + 1)) -o "$OUT/seeds/seed$i.mprof"
	i=$((i + 1))
done

if [ "$SECONDS_TO_RUN" = "--replay" ]; then
	set -- tests/fuzz/regressions/*
	[ -e "$1" ] || { echo "fuzz.sh: no regression inputs"; exit 0; }
	exec "$BIN" "$@"
fi

echo "fuzz.sh: fuzzing the dump parser for ${SECONDS_TO_RUN}s"
# -max_len: seeds are small; longer inputs only slow the search down.
"$BIN" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$OUT/artifacts/" -print_final_stats=1 \
	"$OUT/corpus" "$OUT/seeds" tests/fuzz/regressions 2>"$OUT/fuzz.log" || {
	echo "fuzz.sh: the fuzzer found a failure; input(s) in $OUT/artifacts:" >&2
	ls -1 "$OUT/artifacts" >&2
	tail -40 "$OUT/fuzz.log" >&2
	exit 1
}
grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$OUT/fuzz.log" || true
echo "fuzz.sh: no failure"
