#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo: the bundled service (tests/demo/service.c) and its fixed twin (-DDEMO_FIXED), both
# built with uthash's growth hooks force-included, run plain (wall time, best of 3), under the
# shim at the default rate (dumps in $DEMO/wasteful and $DEMO/fixed; heap, alloc_space and grow
# profiles; the --maps report) and under the shim in exact mode (MAPPROF_RATE=1, dumps in
# $DEMO/exact/, the source of the before/after table, so that it is exact and deterministic).
# Writes $DEMO/before_after.json with the table's numbers (tests/integration/demo.sh reads it).
# Environment: BUILD (build), DEMO_DIR ($BUILD/demo), DEMO_PLAIN_RUNS (3), CC (cc).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
DEMO=${DEMO_DIR:-$BUILD/demo}
RUNS=${DEMO_PLAIN_RUNS:-3}
LIB=$ROOT/$BUILD/libmapprof.so
REPORT=$ROOT/$BUILD/mapprof-report
for f in "$LIB" "$REPORT"; do
	[ -e "$f" ] || { echo "demo: $f is missing: run make all first" >&2; exit 1; }
done

mkdir -p "$DEMO"
DEMO=$(cd "$DEMO" && pwd)
rm -rf "$DEMO/wasteful" "$DEMO/fixed" "$DEMO/exact"
mkdir -p "$DEMO/wasteful" "$DEMO/fixed" "$DEMO/exact/wasteful" "$DEMO/exact/fixed"
rm -f "$DEMO"/*.pb.gz "$DEMO"/*.json "$DEMO"/*.txt

# The demo is built like a user's program: optimized, with debug info for file:line, and the
# uthash hooks force-included (the source keeps its plain #include "uthash.h").
echo "demo: building $DEMO/service and $DEMO/service_fixed"
DEMO_CFLAGS="-O2 -g -Iinclude -include mapprof/uthash.h"
${CC:-cc} $DEMO_CFLAGS -o "$DEMO/service" tests/demo/service.c
${CC:-cc} $DEMO_CFLAGS -DDEMO_FIXED -o "$DEMO/service_fixed" tests/demo/service.c

# Each twin's output (its checksum line) from every kind of run, one per line, for the JSON.
: >"$DEMO/outputs.txt"

# plain NAME BIN: best wall time of $RUNS runs without the shim, in nanoseconds.
plain() {
	local best=0 t0 t1 i
	for ((i = 0; i < RUNS; i++)); do
		t0=$(date +%s%N)
		env -u LD_PRELOAD "$2" >"$DEMO/$1.plain.out"
		t1=$(date +%s%N)
		if [ "$best" -eq 0 ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
	done
	echo "$1 plain $(cat "$DEMO/$1.plain.out")" >>"$DEMO/outputs.txt"
	echo "$best"
}
# shim NAME BIN DIR RATE: one run under the shim (RATE empty: the default rate).
shim() {
	local rate=() mode=sampled
	if [ -n "$4" ]; then
		rate=(MAPPROF_RATE="$4")
		mode=rate$4
	fi
	env -u MAPPROF_RATE "${rate[@]}" MAPPROF_OUT="$3/mapprof.%p.%n.mprof" LD_PRELOAD="$LIB" "$2" \
		>"$3.out"
	echo "$1 $mode $(cat "$3.out")" >>"$DEMO/outputs.txt"
}

echo "demo: timing plain runs (best of $RUNS)"
wall_wasteful=$(plain wasteful "$DEMO/service")
wall_fixed=$(plain fixed "$DEMO/service_fixed")
echo "demo: profiling under the shim (default rate)"
shim wasteful "$DEMO/service" "$DEMO/wasteful" ""
shim fixed "$DEMO/service_fixed" "$DEMO/fixed" ""
echo "demo: profiling under the shim in exact mode (MAPPROF_RATE=1) for the table"
shim wasteful "$DEMO/service" "$DEMO/exact/wasteful" 1
shim fixed "$DEMO/service_fixed" "$DEMO/exact/fixed" 1

# Profiles. pprof's heap profile carries all four values; alloc.pb.gz is the same profile with
# alloc_space as its default sample type (--sample-index; a mapprof-report that does not set the
# default from it writes inuse_space there, and -sample_index=alloc_space selects it).
# The fixed twin's come from its exact-mode run: it allocates about 300 kB in all, less than one
# sampling interval at the default rate, so its sampled profiles were mostly empty (and a
# -diff_base against one compared with nothing).
for run in wasteful fixed; do
	sfx=${run/wasteful/}
	sfx=${sfx:+_$sfx}
	src=$DEMO/$run
	[ "$run" = fixed ] && src=$DEMO/exact/fixed
	"$REPORT" -o "$DEMO/heap$sfx.pb.gz" "$src"/*.mprof
	"$REPORT" --sample-index alloc_space -o "$DEMO/alloc$sfx.pb.gz" "$src"/*.mprof
	"$REPORT" --profile grow -o "$DEMO/grow$sfx.pb.gz" "$src"/*.mprof
	"$REPORT" --maps "$src"/*.mprof >"$DEMO/maps$sfx.txt"
	"$REPORT" --maps --json "$src"/*.mprof >"$DEMO/maps$sfx.json"
	"$REPORT" --maps --json "$DEMO/exact/$run"/*.mprof >"$DEMO/exact/$run.json"
done

echo
echo "==== mapprof-report --maps $DEMO/wasteful/*.mprof ===="
cat "$DEMO/maps.txt"
echo

python3 - "$DEMO" "$wall_wasteful" "$wall_fixed" <<'PY'
import json, os, sys

demo, wall_w, wall_f = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
summary = {r: json.load(open(os.path.join(demo, "exact", r + ".json")))["summary"]
           for r in ("wasteful", "fixed")}
outputs = {"wasteful": {}, "fixed": {}}
for line in open(os.path.join(demo, "outputs.txt")):
    run, mode, text = line.rstrip("\n").split(" ", 2)
    outputs[run][mode] = text

def ratio(a, b):
    return round(a / b, 1) if b else None

rows = [("peak in-use bytes", "peak_inuse_bytes", "bytes", "peak_inuse_bytes_est"),
        ("bytes allocated", "alloc_bytes", "bytes", "alloc_bytes"),
        ("allocation calls", "alloc_calls", "count", "alloc_calls"),
        ("grows", "grows", "count", "grows"),
        ("wall time", "wall_ns", "ns", None)]
metrics = {}
for label, key, unit, src in rows:
    w = summary["wasteful"][src] if src else wall_w
    f = summary["fixed"][src] if src else wall_f
    metrics[key] = {"label": label, "unit": unit, "wasteful": w, "fixed": f,
                    "ratio": ratio(w, f)}

def human(v, unit):
    if unit == "bytes":
        for u, s in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
            if v >= s:
                return "%.2f%s" % (v / s, u)
        return "%dB" % v
    if unit == "ns":
        return "%.3fs" % (v / 1e9)
    return str(v)

doc = {
    "source": "peak, bytes, calls and grows: mapprof-report --maps --json summary of exact-mode "
              "runs (MAPPROF_RATE=1); wall time: plain runs without the shim, best of %s"
              % os.environ.get("DEMO_PLAIN_RUNS", "3"),
    "exact": summary["wasteful"]["exact"] and summary["fixed"]["exact"],
    "metrics": metrics,
    "outputs": outputs,
    "checksum": {r: outputs[r].get("plain", "") for r in outputs},
    "outputs_agree": all(len(set(o.values())) == 1 for o in outputs.values())
                     and outputs["wasteful"].get("plain") == outputs["fixed"].get("plain"),
}
json.dump(doc, open(os.path.join(demo, "before_after.json"), "w"), indent=1)

print("==== before/after (exact mode, MAPPROF_RATE=1; wall time: plain runs, best of %s) ===="
      % os.environ.get("DEMO_PLAIN_RUNS", "3"))
print("%-20s %14s %14s %10s" % ("", "wasteful", "fixed", "ratio"))
for label, key, unit, _ in rows:
    m = metrics[key]
    r = "%.1fx" % m["ratio"] if m["ratio"] is not None else "n/a"
    print("%-20s %14s %14s %10s" % (label, human(m["wasteful"], unit), human(m["fixed"], unit), r))
print("output: wasteful \"%s\", fixed \"%s\"%s" % (
    doc["checksum"]["wasteful"], doc["checksum"]["fixed"],
    "" if doc["outputs_agree"] else "   (MISMATCH: see %s/outputs.txt)" % demo))
PY

rel=${DEMO#"$ROOT"/}
cat <<CMDS

==== explore further with go tool pprof ====
go tool pprof -top $rel/heap.pb.gz                          # in-use bytes at exit (inuse_space)
go tool pprof -sample_index=alloc_space -top $rel/alloc.pb.gz   # every byte allocated: the churn
go tool pprof -sample_index=alloc_space -tagfocus=map_kind=uthash -top $rel/alloc.pb.gz   # bucket arrays only
go tool pprof -top $rel/grow.pb.gz                          # map grows per call site
go tool pprof -sample_index=alloc_space -diff_base=$rel/alloc_fixed.pb.gz -top $rel/alloc.pb.gz   # wasteful vs fixed
go tool pprof -http=: $rel/alloc.pb.gz                      # the web UI (flame graph, source view)
(the fixed run's profiles are heap_fixed.pb.gz, alloc_fixed.pb.gz and grow_fixed.pb.gz, from its
exact-mode run: it allocates less than one sampling interval in all)
CMDS
