#!/bin/bash
# SPDX-License-Identifier: MIT
# Exact mode (MAPPROF_RATE=1) against tests/programs/shim_sites.c, whose per-site truth is
# known by construction; checked with the independent decoder tests/tools/mprof_decode.py.
# Also MAPPROF_RATE=0 (totals only), MAPPROF_DEPTH, MAPPROF_UNWIND=fp, and jemalloc or tcmalloc
# (gperftools) underneath.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$ROOT/tests/tools
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
PROG=$PROGS/shim_sites

# run_sites LABEL [ENV=VALUE...]: runs shim_sites under the shim into $T/LABEL, checks output.
run_sites() {
	local label=$1
	shift
	mkdir -p "$T/$label"
	env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/$label/mapprof.%p.%n.mprof" "$@" \
		"$PROG" >"$T/$label.out" 2>"$T/$label.err"
	local rc=$?
	expect_eq "$label: output and exit status unchanged" "sites ok|0|" \
		"$(cat "$T/$label.out")|$rc|$(cat "$T/$label.err")"
	expect_eq "$label: one dump" 1 "$(ls "$T/$label" | wc -l)"
}

# check_truth LABEL EXTRA_SLACK: per-site truth, exact-mode consistency, totals.
check_truth() {
	"$PY" - "$T/$1" "$1" "$2" <<'EOF'
import os, sys
import mprof_decode as m
t = m.Tap(sys.argv[2] + ": ")
slack = int(sys.argv[3])
dumps = m.load_dir(sys.argv[1])
if not t.ok("dump decodes", len(dumps) == 1, "dumps: %d" % len(dumps)):
    sys.exit(0)
d = dumps[0]
# (leaf function, size) -> (allocations, in use): see tests/programs/shim_sites.c.
truth = {
    ("site_malloc24", 24): (100, 10),
    ("site_calloc", 91): (50, 0),
    ("site_reallocarray", 300): (1, 0),
    ("site_reallocarray", 500): (1, 1),
    ("site_realloc_zero", 40): (4, 0),
    ("site_aligned", 100): (3, 3),
    ("site_aligned", 256): (3, 3),
    ("site_aligned", 1000): (3, 3),
    ("site_aligned", 5000): (3, 3),
    ("site_aligned", 8192): (3, 3),
    ("site_malloc0", 0): (5, 5),
    ("site_inuse", 1000): (20, 10),
    ("site_shared", 48): (7, 7),
}
for k in range(9):
    truth[("site_realloc_chain", 16 << k)] = (1, 1 if k == 8 else 0)
sites = m.site_table(d)
got = {(fn, size): tuple(v) for (fn, kind, size), v in sites.items() if fn.startswith("site_")}
for key in sorted(truth):
    t.eq("%s size %d: allocations, in use" % key, truth[key], got.get(key))
t.eq("no other site_* samples", [], sorted(set(got) - set(truth)))
t.ok("every sample has kind 0", all(s["kind"] == 0 for s in d["samples"]))

# The callers of the shared leaf: two stacks, told apart by frame 1.
names = m.resolve_stacks(d)
callers = {}
for s in d["samples"]:
    st = names[s["stack"]]
    if st[0] == "site_shared":
        callers[st[1]] = callers.get(st[1], 0) + s["alloc_count"]
t.eq("site_shared split by caller (frame 1)", {"caller_one": 3, "caller_two": 4}, callers)
main_callers = {names[s["stack"]][1] for s in d["samples"] if names[s["stack"]][0] == "site_malloc24"}
t.eq("site_malloc24 called from main", {"main"}, main_callers)

# Totals. Truth by construction; libc itself may add a few calls (none with glibc and no
# stdio, one 72704-byte pool from libstdc++ when jemalloc is loaded): allow `slack` more.
tot = d["totals"]
true_calls, true_frees = 212, 163
true_bytes = 2400 + 4550 + sum(16 << k for k in range(9)) + 800 + 160 + 3 * 14548 + 20000 + 336
t.ok("alloc_calls %d within [%d, %d]" % (tot["alloc_calls"], true_calls, true_calls + slack),
     true_calls <= tot["alloc_calls"] <= true_calls + slack)
t.ok("free_calls %d within [%d, %d]" % (tot["free_calls"], true_frees, true_frees + slack),
     true_frees <= tot["free_calls"] <= true_frees + slack)
t.ok("alloc_bytes %d within [%d, +%d KiB]" % (tot["alloc_bytes"], true_bytes, slack * 128),
     true_bytes <= tot["alloc_bytes"] <= true_bytes + slack * 131072)
# Exact mode records every counted allocation: the samples must add up to the totals.
t.eq("exact: sampled == alloc_calls", tot["alloc_calls"], tot["sampled"])
t.eq("exact: dropped", 0, tot["dropped"])
t.eq("exact: sum of alloc_count == alloc_calls", tot["alloc_calls"],
     sum(s["alloc_count"] for s in d["samples"]))
t.eq("exact: sum of size x count == alloc_bytes", tot["alloc_bytes"],
     sum(s["size"] * s["alloc_count"] for s in d["samples"]))
t.eq("exact: inuse_bytes_est == live sampled bytes",
     sum(s["size"] * s["inuse_count"] for s in d["samples"]), tot["inuse_bytes_est"])
t.ok("peak_inuse_bytes_est >= inuse", tot["peak_inuse_bytes_est"] >= tot["inuse_bytes_est"])
t.eq("threads", 1, tot["threads"])

h = d["header"]
base = os.path.basename(d["file"])
t.eq("file name carries pid and seq", "mapprof.%d.0.mprof" % h["pid"], base)
t.eq("header rate, seq, depth, fork_child", (1, 0, 64, False),
     (h["rate"], h["seq"], h["depth"], h["fork_child"]))
t.ok("header exe is the program", h["exe"].endswith("/shim_sites"), h["exe"])
t.ok("header cmdline", len(h["cmdline"]) == 1 and h["cmdline"][0].endswith("shim_sites"),
     repr(h["cmdline"]))
t.ok("header times", 0 < h["start_ns"] <= h["dump_ns"], (h["start_ns"], h["dump_ns"]))
objs = d["objects"]
t.ok("objects: main executable first", objs and objs[0]["path"] == h["exe"],
     objs[0]["path"] if objs else "none")
t.ok("objects: the shim and libc listed",
     any(o["path"].endswith("libmapprof.so") for o in objs) and
     any("libc.so" in o["path"] for o in objs))
t.ok("objects: build IDs present", all(len(o["build_id"]) >= 16 for o in objs[:1]))
EOF
}

