#!/bin/bash
# SPDX-License-Identifier: MIT
# Exact bytes at sampled rates (tests/programs/shim_bytes.c): the fast path counts bytes only
# through the thread's sample budget, so threads that exit, records reused, snapshots of running
# threads, fork children and rate 0 (the budget never reset) must all still add up; calls that
# fail count at no rate (exact mode too). The program prints its own truth; libc's own
# allocations (thread creation, stdio) may add a little.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$ROOT/tests/tools
PROG=$PROGS/shim_bytes

run() { # run LABEL MODE RATE [ARG]
	mkdir -p "$T/$1"
	env LD_PRELOAD="$LIB" MAPPROF_RATE="$3" MAPPROF_SEED=5 \
		MAPPROF_OUT="$T/$1/mapprof.%p.%n.mprof" "$PROG" "$2" ${4:+"$4"} >"$T/$1.out" \
		2>"$T/$1.err"
	echo $? >"$T/$1.rc"
}

check() { # check LABEL MODE
	"$PY" - "$T" "$1" "$2" <<'EOF'
import os, sys
import mprof_decode as m
T, label, mode = sys.argv[1:4]
t = m.Tap(label + ": ")
rc = open(os.path.join(T, label + ".rc")).read().strip()
err = open(os.path.join(T, label + ".err")).read()
truth = [int(x) for x in open(os.path.join(T, label + ".out")).read().split()]
# Under an address-space limit the profiler's tables may run out of room too: the samples it
# could not record are counted as dropped, which one line says (the totals stay exact).
drop_line = "mapprof: a sample could not be recorded"
if mode.startswith("small-") and err.startswith(drop_line) and err.count("\n") == 1:
    err = ""
t.eq("exit status 0, no stderr (but a dropped-sample line)", ("0", ""), (rc, err))
ds = sorted(m.load_dir(os.path.join(T, label)), key=lambda d: (d["header"]["pid"],
                                                               d["header"]["seq"]))
SLACK = 65536  # libc's own: thread creation, the dump machinery's first calls


def within(name, got, want):
    t.ok("%s: alloc_bytes %d within [%d, +%d]" % (name, got, want, SLACK),
         want <= got <= want + SLACK)


if mode == "exit":
    if t.eq("one dump", 1, len(ds)) and t.eq("one truth line", 1, len(truth)):
        within("12 threads and main", ds[0]["totals"]["alloc_bytes"], truth[0])
elif mode == "fork":
    # The child prints first (the parent waits for it); its dump holds only its own bytes.
    if t.eq("two dumps, two truths", (2, 2), (len(ds), len(truth))):
        pids = {d["header"]["pid"] for d in ds}
        child = [d for d in ds if d["header"]["ppid"] in pids]
        parent = [d for d in ds if d["header"]["ppid"] not in pids]
        if t.eq("one parent, one child", (1, 1), (len(parent), len(child))):
            within("child (after the fork only)", child[0]["totals"]["alloc_bytes"], truth[0])
            within("parent", parent[0]["totals"]["alloc_bytes"], truth[1])
elif mode == "snap":
    if t.ok("41 dumps (40 snapshots and the exit)", len(ds) == 41) and len(truth) == 1:
        tots = [d["totals"] for d in ds]
        within("final", tots[-1]["alloc_bytes"], truth[0])
        bad = [(i, a["alloc_bytes"], b["alloc_bytes"]) for i, (a, b) in
               enumerate(zip(tots, tots[1:])) if b["alloc_bytes"] < a["alloc_bytes"]]
        t.eq("snapshots' alloc_bytes never go down", [], bad)
        # Every size is 8..4096 bytes: a snapshot that missed what the running threads'
        # fast paths counted (all of it at rate 0) reads far below 8 bytes a call.
        off = [(i, x["alloc_calls"], x["alloc_bytes"]) for i, x in enumerate(tots)
               if not 8 * (x["alloc_calls"] - 100) <= x["alloc_bytes"] <= 4096 *
               x["alloc_calls"] + SLACK]
        t.eq("every snapshot: 8..4096 bytes a call", [], off)
        moving = sum(1 for a, b in zip(tots, tots[1:]) if b["alloc_calls"] > a["alloc_calls"])
        t.ok("snapshots taken while the threads ran (%d of 40 moved)" % moving, moving >= 30)
elif mode.startswith("small-"):
    # 120000 calls of 32 bytes fail (20000 with the raw limit, each after a success); except
    # with the raw limit, the program clears errno after each failure. A limit the shim knows of (set in the process, or
    # inherited) leaves the counts exact; one it cannot see (the raw system call, as prlimit(1)
    # from outside) may count one fast-path budget of failed calls (128 KiB: 4096 of 32 bytes)
    # before a slow path sees a failure or the ENOMEM it left in errno.
    extra = (4096, 128 << 10) if mode.startswith("small-raw") else (0, 0)
    if t.eq("one dump, bytes and calls", (1, 2), (len(ds), len(truth))):
        tot = ds[0]["totals"]
        t.ok("alloc_bytes %d within [%d, +%d]" % (tot["alloc_bytes"], truth[0],
                                                    SLACK + extra[1]),
             truth[0] <= tot["alloc_bytes"] <= truth[0] + SLACK + extra[1])
        t.ok("alloc_calls %d within [%d, +%d]" % (tot["alloc_calls"], truth[1], 50 + extra[0]),
             truth[1] <= tot["alloc_calls"] <= truth[1] + 50 + extra[0])
        t.eq("free_calls: every block, freed once", truth[1], tot["free_calls"])
elif mode == "fail":
    # 400 calls of 4..12 MiB fail: counted, they would add about 3 GiB and 400 calls.
    if t.eq("one dump, bytes and calls", (1, 2), (len(ds), len(truth))):
        tot = ds[0]["totals"]
        within("successful calls only", tot["alloc_bytes"], truth[0])
        t.ok("alloc_calls %d within [%d, +50]" % (tot["alloc_calls"], truth[1]),
             truth[1] <= tot["alloc_calls"] <= truth[1] + 50)
EOF
}

