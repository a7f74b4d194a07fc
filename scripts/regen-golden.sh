#!/bin/bash
# SPDX-License-Identifier: MIT
# Regenerates the golden files in tests/golden/: small.dump, a small dump made by
# mapprof-gendump whose objects do not exist on disk (so nothing depends on this machine's
# binaries: frames stay addresses; named .dump because .gitignore ignores *.mprof), and the
# decoded outputs of mapprof-report on it
# (mapprof-pbdump of the heap and grow profiles, and --top). tests/integration/golden.sh
# compares against them; run this only for a deliberate format or output change, and review
# the diff. Usage: scripts/regen-golden.sh [--keep-dump]  (--keep-dump: outputs only)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/mapprof-report" tools
G=tests/golden
TOOLS=$BUILD/tests/tools
if [ "${1:-}" != "--keep-dump" ]; then
	"$TOOLS/mapprof-gendump" --fake-exe /nonexistent/mapprof-golden/app --samples 40 \
		--stacks 8 --depth 6 --grows 6 --sites 2 --rate 4096 --seed 7 -o $G/small.dump
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/mapprof-report" -o "$tmp/heap.pb.gz" $G/small.dump 2>/dev/null
"$TOOLS/mapprof-pbdump" "$tmp/heap.pb.gz" >$G/small.heap.txt
"$BUILD/mapprof-report" --profile grow -o "$tmp/grow.pb.gz" $G/small.dump 2>/dev/null
"$TOOLS/mapprof-pbdump" "$tmp/grow.pb.gz" >$G/small.grow.txt
"$BUILD/mapprof-report" --top 10 $G/small.dump >$G/small.top.txt 2>/dev/null
"$BUILD/mapprof-report" --folded --sample-index alloc_space $G/small.dump \
	>$G/small.folded.txt 2>/dev/null
echo "regen-golden: wrote $G/small.{dump,heap.txt,grow.txt,top.txt,folded.txt}"
