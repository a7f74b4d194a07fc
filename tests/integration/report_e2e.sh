#!/bin/bash
# SPDX-License-Identifier: MIT
# End to end: programs with known per-site truth run under the shim, mapprof-report makes the
# profile, and the profile is read back (mapprof-pbdump, the analyzer's own protobuf-c decoder,
# and go tool pprof -raw) and compared with the truth: exact values per site at rate 1, file and
# line of a site, an inlined frame, demangled C++ names, and sampled estimates within stated
# bounds at a fixed rate and fixed seeds. Skips while build/libmapprof.so does not exist.
. "$(dirname "$0")/lib.sh"

if [ ! -f "$LIB" ]; then
	ok "end to end # SKIP $LIB not built yet"
	exit 0
fi
PBDUMP=$ROOT/$BUILD/tests/tools/mapprof-pbdump

# site_values PROFILE FUNCTION: the four values summed over samples whose leaf frame (innermost
# inline line included) is FUNCTION.
site_values() {
	"$PBDUMP" --stacks "$1" | awk -F' \\| ' -v fn="$2" '
		{ split($3, fr, ";"); sub(/@.*/, "", fr[1]);
		  if (fr[1] == fn) { split($1, v, " "); for (i = 1; i <= 4; i++) s[i] += v[i] } }
		END { printf "%d %d %d %d\n", s[1], s[2], s[3], s[4] }'
}
# frame_values PROFILE FUNCTION: the same over samples that have FUNCTION anywhere.
frame_values() {
	"$PBDUMP" --stacks "$1" | awk -F' \\| ' -v fn="$2" '
		{ n = split($3, fr, ";"); hit = 0;
		  for (j = 1; j <= n; j++) { f = fr[j]; sub(/@[^@]*$/, "", f); if (f == fn) hit = 1 }
		  if (hit) { split($1, v, " "); for (i = 1; i <= 4; i++) s[i] += v[i] } }
		END { printf "%d %d %d %d\n", s[1], s[2], s[3], s[4] }'
}

