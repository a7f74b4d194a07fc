#!/bin/bash
# SPDX-License-Identifier: MIT
# The shim's life cycle: the weak mapprof_dump() with and without the shim, fork, exec,
# MAPPROF_SIGNAL while threads allocate, MAPPROF_INTERVAL, dlopen/dlclose of an allocating
# library, allocating constructors (the first allocation of the process initialises the shim),
# the MAPPROF_OUT template and file modes. Programs: tests/programs/shim_{life,dl,ctor}.c.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$ROOT/tests/tools
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
LIFE=$PROGS/shim_life
CC=${CC:-cc}

py() { "$PY" - "$@"; }

# --- the weak API ----------------------------------------------------------------------------
out=$("$LIFE" dump 2>&1)
expect_eq "dump: MAPPROF_DUMP() without the shim returns -1" "dump=-1" "$out"
mkdir -p "$T/api"
out=$(env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/api/m.%p.%n" "$LIFE" dump 2>&1)
expect_eq "dump: MAPPROF_DUMP() with the shim returns 0" "dump=0" "$out"
py "$T/api" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("dump: ")
ds = m.load_dir(sys.argv[1])
t.eq("API dump then exit dump: seq 0 and 1 of one pid", [0, 1], [d["header"]["seq"] for d in ds])
t.eq("one pid", 1, len({d["header"]["pid"] for d in ds}))
t.ok("dump_ns increases", ds[0]["header"]["dump_ns"] <= ds[1]["header"]["dump_ns"])
EOF

# --- fork ------------------------------------------------------------------------------------
# 300 fork children under a storm of MAPPROF_SIGNAL at the process group: every child's dump is
# a fork child's (a signal pending as its dump thread started made it dump under the parent's
# identity, about 1 dump in 1,000 of the ~4,000 written here: nearly every run), and the report
# counts one process per pid.
mkdir -p "$T/storm"
setsid env LD_PRELOAD="$LIB" MAPPROF_SIGNAL=USR2 MAPPROF_OUT="$T/storm/m.%p.%n.mprof" \
	"$PROGS/shim_forkstorm" 300 >"$T/storm.out" 2>&1 &
spid=$!
for _ in $(seq 2000); do # until the shim's handler is installed: USR2 would kill it before
	c=$(awk '/^SigCgt/ { print $2 }' "/proc/$spid/status" 2>/dev/null)
	[ -n "$c" ] && [ $((0x$c & (1 << 11))) -ne 0 ] && break
	sleep 0.001
done
while kill -0 "$spid" 2>/dev/null; do kill -USR2 -- "-$spid" 2>/dev/null; done
wait "$spid"
storm=$(python3 -c "
import sys; sys.path.insert(0, '$ROOT/tests/tools'); import mprof_decode as md
ds = md.load_dir('$T/storm')
parent = min(d['header']['pid'] for d in ds if not d['header']['fork_child'])
bogus = [d['file'] for d in ds if d['header']['pid'] != parent and not d['header']['fork_child']]
print(len({d['header']['pid'] for d in ds}), len(bogus), bogus[:2])" 2>&1)
got=$("$REPORT" --maps --json "$T/storm"/*.mprof 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["processes"])' 2>&1)
expect_eq "fork children under a MAPPROF_SIGNAL storm: each dump its own process's" \
	"forks 300 bad 0|301 0 []|301" "$(cat "$T/storm.out")|$storm|$got"

# _Fork runs no atfork handlers (and may be called from a signal handler): its child kept the
# parent's profile (an exit dump with the parent's allocations). Its child now profiles nothing.
for how in "fork _Fork" "fork _Fork _exit"; do
	mkdir -p "$T/${how// /-}"
	out=$(mp_run "$T/${how// /-}" "$LIFE" $how 2>&1)
	expect_eq "$how: program output" "fork ok" "$out"
	py "$T/${how// /-}" "$how" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap(sys.argv[2] + ": ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump, the parent's (the child of _Fork profiles nothing)", 1, len(ds)):
    sp = {(k[0], k[2]): v for k, v in m.site_table(ds[0]).items() if k[0].startswith("site_")}
    t.eq("parent: its own site only", {("site_parent", 64): [100, 100]}, sp)
    t.eq("not a fork child", False, ds[0]["header"]["fork_child"])
EOF
done
mkdir -p "$T/fork"
out=$(mp_run "$T/fork" "$LIFE" fork 2>&1)
expect_eq "fork: program output" "fork ok" "$out"
py "$T/fork" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("fork: ")
ds = m.load_dir(sys.argv[1])
if t.eq("two dumps (parent, child)", 2, len(ds)):
    parent = [d for d in ds if not d["header"]["fork_child"]]
    child = [d for d in ds if d["header"]["fork_child"]]
    if t.eq("one has the fork-child flag", (1, 1), (len(parent), len(child))):
        p, c = parent[0], child[0]
        t.eq("child's ppid is the parent's pid", p["header"]["pid"], c["header"]["ppid"])
        sp = {(k[0], k[2]): v for k, v in m.site_table(p).items() if k[0].startswith("site_")}
        sc = {(k[0], k[2]): v for k, v in m.site_table(c).items() if k[0].startswith("site_")}
        t.eq("parent: its own site only", {("site_parent", 64): [100, 100]}, sp)
        t.eq("child: only post-fork work", {("site_child", 96): [30, 30]}, sc)
        t.ok("child totals cover only the child (30 calls, not the parent's 100)",
             30 <= c["totals"]["alloc_calls"] < 100, repr(c["totals"]))
        t.eq("child seq restarts at 0", 0, c["header"]["seq"])
        t.ok("child start_ns is the fork time", c["header"]["start_ns"] >= p["header"]["start_ns"])
EOF

# --- exec ------------------------------------------------------------------------------------
mkdir -p "$T/exec"
out=$(mp_run "$T/exec" "$LIFE" exec 2>&1)
expect_eq "exec: program output (from the new image)" "exec2 ok" "$out"
py "$T/exec" <<'EOF'
import os, sys
import mprof_decode as m
t = m.Tap("exec: ")
ds = m.load_dir(sys.argv[1])
pids = {d["header"]["pid"] for d in ds}
t.eq("all dumps have one pid (exec keeps it)", 1, len(pids))
names = [os.path.basename(d["file"]) for d in ds]
t.eq("file names distinct (the new image skipped taken names)", len(names), len(set(names)))
old = [d for d in ds if d["header"]["cmdline"][1:] == ["exec"]]
new = [d for d in ds if d["header"]["cmdline"][1:] == ["exec2"]]
t.ok("the old image's MAPPROF_DUMP() file is there", len(old) >= 1, names)
t.eq("the new image wrote one dump of its own", 1, len(new))
if old:
    so = {(k[0], k[2]): v for k, v in m.site_table(old[0]).items() if k[0].startswith("site_")}
    t.eq("old image: site_pre", {("site_pre", 128): [10, 10]}, so)
if new:
    sn = {(k[0], k[2]): v for k, v in m.site_table(new[0]).items() if k[0].startswith("site_")}
    t.eq("new image: only its own work", {("site_post", 160): [7, 7]}, sn)
    t.eq("new image: seq 0 in its header", 0, new[0]["header"]["seq"])
    t.ok("new image's file was not the old one's name",
         all(os.path.basename(new[0]["file"]) != os.path.basename(o["file"]) for o in old))
EOF

# Two threads call exit() at once: the second waits for the first, whose final dump is then
# always written (the second's exit_group cut it short in four runs of five).
got=""
for i in $(seq 20); do
	rm -rf "$T/exitrace"
	MAPPROF_RATE=4096 mp_run "$T/exitrace" "$PROGS/shim_exitrace" >/dev/null 2>&1
	got="$got$?:$(ls "$T/exitrace" | wc -l) "
done
expect_eq "exit() on two threads at once, 20 runs: status 5 and one dump each" \
	"$(printf '5:1 %.0s' $(seq 20))" "$got"
# ... and when the first one's exit handlers wait for the second (a pool's shutdown joins the
# worker that calls exit itself), the second goes on: status 3, as without the shim.
got=""
for i in 1 2 3; do
	rm -rf "$T/exitjoin" && mkdir -p "$T/exitjoin"
	MAPPROF_RATE=4096 timeout 20 env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/exitjoin/m.%p.%n" \
		"$PROGS/shim_exitrace" join >/dev/null 2>&1
	got="$got$? "
done
expect_eq "exit() from a worker that main's exit handler joins: no hang, status 3" "3 3 3 " "$got"
# ... and when the second one's exit comes from a handler on an alternate signal stack, where
# no dump is written, the first one's final dump still is (it was marked done).
got=""
for i in 1 2; do
	rm -rf "$T/exitalt" && mkdir -p "$T/exitalt"
	MAPPROF_RATE=4096 timeout 20 env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/exitalt/m.%p.%n" \
		"$PROGS/shim_exitrace" alt >/dev/null 2>&1
	got="$got$?:$(ls "$T/exitalt" | wc -l) "
done
expect_eq "exit() from an alternate-stack handler during main's exit: status 3, one dump" \
	"3:1 3:1 " "$got"

# A fork child that allocates, then execs: its dump before the exec is written at every rate,
# sampled or not (at rate 0 it was dropped for want of a sample, and its calls lost from the
# totals).
for rate in 0 1; do
	mkdir -p "$T/forkexec$rate"
	out=$(MAPPROF_RATE=$rate mp_run "$T/forkexec$rate" "$LIFE" forkexec 2>&1)
	expect_eq "fork then exec (rate $rate): program output" "exec2 ok
forkexec ok" "$out"
	py "$T/forkexec$rate" "$rate" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("fork then exec (rate %s): " % sys.argv[2])
ds = m.load_dir(sys.argv[1])
cmd = sorted(tuple(d["header"]["cmdline"][1:]) for d in ds)
t.eq("three dumps: parent, child before its exec, the new image",
     sorted([("forkexec",), ("forkexec",), ("exec2",)]), cmd)
pids = {d["header"]["pid"] for d in ds}
t.eq("two processes", 2, len(pids))
new = {d["header"]["pid"] for d in ds if d["header"]["cmdline"][1:] == ["exec2"]}
child = [d for d in ds if d["header"]["cmdline"][1:] == ["forkexec"] and d["header"]["pid"] in new]
if t.eq("the child's own dump", 1, len(child)):
    t.ok("the child's calls in its totals (30 x site_child at least)",
         child[0]["totals"]["alloc_calls"] >= 30, str(child[0]["totals"]))
EOF
done

# execveat (glibc 2.34): the old image's dump before the exec, as for the other exec forms.
mkdir -p "$T/execat"
out=$(mp_run "$T/execat" "$LIFE" execat 2>&1)
expect_eq "execveat: program output (from the new image)" "exec2 ok" "$out"
py "$T/execat" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("execveat: ")
ds = m.load_dir(sys.argv[1])
old = [d for d in ds if d["header"]["cmdline"][1:] == ["execat"]]
if t.eq("the old image dumped before the exec", 1, len(old)):
    so = {(k[0], k[2]): v for k, v in m.site_table(old[0]).items() if k[0].startswith("site_")}
    t.eq("old image: site_pre", {("site_pre", 128): [10, 10]}, so)
EOF

# daemon(3): its parent leaves through glibc's own _exit; the parent's dump is written before.
mkdir -p "$T/daemon"
out=$(mp_run "$T/daemon" "$LIFE" daemon "$T/daemon.done" 2>&1)
for _ in $(seq 100); do [ -e "$T/daemon.done" ] && break; sleep 0.1; done
sleep 0.3 # the daemon's exit dump after its file
expect_eq "daemon: parent exits 0, the daemon finishes" "|yes" "$out|$([ -e "$T/daemon.done" ] && echo yes)"
py "$T/daemon" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("daemon: ")
ds = m.load_dir(sys.argv[1])
par = [d for d in ds if not d["header"]["flags"] & 4]
kid = [d for d in ds if d["header"]["flags"] & 4]
sites = lambda d: {(k[0], k[2]): v for k, v in m.site_table(d).items() if k[0].startswith("site_")}
if t.eq("the parent's dump", 1, len(par)):
    t.eq("parent: site_pre", {("site_pre", 128): [10, 10]}, sites(par[0]))
if t.eq("the daemon's dump", 1, len(kid)):
    t.eq("daemon: only its own work", {("site_child", 96): [30, 30]}, sites(kid[0]))
EOF

# main() leaves with pthread_exit: /proc/self/{exe,cmdline,fd} of the zombie leader read empty;
# the dump still names the program, its command line and its functions.
mkdir -p "$T/pexit"
mp_run "$T/pexit" "$LIFE" pexit >/dev/null 2>&1
py "$T/pexit" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("pthread_exit from main: ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    h = ds[0]["header"]
    t.ok("the executable and command line in the header",
         h["exe"].endswith("/shim_life") and h["cmdline"][1:] == ["pexit"], (h["exe"], h["cmdline"]))
    so = {(k[0], k[2]): v for k, v in m.site_table(ds[0]).items() if k[0].startswith("site_")}
    t.eq("the late thread's site by name", {("site_post", 160): [7, 7]}, so)
EOF

# A program's umask(0777): its dump is 0600 all the same (it was 0000, unreadable).
mkdir -p "$T/umask"
mp_run "$T/umask" "$LIFE" umask >/dev/null 2>&1
expect_eq "umask 0777: the dump is created 0600" "600" "$(stat -c %a "$T"/umask/*.mprof 2>&1)"

# --- signal ----------------------------------------------------------------------------------
mkdir -p "$T/sig"
out=$(timeout 60 env LD_PRELOAD="$LIB" MAPPROF_SIGNAL=USR2 MAPPROF_RATE=4096 \
	MAPPROF_OUT="$T/sig/m.%p.%n" "$LIFE" signal "$T/sig" 2>&1)
rc=$?
expect_eq "signal: the program's own SIGUSR1 handler ran 3 times, exit 0" "usr1=3|0" "$out|$rc"
py "$T/sig" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("signal: ")
ds = m.load_dir(sys.argv[1])
t.eq("3 signal dumps + the exit dump, seq 0..3", [0, 1, 2, 3], [d["header"]["seq"] for d in ds])
t.ok("the dumps taken while 4 threads allocate decode and count threads",
     all(d["totals"]["threads"] >= 1 for d in ds) and ds[-1]["totals"]["threads"] >= 5,
     [d["totals"]["threads"] for d in ds])
t.ok("cumulative counts grow from dump to dump",
     all(a["totals"]["alloc_calls"] <= b["totals"]["alloc_calls"] for a, b in zip(ds, ds[1:])))
EOF
# Without MAPPROF_SIGNAL the shim installs no handler: SIGUSR2 keeps its default (terminate).
mkdir -p "$T/nosig"
rc=$("$PY" -c 'import subprocess, sys
r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
print(r.returncode)' "$T/sig.out" env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/nosig/n.%p.%n" "$PY" -c \
	'import os, signal; os.kill(os.getpid(), signal.SIGUSR2); print("survived")')
expect_eq "signal: without MAPPROF_SIGNAL, SIGUSR2 keeps its default action" "-12|" \
	"$rc|$(cat "$T/sig.out")"

# --- interval --------------------------------------------------------------------------------
mkdir -p "$T/int"
out=$(env LD_PRELOAD="$LIB" MAPPROF_INTERVAL=1 MAPPROF_OUT="$T/int/m.%p.%n" "$LIFE" interval 2500 2>&1)
expect_eq "interval: program output" "interval ok" "$out"
py "$T/int" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("interval: ")
ds = m.load_dir(sys.argv[1])
seqs = [d["header"]["seq"] for d in ds]
# 2.5 s at 1 s intervals: 2 interval dumps (3 if a dump is late) + the exit dump.
t.ok("2-3 interval dumps and the exit dump, consecutive seqs", seqs in ([0, 1, 2], [0, 1, 2, 3]), seqs)
ns = [d["header"]["dump_ns"] for d in ds]
gaps = [(b - a) / 1e9 for a, b in zip(ns, ns[1:])]
t.ok("interval dumps about 1 s apart", all(0.8 < g < 1.6 for g in gaps[:1]), gaps)
EOF

# --- _exit / _Exit: no destructors, still one final dump per process (not for a vfork child)
mkdir -p "$T/ex"
out=$(mp_run "$T/ex" "$PROGS/shim_exit" 2>&1)
rc=$?
expect_eq "_exit: output and status unchanged" "child 3,vfork child 4,5" "$(tr '\n' ',' <<<"$out")$rc"
py "$T/ex" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("_exit: ")
ds = m.load_dir(sys.argv[1])
t.eq("two dumps: the fork child's and the parent's (none from the vfork child)", 2, len(ds))
sites = {}
for d in ds:
    for (fn, kind, size), v in m.site_table(d).items():
        if fn in ("child_work", "parent_work"):
            sites[(fn, size, d["header"]["fork_child"])] = v
t.eq("each process's allocations in its own dump",
     {("child_work", 77, True): [30, 30], ("parent_work", 99, False): [10, 10]}, sites)
EOF

# --- exit() in a vfork child after a failed exec (tests/programs/shim_vfork_exit.c): it runs the
# parent's exit handlers in the parent's memory. No dump from the child (it wrote the parent's
# state under its own pid, and the parent then wrote none); the parent's exit() writes its final
# dump; a parent that returns from main, whose handlers are gone, writes none; one line says so.
for how in exit return; do
mkdir -p "$T/vf_$how"
out=$(mp_run "$T/vf_$how" "$PROGS/shim_vfork_exit" $how 2>"$T/vf_$how.err")
rc=$?
parent=$(awk '{print $2}' <<<"$out")
expect_eq "vfork+exit ($how): output and status unchanged" "status 127 0" \
	"$(awk '{print $5, $6}' <<<"$out") $rc"
py "$T/vf_$how" "$parent" "$how" <<'EOF'
import sys
import mprof_decode as m
how = sys.argv[3]
t = m.Tap("vfork+exit (%s): " % how)
ds = m.load_dir(sys.argv[1])
if how == "return":
    t.eq("no dump (none from the child under its pid)", [], [d["file"] for d in ds])
else:
    t.eq("every dump is the parent's", {int(sys.argv[2])}, {d["header"]["pid"] for d in ds})
    last = max(ds, key=lambda d: d["header"]["seq"])
    calls = {fn: v[0] for (fn, kind, size), v in m.site_table(last).items()
             if fn in ("before_vfork", "after_vfork")}
    t.eq("the final dump holds the parent's allocations",
         {"before_vfork": 100, "after_vfork": 5000}, calls)
EOF
if [ $how = return ]; then
	expect_eq "vfork+exit (return): one line says the final dump needs exit()" 1 \
		"$(grep -c '^mapprof: a vfork child called exit()' "$T/vf_$how.err")"
else
	expect_eq "vfork+exit (exit): one line on stderr" 1 "$(grep -c . "$T/vf_$how.err")"
fi
done

# --- quick_exit: its handlers run, then glibc's own _exit; the dump comes after the handlers
mkdir -p "$T/qx"
out=$(mp_run "$T/qx" "$PROGS/shim_exit" quick 2>&1)
rc=$?
expect_eq "quick_exit: output and status unchanged" "quick handler 6" "$out $rc"
py "$T/qx" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("quick_exit: ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    sites = {(fn, size): v for (fn, kind, size), v in m.site_table(ds[0]).items()
             if fn in ("quick_work", "quick_handler")}
    t.eq("main's and the handler's allocations", {("quick_work", 55): [12, 12],
                                                   ("quick_handler", 33): [4, 4]}, sites)
EOF

# --- exec attempts where there is no file (a PATH search by hand) fail: no dump for each
mkdir -p "$T/xf"
out=$(mp_run "$T/xf" "$PROGS/shim_execfail" 2>&1)
rc=$?
expect_eq "200 failed execs: output and status unchanged" "ENOENT 100 ENOTDIR 100|0" "$out|$rc"
expect_eq "200 failed execs: one dump, at exit" 1 "$(ls "$T/xf" | wc -l)"

# --- exit() from the executable's destructor: glibc's nested exit ended the process inside the
# loader's destructor loop, before ours armed the final dump: no dump, and nothing said so.
for mode in dtor dtor-exit; do
	mkdir -p "$T/dx_$mode"
	out=$(mp_run "$T/dx_$mode" "$PROGS/shim_dtorexit" "$mode" 2>&1)
	rc=$?
	expect_eq "exit(9) from a destructor ($mode): status 9, nothing printed" "9|" "$rc|$out"
	py "$T/dx_$mode" "$mode" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("exit from a destructor (%s): " % sys.argv[2])
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    sites = {(fn, size): v for (fn, kind, size), v in m.site_table(ds[0]).items()
             if fn in ("main_work", "dtor_work")}
    t.eq("main's and the destructor's allocations", {("main_work", 88): [10, 10],
                                                      ("dtor_work", 44): [3, 3]}, sites)
EOF
done
# ... but an exit() from a constructor run by dlopen is no exit handler: the program's atexit
# handlers still run, and the dump comes after them (an early one read their frees as leaks).
mkdir -p "$T/plug"
cat >"$T/plug/plug.c" <<'EOF'
#include <stdlib.h>
__attribute__((constructor)) static void bye(void) { exit(3); }
EOF
cat >"$T/plug/host.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
static void *big;
static void drop(void) { free(big); }
int main(int argc, char **argv) {
	big = malloc(1 << 20);
	atexit(drop);
	dlopen(argv[1], RTLD_NOW);
	return 0;
}
EOF
$CC -shared -fPIC -o "$T/plug/plug.so" "$T/plug/plug.c" && $CC -o "$T/plug/host" "$T/plug/host.c" -ldl ||
	not_ok "exit from a dlopen'd constructor: the test's programs build"
mkdir -p "$T/plugd"
mp_run "$T/plugd" "$T/plug/host" "$T/plug/plug.so" >/dev/null 2>&1
rc=$?
py "$T/plugd" "$rc" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("exit from a dlopen'd constructor: ")
ds = m.load_dir(sys.argv[1])
t.eq("status 3, one dump", (3, 1), (int(sys.argv[2]), len(ds)))
if ds:
    live = [(fn, size, v) for (fn, kind, size), v in m.site_table(ds[0]).items() if size == 1 << 20]
    t.eq("the atexit handler's free is in it (1 MiB allocated, none in use)", [1, 0],
         [sum(v[0] for _, _, v in live), sum(v[1] for _, _, v in live)])
EOF

# --- fork handlers of a library (registered by its constructor, which runs before ours): ours
# ran first and held the profiler's locks while the library's prepare handler waited for its
# own lock, held by a worker waiting in malloc for one of ours (the fork hung); and the
# handlers' allocations went unrecorded. Ours are now registered first, as glibc's malloc does.
mkdir -p "$T/afk"
cat >"$T/afk/lib.c" <<'EOF'
#include <pthread.h>
#include <stdlib.h>
pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
void *kept[1000];
int nk;
static void prep(void) { pthread_mutex_lock(&mu); for (int i = 0; i < 3; i++) kept[nk++] = malloc(111); }
static void parent(void) { for (int i = 0; i < 5; i++) kept[nk++] = malloc(222); pthread_mutex_unlock(&mu); }
static void child(void) { for (int i = 0; i < 7; i++) kept[nk++] = malloc(333); pthread_mutex_unlock(&mu); }
__attribute__((constructor)) static void init(void) { pthread_atfork(prep, parent, child); }
void *lib_alloc(size_t n) { pthread_mutex_lock(&mu); void *p = malloc(n); pthread_mutex_unlock(&mu); return p; }
void lib_free(void *p) { pthread_mutex_lock(&mu); free(p); pthread_mutex_unlock(&mu); }
EOF
cat >"$T/afk/main.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
void *lib_alloc(size_t n);
void lib_free(void *p);
extern void *kept[];
extern int nk;
static volatile int stop;
static void *work(void *a) {
	unsigned s = (unsigned)(size_t)a;
	while (!stop) { s = s * 1103515245 + 12345; lib_free(lib_alloc(1000 + s % 3000)); }
	return NULL;
}
int main(void) {
	pthread_t th[4];
	for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, work, (void *)(size_t)(i + 1));
	for (int i = 0; i < 20; i++) { pid_t p = fork(); if (p == 0) _exit(0); waitpid(p, NULL, 0); }
	stop = 1;
	for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
	for (int i = 0; i < nk; i++) free(kept[i]);
	printf("20 forks, %d blocks\n", nk);
	return 0;
}
EOF
$CC -shared -fPIC -o "$T/afk/liblk.so" "$T/afk/lib.c" -pthread &&
	$CC -o "$T/afk/main" "$T/afk/main.c" -L"$T/afk" -llk -Wl,-rpath,"$T/afk" -pthread ||
	not_ok "fork handlers of a library: the test's programs build"
mkdir -p "$T/afkd"
out=$(MAPPROF_RATE=1 mp_run "$T/afkd" timeout -s KILL 60 "$T/afk/main" 2>&1)
rc=$?
expect_eq "fork handlers of a library, workers allocating under its lock: no hang" \
	"0|20 forks, 160 blocks" "$rc|$out"
py "$T/afkd" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("fork handlers of a library: ")
ds = m.load_dir(sys.argv[1])
mine = [d for d in ds if d["header"]["exe"].endswith("/afk/main")]  # not timeout's
par = [d for d in mine if not d["header"]["fork_child"]]
kids = [d for d in mine if d["header"]["fork_child"]]
t.eq("the parent's dump and the 20 children's", (1, 20), (len(par), len(kids)))
def sized(d):
    out = {}
    for (fn, kind, size), v in m.site_table(d).items():
        if size in (111, 222, 333):
            c = out.setdefault(size, [0, 0])
            c[0] += v[0]
            c[1] += v[1]
    return out
if par:
    t.eq("the parent: prepare's and parent's allocations, all freed",
         {111: [60, 0], 222: [100, 0]}, sized(par[0]))
t.eq("each child: its child handler's 7 allocations, kept",
     [{333: [7, 7]}] * len(kids), [sized(d) for d in kids])
EOF

# --- exit() from a SIGTERM handler that interrupted the profiler cannot dump (its locks may be
# held): one mapprof: line says so. Either one dump and no line, or no dump and that line.
bad=""
for i in 1 2 3 4 5 6 7 8; do
	mkdir -p "$T/term$i"
	mp_run "$T/term$i" "$PROGS/shim_dtorexit" term >/dev/null 2>"$T/term$i.err"
	rc=$?
	n=$(ls "$T/term$i" | wc -l)
	l=$(grep -c '^mapprof: no final dump: exit() ran in a signal handler that interrupted the profiler' "$T/term$i.err")
	o=$(grep -vc '^mapprof: no final dump' "$T/term$i.err")
	[ "$rc|$o" = "7|0" ] && { [ "$n|$l" = "1|0" ] || [ "$n|$l" = "0|1" ]; } ||
		bad="$bad run $i: status $rc, $n dumps, $l lines, $o other lines;"
done
[ -z "$bad" ] && ok "exit(7) from a SIGTERM handler: status 7; a dump, or one line saying why not (8 runs)" ||
	not_ok "exit(7) from a SIGTERM handler: status 7; a dump, or one line saying why not" "$bad"

# --- a child of a raw clone (no fork handlers) with a writer thread in the parent: its exit
# waited for a thread it does not have, forever.
for v in MAPPROF_INTERVAL=1 MAPPROF_SIGNAL=USR2; do
	mkdir -p "$T/rc_${v%%=*}"
	out=$(timeout -s KILL 20 env LD_PRELOAD="$LIB" "$v" MAPPROF_OUT="$T/rc_${v%%=*}/m.%p.%n" \
		"$PROGS/shim_rawclone" 2>&1)
	expect_eq "raw clone child with $v: it ends, the parent reports its status" \
		"child status 4|0" "$out|$?"
done
# The same as pid 1 of a pid namespace, the child pid 1 of another: the same pid in both.
if unshare -p -f true 2>/dev/null; then
	mkdir -p "$T/rc_ns"
	out=$(timeout -s KILL 20 unshare -p -f env LD_PRELOAD="$LIB" MAPPROF_INTERVAL=1 \
		MAPPROF_OUT="$T/rc_ns/m.%p.%n" "$PROGS/shim_rawclone" newpid 2>&1)
	expect_eq "raw clone child, both pid 1 of their namespaces: it ends" \
		"child status 4|0" "$out|$?"
else
	ok "raw clone child in pid namespaces # SKIP unshare -p not permitted"
fi

# --- a signal handler that calls _exit or exit while the main thread is inside malloc: the
# final dump read the allocator's statistics, which wait for malloc's lock: the process hung
# (about one run in two). 10 runs each, at the default rate: every one must exit 0, and most
# write their dump (not one whose handler interrupted the profiler itself, a sampled call: that
# one writes none, as the README says; about one run in 40).
for how in _exit exit; do
	hung=0 dumps=0
	for i in $(seq 10); do
		mkdir -p "$T/sx_${how}_$i"
		timeout -s KILL 20 env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/sx_${how}_$i/m.%p.%n" \
			"$PROGS/shim_sigexit" "$how" >/dev/null 2>&1 || hung=$((hung + 1))
		[ -z "$(ls "$T/sx_${how}_$i")" ] || dumps=$((dumps + 1))
	done
	expect_eq "$how from a handler that interrupted malloc: 10 of 10 runs end" 0 "$hung"
	check "$how from a handler that interrupted malloc: most runs write their dump ($dumps of 10)" \
		test "$dumps" -ge 6
done

# A library the program links registers a handler in its constructor (before ours would run):
# the dump still comes after it.
cat >"$T/libqx.c" <<'EOF'
#include <stdlib.h>
void *volatile keepq;
__attribute__((noinline)) void lib_quick_handler(void)
{
	for (int i = 0; i < 7; i++)
		keepq = malloc(77);
}
__attribute__((constructor)) static void qctor(void) { at_quick_exit(lib_quick_handler); }
EOF
printf '#include <stdlib.h>\nint main(void) { quick_exit(3); }\n' >"$T/qxmain.c"
if ${CC:-cc} -O1 -g -shared -fPIC -o "$T/libqx.so" "$T/libqx.c" 2>"$T/cc.err" &&
	${CC:-cc} -O1 -g -o "$T/qxmain" "$T/qxmain.c" -Wl,--no-as-needed -L"$T" -lqx \
		-Wl,-rpath,"$T" 2>>"$T/cc.err"; then
	mkdir -p "$T/qxl"
	mp_run "$T/qxl" "$T/qxmain"
	expect_eq "quick_exit, handler of a linked library: exit status unchanged" 3 $?
	py "$T/qxl" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("quick_exit, handler of a linked library: ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    sites = {(fn, size): v for (fn, kind, size), v in m.site_table(ds[0]).items()
             if fn == "lib_quick_handler"}
    t.eq("its allocations in the dump", {("lib_quick_handler", 77): [7, 7]}, sites)
EOF
else
	not_ok "quick_exit library builds" "$(cat "$T/cc.err")"
fi

# --- exit: the final dump comes after the destructors of the libraries the program links (the
# loader runs a preloaded object's destructors first): a cache freed there is no leak.
cat >"$T/libfini.c" <<'EOF'
#include <stdlib.h>
static void *cache[100];
__attribute__((noinline)) void fini_lib_fill(void)
{
	for (int i = 0; i < 100; i++)
		cache[i] = malloc(1000);
}
__attribute__((destructor)) static void fini_lib_dtor(void)
{
	for (int i = 0; i < 100; i++)
		free(cache[i]);
}
EOF
printf 'void fini_lib_fill(void);\nint main(void) { fini_lib_fill(); return 4; }\n' >"$T/finimain.c"
if $CC -O1 -g -shared -fPIC -o "$T/libfini.so" "$T/libfini.c" 2>"$T/cc.err" &&
	$CC -O1 -g -o "$T/finimain" "$T/finimain.c" -L"$T" -lfini -Wl,-rpath,"$T" 2>>"$T/cc.err"; then
	mkdir -p "$T/fini"
	mp_run "$T/fini" "$T/finimain"
	expect_eq "exit: exit status unchanged" 4 $?
	py "$T/fini" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("exit, a linked library frees in its destructor: ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    sites = {(fn, size): v for (fn, kind, size), v in m.site_table(ds[0]).items()
             if fn == "fini_lib_fill"}
    t.eq("its 100 blocks allocated, none in use", {("fini_lib_fill", 1000): [100, 0]}, sites)
EOF
else
	not_ok "exit: destructor library builds" "$(cat "$T/cc.err")"
fi

# --- the shim opened with dlopen and closed again (not its use, but no crash at exit: the exit
# dump's handler lives in it, so it stays mapped)
cat >"$T/dlself.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 1;
	printf("dlclose %d\n", dlclose(h));
	return 0;
}
EOF
if $CC -O1 -g -o "$T/dlself" "$T/dlself.c" -ldl 2>"$T/cc.err"; then
	out=$(cd "$T" && timeout 30 "$T/dlself" "$LIB" 2>"$T/dlself.err")
	expect_eq "the shim dlopen'ed and dlclose'd: exit status and output unchanged" \
		"dlclose 0|0" "$out|$?"
	# not preloaded, it sees no call, and says so
	expect_eq "the shim dlopen'ed: one line says nothing is profiled" \
		"1 1" "$(wc -l <"$T/dlself.err") $(grep -c '^mapprof: malloc here is not' "$T/dlself.err")"
else
	not_ok "dlself builds" "$(cat "$T/cc.err")"
fi

# --- _exit from a SIGSEGV handler on an 8 KiB alternate stack: the exit status stays
mkdir -p "$T/segv"
out=$(mp_run "$T/segv" "$PROGS/shim_segv" 8192 2>&1)
rc=$?
expect_eq "_exit on a small signal stack: output and exit status unchanged" "crashed 3" \
	"$(grep -v '^mapprof:' <<<"$out") $rc"

# --- a handler on an alternate stack: a dump (mapprof_dump, exit, _exit, exec) on 8 KiB, of
# which the kernel's frame takes up to 3.6, ran out of stack (exit: a crash) or was skipped
# silently (_exit, exec) on any size. Now written where there is room, else one line says why.
# SS_AUTODISARM: the kernel reports such a stack disabled inside its handler (it crashed still).
for how in dump exit _exit malloc exec dump:autodisarm exit:autodisarm _exit:autodisarm \
	malloc:autodisarm; do
	flag=${how#*:}
	[ "$flag" = "$how" ] && flag=
	how=${how%%:*}
	for size in 8192 65536; do
		d="$T/alt_${how}_${size}$flag"
		plain=$("$PROGS/shim_altstack" $size $how $flag 2>&1)
		prc=$?
		# without the shim, MAPPROF_DUMP() dumps nothing; with it, where there is room
		[ "$how$size" = dump65536 ] && plain=${plain/not dumped/dumped}
		out=$(mp_run "$d" "$PROGS/shim_altstack" $size $how $flag 2>"$d.err")
		rc=$?
		expect_eq "alternate stack of $size${flag:+ $flag}, $how: output and exit status unchanged" \
			"$plain $prc" "$(cat - "$d.err" <<<"$out" | grep -v '^mapprof:') $rc"
		said=$(grep -c "^mapprof: no dump: .* ran on an alternate signal stack with [0-9]* bytes left" "$d.err")
		n=$(ls "$d" | wc -l)
		if [ "$how" = malloc ]; then
			expect_eq "alternate stack of $size${flag:+ $flag}, malloc there: the final dump, no line" "1 0" "$n $said"
		elif [ "$size" = 8192 ]; then
			# dump: then the final one; exec: echo's own
			expect_eq "alternate stack of 8192${flag:+ $flag}, $how: no dump there, one line says why" \
				"$([ $how = dump ] || [ $how = exec ] && echo 1 || echo 0) 1" "$n $said"
		else
			expect_eq "alternate stack of 65536${flag:+ $flag}, $how: the dump is written" \
				"$([ $how = dump ] || [ $how = exec ] && echo 2 || echo 1) 0" "$n $said"
		fi
	done
done
py "$T/alt_malloc_8192" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("alternate stack of 8192: ")
d = m.load_dir(sys.argv[1])[0]
t.eq("the 64 allocations made on it are sampled (exact mode), with a stack", 64,
     sum(s["alloc_count"] for s in d["samples"] if 100 <= s["size"] < 164))
EOF

# --- fork children that leave with _exit: each writes its counts; they sample independently
mkdir -p "$T/fk"
out=$(env LD_PRELOAD="$LIB" MAPPROF_SEED=5 MAPPROF_OUT="$T/fk/m.%p.%n.mprof" "$PROGS/shim_forkkids" 2>&1)
expect_eq "fork children: output unchanged" "children 60" "$out"
py "$T/fk" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("fork children: ")
ds = [d for d in m.load_dir(sys.argv[1]) if d["header"]["fork_child"]]
t.eq("a dump from each of the 60 children", 60, len(ds))
t.ok("each with its exact 300 allocations of 1000 B at least",
     all(d["totals"]["alloc_calls"] >= 300 and d["totals"]["alloc_bytes"] >= 300000 for d in ds))
# Each child samples its 300 kB with p = 1 - exp(-300000/524288) = 0.436 of at least one
# point: Binomial(60, 0.436), mean 26, sd 3.8. Outside [8, 52] by chance: below 1e-5.
hit = sum(1 for d in ds if d["totals"]["sampled"] > 0)
t.ok("children sample independently: %d of 60 took a sample (not all alike)" % hit, 8 <= hit <= 52)
EOF

# --- a C++ library loaded RTLD_LOCAL by a C program (a plugin; a Python extension through ctypes):
# its libstdc++ is outside the global scope, where dlsym(RTLD_NEXT) looks. operator new fell back
# to malloc (NULL for an impossible size instead of bad_alloc), the new-handler was dropped, and
# the failed lookups' dlerror strings were counted at the program's first new.
out=$(mp_run "$T/cxxlocal" "$PROGS/shim_cxxlocal_host" "$PROGS/shim_cxxlocal" 2>&1)
rc=$?
expect_eq "C++ library loaded RTLD_LOCAL: bad_alloc and the new-handler as without the shim" \
	"0 host: operator new as without the shim" "$rc $(tail -n 1 <<<"$out")"
py "$T/cxxlocal" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("C++ library loaded RTLD_LOCAL: ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    names = m.resolve_stacks(ds[0])
    s = {}
    for x in ds[0]["samples"]:  # every sample with cxx_site anywhere in its stack
        if "cxx_site" in names[x["stack"]]:
            v = s.setdefault((names[x["stack"]][0], x["size"]), [0, 0])
            v[0] += x["alloc_count"]
            v[1] += x["inuse_count"]
    t.eq("under cxx_site exactly its 25 new int[10], nothing of the shim's lookups",
         {("cxx_site", 40): [25, 25]}, s)
EOF

# --- dlopen / dlclose ------------------------------------------------------------------------
PF="-O1 -g -fno-omit-frame-pointer -I$ROOT/include"
if $CC $PF -DSHIM_AS_LIB -shared -fPIC -o "$T/libshimdl.so" "$ROOT/tests/programs/shim_dl.c" \
	2>"$T/cc.err" && $CC $PF -DSHIM_AS_LIB -DSHIM_DL_B -shared -fPIC -o "$T/libshimdlb.so" \
	"$ROOT/tests/programs/shim_dl.c" 2>>"$T/cc.err"; then
	mkdir -p "$T/dl"
	out=$(mp_run "$T/dl" "$PROGS/shim_dl" "$T/libshimdl.so" 2>&1)
	expect_eq "dlopen: program output" "dl ok" "$out"
	py "$T/dl" "$T/libshimdl.so" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("dlopen: ")
ds = m.load_dir(sys.argv[1])
if t.eq("API dump while loaded + exit dump", 2, len(ds)):
    a, b = ds
    t.ok("library listed in OBJECTS while loaded",
         any(o["path"] == sys.argv[2] for o in a["objects"]))
    sa = {(k[0], k[2]): v for k, v in m.site_table(a).items() if k[0] == "dl_site"}
    t.eq("dl_site resolved by name through the library's object", {("dl_site", 300): [40, 40]}, sa)
    t.ok("library gone from OBJECTS after dlclose",
         not any(o["path"] == sys.argv[2] for o in b["objects"]))
    t.eq("library listed in UNLOADED after dlclose, once per close",
         [sys.argv[2]] * 2, [o["path"] for o in b.get("unloaded", [])])
    sb = {(k[0], k[2]): v for k, v in m.site_table(b).items() if k[2] == 300}
    t.eq("exit dump: both rounds at dl_site, through the unloaded object",
         {("dl_site", 300): [80, 0]}, sb)
EOF
	# A different library loaded where the first one was: each keeps its own stacks.
	mkdir -p "$T/dlb"
	out=$(mp_run "$T/dlb" "$PROGS/shim_dl" "$T/libshimdl.so" "$T/libshimdlb.so" 2>&1)
	expect_eq "dlopen over an unloaded library: program output" "dl ok" "$out"
	py "$T/dlb" "$T/libshimdl.so" "$T/libshimdlb.so" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("dlopen over an unloaded library: ")
ds = m.load_dir(sys.argv[1])
if t.eq("two dumps", 2, len(ds)):
    b = ds[1]
    un = {o["path"]: o for o in b.get("unloaded", [])}
    t.eq("both libraries listed in UNLOADED", sorted(sys.argv[2:]), sorted(un))
    if len(un) == 2:
        a, bb = un[sys.argv[2]], un[sys.argv[3]]
        t.ok("the second library was mapped over the first (the case under test)",
             a["start"] < bb["limit"] and bb["start"] < a["limit"], (a, bb))
    s = {(k[0], k[2]): v for k, v in m.site_table(b).items() if k[2] in (300, 301)}
    t.eq("each library's allocations at its own function",
         {("dl_site", 300): [40, 0], ("dl_site_b", 301): [40, 0]}, s)
EOF
	# dlopen("./libshimdl.so"): the dump names the file, not a path relative to somewhere
	mkdir -p "$T/dlrel"
	out=$(cd "$T" && LIB=$LIB mp_run "$T/dlrel" "$PROGS/shim_dl" ./libshimdl.so 2>&1)
	expect_eq "dlopen by a relative path: program output" "dl ok" "$out"
	paths=$(for f in "$T"/dlrel/*.mprof; do "$PY" "$ROOT/tests/tools/mprof_decode.py" "$f"; done | grep -o '"path": "[^"]*shimdl[^"]*"' |
		sort -u)
	expect_eq "dlopen by a relative path: the object's absolute path in the dump" \
		"\"path\": \"$T/libshimdl.so\"" "$paths"
	folded=$("$REPORT" --folded --sample-index alloc_space "$(ls "$T"/dlb/*.1.mprof)" 2>&1 |
		grep -o 'dl_site[_b]* [0-9]*$' | sort | tr '\n' ' ')
	expect_eq "dlopen over an unloaded library: mapprof-report names both functions" \
		"dl_site 12000 dl_site_b 12040 " "$folded"
	# Closes in two threads at once are each tracked once; a library reloaded at 1100
	# addresses (more ranges than the old fixed table of 1024 held) keeps its name at each.
	$CC $PF -DSHIM_AS_LIB -shared -fPIC -o "$T/libshimdlc.so" "$ROOT/tests/programs/shim_dl.c"
	mkdir -p "$T/dls" "$T/dlm"
	out=$(mp_run "$T/dls" "$PROGS/shim_dlstress" race "$T/libshimdl.so" "$T/libshimdlb.so" \
		"$T/libshimdlc.so" 200 2>&1)
	expect_eq "dlclose in two threads: program output" "dlstress ok" "$out"
	# dlclose while another thread's library constructor closes one under the loader's lock
	$CC $PF -DSHIM_AS_LIB -DSHIM_DL_CTOR -shared -fPIC -o "$T/libshimdlctor.so" \
		"$ROOT/tests/programs/shim_dl.c"
	mkdir -p "$T/dlk"
	out=$(mp_run "$T/dlk" timeout 30 "$PROGS/shim_dlstress" ctor "$T/libshimdl.so" \
		"$T/libshimdlctor.so" 2>&1)
	expect_eq "dlclose while a constructor closes a library: no deadlock" "dlstress ok" "$out"
	out=$(mp_run "$T/dlm" "$PROGS/shim_dlstress" move "$T/libshimdl.so" 1100 2>&1)
	expect_eq "dlclose and reopen at 1100 addresses: program output" "dlstress ok" "$out"
	py "$T/dls" "$T/dlm" "$T/libshimdl.so" "$T/libshimdlb.so" <<'EOF'
import collections, sys
import mprof_decode as m
t = m.Tap("dlclose under load: ")
d = m.load_dir(sys.argv[1])[-1]
n = collections.Counter(o["path"] for o in d.get("unloaded", []))
t.eq("each close of A and B recorded once", (200, 200), (n[sys.argv[3]], n[sys.argv[4]]))
s = {(k[0], k[2]): v for k, v in m.site_table(d).items() if k[2] in (300, 301)}
# A library mapped where another thread's close freed room a moment earlier, before that close
# was recorded, may have its first stacks named after the closed one (README): at most 1%.
right = s.get(("dl_site", 300), [0])[0] + s.get(("dl_site_b", 301), [0])[0]
t.ok("all 16000 allocations recorded, at least 99%% at their own library's function (%d)"
     % right, sum(v[0] for v in s.values()) == 16000 and right >= 15840)
d = m.load_dir(sys.argv[2])[-1]
t.eq("1100 distinct ranges recorded", 1100, len({(o["start"], o["limit"]) for o in d.get("unloaded", [])}))
s = {(k[0], k[2]): v for k, v in m.site_table(d).items() if k[2] == 300}
t.eq("reloaded at 1100 addresses: every allocation at dl_site", {("dl_site", 300): [44000, 0]}, s)
EOF
else
	not_ok "dlopen: cannot build the test library" "$(cat "$T/cc.err")"
fi

# --- allocating constructors -----------------------------------------------------------------
# libshimctor.so is preloaded after the shim, so its constructor runs first and its calloc is
# the first allocation of the process: the shim initialises inside it.
if $CC $PF -DSHIM_AS_LIB -shared -fPIC -o "$T/libshimctor.so" "$ROOT/tests/programs/shim_ctor.c" \
	2>"$T/cc.err"; then
	mkdir -p "$T/ctor"
	out=$(LIB="$LIB $T/libshimctor.so" mp_run "$T/ctor" "$PROGS/shim_ctor" 2>&1)
	expect_eq "ctor: program output" "ctor ok" "$out"
	py "$T/ctor" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap("ctor: ")
ds = m.load_dir(sys.argv[1])
if t.eq("one dump", 1, len(ds)):
    s = {(k[0], k[2]): v for k, v in m.site_table(ds[0]).items() if "ctor_site" in k[0]}
    t.eq("allocations in both constructors recorded exactly",
         {("lib_ctor_site", 33): [12, 12], ("lib_ctor_site", 500): [1, 0],
          ("prog_ctor_site", 77): [5, 5]}, s)
EOF
else
	not_ok "ctor: cannot build the test library" "$(cat "$T/cc.err")"
fi

# --- fork and threads over jemalloc ----------------------------------------------------------
if [ -r "$JEMALLOC" ]; then
	mkdir -p "$T/jefork"
	out=$(LIB="$LIB $JEMALLOC" mp_run "$T/jefork" "$LIFE" fork 2>&1)
	expect_eq "jemalloc: fork output" "fork ok" "$out"
	expect_eq "jemalloc: fork: parent and child dumps" 2 "$(ls "$T/jefork" | wc -l)"
fi

# --- MAPPROF_OUT template and file modes -----------------------------------------------------
mkdir -p "$T/tpl" "$T/tpl2"
env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/tpl/run-%p-%n-%%.x" "$LIFE" dump >/dev/null 2>&1
py "$T/tpl" <<'EOF'
import os, stat, sys
import mprof_decode as m
t = m.Tap("template: ")
ds = m.load_dir(sys.argv[1])
pid = ds[0]["header"]["pid"] if ds else 0
t.eq("%p, %n and %% expanded", ["run-%d-0-%%.x" % pid, "run-%d-1-%%.x" % pid],
     [os.path.basename(d["file"]) for d in ds])
modes = {oct(stat.S_IMODE(os.stat(d["file"]).st_mode)) for d in ds}
t.eq("dump files are mode 0600", {"0o600"}, modes)
t.eq("no temporary files left", sorted(os.path.basename(d["file"]) for d in ds), sorted(os.listdir(sys.argv[1])))
EOF
# Without %n, later dumps get a numeric suffix rather than overwriting.
env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/tpl2/fixed.mprof" "$LIFE" dump >/dev/null 2>&1
expect_eq "template: without %n no dump overwrites another" "fixed.mprof fixed.mprof.1" \
	"$(cd "$T/tpl2" && ls | tr '\n' ' ' | sed 's/ $//')"
# The default name in the working directory.
mkdir -p "$T/cwd"
(cd "$T/cwd" && env LD_PRELOAD="$LIB" "$LIFE" out >/dev/null 2>&1)
expect_eq "template: default mapprof.%p.%n.mprof in the working directory" 1 \
	"$(ls "$T/cwd" | grep -cE '^mapprof\.[0-9]+\.0\.mprof$')"
# A '%' in the working directory's name is literal text, not a template escape.
mkdir -p "$T/pct%p%n"
(cd "$T/pct%p%n" && env LD_PRELOAD="$LIB" "$LIFE" dump >/dev/null 2>"$T/pct.err")
(cd "$T/pct%p%n" && env LD_PRELOAD="$LIB" MAPPROF_OUT=fixed "$LIFE" dump >/dev/null 2>>"$T/pct.err")
expect_eq "template: directory named pct%p%n holds the dumps, no error" \
	"4|fixed fixed.1|" \
	"$(ls "$T/pct%p%n" | wc -l)|$(cd "$T/pct%p%n" && ls fixed* | tr '\n' ' ' | sed 's/ $//')|$(cat "$T/pct.err")"

# --- every descriptor in use at exit (a program at its limit, or with a leak): the final dump
# could not be opened and was lost (black-box QA); it is opened on a table of its own, with room
# made there. Not under ASan (its own descriptors and threads).
if [ -z "${SANITIZED:-}" ]; then
	mkdir -p "$T/emfile"
	cat >"$T/emfile/t.c" <<'CEOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	static void *volatile p; /* kept: the compiler drops a pair unused */
	for (int i = 0; i < 1000; i++) {
		p = malloc((size_t)i + 1);
		free(p);
	}
	int n = 0;
	while (open("/dev/null", O_RDONLY) >= 0)
		n++;
	printf("full %d\n", n > 0);
	return 0;
}
CEOF
	if ${CC:-cc} -O1 -o "$T/emfile/t" "$T/emfile/t.c" 2>"$T/emfile.err"; then
		out=$( (ulimit -n 64 && env LD_PRELOAD="$LIB" MAPPROF_RATE=1 \
			MAPPROF_OUT="$T/emfile/m.%p.%n.mprof" "$T/emfile/t") 2>"$T/emfile/err")
		calls=$("$REPORT" --json "$T/emfile"/m.*.mprof 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["totals"]["alloc_calls"] >= 1000)' 2>/dev/null)
		expect_eq "every descriptor in use at exit: the dump is written, no mapprof line" \
			"full 1|True|0" "$out|$calls|$(grep -c '^mapprof:' "$T/emfile/err")"
	else
		not_ok "the descriptor-limit program builds" "$(cat "$T/emfile.err")"
	fi
else
	ok "every descriptor in use at exit # SKIP under ASan"
fi

# --- a low process limit --------------------------------------------------------------------
# RLIMIT_NPROC counts threads: under ulimit -u 10 a program may make 9. The dump thread of
# MAPPROF_SIGNAL/MAPPROF_INTERVAL took one of them, and the program's 9th failed (black-box QA):
# with such a limit the thread is not started, and one line says so. As nobody (root is not held
# to the limit), who must run nothing else: the plain run says whether that holds.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && command -v prlimit >/dev/null &&
	[ -z "${SANITIZED:-}" ]; then
	mkdir -p "$T/nproc" && chmod 711 "$T" && chmod 777 "$T/nproc"
	cat >"$T/nproc/t.c" <<'CEOF'
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
static pthread_barrier_t b;
static void *work(void *a)
{
	char *p = malloc(100);
	pthread_barrier_wait(&b); /* all alive at once */
	free(p);
	return a;
}
int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	pthread_t t[64];
	if (getenv("SETLIM")) { /* the program lowers its own limit, as a daemon may */
		struct rlimit r = {10, 10};
		setrlimit(RLIMIT_NPROC, &r);
	}
	pthread_barrier_init(&b, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, work, NULL) != 0) {
			printf("thread %d failed\n", i);
			return 1;
		}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (argc > 2)
		raise(SIGUSR2); /* a dump asked for, as `kill -USR2` would */
	printf("ok %d\n", n);
	return 0;
}
CEOF
	if ${CC:-cc} -O1 -pthread -o "$T/nproc/t" "$T/nproc/t.c" 2>"$T/nproc.err" &&
		plain=$(prlimit --nproc=10 setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$T/nproc/t" 9 2>&1) && [ "$plain" = "ok 9" ]; then
		lim() { prlimit --nproc=10 setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
		# (the signal, which would end the plain run, is caught: no dump, no death)
		for v in MAPPROF_INTERVAL=100 MAPPROF_SIGNAL=USR2; do
			extra=
			[ "$v" = MAPPROF_SIGNAL=USR2 ] && extra=raise
			out=$(lim env LD_PRELOAD="$LIB" "$v" MAPPROF_OUT="$T/nproc/m.%p.%n" \
				"$T/nproc/t" 9 $extra 2>"$T/nproc/$v.err"; echo "exit $?")
			expect_eq "ulimit -u 10, $v: the program's 9 threads made, one line says no dump thread" \
				"ok 9|exit 0|1" \
				"$(echo "$out" | paste -sd'|')|$(grep -c '^mapprof: MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored: the process limit' "$T/nproc/$v.err")"
		done
		expect_eq "ulimit -u 10: the dumps written at exit" 2 "$(ls "$T/nproc" | grep -c '^m\.')"
		# The program sets that limit itself, after the shim started its thread: the thread
		# is stopped (it kept one of the 9; each fork child started one more).
		for v in MAPPROF_INTERVAL=100 MAPPROF_SIGNAL=USR2; do
			out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env SETLIM=1 \
				LD_PRELOAD="$LIB" "$v" MAPPROF_OUT="$T/nproc/s.%p.%n" "$T/nproc/t" 9 \
				2>"$T/nproc/s$v.err"; echo "exit $?")
			expect_eq "setrlimit(RLIMIT_NPROC, 10) by the program, $v: its 9 threads made, one line says the dump thread stopped" \
				"ok 9|exit 0|1" \
				"$(echo "$out" | paste -sd'|')|$(grep -c '^mapprof: MAPPROF_SIGNAL/MAPPROF_INTERVAL stopped: the program lowered its process limit' "$T/nproc/s$v.err")"
		done
	elif [ -s "$T/nproc.err" ]; then
		not_ok "the thread-limit program builds" "$(cat "$T/nproc.err")"
	else
		ok "a low process limit # SKIP nobody runs other processes here: 9 threads do not fit"
	fi
	chmod 700 "$T"
else
	ok "a low process limit # SKIP needs root, setpriv and prlimit, no sanitizer"
fi
