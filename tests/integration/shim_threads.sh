#!/bin/bash
# SPDX-License-Identifier: MIT
# 16 threads allocating and freeing each other's objects (tests/programs/shim_threads.c), then
# 16 short-lived threads one after another (allocating in a pthread key destructor too): exact
# per-site counts and exact totals in exact
# mode, over glibc and over jemalloc, and exact totals in sampled mode.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$ROOT/tests/tools
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
PROG=$PROGS/shim_threads

run() { # run LABEL LIBS [ENV...]
	local label=$1 libs=$2
	shift 2
	mkdir -p "$T/$label"
	env LD_PRELOAD="$libs" MAPPROF_RATE=1 MAPPROF_OUT="$T/$label/mapprof.%p.%n.mprof" "$@" \
		"$PROG" >"$T/$label.out" 2>"$T/$label.err"
	local rc=$?
	expect_eq "$label: output and exit status unchanged" "threads ok|0|" \
		"$(cat "$T/$label.out")|$rc|$(cat "$T/$label.err")"
}

check() { # check LABEL EXACT(1|0)
	"$PY" - "$T/$1" "$1" "$2" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap(sys.argv[2] + ": ")
exact = sys.argv[3] == "1"
ds = m.load_dir(sys.argv[1])
if not t.eq("one dump", 1, len(ds)):
    sys.exit(0)
d = ds[0]
NT, K, KEEP = 16, 2000, 10
tot = d["totals"]
if exact:
    sites = m.site_table(d)
    got = {(fn, size): tuple(v) for (fn, kind, size), v in sites.items()
           if fn in ("thread_alloc", "short_alloc", "key_alloc")}
    truth = {("thread_alloc", 32 + i): (K, KEEP) for i in range(NT)}
    truth[("short_alloc", 7)] = (NT * 5, 0)
    truth[("key_alloc", 9)] = (NT * 3, 0)  # in a key destructor after the profiler's
    t.eq("per-thread sites: allocations and in use", truth, got)
    t.eq("sum of alloc_count == alloc_calls", tot["alloc_calls"],
         sum(s["alloc_count"] for s in d["samples"]))
    t.eq("sampled == alloc_calls, none dropped", (tot["alloc_calls"], 0),
         (tot["sampled"], tot["dropped"]))
# Totals are exact in every mode; pthread_create allocates a little of its own (thread
# stacks' TLS blocks: about one calloc per thread), so allow 2 calls per thread.
frees = NT * (K - KEEP) + NT * 5 + NT * 3
calls = NT * K + NT * 5 + NT * 3
t.ok("alloc_calls %d within [%d, %d]" % (tot["alloc_calls"], calls, calls + 64),
     calls <= tot["alloc_calls"] <= calls + 64)
t.ok("free_calls %d within [%d, %d]" % (tot["free_calls"], frees, frees + 64),
     frees <= tot["free_calls"] <= frees + 64)
nbytes = sum(K * (32 + i) for i in range(NT)) + NT * 5 * 7 + NT * 3 * 9
t.ok("alloc_bytes %d within [%d, +128 KiB]" % (tot["alloc_bytes"], nbytes),
     nbytes <= tot["alloc_bytes"] <= nbytes + 131072)
t.ok("threads %d: main + 32 (records of exited threads reused, counts kept)" % tot["threads"],
     33 <= tot["threads"] <= 35)
EOF
}

run glibc "$LIB"
check glibc 1
run sampled "$LIB" MAPPROF_RATE=4096 MAPPROF_SEED=9
check sampled 0
if [ -r "$JEMALLOC" ]; then
	run jemalloc "$LIB $JEMALLOC"
	check jemalloc 1
else
	ok "jemalloc: skipped, $JEMALLOC not installed"
fi
# A few more exact-mode runs: races show up as lost counts.
for i in 1 2 3; do
	run "repeat$i" "$LIB"
	check "repeat$i" 1
done

# A pending deferred cancel must not fire inside malloc (the profiler's reads and writes are
# cancellation points, malloc is not): in exact mode every allocation unwinds.
for rate in 1 4096; do
	out=$(env LD_PRELOAD="$LIB" MAPPROF_RATE=$rate MAPPROF_OUT="$T/cancel.%p.%n.mprof" \
		timeout 30 "$PROGS/shim_cancel" 2>&1)
	expect_eq "cancel pending: not cancelled inside malloc (rate $rate)" \
		"thread normal, mutex taken|0" "$out|$?"
done
mkdir -p "$T/cx"
timeout 30 env LD_PRELOAD="$LIB" MAPPROF_INTERVAL=5 MAPPROF_OUT="$T/cx/m.%p.%n.mprof" \
	"$PROGS/shim_cancel" exit >/dev/null 2>&1
rc=$?
expect_eq "cancel pending, exit(3) with the dump thread running: status and one dump" "3 1" \
	"$rc $(ls "$T/cx" | wc -l)"