# ---- exact mode, C ----
mp_run "$T/sites" "$PROGS/report_sites"
"$REPORT" -o "$T/sites.pb.gz" "$T"/sites/*.mprof 2>"$T/sites.err"
check "report of report_sites exits 0" test -s "$T/sites.pb.gz"
expect_eq "site_freed: 100 x 64 B, all freed" "100 6400 0 0" "$(site_values "$T/sites.pb.gz" site_freed)"
expect_eq "site_live: 50 x 1000 B, all live" "50 50000 50 50000" "$(site_values "$T/sites.pb.gz" site_live)"
expect_eq "site_calloc: 10 x calloc(10, 100)" "10 10000 10 10000" "$(site_values "$T/sites.pb.gz" site_calloc)"
expect_eq "site_half: 40 x 24 B, half freed" "40 960 20 480" "$(site_values "$T/sites.pb.gz" site_half)"
expect_eq "inlined make_node: 20 x 48 B" "20 960 20 960" "$(site_values "$T/sites.pb.gz" make_node)"
folded=$("$REPORT" --folded --sample-index alloc_objects "$T"/sites/*.mprof 2>/dev/null)
expect_eq "--folded: one line for site_twice's two stacks of the same text, summed" "1 10" \
	"$(awk '/;site_twice [0-9]+$/ { n++; s += $NF } END { print n + 0, s + 0 }' <<<"$folded")"
src=tests/programs/report_sites.c
stacks=$("$PBDUMP" --stacks "$T/sites.pb.gz")
stacks=${stacks//$ROOT\//} # file names are absolute: compare without $ROOT/
want="site_live@$src:$(line_of $src 'keep\[nkeep++\] = malloc(1000)');main@$src:"
grep -qF "| $want" <<<"$stacks" && ok "site_live: function, file and line of the call" ||
	not_ok "site_live: function, file and line of the call" "want $want" "$(grep site_live <<<"$stacks")"
want="make_node@$src:$(line_of $src MAKE_NODE_LINE);caller_inline@$src:$(line_of $src CALLER_INLINE_LINE);main@"
grep -qF "| $want" <<<"$stacks" && ok "inlined frame: make_node inside caller_inline, each at its line" ||
	not_ok "inlined frame: make_node inside caller_inline, each at its line" "want $want" "$(grep make_node <<<"$stacks")"
raw=$(go tool pprof -raw "$T/sites.pb.gz" 2>&1)
grep -qE "site_live $ROOT/$src:[0-9]+|site_live $src:[0-9]+" <<<"$raw" &&
	grep -qE '^ +50 +50000 +50 +50000: ' <<<"$raw" &&
	ok "go tool pprof -raw reads the same site and values" ||
	not_ok "go tool pprof -raw reads the same site and values" "$(grep -m5 -E 'site_live|50000' <<<"$raw")"
# A program started by a wrapper that runs under the shim too (timeout, sh -c): go tool pprof
# names a profile after its first mapping ("File:"), which must be the program's, not the
# wrapper's (the first process by start time).
mp_run "$T/wrapped" timeout 60 "$PROGS/maps_umap" >/dev/null
"$REPORT" -o "$T/wrapped.pb.gz" "$T"/wrapped/*.mprof 2>/dev/null
"$REPORT" --profile grow -o "$T/wrapped_grow.pb.gz" "$T"/wrapped/*.mprof 2>/dev/null
check "wrapped: the wrapper leaves a dump of its own too" test "$(ls "$T"/wrapped/*.mprof | wc -l)" -ge 2
for f in wrapped wrapped_grow; do
	expect_eq "$f: go tool pprof names the program, not the wrapper that started it" maps_umap \
		"$(go tool pprof -top "$T/$f.pb.gz" 2>/dev/null | sed -n 's/^File: //p')"
done
out=$(go tool pprof -list '^site_live$' "$T/sites.pb.gz" 2>&1)
grep -qE '48\.83kB .*keep\[nkeep\+\+\] = malloc\(1000\)' <<<"$out" &&
	ok "go tool pprof -list attributes site_live's bytes to the malloc line" ||
	not_ok "go tool pprof -list attributes site_live's bytes to the malloc line" "$out"

# ---- the same program built other ways: clang (DWARF 5 and no .debug_aranges; elfutils 0.188
# finds a CU only through them, so every frame read "??:0"), and gcc -gsplit-dwarf (functions
# and inlined instances in a .dwo file beside the binary)
for how in "clang -g -O2" "gcc -g -O2 -gsplit-dwarf"; do
	cc=${how%% *}
	if ! command -v "$cc" >/dev/null; then
		ok "$how # SKIP $cc not installed"
		continue
	fi
	tag=${how//[^a-z0-9]/_}
	# shellcheck disable=SC2086
	(cd "$T" && $how -fno-omit-frame-pointer -o "$T/$tag" "$ROOT/$src" 2>"$T/$tag.err")
	mp_run "$T/$tag.d" "$T/$tag"
	"$REPORT" -o "$T/$tag.pb.gz" "$T/$tag.d"/*.mprof 2>/dev/null
	cst=$("$PBDUMP" --stacks "$T/$tag.pb.gz")
	cst=${cst//$ROOT\//} # file names may be absolute: compare without $ROOT/
	want="site_live@$src:$(line_of $src 'keep\[nkeep++\] = malloc(1000)');main@$src:"
	grep -qF "| $want" <<<"$cst" && ok "$how: site_live's file and line" ||
		not_ok "$how: site_live's file and line" "want $want" "$(grep site_live <<<"$cst")"
	want="make_node@$src:$(line_of $src MAKE_NODE_LINE);caller_inline@$src:$(line_of $src CALLER_INLINE_LINE);main@"
	grep -qF "| $want" <<<"$cst" && ok "$how: inlined make_node inside caller_inline" ||
		not_ok "$how: inlined make_node inside caller_inline" "want $want" \
			"$(grep make_node <<<"$cst")"
done

# A program without a build ID, rebuilt after the run as another program: nothing in it says it
# is not the binary that ran but its time, so it is left unsymbolized with a warning (it gave
# another function's name, of another source file, silently). Unchanged since: symbolized.
mkdir -p "$T/nobid"
printf '#include <stdlib.h>\nvoid *volatile sink;\nvoid alpha(void)\n{\n\tsink = malloc(1000);\n}\nint main(void)\n{\n\talpha();\n\treturn 0;\n}\n' >"$T/nobid/a.c"
printf '#include <stdlib.h>\nvoid *volatile sink;\nvoid zzz_pad(void) {}\nvoid beta(void)\n{\n\tsink = malloc(2000);\n}\nint main(void)\n{\n\tzzz_pad();\n\tbeta();\n\treturn 0;\n}\n' >"$T/nobid/b.c"
# A dump of a process that started before the build (and ran another binary) changes nothing.
mp_run "$T/nobid/d" "$PROGS/shim_life" out >/dev/null 2>&1
sleep 0.01
if (cd "$T/nobid" && gcc -g -O0 -Wl,--build-id=none -o prog a.c 2>err); then
	mp_run "$T/nobid/d" "$T/nobid/prog"
	leaf=$("$REPORT" --folded "$T/nobid/d"/*.mprof 2>"$T/nobid/warn1" | sed 's/ [0-9]*$//; s/.*;//')
	expect_eq "no build ID, binary unchanged: symbolized, no warning" "alpha|" \
		"$leaf|$(cat "$T/nobid/warn1")"
	sleep 0.01
	(cd "$T/nobid" && gcc -g -O0 -Wl,--build-id=none -o prog b.c)
	leaf=$("$REPORT" --folded "$T/nobid/d"/*.mprof 2>"$T/nobid/warn2" | sed 's/ [0-9]*$//; s/.*;//')
	expect_eq "no build ID, rebuilt since the run: left unsymbolized, with a warning" \
		"prog+0x|1" "${leaf%%0x*}0x|$(grep -c 'prog: modified after a profiled process that ran it started' "$T/nobid/warn2")"
	# A run of the new build reported with the old one: the old one's frames are not the
	# new build's (they read as beta's, silently, when the last dump was the bound).
	mp_run "$T/nobid/d" "$T/nobid/prog"
	"$REPORT" --folded "$T/nobid/d"/*.mprof >"$T/nobid/both" 2>"$T/nobid/warn3"
	expect_eq "no build ID, runs of two builds reported together: warned, no name of either" \
		"1|0" "$(grep -c 'prog: modified after' "$T/nobid/warn3")|$(grep -cE 'alpha|beta' "$T/nobid/both")"
	# Replaced by another build with an old mtime (cp -p, tar, rsync -t keep it): its code
	# segment is not the one that ran (it read as beta's, silently).
	mkdir -p "$T/nobid/cp"
	(cd "$T/nobid" && gcc -g -O0 -Wl,--build-id=none -o cp/prog a.c &&
		gcc -g -O0 -Wl,--build-id=none -o cp/prog_b b.c && touch -d 2020-01-01 cp/prog_b)
	mp_run "$T/nobid/cp/d" "$T/nobid/cp/prog"
	cp -p "$T/nobid/cp/prog_b" "$T/nobid/cp/prog"
	"$REPORT" --folded "$T/nobid/cp/d"/*.mprof >"$T/nobid/cp/out" 2>"$T/nobid/cp/warn"
	expect_eq "no build ID, replaced keeping an old mtime: warned, no name of either build" \
		"1|0" "$(grep -c 'prog: its code on disk is not where or as large' "$T/nobid/cp/warn")|$(grep -cE 'alpha|beta' "$T/nobid/cp/out")"
else
	ok "no build ID # SKIP gcc -Wl,--build-id=none failed: $(cat "$T/nobid/err")"
fi

# A source path that is not UTF-8 (bytes 0xff and 0x01 in a directory's name): --json and
# --maps --json are still UTF-8 JSON (0xff was copied raw, and parsers rejected the file).
bad=$T/$(printf 'bad\xffdir\x01ctl')
mkdir -p "$bad"
printf '#include <stdlib.h>\nvoid *volatile sink;\nint main(void)\n{\n\tsink = malloc(100);\n\treturn 0;\n}\n' >"$bad/x.c"
if gcc -g -O0 -o "$T/badpath" "$bad/x.c" 2>"$T/badpath.err"; then
	mp_run "$T/badpath.d" "$T/badpath"
	"$REPORT" --json "$T/badpath.d"/*.mprof >"$T/badpath.json" 2>&1
	"$REPORT" --maps --json "$T/badpath.d"/*.mprof >"$T/badpath.maps.json" 2>&1
	check "a source path that is not UTF-8: --json and --maps --json parse, the byte as U+FFFD" \
		/usr/bin/python3 -c '
import json, sys
j = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
json.loads(open(sys.argv[2], "rb").read().decode("utf-8"))
files = [ln["file"] for l in j["locations"] for ln in l["lines"]]
assert any(f.endswith("bad\ufffddir\x01ctl/x.c") for f in files), files
' "$T/badpath.json" "$T/badpath.maps.json"
else
	ok "a source path that is not UTF-8 # SKIP gcc failed: $(cat "$T/badpath.err")"
fi

# clang 14's DWARF 5 names a header of the compile directory's tree "./sub/inl.h": frames
# carry it joined to that directory, so that pprof -list finds the source from anywhere (paths
# without "./", as gcc writes them, stay as the user gave them).
if command -v clang >/dev/null; then
	mkdir -p "$T/rel/sub"
	printf '#include <stdlib.h>\nstatic inline __attribute__((always_inline)) void *inl_leaf(size_t n)\n{\n\treturn malloc(n);\n}\n' >"$T/rel/sub/inl.h"
	printf '#include "sub/inl.h"\nvoid *volatile sink;\nint main(void)\n{\n\tsink = inl_leaf(100);\n\treturn 0;\n}\n' >"$T/rel/main.c"
	(cd "$T/rel" && clang -g -O2 -o rel main.c)
	mp_run "$T/rel.d" "$T/rel/rel"
	"$REPORT" -o "$T/rel.pb.gz" "$T/rel.d"/*.mprof 2>/dev/null
	cst=$("$PBDUMP" --stacks "$T/rel.pb.gz")
	grep -qF "inl_leaf@$T/rel/sub/inl.h:4;main@$T/rel/main.c:5" <<<"$cst" &&
		ok "clang: a header's and the main file's relative paths made absolute" ||
		not_ok "clang: a header's and the main file's relative paths made absolute" "$(grep inl_leaf <<<"$cst")"
else
	ok "clang relative paths # SKIP clang not installed"
fi

# ---- Go with cgo: Go frames named with their Go files and lines (libdw's aranges of the C parts
# answered for the Go code too, and every Go frame read gcc_mmap.c:37)
if command -v go >/dev/null; then
	gosrc=tests/programs/go_cgo
	(cd "$ROOT/$gosrc" && GOCACHE="$T/gocache" GOPATH="$T/gopath" GOFLAGS=-mod=mod \
		go build -o "$T/go_cgo" . >"$T/go.err" 2>&1)
	mp_run "$T/go" "$T/go_cgo" >"$T/go.out" 2>&1
	"$REPORT" -o "$T/go.pb.gz" "$T/go"/*.mprof 2>/dev/null
	gst=$("$PBDUMP" --stacks "$T/go.pb.gz" 2>&1 | grep 'churn@')
	gst=${gst//$ROOT\//}
	# The unwind ends where cgo switches stacks: runtime.asmcgocall, Go assembly.
	want="churn@$gosrc/main.go:[0-9]+;.*Cfunc_churn@[^;]*;runtime\.asmcgocall@[^;]*/asm_amd64\.s:"
	grep -qE "$want" <<<"$gst" && ok "go with cgo: the Go frame at its Go source line" ||
		not_ok "go with cgo: the Go frame at its Go source line" "want /$want/" "$gst" \
			"$(cat "$T/go.err")"