# allocator_keys LABEL DIR TITLE WANT: the keys of DIR's one dump's ALLOCATOR section, sorted,
# are WANT ("mallinfo2": glibc's six, or "none").
allocator_keys() {
	"$PY" - "$@" <<'EOF'
import sys
import mprof_decode as m
label, dumpdir, title, want = sys.argv[1:5]
t = m.Tap(label + ": ")
d = m.load_dir(dumpdir)[0]
keys = ["glibc.arena", "glibc.fordblks", "glibc.hblkhd", "glibc.keepcost", "glibc.ordblks",
        "glibc.uordblks"] if want == "mallinfo2" else []
t.eq(title, keys, sorted(d.get("allocator", {})))
EOF
}

run_sites glibc
check_truth glibc 2
allocator_keys glibc "$T/glibc" "allocator section has mallinfo2 keys" mallinfo2

# A heap that peaked above 16 MiB: glibc's mallinfo2 is not read (it walks every free chunk
# holding the allocator's lock: 0.8 s at the exit of a program with 180 MB of small maps).
mp_run "$T/bigheap" "$PROGS/shim_bigheap" >"$T/bigheap.out" 2>"$T/bigheap.err"
allocator_keys bigheap "$T/bigheap" "a heap that peaked at 24 MiB: no mallinfo2 keys" none
mp_run "$T/bigheap_fork" "$PROGS/shim_bigheap" fork >"$T/bigheap_fork.out" 2>"$T/bigheap_fork.err"
grep -q 'glibc.arena=.* (from 1 of the 2 processes)$' <<<"$("$REPORT" --maps "$T/bigheap_fork"/*.mprof 2>&1)" &&
	ok "bigheap: --maps says its allocator line is from 1 of the 2 processes" ||
	not_ok "bigheap: --maps says its allocator line is from 1 of the 2 processes" \
		"$("$REPORT" --maps "$T/bigheap_fork"/*.mprof 2>&1 | grep allocator)"
