#!/bin/bash
# SPDX-License-Identifier: MIT
# The profiler's descriptors never meet the program's: a program that closes every descriptor
# from 3 up and opens its own files there (tests/programs/shim_fds.c) copies them intact,
# keeps them open, and the profiler neither spins nor stops seeing its allocations. Covers
# libunwind's memory-validation pipe (moved up by preload/unwfd.c, checked before each unwind)
# and the dump thread of MAPPROF_SIGNAL / MAPPROF_INTERVAL (a semaphore, no descriptor).
. "$(dirname "$0")/lib.sh"
DEC="python3 $ROOT/tests/tools/mprof_decode.py"
P=$PROGS/shim_fds
python3 -c 'import random, sys; random.seed(7); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(40000)))' >"$T/in"
want="copied 40000"

# run NAME MODE ENV...: runs shim_fds MODE under the shim with ENV; leaves NAME.out/.err/.bin
# and the dumps in NAME/.
run() {
	local name=$1 mode=$2
	shift 2
	mkdir -p "$T/$name"
	env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/$name/m.%p.%n.mprof" "$@" \
		timeout 60 "$P" "$mode" "$T/in" "$T/$name.bin" >"$T/$name.out" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
}
# copied NAME LABEL: the program's own view (exit 0, "copied", descriptors kept) and its file.
copied() {
	expect_eq "$2: the program exits 0" "0" "$(cat "$T/$1.rc")"
	expect_eq "$2: the program copied everything" "$want" "$(grep -v '^no pipes' "$T/$1.out")"
	check "$2: its output file is its input, byte for byte" cmp "$T/in" "$T/$1.bin"
	local other
	other=$(grep -v '^mapprof: ' "$T/$1.err" || true)
	expect_eq "$2: nothing on stderr but mapprof: lines" "" "$other"
}
# chain_allocs NAME: the allocations counted at the chains' leaf functions (b9 .. h9).
chain_allocs() {
	$DEC --sites "$T/$1"/*.mprof | awk -F'\t' '$1 ~ /^[b-h]9$/ { n += $4 } END { print n + 0 }'
}
# The loop runs once per 64-byte block: 625 blocks, one chain allocation each.
blocks=625

# --- libunwind's pipe: the program's files land where it was
for sc in 1 0; do
	run closeall$sc closeall MAPPROF_RATE=1 MAPPROF_STACK_CACHE=$sc
	copied closeall$sc "close all, stack cache $sc"
	expect_eq "close all, stack cache $sc: every chain allocation recorded" "$blocks" \
		"$(chain_allocs closeall$sc)"
done

# --- the program puts its files on the pipe's own numbers: libunwind must not run
run takeover takeover MAPPROF_RATE=1
copied takeover "takeover"
check "takeover: the process held libunwind's pipe before closing it" \
	bash -c "! grep -q '^no pipes' '$T/takeover.out'"
check "takeover: one mapprof: line says stacks are cut" \
	grep -q "^mapprof: the program reused the descriptors of libunwind's pipe" "$T/takeover.err"
expect_eq "takeover: every chain allocation still recorded, at its leaf" "$blocks" \
	"$(chain_allocs takeover)"

# --- the dump thread: signals and intervals while the program's files sit at 3 and 4
run signal signal MAPPROF_SIGNAL=USR2 MAPPROF_INTERVAL=1
copied signal "signal and interval dumps"
n=$(ls "$T/signal" | wc -l)
# 13 raises (one before the copy, one every 50 blocks), an interval dump a second (the copy
# sleeps 12 x 20 ms) and the exit dump: never the thousands of a spinning thread.
if [ "$n" -ge 2 ] && [ "$n" -le 20 ]; then ok "signal and interval dumps: $n dumps"; else
	not_ok "signal and interval dumps: between 2 and 20 dumps" "got $n"; fi
check "signal and interval dumps: every dump decodes" $DEC "$T/signal"/*.mprof

# --- the check costs nothing while nothing is suspect: no fstat per unwind (exact mode, stack
# cache off: every allocation unwinds). tests/tools/libunwcount.so counts both.
LD_PRELOAD="$LIB $ROOT/$BUILD/tests/tools/libunwcount.so" MAPPROF_RATE=1 MAPPROF_STACK_CACHE=0 \
	MAPPROF_OUT="$T/cost.%p.mprof" "$PROGS/report_sites" >/dev/null 2>"$T/cost.err"
unw=$(awk '$1 == "unwcount:" { print $2 }' "$T/cost.err")
fst=$(awk '$1 == "fstatcount:" { print $2 }' "$T/cost.err")
if [ "${unw:-0}" -ge 200 ] && [ "${fst:-999}" -le 10 ]; then
	ok "the descriptor check: $fst fstat calls for $unw unwinds"
else
	not_ok "the descriptor check: at most 10 fstat calls for 200 or more unwinds" \
		"unwinds ${unw:-?}, fstat calls ${fst:-?}" "$(cat "$T/cost.err")"
fi

# --- a low RLIMIT_NOFILE: libunwind's pipe would take two of five descriptors (cat could not
# open its file); stacks come from frame pointers instead, said in one line.
mkdir -p "$T/low"
# (descriptors 3 and 4 closed first: the caller's environment may pass some on)
out=$(bash -c 'exec 3>&- 4>&-; ulimit -n 5 && exec env LD_PRELOAD="$0" MAPPROF_RATE=1 MAPPROF_OUT="$1/m.%p.mprof" '"$PROGS"'/report_sites' \
	"$LIB" "$T/low" 2>"$T/low.err"; bash -c 'exec 3>&- 4>&-; ulimit -n 5 && exec env LD_PRELOAD="$0" MAPPROF_OUT="$1/c.%p.mprof" cat "$2"' \
	"$LIB" "$T/low" "$T/in" | cmp - "$T/in" && echo cat-ok)
expect_eq "ulimit -n 5: cat reads its file as without the shim" "cat-ok" "$out"
check "ulimit -n 5: one mapprof line says stacks come from frame pointers" \
	grep -q '^mapprof: RLIMIT_NOFILE is below 64: stacks are walked by frame pointers' "$T/low.err"
top=$("$REPORT" --top 3 --sample-index alloc_objects "$T/low"/m.*.mprof 2>/dev/null)
grep -q 'site_live' <<<"$top" && ok "ulimit -n 5: the program's stacks are still named" ||
	not_ok "ulimit -n 5: the program's stacks are still named" "$top"

# --- close_range(3, ~0) while another thread dumps: the dump's file was closed under it and the
# number reused by the program's next file, which was then written into and hard-linked into
# the dump directory (its data corrupted, "dumps" of its bytes). The program's range close now
# waits for the dump's file, and the dump opens none meanwhile.
mkdir -p "$T/race" "$T/race.d"
out=$(env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/race.d/m.%p.%n" timeout 120 "$PROGS/shim_closerace" \
	"$T/race" 1500 2>"$T/race.err")
links=$(stat -c %h "$T"/race/data.* | sort -u | tr '\n' ' ')
expect_eq "close_range during dumps: the program's files intact, each linked once, no mapprof: line" \
	"corrupt 0|1 |" "$out|$links|$(cat "$T/race.err")"
check "close_range during dumps: every dump decodes" $DEC "$T/race.d"/*

# --- more races of the program's descriptor and credential calls with dumps (shim_fdrace.c)
mkdir -p "$T/fr1" "$T/fr2" "$T/fr3" "$T/fr4"
rcs=""
for i in 1 2 3; do
	timeout 20 env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/fr1/m.%p.%n" "$PROGS/shim_fdrace" closeexit \
		>/dev/null 2>&1
	rcs="$rcs$? "
done
expect_eq "_exit from a handler that interrupted close_range: exits 7 (the dump waited for it)" \
	"7 7 7 " "$rcs"
out=$(timeout 60 env LD_PRELOAD="$LIB" MAPPROF_SIGNAL=USR2 MAPPROF_OUT="$T/fr2/m.%p.%n" \
	"$PROGS/shim_fdrace" dup2 3 2>&1)
expect_eq "dup2 onto a free number while dumps open files: never EBUSY, never closed under it" \
	"dup2 EBUSY 0 close EBADF 0 other 0" "$out"
out=$(timeout 60 env LD_PRELOAD="$LIB" MAPPROF_SIGNAL=USR2 MAPPROF_OUT="$T/fr3/m.%p.%n" \
	"$PROGS/shim_fdrace" clone 2>&1)
expect_eq "raw clone children call closefrom during dumps: none waits" "children 200" "$out"
timeout 60 env LD_PRELOAD="$LIB" MAPPROF_INTERVAL=1 MAPPROF_OUT="$T/fr4/m.%p.%n" \
	"$PROGS/shim_fdrace" seteuid >/dev/null 2>&1
n=$(ls "$T/fr4" | wc -l)
if [ "$n" -ge 4 ]; then ok "seteuid every 0.5 s: interval dumps go on ($n dumps in 5 s)"; else
	not_ok "seteuid every 0.5 s: interval dumps go on (at least 4 in 5 s)" "got $n"; fi

# --- the lowest free number is the program's (shim_lowfd.c): a dump's file, a /proc read took
# the number the program had just closed, and its next open got another (stdout redirected by
# close(1) and open(log) wrote into the dump). The profiler's files are on descriptors of a
# table of its own now, never in the program's: watched through /proc/self/fd/0 while 0 is free.
lowfd() { # lowfd NAME ENV...: shim_lowfd watch 2.5 s, two threads making threads, at rate 1
	local name=$1
	shift
	mkdir -p "$T/$name"
	env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/$name/m.%p.%n" "$@" \
		timeout 60 "$PROGS/shim_lowfd" watch 2.5 2 2>"$T/$name.err"
}
# Under a seccomp filter (a container's) the profiler makes no thread (a sandbox's filter may
# kill a process for a clone it does not expect): its files move to high numbers at once, and
# a watch this close still sees the moment in between.
if [ "$(awk '/^Seccomp:/ {print $2}' /proc/self/status)" != 0 ]; then
	ok "descriptor 0 closed during dumps: never the profiler's # SKIP under a seccomp filter"
else
	out=$(lowfd lowi MAPPROF_INTERVAL=1)
	rc=$?
	n=$(ls "$T/lowi" | wc -l)
	bad=$(for f in "$T"/lowi/*; do $DEC --sites "$f" >/dev/null 2>&1 || echo "$f"; done)
	expect_eq "descriptor 0 closed during interval dumps: never the profiler's" \
		"0|descriptor 0 taken in 0 of" "$rc|$(grep -o 'descriptor 0 taken in [0-9]* of' <<<"$out")"
	[ "$n" -ge 2 ] && [ -z "$bad" ] && ! grep -q . "$T/lowi.err" &&
		ok "... its $n interval dumps are whole, no mapprof: line" ||
		not_ok "... its interval dumps are whole, no mapprof: line" "$n dumps; bad: $bad; $(cat "$T/lowi.err")"
	lowfd lows MAPPROF_SIGNAL=USR2 >"$T/lows.out" &
	pid=$!
	sleep 0.3
	while kill -0 $pid 2>/dev/null; do
		pkill -USR2 -x shim_lowfd -P "$(pgrep -x timeout -P $pid)" 2>/dev/null
		sleep 0.05
	done
	wait $pid
	rc=$?
	n=$(ls "$T/lows" | wc -l)
	expect_eq "descriptor 0 closed during a storm of signal dumps: never the profiler's" \
		"0|descriptor 0 taken in 0 of" "$rc|$(grep -o 'descriptor 0 taken in [0-9]* of' "$T/lows.out")"
	[ "$n" -ge 10 ] && ok "... $n signal dumps written" || not_ok "... signal dumps written (at least 10)" "$n"
fi