# The writer thread of MAPPROF_INTERVAL, joined at exit, pushed glibc's cache of exited threads'
# stacks over its limit, which freed a cached thread's TLS block: an exact count read one free
# of the program's more. The totals must be those of a run without the writer.
totals() { # DIR: allocation calls, frees and bytes in use of the dumps there
	"$REPORT" --json "$1"/*.mprof 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["totals"]
print(t["alloc_calls"], t["free_calls"], t["inuse_bytes_est"])' 2>&1
}
mkdir -p "$T/jc0" "$T/jc1"
# (8 MiB default stacks, glibc's default cache: the writer's stack overfills it)
(
	ulimit -s 8192
	unset GLIBC_TUNABLES
	mp_run "$T/jc0" "$PROGS/shim_joincache"
	MAPPROF_INTERVAL=100 mp_run "$T/jc1" "$PROGS/shim_joincache"
) >/dev/null 2>&1
expect_eq "exact totals with the dump thread joined at exit: as without it" "$(totals "$T/jc0")" \
	"$(totals "$T/jc1")"

# Snapshots while four threads allocate: each adds up (the totals are read after the samples:
# read before them, a snapshot had 1165 allocation calls against 1214 samples, and more bytes
# in use than allocated).
mkdir -p "$T/snap"
out=$(mp_run "$T/snap" timeout 60 "$PROGS/shim_snapdump" 2>&1)
expect_eq "snapshots while threads allocate: all written" "snapdump failed 0" "$out"
"$PY" - "$T/snap" <<'PYEOF'
import sys
import mprof_decode as m
t = m.Tap("snapshots while threads allocate: ")
ds = [d for d in m.load_dir(sys.argv[1]) if d["header"]["exe"].endswith("/shim_snapdump")]
t.eq("25 snapshots and the exit dump", 26, len(ds))
bad = []
for d in ds:
    tot = d["totals"]
    calls = sum(s["alloc_count"] for s in d["samples"])
    sbytes = sum(s["alloc_count"] * s["size"] for s in d["samples"])
    inuse = sum(s["inuse_count"] * s["size"] for s in d["samples"])
    freed = sum(s["alloc_count"] - s["inuse_count"] for s in d["samples"])
    # and no fewer than its calls but those in flight, one a churning thread (read after the
    # table's unlock, a preempted dump let the threads run on: 40,000 calls missing once)
    if not (calls <= tot["alloc_calls"] <= calls + 4 and sbytes <= tot["alloc_bytes"] and
            inuse <= tot["alloc_bytes"] and freed <= tot["free_calls"]):
        bad.append((d["header"]["seq"], calls, tot["alloc_calls"], sbytes, tot["alloc_bytes"],
                    inuse, freed, tot["free_calls"]))
t.eq("every snapshot's samples within its totals (exact mode)", [], bad)
PYEOF

# exit() from a thread while three others allocate: the exit dump's totals exceed its samples
# by the calls in flight only (3 of 60 such runs missed 3,000 to 40,000 calls).
for i in 1 2 3 4 5; do
	mkdir -p "$T/tx$i"
	out=$(mp_run "$T/tx$i" timeout 60 "$PROGS/shim_thread_exit" 2>&1)
	echo "$out $?" >"$T/tx$i.status"
done
expect_eq "exit from a thread while others allocate: output and status unchanged" \
	"exiting 42 exiting 42 exiting 42 exiting 42 exiting 42" "$(cat "$T"/tx?.status | tr '\n' ' ' | sed 's/ $//')"
"$PY" - "$T" <<'PYEOF'
import sys
import mprof_decode as m
t = m.Tap("exit from a thread while others allocate: ")
gaps = []
for i in range(1, 6):
    ds = [d for d in m.load_dir("%s/tx%d" % (sys.argv[1], i))
          if d["header"]["exe"].endswith("/shim_thread_exit")]
    if len(ds) != 1:
        gaps.append(("dumps", len(ds)))
        continue
    d = ds[0]
    calls = sum(s["alloc_count"] for s in d["samples"])
    gaps.append(d["totals"]["alloc_calls"] - calls)
t.ok("totals within the calls in flight of the samples (exact mode)",
     all(isinstance(g, int) and 0 <= g <= 3 for g in gaps), str(gaps))
PYEOF

# 1,000 short detached threads that never allocate (tests/programs/shim_detached.c): the frees
# glibc makes on them after their key destructors ran must not give them records that the exit
# dump reads after their stacks are gone (a segfault 8 runs in 8); nor the 64th free, after 63
# of blocks the main thread made (6 in 6). Three runs each.
for frees in 0 63; do
	for i in 1 2 3; do
		d="$T/detached$frees.$i"
		mkdir -p "$d"
		out=$(env LD_PRELOAD="$LIB" MAPPROF_OUT="$d/mapprof.%p.%n.mprof" \
			"$PROGS/shim_detached" $frees 2>&1)
		rc=$?
		expect_eq "detached threads ($frees frees each, no allocation), run $i: exit status, output, one dump" \
			"0|detached 1000|1" "$rc|$out|$(ls "$d" | wc -l)"
	done
done

# A thread whose first allocation comes in a key destructor's last round (after the shim's own
# exit destructor ran: tests/programs/shim_lateattach.c) takes a record nothing lets go; the
# next thread, on the same stack, was counted twice by the exit dump (200,066 calls).
mkdir -p "$T/lateattach"
env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/lateattach/mapprof.%p.%n.mprof" \
	"$PROGS/shim_lateattach" >/dev/null 2>&1
"$PY" - "$T/lateattach" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("lateattach: ")
d = m.load_dir(sys.argv[1])[0]
calls = d["totals"]["alloc_calls"]
t.ok("a thread attached after its destructors is not counted for the next one",
     100065 <= calls <= 100100, calls)
EOF

# 200 threads' first map grows at once (tests/programs/shim_firstgrow.cc): each new thread's
# stack bounds come from its thread descriptor, once one /proc/self/maps read has shown where
# glibc keeps them there (a read per thread, through four helper threads that new threads spun
# for, hung a program that kept making threads at its exit). Every grow counted; the maps file
# read by the first few threads (before it is learned), not by each one.
mkdir -p "$T/firstgrow"
if command -v strace >/dev/null; then
	strace -f -qq -e trace=openat -o "$T/firstgrow.strace" env LD_PRELOAD="$LIB" \
		MAPPROF_OUT="$T/firstgrow/m.%p.%n.mprof" "$PROGS/shim_firstgrow" 200 \
		>"$T/firstgrow.out" 2>&1
	rc=$?
	expect_eq "200 threads' first map grows: output and status unchanged" \
		"threads 200 grows 200|0" "$(cat "$T/firstgrow.out")|$rc"
	reads=$(grep -c '"/proc/self/maps"' "$T/firstgrow.strace")
	check_le() { [ "$1" -le "$2" ]; }
	if check_le "$reads" 50; then
		ok "200 new threads' stack bounds: /proc/self/maps read $reads times"
	else
		not_ok "200 new threads' stack bounds: /proc/self/maps read $reads times (at most 50)"
	fi
	got=$("$REPORT" --maps --json "$T/firstgrow"/*.mprof 2>/dev/null | python3 -c '
import json, sys
print(sum(s["grows"] for s in json.load(sys.stdin)["sites"] if s["function"] == "worker(void*)"))')
	expect_eq "200 threads' first map grows: all 200 counted" 200 "$got"
else
	not_ok "200 new threads' stack bounds: strace is not installed (scripts/install-deps.sh)"
fi

# --- 64 threads alive at once, each capturing stacks: libunwind's unw_backtrace keeps a 256 KiB
# cache per thread (18 MB more for these 64, about 280 MB for a thousand: black-box QA); past the
# first 16 threads alive, stacks are walked with a cursor instead. Every thread's stack reads the
# same either way, and the memory added stays bounded.
mkdir -p "$T/tr"
cat >"$T/tr/t.c" <<'CEOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static pthread_barrier_t b;
static long rss_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}
__attribute__((noinline)) void *leaf(int i)
{
	return malloc(48 + (size_t)(i & 7));
}
__attribute__((noinline)) void worker(void)
{
	for (int i = 0; i < 100; i++)
		free(leaf(i));
}
static void *run(void *a)
{
	worker();
	pthread_barrier_wait(&b);
	pthread_barrier_wait(&b);
	return a;
}
int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	pthread_t t[256];
	pthread_barrier_init(&b, NULL, (unsigned)n + 1);
	long before = rss_kb();
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, NULL);
	pthread_barrier_wait(&b);
	long during = rss_kb();
	pthread_barrier_wait(&b);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("threads %d rss_added_kb %ld\n", n, during - before);
	return 0;
}
CEOF
if ${CC:-cc} -O1 -g -pthread -o "$T/tr/t" "$T/tr/t.c" 2>"$T/tr.err"; then
	plain=$("$T/tr/t" 64 | sed 's/.* //')
	out=$(mp_run "$T/tr/d" "$T/tr/t" 64)
	added=$(sed 's/.* //' <<<"$out")
	expect_eq "64 threads' stacks, 48 walked by cursor: one stack, every allocation" \
		"clone3;start_thread;run;worker;leaf 6400" \
		"$("$REPORT" --folded --sample-index alloc_objects "$T/tr/d"/*.mprof 2>/dev/null | grep ';leaf ')"
	if [ -z "${SANITIZED:-}" ]; then
		[ $((added - plain)) -lt 10240 ] &&
			ok "64 threads capturing stacks: under 10 MiB more resident ($((added - plain)) kB)" ||
			not_ok "64 threads capturing stacks: under 10 MiB more resident" "$((added - plain)) kB"
	fi
else
	not_ok "the 64-thread program builds" "$(cat "$T/tr.err")"
fi