# A small heap at a large rate, where one sample weighs 16 MiB: the keys are read.
mp_run "$T/bigrate" MAPPROF_RATE=16777216 "$PROGS/shim_sites" >/dev/null 2>&1
allocator_keys bigrate "$T/bigrate" "a small heap at MAPPROF_RATE=16777216: mallinfo2 keys" \
	mallinfo2

# MAPPROF_RATE=0: no samples, but the same exact totals as in exact mode (the program is
# deterministic and single-threaded).
run_sites rate0 MAPPROF_RATE=0
"$PY" - "$T/rate0" "$T/glibc" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("rate0: ")
d = m.load_dir(sys.argv[1])[0]
e = m.load_dir(sys.argv[2])[0]
t.eq("header rate", 0, d["header"]["rate"])
t.eq("no samples, no stacks", (0, 0, 0), (len(d["samples"]), len(d["stacks"]), d["totals"]["sampled"]))
keys = ("alloc_calls", "free_calls", "alloc_bytes")
t.eq("totals equal exact mode's", [e["totals"][k] for k in keys], [d["totals"][k] for k in keys])
EOF

# MAPPROF_DEPTH=2: stacks are cut at two frames; the leaf is unchanged.
run_sites depth2 MAPPROF_DEPTH=2
"$PY" - "$T/depth2" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("depth2: ")
d = m.load_dir(sys.argv[1])[0]
t.eq("header depth", 2, d["header"]["depth"])
t.ok("every stack has 1..2 frames", d["stacks"] and all(1 <= len(s) <= 2 for s in d["stacks"]))
names = m.resolve_stacks(d)
t.eq("site_shared stacks", [["site_shared", "caller_one"], ["site_shared", "caller_two"]],
     sorted(n for n in names if n[0] == "site_shared"))
EOF

# The frame-pointer unwinder gives the same per-site truth (the programs keep frame pointers).
run_sites fp MAPPROF_UNWIND=fp
check_truth fp 2

# jemalloc underneath: the same truth, and the ALLOCATOR section is jemalloc's.
if [ -r "$JEMALLOC" ]; then
	LIB="$LIB $JEMALLOC" run_sites jemalloc
	check_truth jemalloc 4
	"$PY" - "$T/jemalloc" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("jemalloc: ")
d = m.load_dir(sys.argv[1])[0]
a = d.get("allocator", {})
t.eq("allocator section has jemalloc.stats keys",
     ["jemalloc.stats.active", "jemalloc.stats.allocated", "jemalloc.stats.mapped",
      "jemalloc.stats.resident"], sorted(a))
t.ok("jemalloc.stats.allocated covers what is live",
     a.get("jemalloc.stats.allocated", 0) >= d["totals"]["inuse_bytes_est"], repr(a))
t.ok("libjemalloc in objects", any("libjemalloc" in o["path"] for o in d["objects"]))
EOF
else
	ok "jemalloc: skipped, $JEMALLOC not installed"
fi

# tcmalloc underneath (its operators never call malloc: counted by ours): the same truth. It
# has no mallctl, and glibc's mallinfo2 is not its allocator's: no ALLOCATOR entries.
if [ -r "$TCMALLOC" ]; then
	LIB="$LIB $TCMALLOC" run_sites tcmalloc
	check_truth tcmalloc 4
	"$PY" - "$T/tcmalloc" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("tcmalloc: ")
d = m.load_dir(sys.argv[1])[0]
t.eq("no allocator entries (not glibc's, not jemalloc's)", {}, d.get("allocator", {}))
t.ok("libtcmalloc in objects", any("libtcmalloc" in o["path"] for o in d["objects"]))
EOF
else
	ok "tcmalloc: skipped, $TCMALLOC not installed"
fi