else
	ok "go with cgo # SKIP go not installed"
fi

# ---- exact mode, C++ ----
mp_run "$T/cxx" "$PROGS/report_cxx"
"$REPORT" -o "$T/cxx.pb.gz" "$T"/cxx/*.mprof 2>/dev/null
expect_eq "demangled shapes::Widget::make(int): 30 x 80 B" "30 2400 30 2400" \
	"$(frame_values "$T/cxx.pb.gz" 'shapes::Widget::make(int)')"
expect_eq "demangled template make_many<double>: 12 x 32 B" "12 384 12 384" \
	"$(frame_values "$T/cxx.pb.gz" 'double* make_many<double>(unsigned long)')"
# Lambdas: their DWARF names are all "operator()"; the symbol's qualified name tells them apart.
for l in "parse_all 7 168" "render_all 5 280"; do
	set -- $l
	expect_eq "lambda in $1(): its own function, $2 objects" "$2 $3 $2 $3" \
		"$(frame_values "$T/cxx.pb.gz" "$1()::{lambda(int)#1}::operator()(int) const")"
done
"$PBDUMP" "$T/cxx.pb.gz" | grep -q '^function .*: shapes::Widget::make(int) system _ZN6shapes6Widget4makeEi ' &&
	ok "system_name keeps the mangled name" || not_ok "system_name keeps the mangled name"

# ---- inlined functions without a linkage name (GCC writes none for internal linkage): named by
# their scopes (Alpha::make and Beta::make were both "make", one function).
mp_run "$T/anon" "$PROGS/report_anon_inline"
folded=$("$REPORT" --folded --sample-index alloc_objects "$T"/anon/*.mprof 2>/dev/null)
expect_eq "--folded: inlined functions without a linkage name, by their scopes" \
	"use_alpha();(anonymous namespace)::Alpha::make 3|use_beta();(anonymous namespace)::Beta::make 7|use_fill();outer::(anonymous namespace)::fill 5" \
	"$(grep -o 'use_[a-z]*();.*' <<<"$folded" | sort | paste -sd'|')"
# pprof takes a function whose system name equals its name for one not demangled yet and strips
# its (...) and <...>: "(anonymous namespace)::Alpha::make" read "::Alpha::make". Such functions
# have no system name.
"$REPORT" -o "$T/anon.pb.gz" "$T"/anon/*.mprof 2>/dev/null
expect_eq "go tool pprof: inlined functions without a linkage name keep their scopes" \
	"(anonymous namespace)::Alpha::make|(anonymous namespace)::Beta::make|outer::(anonymous namespace)::fill" \
	"$(go tool pprof -traces -sample_index=alloc_objects "$T/anon.pb.gz" 2>/dev/null |
		grep -o '[^ ]*(anonymous namespace)::[A-Za-z:]*make\|[^ ]*(anonymous namespace)::fill' |
		sort -u | paste -sd'|')"
# A lambda's closure type is unnamed: named as a lambda by the line of its declaration (two in
# B::g); another unnamed type as an unnamed type.
src=$ROOT/tests/programs/report_anon_inline.cc
la=$(grep -n 'auto l = ' "$src" | sed -n 1p | cut -d: -f1)
lb=$(grep -n 'auto l = ' "$src" | sed -n 2p | cut -d: -f1)
lb2=$(grep -n 'auto l2 = ' "$src" | cut -d: -f1)
lu=$(grep -n '	struct {$' "$src" | cut -d: -f1)
expect_eq "--folded: local classes and lambdas, by their functions' declared scopes" \
	"$(printf '%s\n' "A::g();A::g::{lambda at line $la}::operator() 2" \
		"B::g();B::g::{lambda at line $lb}::operator() 5" \
		"B::g();B::g::{lambda at line $lb2}::operator() 3" \
		"gamma::f();gamma::f::{unnamed type at line $lu}::make 8" \
		"alpha::f();alpha::f::Loc::make 4" "beta::f();beta::f::Loc::make 6" | sort | paste -sd'|')" \
	"$(grep -oE '(A|B|alpha|beta|gamma)::[fg]\(\);.*' <<<"$folded" | sort | paste -sd'|')"

# ---- a frame past every CU's range takes no line: g++ -O2 puts main in .text.startup, before
# crt1's _start, and libdwfl's line lookup answered for _start with the last line of main's unit
# (basic_string.h:795). The program is written here: the layout is the compiler's.
mkdir -p "$T/start"
cat >"$T/start/s.cc" <<'EOF'
#include <cstdio>
#include <string>
#include <unordered_map>
int main(int argc, char **)
{
	std::unordered_map<std::string, int> map;
	for (int i = 0; i < 100 * argc; i++)
		map.emplace("key-" + std::to_string(i), i);
	std::printf("%zu\n", map.size());
	return 0;
}
EOF
if (cd "$T/start" && g++ -g -O2 -o s s.cc 2>s.err); then
	mp_run "$T/start/d" "$T/start/s" >/dev/null
	"$REPORT" --profile grow -o "$T/start.pb.gz" "$T/start/d"/*.mprof 2>/dev/null
	sf=$("$PBDUMP" --stacks "$T/start.pb.gz" | grep -o '_start@[^;]*$' | sort -u)
	[ -n "$sf" ] && ! grep -qv -e '^_start@:0$' -e '^_start@[^:]*start[^:/]*\.S:' <<<"$sf" &&
		ok "_start after an -O2 main: no line of main's unit" ||
		not_ok "_start after an -O2 main: no line of main's unit" "$sf"
else
	not_ok "g++ -O2 builds the _start program" "$(cat "$T/start/s.err")"
fi

# ---- a function removed by --gc-sections keeps its DWARF with DW_AT_low_pc 0 and its size: its
# [0, size) claimed the object's first code, so code without debug info (plain_alloc) and crt1's
# _start were named after it (dead_big, which is not in the binary). Both link orders, and the
# layout whose first segment holds the headers and the code (-z noseparate-code).
mkdir -p "$T/gc"
cat >"$T/gc/dead.c" <<'EOF'
void dead_big(void) { __asm__ volatile(".fill 8192, 1, 0x90"); }
EOF
cat >"$T/gc/nodbg.c" <<'EOF'
#include <stdlib.h>
void *plain_alloc(size_t n) { return malloc(n); }
EOF
cat >"$T/gc/main.c" <<'EOF'
#include <stdlib.h>
void *plain_alloc(size_t n);
int main(void) { for (int i = 0; i < 2; i++) free(plain_alloc(31)); return 0; }
EOF
if (cd "$T/gc" && gcc -O1 -fno-optimize-sibling-calls -c nodbg.c && gcc -g -O1 -c main.c &&
	gcc -g -O1 -ffunction-sections -c dead.c && gcc -Wl,--gc-sections -o a nodbg.o main.o dead.o &&
	gcc -Wl,--gc-sections -o b main.o nodbg.o dead.o &&
	gcc -Wl,--gc-sections -Wl,-z,noseparate-code -o c nodbg.o main.o dead.o) 2>"$T/gc/err"; then
	for v in a b c; do
		mp_run "$T/gc/d$v" "$T/gc/$v" >/dev/null
		got=$("$REPORT" --folded --sample-index alloc_objects "$T/gc/d$v"/*.mprof 2>&1 | grep 'plain_alloc')
		[[ $got == _start\;*\;main\;plain_alloc\ 2 && $got != *dead_big* ]] &&
			ok "--gc-sections ($v): a removed function names no code" ||
			not_ok "--gc-sections ($v): a removed function names no code" "$got"
	done
else
	not_ok "the --gc-sections programs build" "$(cat "$T/gc/err")"
fi

# In DWARF 5 the linker zeroes a removed function's range-list base, not the offsets after it:
# an inlined instance inside unused_huge read as code at the object's start, and main's
# allocations were named after helper, which is in no function of the binary.
python3 - "$T/gc/h2.c" <<'EOF'
import sys
L = ['#include <stdlib.h>', 'void *volatile sink;', 'volatile int vv;',
     'static inline void helper(int *a, int n, int k) {',
     '  for (int i = 0; i < n; i++) { if (a[i] > k) a[i] -= k * vv; else a[i] += vv ^ i; }',
     '  if (a[0] == k) sink = malloc(k);', '}',
     '__attribute__((noinline)) void unused_huge(int *a, int n) {']
L += ['  helper(a, n, %d); if (vv == %d) a[%d] ^= n;' % (i * 7 + 3, i, i % 16) for i in range(400)] + ['}']
L.append('int main(int argc, char **argv) { ' + ' '.join(
    'sink = malloc(%d + argc); free(sink);' % (1000 + i) for i in range(60)) + ' return 0; }')
open(sys.argv[1], 'w').write('\n'.join(L) + '\n')
EOF
if gcc -g -O2 -ffunction-sections -Wl,--gc-sections -o "$T/gc/h2" "$T/gc/h2.c" 2>"$T/gc/err"; then
	mp_run "$T/gc/dh2" "$T/gc/h2"
	got=$("$REPORT" --folded --sample-index alloc_objects "$T/gc/dh2"/*.mprof 2>&1 | grep -c helper)
	expect_eq "--gc-sections, DWARF 5: an inlined instance of a removed function names no code" 0 "$got"
else
	not_ok "the DWARF 5 --gc-sections program builds" "$(cat "$T/gc/err")"
fi

# ---- more inline levels than a frame holds (64): the function that holds the code stays, at the
# line of its call, and the innermost frames; the ones between go (f63 read as called by main).
# deep_src DIR LEVELS BODY...: DIR/d.c with inline functions f0 (malloc) .. fLEVELS, then BODY.
deep_src() {
	local dir=$1 levels=$2
	shift 2
	mkdir -p "$dir"
	{
		echo '#include <stdlib.h>'
		echo 'static void *volatile sink;'
		echo 'static inline __attribute__((always_inline)) void *f0(size_t n) { return malloc(n); }'
		for i in $(seq 1 "$levels"); do
			echo "static inline __attribute__((always_inline)) void *f$i(size_t n) { return f$((i - 1))(n + 1); }"
		done
		printf '%s\n' "$@"
	} >"$dir/d.c"
}
# deep_check DIR NAME WANT: builds and runs DIR/d.c; the stack of its one 1-object sample must
# have WANT after its innermost frames (f0 ...).
deep_check() {
	local dir=$1 name=$2 want=$3
	if ! gcc -g -O2 -o "$dir/d" "$dir/d.c" 2>"$dir/err"; then
		not_ok "$name: builds" "$(cat "$dir/err")"
		return
	fi
	mp_run "$dir/out" "$dir/d"
	"$REPORT" -o "$dir.pb.gz" "$dir/out"/*.mprof 2>/dev/null
	local got
	got=$("$PBDUMP" --stacks "$dir.pb.gz" | grep '^ *1 .*f0@' | sed 's/.* | //')
	[[ $got == f0@*";"$want* ]] && ok "$name" || not_ok "$name" "want ...$want" "$got"
}
deep_src "$T/deep" 69 '__attribute__((noinline)) void outer_fn(void) { sink = f69(1); free(sink); } /* CALL */' \
	'int main(void) { outer_fn(); return 0; }'
