#!/bin/bash
# SPDX-License-Identifier: MIT
# Regressions from the shim review: fork while other threads capture stacks and dumps are in
# flight (the child must not hang in the loader's lock), C++ operator new/delete over jemalloc
# and tcmalloc (their operators never reach malloc), a failed realloc of a sampled block, and threads
# that only free.
. "$(dirname "$0")/lib.sh"
DEC="python3 $ROOT/tests/tools/mprof_decode.py"
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

# --- fork stress: every child reaped within the time limit, each wrote a valid dump
for rate in 1 4096; do
	d=$T/fork$rate
	mkdir -p "$d"
	out=$(MAPPROF_RATE=$rate MAPPROF_SIGNAL=USR2 timeout 60 env LD_PRELOAD="$LIB" \
		MAPPROF_OUT="$d/m.%p.%n.mprof" $PROGS/shim_forkstress 40 2>&1 || echo "exit $?")
	expect_eq "fork stress rate $rate: no hang, all 40 children reaped" "forks 40" "$out"
	n=$(ls "$d" | wc -l)
	if [ "$n" -ge 41 ]; then ok "fork stress rate $rate: $n dumps (children + parent)"; else
		not_ok "fork stress rate $rate: dumps" "got $n files"; fi
	check "fork stress rate $rate: every dump decodes" $DEC "$d"/*.mprof
done

# --- C++ operators: the same counts over glibc and over jemalloc
totals() { # DIR -> "site=allocations/freed" for the program's own sites
	$DEC --sites "$1"/*.mprof | python3 -c '
import sys
rows=[l.rstrip("\n").split("\t") for l in sys.stdin if l.strip()]
want=("cxx_one","cxx_array","cxx_aligned","cxx_nothrow")
def tot(w, k): return sum(int(r[3]) - (int(r[4]) if k else 0) for r in rows if w in r[0])
print(" ".join("%s=%d/%d" % (w, tot(w, 0), tot(w, 1)) for w in want))'
}
mp_run "$T/g" $PROGS/shim_cxxnew >"$T/g.out" 2>&1
mkdir -p "$T/j"
LD_PRELOAD="$LIB $JE" MAPPROF_RATE=1 MAPPROF_OUT="$T/j/m.%p.mprof" $PROGS/shim_cxxnew >"$T/j.out" 2>&1 ||
	true
expect_eq "operator new: output over jemalloc as over glibc" "$(cat "$T/g.out")" "$(cat "$T/j.out")"
check "operator new: bad_alloc propagates through the shim" grep -q "caught 3" "$T/j.out"
want="cxx_one=1000/1000 cxx_array=200/200 cxx_aligned=100/100 cxx_nothrow=50/50"
expect_eq "operator new: exact per-site counts over glibc" "$want" "$(totals "$T/g")"
expect_eq "operator new: exact per-site counts over jemalloc" "$want" "$(totals "$T/j")"
grows_in() { $DEC "$1"/*.mprof | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(sum(g["count"] for g in d.get("map_grows",[])))'; }
grows=$(grows_in "$T/g")
if [ "${grows:-0}" -gt 0 ]; then ok "operator new: unordered_map grows seen over glibc ($grows)"; else
	not_ok "operator new: unordered_map grows over glibc" "none"; fi
expect_eq "operator new: as many unordered_map grows over jemalloc" "$grows" "$(grows_in "$T/j")"
if [ -r "$TC" ]; then
	mkdir -p "$T/tc"
	LD_PRELOAD="$LIB $TC" MAPPROF_RATE=1 MAPPROF_OUT="$T/tc/m.%p.mprof" $PROGS/shim_cxxnew \
		>"$T/tc.out" 2>&1
	rc=$?
	expect_eq "operator new: output and exit status over tcmalloc as over glibc" \
		"$(cat "$T/g.out")|0" "$(cat "$T/tc.out")|$rc"
	expect_eq "operator new: exact per-site counts over tcmalloc" "$want" "$(totals "$T/tc")"
	expect_eq "operator new: as many unordered_map grows over tcmalloc" "$grows" \
		"$(grows_in "$T/tc")"
else
	ok "operator new over tcmalloc: skipped, $TC not installed"
fi

# --- a new-handler that frees a reserve runs as the program's code: its free and its
# allocation are recorded (they used to pass under the guard of the failing operator new)
for al in glibc jemalloc tcmalloc; do
	case $al in
	jemalloc) pre="$LIB $JE" base=(env LD_PRELOAD=$JE) ;;
	tcmalloc)
		[ -r "$TC" ] || continue
		pre="$LIB $TC" base=(env LD_PRELOAD=$TC)
		;;
	*) pre=$LIB base=(env) ;;
	esac
	for how in plain nothrow aligned; do
		d=$T/nh-$al-$how
		mkdir -p "$d"
		plain=$("${base[@]}" $PROGS/shim_newhandler $how 2>&1)
		got=$(env LD_PRELOAD="$pre" MAPPROF_RATE=1 MAPPROF_OUT="$d/m.%p.mprof" \
			$PROGS/shim_newhandler $how 2>&1)
		expect_eq "new-handler over $al ($how): the program's output is unchanged" "$plain" "$got"
		sites=$($DEC --sites "$d"/*.mprof | awk -F'\t' '$1 ~ /(reserve|handler)_site/ {
			printf "%s=%d/%d ", $1 ~ /reserve/ ? "reserve" : "handler", $4, $5 }')
		expect_eq "new-handler over $al ($how): reserve freed, handler's note recorded" \
			"handler=1/1 reserve=1/0 " "$sites"
	done
done

# A signal handler reading std::get_new_handler() while operator new fails gets the program's
# handler, never the shim's trampoline (which crashed when called from another thread). Over
# libstdc++'s operators only: jemalloc's reads the handler by setting it to null and back, so
# a signal sees null there even without the shim.
out=$(env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/nhs.%p.mprof" $PROGS/shim_newhandler sigread 2>&1)
expect_eq "new-handler read in a signal handler: always the program's" \
	"handler read as another function: 0 times (of some reads)" "$out"

# --- failed realloc keeps the sampled block in use
mp_run "$T/r" $PROGS/shim_regress realloc >"$T/r.out" 2>&1
check "realloc: the huge realloc failed" grep -q "realloc failed" "$T/r.out"
inuse=$($DEC --sites "$T/r"/*.mprof | awk -F'\t' '$1 == "realloc_site" && $3 == 4096 { n += $5 } END { print n + 0 }')
expect_eq "realloc: the block is still in use after the failed realloc" "1" "$inuse"

# --- pthread_getattr_np allocates under the thread's own lock: the shim must not take it
out=$(timeout 30 env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/ga.%p.mprof" \
	$PROGS/shim_regress getattr 2>&1 || echo "exit $?")
expect_eq "pthread_getattr_np on a thread and on main: no deadlock in exact mode" "getattr done" "$out"

# --- failed mallocs are not counted (default rate: most of them take the fast path)
tot3() { $DEC "$1"/*.mprof | python3 -c '
import json,sys
d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; t=d["totals"]
print(t["alloc_calls"], t["free_calls"], t["alloc_bytes"])'; }
MAPPROF_RATE=524288 mp_run "$T/o1" $PROGS/shim_regress oom >"$T/o1.out" 2>&1
n=$(awk '$1 == "blocks" { print $2 }' "$T/o1.out")
if [ "${n:-0}" -gt 100 ] && ! grep -q "never failed" "$T/o1.out"; then
	ok "oom: mallocs failed under the limit after $n blocks"
	MAPPROF_RATE=524288 mp_run "$T/o2" $PROGS/shim_regress oom "$n" >"$T/o2.out" 2>&1
	expect_eq "oom: 21 failed mallocs leave the totals as $n successful ones do" \
		"$(tot3 "$T/o2")" "$(tot3 "$T/o1")"
else
	not_ok "oom: mallocs failed under the limit" "$(cat "$T/o1.out")"
fi

# --- setrlimit and prlimit (interposed) leave a bad pointer to the kernel: EFAULT, no crash
expect_eq "setrlimit/prlimit with a bad pointer: EFAULT without the shim" "efault 1 1 1 1" \
	"$($PROGS/shim_regress efault 2>&1)"
expect_eq "setrlimit/prlimit with a bad pointer: EFAULT under the shim" "efault 1 1 1 1" \
	"$(env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/ef.%p.mprof" $PROGS/shim_regress efault 2>&1)"

# --- a thread that only frees
mp_run "$T/f" $PROGS/shim_regress >/dev/null 2>&1
read -r frees threads < <($DEC "$T/f"/*.mprof | python3 -c '
import json,sys
d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; t=d["totals"]
print(t["free_calls"], t["threads"])')
if [ "${frees:-0}" -ge 1000 ]; then ok "free-only thread: its 1000 frees are counted ($frees)"; else
	not_ok "free-only thread: frees" "free_calls=$frees"; fi
if [ "${threads:-0}" -ge 2 ]; then ok "free-only thread: counted as a thread ($threads)"; else
	not_ok "free-only thread: threads" "threads=$threads"; fi

# --- errno is the program's: sampled calls (stacks unwound, libunwind's pipe read) leave it
for rate in 1 4096; do
	for run in 1 2 3; do
		out=$(MAPPROF_RATE=$rate env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/errno.%p.%n.mprof" \
			timeout 120 $PROGS/shim_errno 2>&1)
		expect_eq "errno untouched by successful calls, rate $rate, run $run" \
			"errno changed 0 times" "$out"
	done
done

# --- valloc and pvalloc are the allocator's own: the program sees the same blocks and errors
want=$("$PROGS/shim_pagealloc")
got=$(env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/pa.%p.%n" "$PROGS/shim_pagealloc")
expect_eq "valloc/pvalloc over glibc: as without the shim" "$want" "$got"
want=$(env LD_PRELOAD="$JE" "$PROGS/shim_pagealloc" nopv)
got=$(env LD_PRELOAD="$LIB $JE" MAPPROF_RATE=1 MAPPROF_OUT="$T/pa.%p.%n" "$PROGS/shim_pagealloc" nopv)
expect_eq "valloc over jemalloc: as without the shim" "$want" "$got"

# --- the bad_alloc object of a failing operator new is the program's allocation: counted, as
# its free is (over glibc an aligned new, over jemalloc every form, counted only the free)
# (with a new-handler that makes a failing new of its own, the guard wrapped over jemalloc; with
# one that throws, a nothrow operator's catch freed the exception uncounted)
for alloc in glibc jemalloc; do
	pre=$LIB
	[ $alloc = jemalloc ] && pre="$LIB $JE"
	for h in "" handler thrower; do
		for n in 0 5; do
			out=$(env LD_PRELOAD="$pre" MAPPROF_RATE=1 MAPPROF_OUT="$T/ba$n$alloc$h.%p.%n" \
				"$PROGS/shim_badalloc" $n $h)
			net[$n]="$("$REPORT" --json "$T/ba$n$alloc$h".* 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["totals"]
print(t["alloc_calls"] - t["free_calls"], t["alloc_calls"] > 1000)') $out"
		done
		expect_eq "failing operator new over $alloc ${h:-without handler}: allocations less frees as without failures" \
			"${net[0]%% caught*} caught 20 handled $([ "$h" = handler ] && echo 5 || echo 0)" "${net[5]}"
	done
done

# --- an allocator preloaded before the shim takes every call: one line says so (the profile
# was empty without a word); the program's output is unchanged
want=$(env LD_PRELOAD="$JE" "$PROGS/shim_pagealloc" nopv 2>&1)
got=$(env LD_PRELOAD="$JE $LIB" MAPPROF_OUT="$T/jf.%p.%n" "$PROGS/shim_pagealloc" nopv 2>"$T/jf.err")
expect_eq "jemalloc before the shim: output unchanged, one line" "$want 1" \
	"$got $(grep -c '^mapprof: malloc here is not libmapprof.so.s.*list libmapprof.so first$' "$T/jf.err")"
# ... also for a non-PIE program that takes malloc's address (python3.11 does): its own entry
# for malloc, the PLT slot, was taken for ours (no line came, black-box QA); and with the shim
# first, no line
cat >"$T/addr.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) static void *call(void *(*f)(size_t), size_t n)
{
	return f(n); /* malloc's address, taken in code: its PLT slot stands for it */
}
int main(void)
{
	void *p = call(malloc, 32);
	printf("%d\n", p != NULL);
	free(p);
	return 0;
}
CEOF
if ${CC:-cc} -O1 -no-pie -fno-pie -o "$T/addr" "$T/addr.c" 2>"$T/addr.err"; then
	got=$(env LD_PRELOAD="$JE $LIB" MAPPROF_OUT="$T/na.%p.%n" "$T/addr" 2>"$T/na.err")
	got2=$(env LD_PRELOAD="$LIB $JE" MAPPROF_OUT="$T/nb.%p.%n" "$T/addr" 2>"$T/nb.err")
	expect_eq "jemalloc before the shim, non-PIE program taking malloc's address: one line; after it, none" \
		"1 1 1 0" \
		"$got $(grep -c '^mapprof: malloc here is not libmapprof.so.s' "$T/na.err") $got2 $(grep -c '^mapprof:' "$T/nb.err")"
