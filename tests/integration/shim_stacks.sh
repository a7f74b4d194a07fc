#!/bin/bash
# SPDX-License-Identifier: MIT
# The stack cache (preload/stackcache.c) never merges stacks that differ: a leaf that allocates
# (and a function that fills an unordered_map) reached through two callers of the same frame
# size, so that only a frame further up differs, in runs of different lengths; the same leaf at
# four recursion depths. The program counts its own calls and grows; the profile must show the
# same numbers per caller, in exact mode, at the default rate, with two threads at once, and
# over jemalloc. The program is built without frame pointers (only the CFI tells the frames).
. "$(dirname "$0")/lib.sh"
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
P=$PROGS/shim_stackcache

# per_caller DIR: "via_x=N via_y=N rec0..rec3=N map_x=N map_y=N" from the profiles
per_caller() {
	{
		"$REPORT" --folded --sample-index alloc_objects "$1"/*.mprof
		echo "--grow"
		"$REPORT" --profile grow --folded "$1"/*.mprof
	} 2>/dev/null | awk '
		/^--grow$/ { g = 1; next }
		{ n = $NF }
		!g && /;via_x\(/ { vx += n }
		!g && /;via_y\(/ { vy += n }
		!g && /;leaf\(/ { d = gsub(/;rec\(/, ";"); if (d > 0) r[d - 1] += n }
		g && /;map_x\(/ { mx += n }
		g && /;map_y\(/ { my += n }
		END { printf "via_x=%d via_y=%d rec0=%d rec1=%d rec2=%d rec3=%d map_x=%d map_y=%d\n",
			vx, vy, r[0], r[1], r[2], r[3], mx, my }'
}
# own OUTFILE [COPIES]: the program's own counts, times COPIES (threads)
own() {
	awk -v k="${2:-1}" '{ c[$1] = $2 * k } END { printf "via_x=%d via_y=%d rec0=%d rec1=%d rec2=%d rec3=%d map_x=%d map_y=%d\n",
		c["via_x"], c["via_y"], c["rec0"], c["rec1"], c["rec2"], c["rec3"], c["map_x"], c["map_y"] }' "$1"
}

mp_run "$T/e" $P 400 >"$T/e.out" 2>&1
expect_eq "exact mode: allocations and grows per caller" "$(own "$T/e.out")" "$(per_caller "$T/e")"

# alloca frames: the two lines in top (the program prints each line and its own count)
mp_run "$T/a" $PROGS/shim_alloca 300 >"$T/a.out" 2>&1
want=$(awk '$1 ~ /^alloca/ { printf "%s:%d ", $3, $2 }' "$T/a.out")
top=$("$REPORT" --top 1000 --sample-index alloc_objects "$T/a"/*.mprof 2>/dev/null)
got=$(for l in $(awk '$1 ~ /^alloca/ { print $3 }' "$T/a.out"); do
	n=$(awk -v l="$l" '$6 == "top" && $NF ~ (":" l "$") { s += $4 } END { print s + 0 }' <<<"$top")
	printf "%s:%d " "$l" "$n"
done)
expect_eq "exact mode: alloca frames of different sizes stay apart (line:count)" "$want" "$got"

MAPPROF_RATE=524288 mp_run "$T/d" $P 400 >"$T/d.out" 2>&1
want=$(own "$T/d.out" | sed -E 's/(via_[xy]|rec[0-3])=[0-9]+/\1=0/g')
got=$(per_caller "$T/d" | sed -E 's/(via_[xy]|rec[0-3])=[0-9]+/\1=0/g')
expect_eq "default rate: grows per caller" "$want" "$got"

mp_run "$T/t" $P 400 2 >"$T/t.out" 2>&1
expect_eq "two threads at once: allocations and grows per caller" "$(own "$T/t.out" 2)" \
	"$(per_caller "$T/t")"

mkdir -p "$T/j"
LD_PRELOAD="$LIB $JE" MAPPROF_RATE=1 MAPPROF_OUT="$T/j/m.%p.mprof" $P 400 >"$T/j.out" 2>&1
expect_eq "over jemalloc: allocations and grows per caller" "$(own "$T/j.out")" "$(per_caller "$T/j")"

# realigned frames (CFA through rbp, size set by the caller's stack pointer): per caller
mp_run "$T/r" $PROGS/shim_realign 300 >"$T/r.out" 2>&1
want=$(awk '{ printf "%s=%d ", $1, $2 }' "$T/r.out")
folded=$("$REPORT" --folded --sample-index alloc_objects "$T/r"/*.mprof 2>/dev/null)
got=$(for f in via_a via_b via_c via_d; do
	printf "%s=%d " $f "$(awk -v f=";$f;" 'index($0, f) { s += $NF } END { print s + 0 }' <<<"$folded")"
done)
expect_eq "exact mode: realigned frames, allocations per caller" "$want" "$got"

# a hand-written frame with its CFA at rbp + 24 and a size its caller chooses
mp_run "$T/v" $PROGS/shim_varframe 100 >"$T/v.out" 2>&1
want=$(awk '{ printf "%s=%d ", $1, $2 }' "$T/v.out")
folded=$("$REPORT" --folded --sample-index alloc_objects "$T/v"/*.mprof 2>/dev/null)
got=$(for f in via_a via_b; do
	printf "%s=%d " $f "$(awk -v f=";$f;varf;" 'index($0, f) { s += $NF } END { print s + 0 }' <<<"$folded")"
done)
expect_eq "exact mode: frame with its CFA at rbp + 24, allocations per caller" "$want" "$got"

# The cache must also work, not only be right: a map local to a function, filled in a loop
# (GCC keeps its address in rbp, which is then no frame pointer), grows 4000 times from one
# stack; libunwcount.so counts the full unwinds (a few per distinct stack, not one per grow).
mkdir -p "$T/m"
LD_PRELOAD="$LIB $ROOT/$BUILD/tests/tools/libunwcount.so" MAPPROF_OUT="$T/m/m.%p.mprof" \
	$PROGS/shim_maploop 2000 20 >"$T/m.out" 2>"$T/m.err"
want=$(awk '{ print $6 }' "$T/m.out")
got=$("$REPORT" --profile grow --folded "$T/m"/*.mprof 2>/dev/null |
	awk 'index($0, ";one(long);") { s += $NF } END { print s + 0 }')
expect_eq "map in a loop: grows" "$want" "$got"
unw=$(awk '$1 == "unwcount:" { print $2 }' "$T/m.err")
if [ -n "$unw" ] && [ "$unw" -le 50 ]; then
	ok "map in a loop: $unw full unwinds for $want grows"
else
	not_ok "map in a loop: full unwinds" "got '${unw:-none}', want at most 50"
fi

# allocations on coroutine stacks (ucontext, stacks from malloc): never cached, still exact
mp_run "$T/c" $PROGS/shim_coro 300 >"$T/c.out" 2>&1
want=$(awk '{ printf "%s=%d ", $1, $2 }' "$T/c.out")
folded=$("$REPORT" --folded --sample-index alloc_objects "$T/c"/*.mprof 2>/dev/null)
got=$(for f in co_a co_b from_main; do
	printf "%s=%d " $f "$(awk -v f=";$f;leaf " 'index($0, f) { s += $NF } END { print s + 0 }' <<<"$folded")"
done)
expect_eq "coroutine stacks: allocations per caller" "$want" "$got"

# Threads of 16 KiB (PTHREAD_STACK_MIN) allocating at recursion depths up to about half their
# stack, the process's first samples among them: libunwind ran off the end of such stacks
# (SIGSEGV) at every rate. The program's output and status stay; every allocation is counted.
want=$("$PROGS/shim_smallstack" 2>&1)
for rate in 1 524288 4096; do
	for cache in 1 0; do
		rm -rf "$T/ss"
		got=$(MAPPROF_RATE=$rate MAPPROF_STACK_CACHE=$cache mp_run "$T/ss" \
			"$PROGS/shim_smallstack" 2>&1)
		expect_eq "16 KiB thread stacks at rate $rate, stack cache $cache: output and status unchanged" \
			"$want|0" "$got|$?"
	done
done
calls=$("$REPORT" --json "$T/ss"/*.mprof 2>/dev/null | grep -o '"alloc_calls":[0-9]*' | head -1)
if [ "${calls#*:}" -ge 20000 ] 2>/dev/null; then ok "16 KiB thread stacks: every allocation counted ($calls)"
else not_ok "16 KiB thread stacks: every allocation counted" "$calls"; fi

# Differential: the same exact-mode profile with the cache on and off (MAPPROF_STACK_CACHE=0),
# on programs nobody here wrote and on the program above (allocations and grows).
same_profile() { # NAME CMD...
	local name=$1
	shift
	rm -rf "$T/on" "$T/off"
	MAPPROF_STACK_CACHE=1 mp_run "$T/on" "$@" >/dev/null 2>&1 # same environment size
	MAPPROF_STACK_CACHE=0 mp_run "$T/off" "$@" >/dev/null 2>&1
	local a b
	a=$({ "$REPORT" --folded --sample-index alloc_objects "$T/on"/*.mprof
		"$REPORT" --profile grow --folded "$T/on"/*.mprof; } 2>/dev/null | sort)
	b=$({ "$REPORT" --folded --sample-index alloc_objects "$T/off"/*.mprof
		"$REPORT" --profile grow --folded "$T/off"/*.mprof; } 2>/dev/null | sort)
	if [ -n "$a" ] && [ "$a" == "$b" ]; then
		ok "cache on = off: $name ($(wc -l <<<"$a") stacks)"
	else
		not_ok "cache on = off: $name" "$(diff <(echo "$b") <(echo "$a") | head -6)"
	fi
}
# Keys in a scrambled but fixed order: randomblob() would make the B-tree, and so its
# allocations, differ from run to run (1 run in 40 did).
SQL="create table t(a,b); with recursive c(x) as (select 1 union all select x+1 from c
 where x<3000) insert into t select x, hex(x * 2654435761 % 4294967291) from c;
 create index i on t(b);
 select count(*), sum(length(b)) from t group by a%7 order by 1 limit 3;"
same_profile "sqlite3" sqlite3 :memory: "$SQL"
cat >"$T/s.py" <<'PY'
import json
d = {"k%d" % i: [i, str(i), {"x": i}] for i in range(3000)}
print(len(json.loads(json.dumps(d))))
PY
PYTHONHASHSEED=0 same_profile "python3" /usr/bin/python3 "$T/s.py"
same_profile "shim_stackcache" $P 200
same_profile "shim_alloca" $PROGS/shim_alloca 300
same_profile "shim_realign" $PROGS/shim_realign 300

# Allocations and map grows in signal handlers: below the handler, the signal trampoline, then
# the interrupted frame, whose pc is exact (not a return address). pc - 1 named before_trap
# for a ud2 that is trap_first's first instruction, the line before a faulting load, and the
# padding before __restore_rt for the trampoline (named from libc's symbols when it has them).
# Both unwinders; the frame-pointer walk skips the caller of a function without a frame.
# sig_stacks DIR KEEP: the alloc and grow stacks from main (KEEP=main), or their 3 innermost frames
sig_stacks() {
	local cut='s/^.*;main;/main;/'
	[ "$2" == main ] || cut='s/^.*;([^;]*;[^;]*;[^;]* [0-9]+)$/\1/'
	{
		"$REPORT" --folded --sample-index alloc_objects "$1"/*.mprof
		"$REPORT" --profile grow --folded "$1"/*.mprof
	} 2>/dev/null | sed -E "$cut"'; s/;(__restore_rt|libc\.so\.6\+0x[0-9a-f]*0);handler /;TRAMP;handler /' |
		sort | tr '\n' '|'
}
S=$PROGS/shim_sigframe
mp_run "$T/sig" $S 30 >/dev/null 2>&1
want="main;call_trap;trap_first;TRAMP;handler 30|main;call_trap;trap_first;TRAMP;handler 30|"
want+="main;fault_line;TRAMP;handler 30|main;fault_line;TRAMP;handler 30|"
expect_eq "signal handlers: interrupted function and trampoline (allocations, grows)" "$want" \
	"$(sig_stacks "$T/sig" main)"
fl=$("$REPORT" --json "$T/sig"/*.mprof 2>/dev/null | grep -o '"function":"fault_line"[^}]*' | sort -u)
expect_eq "signal handlers: the interrupted line" \
	"\"function\":\"fault_line\",\"file\":\"tests/programs/shim_sigframe.c\",\"line\":$(line_of tests/programs/shim_sigframe.c 'fault here')" "$fl"
MAPPROF_UNWIND=fp mp_run "$T/sigfp" $S 30 >/dev/null 2>&1
want="fault_line;TRAMP;handler 30|fault_line;TRAMP;handler 30|"
want+="trap_first;TRAMP;handler 30|trap_first;TRAMP;handler 30|"
expect_eq "signal handlers, frame-pointer walk: interrupted function and trampoline" "$want" \
	"$(sig_stacks "$T/sigfp" 3)"
# A handler that realigns its stack pushes a copy of the trampoline's address with no signal
# frame above it: the walk must not read the words there as a ucontext (it named a garbage pc
# and went on from a garbage rbp). The 5 allocations end in main, through the trampoline.
MAPPROF_UNWIND=fp mp_run "$T/sigrealign" "$PROGS/shim_sigrealign" >/dev/null 2>&1
expect_eq "frame-pointer walk, a realigning handler: no ucontext read where none is" \
	"main;TRAMP;realigned_handler 5" \
	"$("$REPORT" --folded --sample-index alloc_objects "$T/sigrealign"/*.mprof 2>/dev/null |
		grep 'realigned_handler' | sed -E 's/^.*;main;/main;/; s/;(__restore_rt|libc\.so\.6\+0x[0-9a-f]*0);/;TRAMP;/')"
same_profile "shim_sigframe" $S 30

# A thread on a stack the program gives, 3000 bytes from its end, sampled at every level
# (tests/programs/shim_givenstack.c): its floor is the block's, not the one glibc's descriptor
# says for a pthread_attr_setstackaddr stack (the default size below the address: libunwind ran
# off the block).
for mode in addr stack; do
	out=$(env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/given.%p.%n" timeout 60 \
		"$PROGS/shim_givenstack" $mode 3000 2>&1)
	expect_eq "stack given by $mode, 3000 bytes left, every allocation sampled: runs as plain" \
		"ok $mode|0" "$out|$?"
done

# --- exact mode over more call paths than the stack cache holds: each stack was evicted before
# its located entry paid off, and located again (libunwind's cursor: a signal mask per step),
# 5x slower than without the cache (black-box QA: 2.08 million rt_sigprocmask calls here, 374
# without the cache). Counted, not timed: a third of those is far more than what is left.
if command -v strace >/dev/null && [ -z "${SANITIZED:-}" ]; then
	mkdir -p "$T/thrash"
	cat >"$T/thrash/t.cc" <<'CEOF'
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
static int deep(int depth, int v)
{
	std::vector<std::string> junk(4, std::string(100, 'a'));
	if (depth == 0)
		return v + (int)junk.size();
	return deep(depth - 1, v) + (int)junk[0].size() - 100;
}
int main(int argc, char **argv)
{
	long s = 0;
	for (int i = 0; i < atoi(argv[1]); i++)
		s += deep(6, i);
	std::printf("%ld\n", s);
	return 0;
}
CEOF
	if ${CXX:-c++} -g -O2 -o "$T/thrash/t" "$T/thrash/t.cc" 2>"$T/thrash.err"; then
		n=$(strace -f -qq -c -e trace=rt_sigprocmask -o "$T/thrash/st" env LD_PRELOAD="$LIB" \
			MAPPROF_RATE=1 MAPPROF_OUT="$T/thrash/m.%p.%n" "$T/thrash/t" 20000 >/dev/null &&
			awk '$NF == "rt_sigprocmask" { print $(NF - 1) }' "$T/thrash/st")
		check "exact mode, 21 stacks in a loop: the stack cache does not locate them over and over ($n signal-mask calls)" \
			test "${n:-999999999}" -lt 700000
	else
		not_ok "the stack-cache thrash program builds" "$(cat "$T/thrash.err")"
	fi
else
	ok "stack cache thrash # SKIP needs strace, no sanitizer"
fi