src=$T/deep/d.c
deep_check "$T/deep" "70 inline levels: the function that holds them stays, at its line" \
	"f62@$src:$(line_of "$src" "void \*f62(");outer_fn@$src:$(line_of "$src" CALL);main@"
# The same inside a nested function (GNU C; OpenMP's outlined bodies are nested the same way):
# the function that holds the code is the nested one, not the one around it (read outer_fn:0).
deep_src "$T/deepn" 68 '__attribute__((noinline)) void outer_fn(int k) {' \
	'  __attribute__((noinline)) void nested_fn(void) { sink = f68(k); free(sink); } /* CALL */' \
	'  nested_fn(); /* NCALL */' '}' 'int main(void) { outer_fn(1); return 0; }'
src=$T/deepn/d.c
deep_check "$T/deepn" "70 inline levels in a nested function: it stays, at its line" \
	"f62@$src:$(line_of "$src" "void \*f62(");nested_fn@$src:$(line_of "$src" '/\* CALL');outer_fn@$src:$(line_of "$src" NCALL);main@"

# ---- sampled mode, a site of many sizes ----
# 20,000 blocks of 1 to 64 KiB from one site: far more distinct sizes than the shim keeps
# buckets for (table.h: 64 a stack, then one mixed bucket), so the site's dump stays small, and
# its estimates, each object weighed by its own size, are unbiased: within 5 standard deviations
# (plus 1) of the truth the program prints, at each seed (a false failure less than once in a
# million runs per figure).
for seed in 1 2 3 4; do
	truth=$(MAPPROF_RATE=16384 mp_run "$T/many$seed" env MAPPROF_SEED=$seed "$PROGS/report_manysizes")
	"$REPORT" -o "$T/many$seed.pb.gz" "$T"/many$seed/*.mprof 2>/dev/null
	got=$(site_values "$T/many$seed.pb.gz" many_sizes)
	n=$("$PBDUMP" --stacks "$T/many$seed.pb.gz" | grep -c '| many_sizes@')
	verdict=$(awk -v got="$got" -v truth="$truth" -v n="$n" 'BEGIN {
		split(got, v, " "); split(truth, t, " ");
		ok = n <= 65;
		for (k = 1; k <= 4; k++) {
			b = 5 * t[k + 4] + 1; d = v[k] - t[k];
			if (d > b || -d > b) ok = 0;
			msg = msg sprintf(" %d~%d+-%.0f", v[k], t[k], b) }
		printf "%s (%d samples;%s)", ok ? "ok" : "bad", n, msg }')
	[[ $verdict == ok* ]] && ok "many sizes, seed $seed: few samples, estimates ${verdict#ok }" ||
		not_ok "many sizes, seed $seed: few samples, unbiased estimates" "$verdict"
done
# Such a dump (the program's: the larger; `env` before its exec wrote one too) says 2.3 (a 1.x
# reader would take its size-0 samples for objects of 0 bytes); one without stays 1.9.
expect_eq "a dump with a sample of many sizes is version 2.3; one without, 1.9" "2 3|1 9" \
	"$(od -An -tu2 -j8 -N4 "$(ls -S "$T"/many1/*.mprof | head -1)" | xargs)|$(od -An -tu2 -j8 -N4 "$(ls -S "$T"/sites/*.mprof | head -1)" | xargs)"

# ---- sampled mode ----
# At rate R an object of s bytes is sampled with p = 1 - exp(-s/R); the estimate of n objects
# has standard deviation sqrt(n (1 - p) / p). Bounds are 5 standard deviations (plus 1 for
# rounding): with the fixed seeds the outcome is fixed; with random seeds a false failure
# would come less than once in a million runs per site.
for seed in 1 2 3; do
	MAPPROF_RATE=4096 mp_run "$T/sampled$seed" env MAPPROF_SEED=$seed "$PROGS/report_sampled"
	"$REPORT" -o "$T/sampled$seed.pb.gz" "$T"/sampled$seed/*.mprof 2>/dev/null
	for site in "tiny_site 200000 16 0" "near_site 20000 4096 0" "big_site 200 1048576 200"; do
		set -- $site
		got=$(site_values "$T/sampled$seed.pb.gz" "$1")
		verdict=$(awk -v got="$got" -v n="$2" -v s="$3" -v live="$4" -v r=4096 'BEGIN {
			split(got, v, " "); p = 1 - exp(-s / r); sd = sqrt(n * (1 - p) / p);
			b = 5 * sd + 1; bl = 5 * sqrt(live * (1 - p) / p) + 1;
			ok = (v[1] - n <= b && n - v[1] <= b) && (v[3] - live <= bl && live - v[3] <= bl) &&
			     (v[2] - n * s <= b * s && n * s - v[2] <= b * s);
			printf "%s (objects %d, want %d +- %.0f)", ok ? "ok" : "bad", v[1], n, b }')
		[[ $verdict == ok* ]] && ok "sampled seed $seed: $1 estimate ${verdict#ok }" ||
			not_ok "sampled seed $seed: $1 estimate" "$verdict" "values: $got"
	done
done
# A rerun with the same MAPPROF_SEED samples the same objects; its figures (dithered object
# counts included) are the same although its pid and start time differ. Compared: the
# program's dump (.1: the `env` before it is profiled too, with a seed of its own), with the
# same path lengths (the loader's allocations hold the environment, and sizes steer sampling).
MAPPROF_RATE=4096 mp_run "$T/sampledR" env MAPPROF_SEED=1 "$PROGS/report_sampled"
for r in 1 R; do
	"$REPORT" -o "$T/seeded$r.pb.gz" "$T"/sampled$r/*.1.mprof 2>/dev/null
	"$PBDUMP" --stacks "$T/seeded$r.pb.gz" | cut -d'|' -f1-2 | sort >"$T/seeded$r.txt"
done
check "same seed, two runs: the same sample values" cmp "$T/seeded1.txt" "$T/seededR.txt"
out=$("$REPORT" --top 3 "$T"/sampled1/*.mprof 2>&1)
grep -q 'sampled estimates: rate 4096' <<<"$out" && ok "--top header of a sampled run names the rate" ||
	not_ok "--top header of a sampled run names the rate" "$out"

# A makecontext context's first frame returns to glibc's __start_context, an address that no
# call pushed: pc - 1 is the padding before it, and the frame read as a bare libc+0x... (black-box
# QA). Named by the pc itself when nothing is before it.
mkdir -p "$T/uc"
cat >"$T/uc/t.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
static ucontext_t main_ctx, co_ctx;
void *volatile sink;
__attribute__((noinline)) void co_site(void)
{
	for (int i = 0; i < 50; i++) {
		sink = malloc(100);
		free(sink);
		swapcontext(&co_ctx, &main_ctx);
	}
}
int main(void)
{
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = malloc(65536);
	co_ctx.uc_stack.ss_size = 65536;
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, co_site, 0);
	for (int i = 0; i < 50; i++)
		swapcontext(&main_ctx, &co_ctx);
	puts("done");
	return 0;
}
CEOF
if ${CC:-cc} -O1 -g -o "$T/uc/t" "$T/uc/t.c" 2>"$T/uc.err"; then
	mp_run "$T/uc/d" "$T/uc/t" >/dev/null
	expect_eq "makecontext: the context's first frame is __start_context, not an address" \
		"__start_context;co_site 50" \
		"$("$REPORT" --folded --sample-index alloc_objects "$T/uc/d"/*.mprof 2>/dev/null | grep ';co_site ')"
else
	not_ok "the makecontext program builds" "$(cat "$T/uc.err")"
fi