else
	not_ok "a non-PIE program builds" "$(cat "$T/addr.err")"
fi
# ... and a program with a malloc of its own (rustc's): one line, with no advice to reorder
# LD_PRELOAD (the executable comes first whatever its order)
want=$("$PROGS/shim_ownmalloc" 2>&1)
got=$(env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/om.%p.%n" "$PROGS/shim_ownmalloc" 2>"$T/om.err")
expect_eq "a program's own malloc: output unchanged, one line that says so" "$want 1 0" \
	"$got $(grep -c '^mapprof: the program defines malloc itself' "$T/om.err") $(grep -c 'list libmapprof.so first' "$T/om.err")"
# The ALLOCATOR section is of the allocator the program uses: jemalloc's when it comes first
# (glibc's, all zeros, was written), none for a program's own malloc (glibc's was written)
alloc_keys() { $DEC "$@" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted({k.split(".")[0] for k in (d[0] if isinstance(d, list) else d).get("allocator", {})})) or "none")'; }
expect_eq "allocator section: jemalloc's when it comes first, none for a program's own malloc" \
	"jemalloc|none" "$(alloc_keys "$(ls -S "$T"/jf.* | head -1)")|$(alloc_keys "$(ls -S "$T"/om.* | head -1)")"
# ... and while profiling is off (a bad setting): they went to posix_memalign then
want=$(env LD_PRELOAD="$JE" "$PROGS/shim_pagealloc" nopv)
got=$(env LD_PRELOAD="$LIB $JE" MAPPROF_RATE=bogus "$PROGS/shim_pagealloc" nopv 2>/dev/null)
expect_eq "valloc over jemalloc, profiling off: as without the shim" "$want" "$got"