for rate in 1048576 65536 0; do
	for mode in exit snap fork fail; do
		run "$mode-$rate" "$mode" "$rate"
		check "$mode-$rate" "$mode"
	done
done
run fail-1 fail 1
check fail-1 fail
for rate in 524288 0 1; do
	run "small-set-$rate" small "$rate" set
	check "small-set-$rate" small-set
	run "small-raw-$rate" small "$rate" raw
	check "small-raw-$rate" small-raw
	run "small-raw-odd-$rate" small "$rate" raw-odd
	check "small-raw-odd-$rate" small-raw-odd
	# 64 MiB of address space, set by the shell before exec (soft limit only: the program
	# raises it again before it frees and exits).
	(
		ulimit -S -v 65536
		run "small-inherited-$rate" small "$rate" inherited
	)
	check "small-inherited-$rate" small-inherited
	# Memory locked from now on, within RLIMIT_MEMLOCK: root must lose CAP_IPC_LOCK for the
	# limit to apply (the bounding set; setpriv itself runs without the shim). Skipped where
	# that cannot be had, or the hard limit leaves too little to lock.
	drop=()
	[ "$(id -u)" = 0 ] && drop=(setpriv --bounding-set=-ipc_lock --)
	if [ ${#drop[@]} -gt 0 ] && ! "${drop[@]}" bash -c \
		'c=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status); (( (0x$c & 0x4000) == 0 ))' \
		2>/dev/null; then
		ok "small-mlock-$rate # SKIP CAP_IPC_LOCK cannot be dropped here"
		continue
	fi
	mkdir -p "$T/small-mlock-$rate"
	"${drop[@]}" env LD_PRELOAD="$LIB" MAPPROF_RATE="$rate" MAPPROF_SEED=5 \
		MAPPROF_OUT="$T/small-mlock-$rate/mapprof.%p.%n.mprof" "$PROG" small mlock \
		>"$T/small-mlock-$rate.out" 2>"$T/small-mlock-$rate.err"
	rc=$?
	if [ $rc = 77 ]; then
		ok "small-mlock-$rate # SKIP RLIMIT_MEMLOCK's hard limit is below 1 MiB"
		continue
	fi
	echo $rc >"$T/small-mlock-$rate.rc"
	check "small-mlock-$rate" small-mlock
done