# --- a signal handler's failing new while the thread is inside one of ours, over jemalloc: it
# gave up the interrupted call's guard and crashed (about one run in two) or miscounted. Three
# runs: each must end normally, with the same allocations less frees.
nets=
for r in 1 2 3; do
	out=$(env LD_PRELOAD="$LIB $JE" MAPPROF_RATE=1 MAPPROF_OUT="$T/sb$r.%p.%n" \
		timeout 120 "$PROGS/shim_sigbadalloc" 300000 2>&1; echo "rc $?")
	net=$("$REPORT" --json "$T/sb$r".* 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["totals"]
print(t["alloc_calls"] - t["free_calls"])' 2>&1)
	nets="$nets $net"
	expect_eq "signal handler's failing new inside ours (run $r): normal end" \
		"sum 300000 consistent 1 rc 0" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
done
read -r a b c <<<"$nets"
expect_eq "signal handler's failing new inside ours: the same count every run" "$a $a" "$b $c"

# --- a bucket array that fails while the new-handler throws, over jemalloc (which catches the
# handler's exception and throws its own): the failed grows are not counted (one was). Under an
# address-space limit, so that jemalloc fails at once; not under ASan, whose shadow needs more.
if [ -z "${SANITIZED:-}" ]; then
	out=$( (ulimit -v 8000000 && env LD_PRELOAD="$LIB $JE" MAPPROF_RATE=1 MAPPROF_OUT="$T/tg.%p.%n" \
		timeout 60 "$PROGS/maps_throwgrow") 2>&1)
	got=$("$REPORT" --maps --json "$T"/tg.* 2>/dev/null | python3 -c '
import json, sys
print("grows", json.load(sys.stdin)["summary"]["grows"])' 2>&1)
	expect_eq "failed grow with a throwing new-handler over jemalloc: not counted" "$out" "$got"
else
	ok "failed grow with a throwing new-handler over jemalloc # SKIP under ASan"
fi

# --- a program built with a sanitizer whose run-time library gcc links dynamically (libasan,
# libtsan): its set-up allocates before its wrappers of libc can forward, and the shim's
# initialisation, run by that allocation, called one (clock_gettime, open): a jump to address 0,
# exit 139, even with no option set (ThreadSanitizer). Now the process runs unprofiled, said once.
cat >"$T/san.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	void *p[100];
	for (int i = 0; i < 100; i++)
		p[i] = malloc(1000);
	for (int i = 0; i < 100; i++)
		free(p[i]);
	puts("ran");
	return 3;
}
CEOF
for san in address:AddressSanitizer thread:ThreadSanitizer; do
	if [ -n "${SANITIZED:-}" ]; then
		ok "built with -fsanitize=${san%%:*} # SKIP under ASan"
		continue
	fi
	if ! ${CC:-cc} -O1 -fsanitize="${san%%:*}" -o "$T/san_${san%%:*}" "$T/san.c" 2>"$T/san.err"; then
		ok "built with -fsanitize=${san%%:*} # SKIP no sanitizer run-time: $(head -1 "$T/san.err")"
		continue
	fi
	# The sanitizer itself may refuse this kernel's memory layout (TSan and a high mmap
	# randomization): then there is nothing to compare.
	plain=$(timeout 60 "$T/san_${san%%:*}" 2>/dev/null)
	if [ "$plain $?" != "ran 3" ]; then
		ok "built with -fsanitize=${san%%:*} # SKIP it does not run here without the shim"
		continue
	fi
	mkdir -p "$T/san_d_${san%%:*}"
	out=$(ASAN_OPTIONS=verify_asan_link_order=0 timeout 60 env LD_PRELOAD="$LIB" \
		MAPPROF_OUT="$T/san_d_${san%%:*}/m.%p.%n.mprof" "$T/san_${san%%:*}" 2>&1)
	rc=$?
	expect_eq "built with -fsanitize=${san%%:*}: runs, output and exit status unchanged, one line" \
		"mapprof: the program runs with ${san#*:}: it is not profiled|ran|3" \
		"$(tr '\n' '|' <<<"$out")$rc"
done

# clang's runtime as a library (-shared-libsan): libclang_rt.asan-x86_64.so, missed at first.
clang_san() {
	if [ -n "${SANITIZED:-}" ]; then
		ok "clang -fsanitize=address -shared-libsan # SKIP under ASan"
		return
	fi
	if ! command -v clang >/dev/null; then
		ok "clang -fsanitize=address -shared-libsan # SKIP no clang"
		return
	fi
	if ! clang -O1 -fsanitize=address -shared-libsan -o "$T/san_clang" "$T/san.c" 2>"$T/san.err"; then
		ok "clang -fsanitize=address -shared-libsan # SKIP cannot build: $(head -1 "$T/san.err")"
		return
	fi
	local rt plain out rc
	rt=$(clang --print-runtime-dir)
	plain=$(LD_LIBRARY_PATH="$rt" timeout 60 "$T/san_clang" 2>/dev/null)
	if [ "$plain $?" != "ran 3" ]; then
		ok "clang -fsanitize=address -shared-libsan # SKIP it does not run here without the shim"
		return
	fi
	out=$(ASAN_OPTIONS=verify_asan_link_order=0 LD_LIBRARY_PATH="$rt" \
		timeout 60 env LD_PRELOAD="$LIB" MAPPROF_OUT="$T/san_d_address/m.%p.%n.mprof" \
		"$T/san_clang" 2>&1)
	rc=$?
	expect_eq "clang -fsanitize=address -shared-libsan: runs, output and exit status unchanged, one line" \
		"mapprof: the program runs with AddressSanitizer: it is not profiled|ran|3" \
		"$(tr '\n' '|' <<<"$out")$rc"
}
clang_san

# --- a program that runs into its address-space limit, in exact mode: the final dump (a few
# kilobytes) found no mapping left and was lost (9 runs in 10); one that keeps more objects than
# the profiler's share of the limit can record drops samples, and the report called the rest
# "exact, every allocation recorded". Not under ASan, whose shadow needs more.
if [ -z "${SANITIZED:-}" ]; then
	lost=0
	for r in 1 2 3 4 5; do
		rm -rf "$T/asfull"
		mkdir -p "$T/asfull"
		out=$( (ulimit -v 250000 && timeout 60 env LD_PRELOAD="$LIB" MAPPROF_RATE=1 \
			MAPPROF_OUT="$T/asfull/m.%p.%n.mprof" "$PROGS/shim_asfull" fill) 2>/dev/null)
		[ "$out" = "filled: ENOMEM" ] && [ "$(ls "$T/asfull" | wc -l)" = 1 ] || lost=$((lost + 1))
	done
	expect_eq "out of address space, exact mode: the final dump is written (5 runs)" "0 lost" "$lost lost"
	rm -rf "$T/askeep"
	mkdir -p "$T/askeep"
	out=$( (ulimit -v 200000 && timeout 60 env LD_PRELOAD="$LIB" MAPPROF_RATE=1 \
		MAPPROF_OUT="$T/askeep/m.%p.%n.mprof" "$PROGS/shim_asfull" keep) 2>/dev/null)
	top=$("$REPORT" --top 1 "$T/askeep"/*.mprof 2>/dev/null)
	raw=$("$REPORT" -o "$T/askeep.pb.gz" "$T/askeep"/*.mprof 2>/dev/null &&
		go tool pprof -raw "$T/askeep.pb.gz" 2>/dev/null | grep '^Comment:')
	dropped=$(sed -n 's/.* \([0-9][0-9]*\) dropped$/\1/p' <<<"$top")
	if [ "${dropped:-0}" -gt 0 ]; then
		maps=$("$REPORT" --maps "$T/askeep"/*.mprof 2>/dev/null)
		json=$("$REPORT" --json "$T/askeep"/*.mprof 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["exact"], d["lower_bounds"], d["totals"]["dropped"] > 0)')
		mjson=$("$REPORT" --maps --json "$T/askeep"/*.mprof 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print(s["exact"], s["lower_bounds"], s["dropped"] > 0)')
		gjson=$("$REPORT" --profile grow --json "$T/askeep"/*.mprof 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["exact"], d["lower_bounds"])')
		expect_eq "samples dropped in exact mode: --json, --maps --json and the grow profile's JSON (its in-use totals) say lower bounds, not exact" \
			"False True True|False True True|False True" "$json|$mjson|$gjson"
		expect_eq "samples dropped in exact mode: --top, --maps and the profile say lower bounds, not exact" \
			"kept 2000000|1|0|1|1|0" \
			"$out|$(grep -c '^Values are lower bounds: rate 1' <<<"$top")|$(grep -c 'exact' <<<"$raw")|$(grep -c 'samples dropped .*lower bounds' <<<"$raw")|$(grep -c 'lower bounds' <<<"$maps")|$(grep -c 'All figures are exact' <<<"$maps")"
	else
		not_ok "samples dropped in exact mode under ulimit -v 200000" "none dropped: $top"
	fi
else
	ok "out of address space, exact mode # SKIP under ASan"
fi

# --- glibc's malloc debugging library after the shim: its functions are compat symbols only
# (malloc@GLIBC_2.2.5, no default version), which the program's references bind to but dlsym's
# unversioned lookup passes over: its checks were off under the shim (a heap overflow that
# aborts the plain run went on, malloc_usable_size read the padded size, mtrace logged nothing).
MDBG=/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0
if [ -r "$MDBG" ] && [ -z "${SANITIZED:-}" ]; then
	mkdir -p "$T/mdbg"
	cat >"$T/mdbg/t.c" <<'CEOF'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	char *p = malloc(10);
	printf("usable %zu\n", malloc_usable_size(p));
	fflush(stdout);
	if (argc > 1)
		memset(p, 'x', 11); /* one byte past the end: malloc.check=3 aborts at the free */
	free(p);
	puts("survived");
	return 0;
}
CEOF
	if ${CC:-cc} -O0 -g -o "$T/mdbg/t" "$T/mdbg/t.c" 2>"$T/mdbg/err"; then
		for arg in "" overflow; do
			plain=$(env LD_PRELOAD="$MDBG" GLIBC_TUNABLES=glibc.malloc.check=3 \
				"$T/mdbg/t" $arg 2>&1; echo "exit $?")
			shim=$(env LD_PRELOAD="$LIB $MDBG" GLIBC_TUNABLES=glibc.malloc.check=3 \
				MAPPROF_OUT="$T/mdbg/m.%p.%n.mprof" "$T/mdbg/t" $arg 2>&1; echo "exit $?")
			expect_eq "libc_malloc_debug after the shim (${arg:-no overflow}): as without the shim" \
				"$plain" "$shim"
		done
		expect_eq "libc_malloc_debug: its checks on in the plain run (the test can tell)" \
			"usable 10" "$(env LD_PRELOAD="$MDBG" GLIBC_TUNABLES=glibc.malloc.check=3 "$T/mdbg/t" | head -1)"
		# ... and listed before the shim, it takes the calls: one line says so (none came)
		env LD_PRELOAD="$MDBG $LIB" MAPPROF_OUT="$T/mdbg/f.%p.%n.mprof" "$T/mdbg/t" \
			>/dev/null 2>"$T/mdbg/first.err"
		expect_eq "libc_malloc_debug before the shim: one line says its calls are not profiled" 1 \
			"$(grep -c '^mapprof: malloc here is not libmapprof.so.s' "$T/mdbg/first.err")"
		# ... and a C++ program's operator new, which the allocator listed first does not
		# define, goes to libstdc++'s (and so to it), uncounted: the calls were counted
		# alone (a partial total) and allocated from glibc past it
		cat >"$T/mdbg/u.cc" <<'CEOF'
#include <cstdio>
#include <unordered_map>
int main()
{
	long h = 0;
	for (int k = 0; k < 10; k++) {
		std::unordered_map<int, int> m;
		for (int i = 0; i < 100; i++)
			m[i] = i;
		h += (long)m.size();
	}
	std::printf("%ld\n", h);
	return 0;
}
CEOF
		if ${CXX:-c++} -O1 -o "$T/mdbg/u" "$T/mdbg/u.cc" 2>"$T/mdbg/err"; then
			env LD_PRELOAD="$MDBG $LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/mdbg/u.%p.%n.mprof" \
				"$T/mdbg/u" >/dev/null 2>&1
			expect_eq "libc_malloc_debug before the shim, C++: no allocation counted, the grows are" \
				"0 40" "$("$REPORT" --json "$T/mdbg"/u.*.mprof 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["totals"]["alloc_calls"])') $("$REPORT" --maps --json "$T/mdbg"/u.*.mprof 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["summary"]["grows"])')"
		else
			not_ok "the C++ malloc-debug program builds" "$(cat "$T/mdbg/err")"
		fi
	else
		not_ok "the malloc-debug program builds" "$(cat "$T/mdbg/err")"
	fi
else
	ok "libc_malloc_debug after the shim # SKIP not installed, or under ASan"
fi

# --- fork during a dump over jemalloc: jemalloc's fork handler (run before ours) holds its
# locks while ours waits for the dump lock, and the dump read jemalloc's statistics under that
# lock: the parent hung for good (black-box QA). The statistics are read before the lock now.
if [ -r "$JE" ] && [ -z "${SANITIZED:-}" ]; then
	mkdir -p "$T/jfd"
	cat >"$T/jfd/t.c" <<'CEOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mapprof.h"
static volatile int stop;
static void *dumper(void *a)
{
	while (!stop)
		MAPPROF_DUMP();
	return a;
}
int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	pthread_t t;
	pthread_create(&t, NULL, dumper, NULL);
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
		free(malloc(100));
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("forks %d\n", n);
	return 0;
}
CEOF
	if ${CC:-cc} -O1 -pthread -I"$ROOT/include" -o "$T/jfd/t" "$T/jfd/t.c" 2>"$T/jfd.err"; then
		out=$(timeout -s KILL 60 env LD_PRELOAD="$LIB $JE" MAPPROF_OUT="$T/jfd/m.%p.%n.mprof" \
			"$T/jfd/t" 1000 2>&1; echo "rc $?")
		expect_eq "fork during dumps over jemalloc: no hang" "forks 1000|rc 0" \
			"$(echo "$out" | paste -sd'|')"
		rm -rf "$T/jfd"
	else
		not_ok "the fork-during-dump program builds" "$(cat "$T/jfd.err")"
	fi
else
	ok "fork during a dump over jemalloc # SKIP no jemalloc, or under ASan"
fi

# --- an aligned new of a size past PTRDIFF_MAX that succeeds (libstdc++ rounds it up to the
# alignment, wrapping to a few bytes): it was recorded at its size, every dump of the process
# then refused ("exceeds any possible allocation"; black-box QA). Recorded as what was asked of
# the allocator, the dump reads, and the program's other allocations are in it.
mkdir -p "$T/wrapnew"
cat >"$T/wrapnew/w.cc" <<'CEOF'
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
__attribute__((noinline)) void *keep_one() { return std::malloc(5000); }
int main()
{
	void *p = ::operator new(SIZE_MAX, std::align_val_t(64), std::nothrow);
	void *q = keep_one();
	std::printf("%s %d\n", p ? "wrapped" : "refused", q != nullptr);
	return 0;
}
CEOF
if ${CXX:-c++} -O1 -g -o "$T/wrapnew/w" "$T/wrapnew/w.cc" 2>"$T/wrapnew/err"; then
	plain=$("$T/wrapnew/w")
	got=$(mp_run "$T/wrapnew/d" "$T/wrapnew/w" 2>&1)
	expect_eq "aligned new of SIZE_MAX: the program as plain" "$plain" "$got"
	top=$("$REPORT" --top 20 "$T"/wrapnew/d/*.mprof 2>&1)
	check "aligned new of SIZE_MAX: the dump reads, the other allocation in it" \
		grep -q 'keep_one' <<<"$top"
else
	not_ok "the aligned-new program builds" "$(cat "$T/wrapnew/err")"
fi
