#!/bin/bash
# SPDX-License-Identifier: MIT
# mapprof-report from the outside, on dumps made by mapprof-gendump against a real binary with
# debug info (a private copy of mapprof-report, so rebuilding does not change its build ID):
# exit statuses and messages, --keep-going, the go tool pprof views a user reaches for (-top,
# -raw, -traces, -list, -sample_index, -diff_base), symbolization and build-ID checks,
# determinism, and --folded/--json sanity.
. "$(dirname "$0")/lib.sh"

GEN=$ROOT/$BUILD/tests/tools/mapprof-gendump
PBDUMP=$ROOT/$BUILD/tests/tools/mapprof-pbdump
cp "$REPORT" "$T/target" # the binary the dumps' addresses point into
"$GEN" --exe "$T/target" --samples 300 --stacks 40 --pid 11 --seed 1 --grows 20 --sites 4 -o "$T/a.mprof"
"$GEN" --exe "$T/target" --samples 300 --stacks 40 --pid 12 --seed 2 --grows 20 -o "$T/b.mprof"
"$GEN" --exe "$T/target" --samples 300 --stacks 40 --pid 11 --seq 1 --seed 3 -o "$T/a1.mprof"
"$GEN" --exe "$T/target" --samples 50 --stacks 5 --pid 13 --rate 4096 -o "$T/sampled.mprof"

# expect_rc NAME RC MESSAGE-PATTERN CMD...: exit status and a stderr line matching the pattern.
expect_rc() {
	local name=$1 want=$2 pat=$3
	shift 3
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		not_ok "$name" "exit status $rc, expected $want" "$err"
	elif [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$err"; then
		not_ok "$name" "stderr does not match /$pat/:" "$err"
	else
		ok "$name"
	fi
}

# ---- exit statuses ----
expect_rc "no arguments: usage, exit 1" 1 '^mapprof-report: no dump files' "$REPORT"
expect_rc "unknown option: exit 1" 1 "unknown option '--bogus'" "$REPORT" --bogus "$T/a.mprof"
expect_rc "bad --profile: exit 1" 1 'not heap or grow' "$REPORT" --profile cpu -o "$T/x" "$T/a.mprof"
expect_rc "bad --sample-index: exit 1" 1 "no 'bogus'" "$REPORT" --top --sample-index bogus "$T/a.mprof"
# Told before any dump is read, with the names there are: a dump's name taken for the index
# (--sample-index missing its value) is not "no dump files given".
expect_rc "--sample-index FILE: the names there are" 1 "heap profiles have no '.*a.mprof' \\(alloc_objects, alloc_space, inuse_objects, inuse_space\\)" \
	"$REPORT" --sample-index "$T/a.mprof"
expect_rc "grow --sample-index inuse_space: the grow profile's names" 1 "grow profiles have no 'inuse_space' \\(grows, grow_bytes, rehashed, grow_time\\)" \
	"$REPORT" --profile grow --sample-index inuse_space "$T/a.mprof"
expect_rc "two text modes: exit 1" 1 'choose one' "$REPORT" --top --json "$T/a.mprof"
expect_rc "--help: exit 0" 0 '' "$REPORT" --help
expect_rc "missing file: I/O error, exit 3" 3 "^mapprof-report: $T/none.mprof: cannot open" \
	"$REPORT" -o "$T/x.pb.gz" "$T/none.mprof"
expect_rc "unwritable output: exit 3" 3 'cannot create' "$REPORT" -o /nonexistent/dir/x.pb.gz "$T/a.mprof"
printf 'not a dump at all' >"$T/junk.mprof"
expect_rc "wrong magic: exit 2, offset 0" 2 "^mapprof-report: $T/junk.mprof: offset 0: bad magic" \
	"$REPORT" -o "$T/x.pb.gz" "$T/junk.mprof"
head -c 4 "$T/a.mprof" >"$T/trunc4.mprof"
expect_rc "cut inside the magic: truncated, not another file" 2 \
	"^mapprof-report: $T/trunc4.mprof: offset 4: truncated file header" \
	"$REPORT" -o "$T/x.pb.gz" "$T/trunc4.mprof"
head -c 1000 "$T/a.mprof" >"$T/trunc.mprof"
expect_rc "truncated: exit 2 with offset" 2 "^mapprof-report: $T/trunc.mprof: offset [0-9]+: " \
	"$REPORT" -o "$T/x.pb.gz" "$T/trunc.mprof"
{ printf 'MPROFDMP\x03\x00\x00\x00\x10\x00\x00\x00'; tail -c +17 "$T/a.mprof"; } >"$T/major3.mprof"
expect_rc "newer major: exit 2, offset 8" 2 "offset 8: format version 3.0 is not supported" \
	"$REPORT" -o "$T/x.pb.gz" "$T/major3.mprof"
head -c 4096 /dev/urandom >"$T/random.mprof"
expect_rc "random bytes: exit 2" 2 'offset 0: bad magic' "$REPORT" -o "$T/x.pb.gz" "$T/random.mprof"
expect_rc "mixed rates: exit 2" 2 'at rate 4096, but .* at rate 1|at rate 1, but .* at rate 4096' \
	"$REPORT" -o "$T/x.pb.gz" "$T/a.mprof" "$T/sampled.mprof"
"$GEN" --exe "$T/target" --samples 0 --stacks 1 --pid 14 --rate 0 -o "$T/off.mprof"
expect_rc "sampling off with a profiled dump: exit 2" 2 'sampling was off \(rate 0\), but .* at rate 1' \
	"$REPORT" --top 3 "$T/a.mprof" "$T/off.mprof"
# The grow profile takes any mix of rates (its grows are exact at each), but its in-use totals
# are then estimates (exact + sampled) or unknown (a process that did not sample): labelled so,
# with one line why. They were labelled by whichever process came first ("exact").
for order in "a.mprof sampled.mprof" "sampled.mprof a.mprof"; do
	# shellcheck disable=SC2086
	out=$(cd "$T" && "$REPORT" --profile grow --top 3 $order 2>"$T/mixed.err")
	rc=$?
	js=$(cd "$T" && "$REPORT" --profile grow --json $order 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["rate"], d["exact"], d.get("mixed_rates"))')
	expect_eq "grow profile over rates 1 and 4096 ($order): exit 0, in use labelled estimates" \
		"0|1|1|4096 True True" \
		"$rc|$(grep -c 'in use at dump.*(estimates' <<<"$out")|$(grep -c 'warning: .* at rate .*the in-use totals are estimates' "$T/mixed.err")|$js"
done
# With a process that did not sample among others: unknown, and the line names that one.
out=$("$REPORT" --profile grow --top 3 "$T/a.mprof" "$T/sampled.mprof" "$T/off.mprof" \
	2>"$T/mixed.err")
expect_eq "grow profile over rates 1, 4096 and 0: exit 0, in use unknown, one line naming it" \
	"0|1|1" "$?|$(grep -c 'in use unknown (a process did not sample)' <<<"$out")|$(grep -c \
		"off.mprof: sampling was off (rate 0), but .* at rate [0-9]*: .*in-use totals are unknown" \
		"$T/mixed.err")"
# --keep-going over mixed rates: the dumps at the most common rate are kept (a.mprof and
# b.mprof at rate 1; sampled.mprof at 4096 and off.mprof at 0 are skipped), in any order.
for order in "a b sampled off" "off sampled b a"; do
	files=()
	for f in $order; do files+=("$T/$f.mprof"); done
	expect_rc "--keep-going over mixed rates ($order): exit 0, the odd ones skipped" 0 \
		'warning: skipped: .*sampled.mprof: sampled at rate 4096, the others kept at rate 1' \
		"$REPORT" --keep-going --top 50 "${files[@]}"
	expect_rc "--keep-going over mixed rates ($order): the rate-0 one was not sampled" 0 \
		'warning: skipped: .*off.mprof: sampling was off \(rate 0\), the others kept at rate 1' \
		"$REPORT" --keep-going --top 50 "${files[@]}"
	out=$("$REPORT" --keep-going --top 50 "${files[@]}" 2>/dev/null)
	expect_eq "--keep-going over mixed rates ($order): the report of the rate-1 dumps" \
		"$("$REPORT" --top 50 "$T/a.mprof" "$T/b.mprof" 2>/dev/null | tail -n +2)" \
		"$(tail -n +2 <<<"$out")"
	expect_eq "--keep-going over mixed rates ($order): the header counts the files skipped" \
		"mapprof-report: heap profile of 2 process(es) from 2 dump(s); 2 file(s) skipped (--keep-going); showing inuse_space (bytes)" \
		"$(head -1 <<<"$out")"
done
# A process skipped for its rate goes with all its snapshots: the header counts the dumps used.
"$GEN" --exe "$T/target" --samples 50 --stacks 5 --pid 13 --rate 4096 --seq 1 -o "$T/sampled1.mprof"
expect_rc "--keep-going: a skipped process's earlier snapshots are named" 0 \
	'warning: skipped: .*sampled1.mprof \(and 1 earlier snapshot\(s\) of its process\): sampled at rate 4096' \
	"$REPORT" --keep-going --top 1 "$T/a.mprof" "$T/b.mprof" "$T/sampled.mprof" "$T/sampled1.mprof"
expect_eq "--keep-going: the header counts the dumps used, not the skipped snapshots" \
	"mapprof-report: heap profile of 2 process(es) from 2 dump(s); 2 file(s) skipped (--keep-going); showing inuse_space (bytes)" \
	"$("$REPORT" --keep-going --top 1 "$T/a.mprof" "$T/b.mprof" "$T/sampled.mprof" "$T/sampled1.mprof" 2>/dev/null | head -1)"
# -o naming an input dump (the output name forgotten: -o mapprof.*.mprof) would replace it.
cp "$T/a.mprof" "$T/in.mprof"
expect_rc "-o naming an input dump: exit 1" 1 'in.mprof: that is a mapprof dump' \
	"$REPORT" -o "$T/in.mprof" "$T/in.mprof" "$T/b.mprof"
cmp -s "$T/a.mprof" "$T/in.mprof" && ok "-o naming an input dump: the dump is untouched" ||
	not_ok "-o naming an input dump: the dump is untouched"
ln -sf "$T/in.mprof" "$T/in.link"
expect_rc "-o through a link to an input dump: exit 1" 1 'that is a mapprof dump' \
	"$REPORT" -o "$T/in.link" "$T/in.mprof"
# what the shell makes of -o mapprof.*.mprof: the first dump is -o's, the rest the inputs
expect_rc "-o naming a dump that is no input (-o m.*.mprof): exit 1" 1 'in.mprof: that is a mapprof dump' \
	"$REPORT" -o "$T/in.mprof" "$T/b.mprof"
cmp -s "$T/a.mprof" "$T/in.mprof" && ok "-o naming a dump: the dump is untouched" ||
	not_ok "-o naming a dump: the dump is untouched"
# an input that is no dump (--keep-going would skip it) is not called one
echo "notes" >"$T/notes.txt"
expect_rc "-o naming an input that is no dump: exit 1, says so" 1 'notes.txt: that is one of the inputs' \
	"$REPORT" --keep-going -o "$T/notes.txt" "$T/b.mprof" "$T/notes.txt"
expect_rc "--profile without a value: says what it needs" 1 '--profile needs heap or grow' \
	"$REPORT" "$T/a.mprof" --profile
out=$("$REPORT" --top 1 "$T/a.mprof" "$T/a.mprof" 2>&1)
grep -q 'of 1 process(es) from 1 dump(s)' <<<"$out" && ok "one file given twice: one dump read" ||
	not_ok "one file given twice: one dump read" "$(head -1 <<<"$out")"
out=$("$REPORT" --top 3 "$T/off.mprof" 2>/dev/null)
grep -q 'Sampling was off (rate 0)' <<<"$out" && grep -q 'in use unknown (sampling off)' <<<"$out" &&
	! grep -q 'in use at dump' <<<"$out" && ok "sampling off alone: a report that says so" ||
	not_ok "sampling off alone: a report that says so (in use unknown, not 0B)" "$out"
expect_rc "--keep-going skips a bad dump: exit 0" 0 'warning: skipped: .*junk.mprof: offset 0' \
	"$REPORT" --keep-going -o "$T/kg.pb.gz" "$T/junk.mprof" "$T/a.mprof"
expect_rc "--keep-going with nothing readable: exit 2" 2 'no readable dumps' \
	"$REPORT" --keep-going -o "$T/x.pb.gz" "$T/junk.mprof" "$T/trunc.mprof"
[ ! -e "$T/x.pb.gz" ] && ok "no output file left behind on failure" ||
	not_ok "no output file left behind on failure"
# What --keep-going skipped is said in the output itself, not only in warnings on stderr (which
# a report read later has lost): the --top and --maps headers, the JSON, the pprof comments.
kg=("$T/junk.mprof" "$T/a.mprof" "$T/trunc.mprof")
expect_eq "--keep-going --top: the header counts the files skipped" \
	"mapprof-report: heap profile of 1 process(es) from 1 dump(s); 2 file(s) skipped (--keep-going); showing inuse_space (bytes)" \
	"$("$REPORT" --keep-going --top 1 "${kg[@]}" 2>/dev/null | head -1)"
expect_eq "--keep-going --profile grow --top: the header counts the files skipped" \
	"mapprof-report: grow profile of 1 process(es) from 1 dump(s); 2 file(s) skipped (--keep-going); showing grows (count)" \
	"$("$REPORT" --keep-going --profile grow --top 1 "${kg[@]}" 2>/dev/null | head -1)"
expect_eq "--keep-going --maps: the header counts the files skipped" \
	"mapprof map churn report: 1 process, map tracking on in 1; 2 file(s) skipped (--keep-going)" \
	"$("$REPORT" --keep-going --maps "${kg[@]}" 2>/dev/null | head -1)"
expect_eq "--top and --maps without a file skipped: the headers as they were" \
	"mapprof-report: heap profile of 1 process(es) from 1 dump(s); showing inuse_space (bytes)|mapprof map churn report: 1 process, map tracking on in 1" \
	"$("$REPORT" --keep-going --top 1 "$T/a.mprof" 2>/dev/null | head -1)|$("$REPORT" --maps "$T/a.mprof" 2>/dev/null | head -1)"
js() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("skipped_files"), d.get("summary", {}).get("skipped_files"))'; }
expect_eq "--keep-going --json: skipped_files, always there (0 when none)" \
	"2 None|2 None|0 None|None 2|None 0" \
	"$("$REPORT" --keep-going --json "${kg[@]}" 2>/dev/null | js)|$("$REPORT" --keep-going --profile grow --json "${kg[@]}" 2>/dev/null | js)|$("$REPORT" --json "$T/a.mprof" 2>/dev/null | js)|$("$REPORT" --keep-going --maps --json "${kg[@]}" 2>/dev/null | js)|$("$REPORT" --maps --json "$T/a.mprof" 2>/dev/null | js)"
"$REPORT" --keep-going -o "$T/kg.pb.gz" "${kg[@]}" 2>/dev/null
"$REPORT" --keep-going --profile grow -o "$T/kg_grow.pb.gz" "${kg[@]}" 2>/dev/null
"$REPORT" -o "$T/nokg.pb.gz" "$T/a.mprof" 2>/dev/null
expect_eq "--keep-going pprof (heap, grow): a comment counts the files skipped; none without" \
	"1|1|0" \
	"$("$PBDUMP" "$T/kg.pb.gz" | grep -c '^comment: 2 file(s) skipped (--keep-going): not in this profile$')|$("$PBDUMP" "$T/kg_grow.pb.gz" | grep -c '^comment: 2 file(s) skipped (--keep-going): not in this profile$')|$("$PBDUMP" "$T/nokg.pb.gz" | grep -c '^comment: .*skipped')"

# Two files claiming the same snapshot of one process (pid 11, dump 0) with other contents.
"$GEN" --exe "$T/target" --samples 300 --stacks 40 --pid 11 --seed 9 -o "$T/a_other.mprof"
expect_rc "one snapshot, two contents: exit 2 naming both" 2 'a(_other)?.mprof and .*a(_other)?.mprof are both dump 0 of process 11 but differ' \
	"$REPORT" --top 3 "$T/a.mprof" "$T/a_other.mprof"
expect_rc "one snapshot, two contents, after a later snapshot of the process: still exit 2" 2 \
	'are both dump 0 of process 11 but differ' "$REPORT" --top 3 "$T/a1.mprof" "$T/a.mprof" "$T/a_other.mprof"
o1=$("$REPORT" --keep-going --folded "$T/a.mprof" "$T/a_other.mprof" 2>/dev/null)
o2=$("$REPORT" --keep-going --folded "$T/a_other.mprof" "$T/a.mprof" 2>/dev/null)
[ -n "$o1" ] && [ "$o1" = "$o2" ] && ok "--keep-going: of two contents of one snapshot, the kept one does not depend on the order" ||
	not_ok "--keep-going: of two contents of one snapshot, the kept one does not depend on the order"
expect_eq "--keep-going: the content of one snapshot left out counts as a skipped file" \
	"1 file(s) skipped" \
	"$("$REPORT" --keep-going --top 1 "$T/a.mprof" "$T/a_other.mprof" 2>/dev/null | head -1 | grep -o '[0-9]* file(s) skipped')"
cp "$T/a.mprof" "$T/a_copy.mprof"
expect_rc "one snapshot given twice (a copy): exit 0" 0 '' "$REPORT" --top 3 "$T/a.mprof" "$T/a_copy.mprof"
: >"$T/empty.mprof"
expect_rc "empty file: exit 2, said so" 2 'empty.mprof: empty file' "$REPORT" --top 3 "$T/empty.mprof"
expect_rc "an endless non-dump (/dev/zero): exit 2 at offset 0, not read to the end" 2 \
	'/dev/zero: offset 0: bad magic' timeout 20 "$REPORT" --top 3 /dev/zero

n=$("$REPORT" --top=4294967297 "$T/a.mprof" 2>/dev/null | grep -c '^ *[0-9.]*[kMGT]\{0,1\}B ')
m=$("$REPORT" --top=1000000 "$T/a.mprof" 2>/dev/null | grep -c '^ *[0-9.]*[kMGT]\{0,1\}B ')
[ "$n" -gt 1 ] && [ "$n" = "$m" ] && ok "--top=N past 2^32: every row (no wrap-around)" ||
	not_ok "--top=N past 2^32: every row (no wrap-around)" "$n rows, want $m"

# Absurd counts (2^60 objects of 0 bytes in three samples, TOTALS' sampled and bytes allocated
# at 2^64 - 1), in four processes: each dump is within what one can hold, their sums are not,
# and stay at the int64 limit instead of wrapping to negative totals ("-1B allocated" was
# shown, black-box QA). One dump of 2^62 objects of 2 bytes (2^63 bytes: a process of
# malloc(64 TiB) calls on an overcommitting kernel gets there) is read, its sums clamped at the
# limit: pprof's own sums of the profile stay positive.
for pid in 1001 1002 1003 1004; do
	python3 - "$T/a.mprof" "$T/huge$pid.mprof" "$pid" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
pos = 16
while pos + 16 <= len(b):
    typ, _, ln = struct.unpack_from("<IIQ", b, pos)
    if typ == 1:  # HEADER: pid first
        struct.pack_into("<I", b, pos + 16, int(sys.argv[3]))
    if typ == 4:  # SAMPLES: u32 count, then stack u32, kind u32, size, alloc, inuse (u64)
        n = struct.unpack_from("<I", b, pos + 16)[0]
        for i in range(min(n, 3)):
            struct.pack_into("<QQQ", b, pos + 20 + 32 * i + 8, 0, 1 << 60, 1 << 60)
    if typ == 5:  # TOTALS: alloc_calls, free_calls, alloc_bytes, sampled, ...
        struct.pack_into("<QQ", b, pos + 16 + 16, (1 << 64) - 1, (1 << 64) - 1)
    pos += 16 + ln
open(sys.argv[2], "wb").write(b)
PY
done
out=$("$REPORT" --top 3 --sample-index alloc_objects "$T"/huge100?.mprof 2>&1)
check "absurd counts: four processes read, their totals saturated (not wrapped)" \
	bash -c 'grep -q "^mapprof-report: heap profile of 4 process" <<<"$1" &&
		grep -q " 18446744073709551615 samples" <<<"$1"' _ "$out"
grep -q 'accounting for ' <<<"$out" && ! grep -qE -- '-[0-9]|[0-9]{4,}\.[0-9]+%' <<<"$out" &&
	ok "--top on absurd counts: no negative or wrapped sums" ||
	not_ok "--top on absurd counts: no negative or wrapped sums" "$out"
python3 - "$T/huge1001.mprof" "$T/hugebytes.mprof" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
pos = 16
while pos + 16 <= len(b):
    typ, _, ln = struct.unpack_from("<IIQ", b, pos)
    if typ == 4:  # the first sample: 2^62 objects of 2 bytes
        struct.pack_into("<QQQ", b, pos + 20 + 8, 2, 1 << 62, 1 << 62)
    pos += 16 + ln
open(sys.argv[2], "wb").write(b)
PY
"$REPORT" -o "$T/hugebytes.pb.gz" "$T/hugebytes.mprof" 2>"$T/hugebytes.err"
expect_eq "2^63 bytes in one dump: read" "0|" "$?|$(cat "$T/hugebytes.err")"
if command -v go >/dev/null; then
	got=$(go tool pprof -top -sample_index=alloc_space "$T/hugebytes.pb.gz" 2>&1)
	check "2^63 bytes in one dump: pprof's total is positive, at the limit" \
		bash -c 'grep -q "^Showing nodes accounting for [0-9.]*[A-Z]*B, 100% of [0-9.]*[A-Z]*B total" <<<"$1" &&
			! grep -qE -- " -[0-9]" <<<"$1"' _ "$got"
else
	ok "2^63 bytes in one dump: pprof's total # SKIP go not installed"
fi

# A dump time before 1970 (an i64 field) is named as the negative time it is, not as 2^64 - 5
python3 - "$T/a.mprof" "$T/neg.mprof" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
pos = 16
while pos + 16 <= len(b):
    typ, _, ln = struct.unpack_from("<IIQ", b, pos)
    if typ == 1:  # HEADER: pid, ppid u32; seq, rate, seed u64; depth, flags u32; start_ns, dump_ns
        struct.pack_into("<q", b, pos + 16 + 8 + 24 + 8 + 8, -5)
    pos += 16 + ln
open(sys.argv[2], "wb").write(b)
PY
expect_rc "a dump time before 1970: named as negative" 2 \
	"HEADER: dump time -5 ns is out of range" "$REPORT" --top 1 "$T/neg.mprof"

# ---- output targets ----
# -o into something that is not a regular file writes into it (renaming over it would replace a
# FIFO or a device such as /dev/null); through a symbolic link, into the file it names.
"$REPORT" --top 3 "$T/a.mprof" >"$T/top3.txt" 2>/dev/null
mkfifo "$T/fifo"
timeout 20 cat "$T/fifo" >"$T/fifo.out" & # a report that never opens it must not hang the suite
reader=$!
"$REPORT" --top 3 -o "$T/fifo" "$T/a.mprof" 2>"$T/fifo.err"
rc=$?
wait "$reader"
[ "$rc" -eq 0 ] && [ -p "$T/fifo" ] && cmp -s "$T/fifo.out" "$T/top3.txt" &&
	ok "-o a FIFO: written into, still a FIFO" ||
	not_ok "-o a FIFO: written into, still a FIFO" "rc $rc; $(ls -l "$T/fifo")" "$(cat "$T/fifo.err")"
: >"$T/named"
ln -s named "$T/link"
ln -s nothere "$T/dangling"
"$REPORT" --top 3 -o "$T/link" "$T/a.mprof" 2>/dev/null &&
	"$REPORT" --top 3 -o "$T/dangling" "$T/a.mprof" 2>/dev/null
[ -L "$T/link" ] && cmp -s "$T/named" "$T/top3.txt" && [ -L "$T/dangling" ] &&
	cmp -s "$T/nothere" "$T/top3.txt" &&
	ok "-o a symbolic link: written into the file it names, the link kept" ||
	not_ok "-o a symbolic link: written into the file it names, the link kept" "$(ls -l "$T")"
expect_rc "-o a directory: exit 3" 3 'is a directory' "$REPORT" -o "$T" "$T/a.mprof"
# -o /dev/fd/N: through the descriptor as the shell opened it (appending), not a new file
echo "first line" >"$T/appended"
"$REPORT" --top 3 -o /dev/fd/3 "$T/a.mprof" 3>>"$T/appended" 2>/dev/null
{ echo "first line"; cat "$T/top3.txt"; } | cmp -s - "$T/appended" &&
	ok "-o /dev/fd/3 opened for appending: appended to" ||
	not_ok "-o /dev/fd/3 opened for appending: appended to" "$(head -3 "$T/appended")"
# -o /dev/fd/N where N is not the caller's to write: said at once (a file the report opened
# took a closed 3's number, and "Invalid argument" came after the work)
expect_rc "-o /dev/fd/3 with 3 closed: exit 3, not an open descriptor" 3 \
	"^mapprof-report: /dev/fd/3: not an open descriptor\$" \
	sh -c 'exec 3>&-; exec "$@"' _ "$REPORT" --top 3 -o /dev/fd/3 "$T/a.mprof"
expect_rc "-o /dev/fd/3 open for reading: exit 3" 3 \
	"^mapprof-report: /dev/fd/3: open for reading only\$" \
	sh -c 'exec 3</dev/null; exec "$@"' _ "$REPORT" --top 3 -o /dev/fd/3 "$T/a.mprof"
chmod 640 "$T/named"
"$REPORT" --top 3 -o "$T/named" "$T/a.mprof" 2>/dev/null
expect_eq "-o an existing file: its mode is kept" "640" "$(stat -c %a "$T/named")"
# The temporary file is a new one: a link planted under its name (FILE.tmp.PID, the PID being
# easy to guess) is not written through, and the link is not what ends up renamed to FILE. The
# shell's exec keeps its PID, so the names planted are the report's.
echo secret >"$T/victim"
bash -c 'ln -s "$1/victim" "$1/planted.tmp.$$" && exec "$2" --top 3 -o "$1/planted" "$1/a.mprof"' \
	_ "$T" "$REPORT" 2>"$T/planted.err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(cat "$T/victim")" = secret ] && [ -f "$T/planted" ] && [ ! -L "$T/planted" ] &&
	cmp -s "$T/planted" "$T/top3.txt" &&
	ok "-o FILE with a link planted at FILE.tmp.PID: not followed, another name used" ||
	not_ok "-o FILE with a link planted at FILE.tmp.PID: not followed, another name used" \
		"exit $rc; victim: $(cat "$T/victim" | head -1)" "$(ls -l "$T"/planted*)" "$(cat "$T/planted.err")"
# Every name it would try taken: a clear error, nothing written through the links.
bash -c 'for i in "" $(seq -f .%g 1 9); do ln -s "$1/victim" "$1/taken.tmp.$$$i" || exit 9; done
	exec "$2" --top 3 -o "$1/taken" "$1/a.mprof"' _ "$T" "$REPORT" 2>"$T/taken.err"
rc=$?
[ "$rc" -eq 3 ] && [ "$(cat "$T/victim")" = secret ] && [ ! -e "$T/taken" ] &&
	grep -q "taken: cannot create a temporary file beside it: .*taken.tmp.[0-9]* and the 9 names after it all exist" "$T/taken.err" &&
	ok "-o FILE with every temporary name taken: exit 3, said so, no link followed" ||
	not_ok "-o FILE with every temporary name taken: exit 3, said so, no link followed" \
		"exit $rc; victim: $(cat "$T/victim" | head -1)" "$(cat "$T/taken.err")"
# A name too long to take the temporary suffix (NAME_MAX 255): written in place, whether the
# file exists or not.
long=$T/$(printf 'n%.0s' $(seq 1 250))
: >"$long"
"$REPORT" --top 3 -o "$long" "$T/a.mprof" 2>"$T/long.err"
rc=$?
long2=$T/$(printf 'm%.0s' $(seq 1 250))
"$REPORT" --top 3 -o "$long2" "$T/a.mprof" 2>>"$T/long.err"
rc2=$?
[ "$rc$rc2" = 00 ] && cmp -s "$long" "$T/top3.txt" && cmp -s "$long2" "$T/top3.txt" &&
	ok "-o a name with no room for the temporary suffix: written in place" ||
	not_ok "-o a name with no room for the temporary suffix: written in place" \
		"exit $rc, $rc2" "$(cat "$T/long.err")"
rm -f "$long" "$long2"
# A file that is a mount point (a container's bind-mounted output, -v host.pb.gz:/out.pb.gz):
# renaming over it fails (EBUSY); written in place, as the shell's `>` does.
echo old >"$T/host.txt" && echo old >"$T/mounted.txt"
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
	unshare -m sh -c "mount --bind '$T/host.txt' '$T/mounted.txt'" 2>/dev/null; then
	unshare -m sh -c "mount --bind '$T/host.txt' '$T/mounted.txt' &&
		exec '$REPORT' --top 3 -o '$T/mounted.txt' '$T/a.mprof'" 2>"$T/mounted.err"
	rc=$?
	[ "$rc" -eq 0 ] && cmp -s "$T/host.txt" "$T/top3.txt" &&
		[ "$(ls "$T" | grep -c '^mounted.txt.tmp')" = 0 ] &&
		ok "-o a bind-mounted file: written in place, no temporary file left" ||
		not_ok "-o a bind-mounted file: written in place, no temporary file left" \
			"exit $rc; $(head -c 80 "$T/host.txt")" "$(cat "$T/mounted.err")"
else
	ok "-o a bind-mounted file # SKIP needs root and unshare -m"
fi
# Permissions are checked as a user other than root (root may write any file): nobody, through
# setpriv, on files in $T (opened to others for this).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && chmod 711 "$T" &&
	setpriv --reuid=65534 --regid=65534 --clear-groups "$REPORT" --help >/dev/null 2>&1 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups cat "$T/a.mprof" >/dev/null 2>&1; then
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	# A file the user may not write, in a directory they may: refused as the shell's `>`
	# refuses it (renaming over it would have replaced it).
	mkdir "$T/open" && chmod 777 "$T/open"
	echo keep >"$T/open/ro.txt" && chmod 444 "$T/open/ro.txt"
	expect_rc "-o a file the user may not write (0444): exit 3, refused as the shell refuses it" 3 \
		"^mapprof-report: cannot write $T/open/ro.txt: Permission denied\$" \
		asnobody "$REPORT" --top 3 -o "$T/open/ro.txt" "$T/a.mprof"
	expect_eq "-o a file the user may not write: untouched, no temporary file left" \
		"keep 444 ro.txt" "$(cat "$T/open/ro.txt") $(stat -c %a "$T/open/ro.txt") $(ls "$T/open")"
	# A file the user may write, in a directory they may not (no temporary file beside it):
	# written in place, keeping its mode and owner.
	mkdir "$T/locked" && chmod 755 "$T/locked"
	echo old >"$T/locked/mine.txt" && chown 65534:65534 "$T/locked/mine.txt" &&
		chmod 640 "$T/locked/mine.txt"
	asnobody "$REPORT" --top 3 -o "$T/locked/mine.txt" "$T/a.mprof" 2>"$T/locked.err"
	rc=$?
	[ "$rc" -eq 0 ] && cmp -s "$T/locked/mine.txt" "$T/top3.txt" &&
		[ "$(stat -c '%a %u' "$T/locked/mine.txt") $(ls "$T/locked")" = "640 65534 mine.txt" ] &&
		ok "-o a writable file in a directory the user may not write: written in place" ||
		not_ok "-o a writable file in a directory the user may not write: written in place" \
			"exit $rc; $(stat -c '%a %u' "$T/locked/mine.txt"); $(ls "$T/locked")" "$(cat "$T/locked.err")"
	expect_rc "-o a new file in a directory the user may not write: exit 3" 3 \
		"^mapprof-report: $T/locked/new.txt: cannot create" \
		asnobody "$REPORT" --top 3 -o "$T/locked/new.txt" "$T/a.mprof"
	# Another user's file the user may write, in a sticky directory (/tmp): the temporary file
	# can be made, but not renamed over it (EPERM); the shell's `>` writes it, and so does
	# the report, in place (it failed: "cannot rename into place", black-box QA).
	mkdir "$T/sticky" && chmod 1777 "$T/sticky"
	echo old >"$T/sticky/shared.txt" && chmod 666 "$T/sticky/shared.txt"
	asnobody "$REPORT" --top 3 -o "$T/sticky/shared.txt" "$T/a.mprof" 2>"$T/sticky.err"
	rc=$?
	[ "$rc" -eq 0 ] && cmp -s "$T/sticky/shared.txt" "$T/top3.txt" &&
		[ "$(stat -c '%a %u' "$T/sticky/shared.txt") $(ls "$T/sticky")" = "666 0 shared.txt" ] &&
		ok "-o another user's writable file in a sticky directory: written in place" ||
		not_ok "-o another user's writable file in a sticky directory: written in place" \
			"exit $rc; $(ls -l "$T/sticky")" "$(cat "$T/sticky.err")"
	chmod 700 "$T"
else
	ok "-o permissions as another user # SKIP needs root and setpriv (util-linux)"
fi

# ---- pprof views ----
"$REPORT" -o "$T/a.pb.gz" "$T/a.mprof" 2>"$T/a.err"
"$REPORT" -o "$T/b.pb.gz" "$T/b.mprof" 2>/dev/null
"$REPORT" -o "$T/ab.pb.gz" "$T/a.mprof" "$T/b.mprof" 2>/dev/null
[ ! -s "$T/a.err" ] && ok "symbolizing a matching binary warns about nothing" ||
	not_ok "symbolizing a matching binary warns about nothing" "$(cat "$T/a.err")"
pp() { go tool pprof -symbolize=none "$@" 2>&1; }
out=$(pp -top "$T/a.pb.gz")
grep -q '^Type: inuse_space' <<<"$out" && grep -qE '^ +[0-9.]+[kMG]?B .*%' <<<"$out" &&
	ok "go tool pprof -top reads it (default inuse_space)" ||
	not_ok "go tool pprof -top reads it (default inuse_space)" "$out"
out=$(pp -top -sample_index=alloc_space "$T/a.pb.gz")
grep -q '^Type: alloc_space' <<<"$out" && ok "go tool pprof -sample_index=alloc_space" ||
	not_ok "go tool pprof -sample_index=alloc_space" "$out"
out=$(pp -raw "$T/a.pb.gz")
grep -q 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes\[dflt\]' <<<"$out" &&
	grep -q 'bytes:\[' <<<"$out" && grep -q 'map_kind:\[' <<<"$out" &&
	ok "go tool pprof -raw: Go's sample types, bytes and map_kind labels" ||
	not_ok "go tool pprof -raw: Go's sample types, bytes and map_kind labels" "$(head -20 <<<"$out")"
out=$(pp -traces "$T/a.pb.gz")
grep -q -- '-----------+----' <<<"$out" && grep -q 'mp_' <<<"$out" &&
	ok "go tool pprof -traces shows symbolized stacks" ||
	not_ok "go tool pprof -traces shows symbolized stacks" "$(head -20 <<<"$out")"
fn=$(pp -top -nodecount=1 "$T/a.pb.gz" | awk '/flat%/ {getline; print $6}')
out=$(pp -list "^${fn}\$" "$T/a.pb.gz")
grep -q "ROUTINE ======================== $fn" <<<"$out" &&
	ok "go tool pprof -list $fn finds its source" ||
	not_ok "go tool pprof -list $fn finds its source" "$(head -10 <<<"$out")"
total() { # total of a profile for a sample index, in bytes
	go tool pprof -symbolize=none -top -unit=B -sample_index="$2" "$1" 2>/dev/null |
		sed -n 's/.*Total samples = \([0-9]*\)B.*/\1/p'
}
diff_total=$(go tool pprof -symbolize=none -top -unit=B -sample_index=alloc_space \
	-diff_base "$T/a.pb.gz" "$T/ab.pb.gz" 2>/dev/null |
	sed -n 's/^Showing nodes accounting for \([0-9]*\)B.*/\1/p')
expect_eq "-diff_base a (a+b) accounts for exactly b" "$(total "$T/b.pb.gz" alloc_space)" "$diff_total"
a=$(total "$T/a.pb.gz" alloc_space)
b=$(total "$T/b.pb.gz" alloc_space)
expect_eq "two processes are summed" "$((a + b))" "$(total "$T/ab.pb.gz" alloc_space)"
"$REPORT" -o "$T/a01.pb.gz" "$T/a.mprof" "$T/a1.mprof" 2>/dev/null
"$REPORT" -o "$T/a1.pb.gz" "$T/a1.mprof" 2>/dev/null
expect_eq "snapshots of one process: only the latest counts" \
	"$(total "$T/a1.pb.gz" alloc_space)" "$(total "$T/a01.pb.gz" alloc_space)"

# ---- symbolization ----
out=$("$PBDUMP" "$T/a.pb.gz")
grep -q "^mapping 1: .* file $T/target build_id [0-9a-f]\{40\} functions 1 filenames 1 lines 1 inlines 1" <<<"$out" &&
	ok "mapping 1 is the main executable, symbolized, with its build ID" ||
	not_ok "mapping 1 is the main executable, symbolized, with its build ID" "$(grep '^mapping' <<<"$out")"
grep -q '^function .*file analyzer/[a-z_]*\.c start [1-9]' <<<"$out" &&
	ok "functions carry the file the compiler recorded and a start line" ||
	not_ok "functions carry the file the compiler recorded and a start line" "$(grep -m3 '^function' <<<"$out")"
"$GEN" --exe "$T/target" --samples 20 --stacks 4 --build-id 00112233 -o "$T/stale.mprof"
err=$("$REPORT" -o "$T/stale.pb.gz" "$T/stale.mprof" 2>&1 >/dev/null)
out=$("$PBDUMP" "$T/stale.pb.gz")
grep -q "warning: $T/target: build ID .* differs from 00112233" <<<"$err" &&
	! grep -q '^function' <<<"$out" && grep -q '^mapping 1: .* functions 1 filenames 0' <<<"$out" &&
	ok "a rebuilt binary (build ID mismatch) is named and left unsymbolized (marked so for pprof)" ||
	not_ok "a rebuilt binary (build ID mismatch) is named and left unsymbolized (marked so for pprof)" "$err" "$(head -12 <<<"$out")"

# ---- determinism ----
"$REPORT" -o "$T/ba.pb.gz" "$T/b.mprof" "$T/a.mprof" 2>/dev/null
"$REPORT" -o "$T/ab2.pb.gz" "$T/a.mprof" "$T/b.mprof" 2>/dev/null
cmp -s "$T/ab.pb.gz" "$T/ab2.pb.gz" && ok "same dumps, same bytes" || not_ok "same dumps, same bytes"
cmp -s "$T/ab.pb.gz" "$T/ba.pb.gz" && ok "argument order does not change the bytes" ||
	not_ok "argument order does not change the bytes"

# ---- text outputs ----
out=$("$REPORT" --top 5 "$T/a.mprof" 2>&1)
grep -q 'Values are exact: rate 1' <<<"$out" && [ "$(grep -cE '^ +[0-9.]+[kMGT]?B +[0-9.]+% ' <<<"$out")" -eq 5 ] &&
	ok "--top 5: exact header and five rows" || not_ok "--top 5: exact header and five rows" "$out"
grep -q 'in use at dump, peak .* (exact; the peak within 1 KiB per thread)' <<<"$out" &&
	ok "--top at rate 1: in use not labelled an estimate" ||
	not_ok "--top at rate 1: in use not labelled an estimate" "$(grep Totals <<<"$out")"
out=$("$REPORT" --top "$T/sampled.mprof" 2>&1)
grep -q 'Values are sampled estimates: rate 4096' <<<"$out" &&
	ok "--top on a sampled dump says the numbers are estimates, with the rate" ||
	not_ok "--top on a sampled dump says the numbers are estimates, with the rate" "$out"
# An estimate from a sample or two can exceed the bytes allocated (unbiased, yet rough): the
# header says so exactly then. Seeds 1-40 at rate 32768 over 6400 bytes kept: about 18% sample
# (none of 40 would have a chance of 1 in 3,000).
noted=0 sampled=0 wrong=""
for seed in $(seq 1 40); do
	MAPPROF_RATE=32768 MAPPROF_SEED=$seed mp_run "$T/few$seed" "$PROGS/report_few"
	out=$("$REPORT" --top 1 "$T"/few$seed/*.mprof 2>&1)
	est=$(sed -n 's/.*allocated (exact); \([^ ]*\) in use at dump.*/\1/p' <<<"$out")
	note=$(grep -c '^Note: the in-use estimate exceeds the bytes allocated: [1-9][0-9]* samples' <<<"$out")
	# --maps says it too, under its summary's figures (a final in-use of 514kB from 4kB)
	mnote=$("$REPORT" --maps "$T"/few$seed/*.mprof 2>&1 |
		grep -c '^  Note: the in-use estimate exceeds the bytes allocated: [1-9][0-9]* samples')
	[ "$est" != 0B ] && sampled=$((sampled + 1))
	[ "$note" -eq 1 ] && noted=$((noted + 1))
	if { [ "$est" = 0B ] && [ "$note$mnote" != 00 ]; } ||
		{ [ "$est" != 0B ] && [ "$note$mnote" != 11 ]; }; then
		wrong="$wrong seed $seed: in use $est, note lines $note (--maps $mnote);"
	fi
done
[ -z "$wrong" ] && [ "$sampled" -gt 0 ] && [ "$noted" -eq "$sampled" ] &&
	ok "--top and --maps: an in-use estimate above the bytes allocated is explained ($noted of 40 seeds)" ||
	not_ok "--top and --maps: an in-use estimate above the bytes allocated is explained" "sampled $sampled, noted $noted;$wrong"
out=$("$REPORT" --top "$T/sampled.mprof" 2>&1)
grep -q '^Note: the in-use estimate' <<<"$out" && not_ok "--top: no such note where the estimate is below" ||
	ok "--top: no such note where the estimate is below"
expect_rc "--top -5: a bad N, exit 1" 1 "^mapprof-report: --top: '-5' is not a count of rows \(0 or more\)" "$REPORT" --top -5 "$T/a.mprof"
out=$("$REPORT" --profile grow --top "$T/a.mprof" 2>&1)
grep -q 'grow profile .* showing grows (count)' <<<"$out" && ok "--profile grow --top" ||
	not_ok "--profile grow --top" "$out"
folded=$("$REPORT" --folded --sample-index alloc_space "$T/a.mprof" 2>/dev/null)
bad=$(grep -vcE '^[^ ;][^;]*(;[^;]+)* [0-9]+$' <<<"$folded")
fsum=$(awk '{s += $NF} END {print s}' <<<"$folded")
[ "$bad" -eq 0 ] && [ "$fsum" = "$a" ] && ok "--folded: well formed, sums to the alloc_space total" ||
	not_ok "--folded: well formed, sums to the alloc_space total" "bad lines $bad, sum $fsum, want $a"
gsum=$("$REPORT" --profile grow --folded "$T/a.mprof" "$T/b.mprof" 2>/dev/null | awk '{s += $NF} END {print s}')
"$REPORT" --json "$T/a.mprof" >"$T/a.json" 2>/dev/null
if command -v python3 >/dev/null; then
	out=$(python3 - "$T/a.json" "$a" <<'PY' 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["profile"] == "heap" and d["exact"] is True and d["rate"] == 1, d.keys()
assert [t["type"] for t in d["sample_types"]] == ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
assert d["default_sample_type"] == "inuse_space"
assert sum(s["values"][1] for s in d["samples"]) == int(sys.argv[2])
locs, stacks = d["locations"], d["stacks"]
assert [l["id"] for l in locs] == list(range(1, len(locs) + 1))
assert [s["id"] for s in stacks] == list(range(1, len(stacks) + 1))
assert all(1 <= i <= len(locs) for s in stacks for i in s["locations"]) and all(s["locations"] for s in stacks)
assert all(1 <= s["stack"] <= len(stacks) for s in d["samples"])
s = d["samples"][0]
assert "bytes" in s["labels"] and isinstance(s["stack"], int)
assert all(l["address"].startswith("0x") and "object" in l and "lines" in l for l in locs)
assert any(ln["function"] and ln["file"] and ln["line"] > 0 for l in locs for ln in l["lines"])
PY
	) && ok "--json: valid, normalized (locations, stacks, samples), ids resolve, totals agree" ||
		not_ok "--json: valid, normalized (locations, stacks, samples), ids resolve, totals agree" "$out"
else
	ok "--json # SKIP python3 not installed"
fi
[ "$gsum" -gt 0 ] 2>/dev/null && ok "--profile grow --folded over two processes" ||
	not_ok "--profile grow --folded over two processes" "sum '$gsum'"

# A write that fails (a full disk: /dev/full) is an error that names the output, in every mode,
# also when the output is larger than stdio's buffer and the failure comes before the last flush.
for args in "--json" "--maps --json" "--maps" "--top 1000" "--folded" "--profile grow --json" ""; do
	err=$("$REPORT" $args "$T/a.mprof" "$T/b.mprof" 2>&1 >/dev/full)
	rc=$?
	[ "$rc" -ne 0 ] && grep -q 'write failed: No space left on device' <<<"$err" &&
		ok "[$args] to a full disk: non-zero exit and 'write failed' with the reason" ||
		not_ok "[$args] to a full disk: non-zero exit and 'write failed' with the reason" \
			"exit $rc" "$err"
done

# A binary profile is not written to a terminal, whether stdout is the default or named.
for o in "" "-o -" "-o /dev/stdout" "-o /dev/fd/1" "-o /proc/self/fd/1" "-o /dev/stderr" "-o /dev/tty"; do
	script -qec "$REPORT $o $T/a.mprof" /dev/null >"$T/tty.out" 2>&1
	rc=$?
	out=$(od -An -c "$T/tty.out" | head -c 600)
	[ "$rc" -eq 1 ] && grep -aq 'not writing a binary profile to a terminal' "$T/tty.out" &&
		! grep -q '037 213' <<<"$out" &&
		ok "[$o] a pprof profile to a terminal is refused" ||
		not_ok "[$o] a pprof profile to a terminal is refused" "exit $rc" "$out"
done
big=$("$REPORT" --json "$T/a.mprof" "$T/b.mprof" 2>/dev/null | wc -c)
check "the --json output above is larger than stdio's buffer ($big bytes)" test "$big" -gt 8192

# --folded of dumps that did not sample (MAPPROF_RATE=0) folds nothing, and says why.
"$GEN" --exe "$T/target" --samples 0 --stacks 5 --pid 14 --rate 0 -o "$T/rate0.mprof"
err=$("$REPORT" --folded "$T/rate0.mprof" 2>&1 >/dev/null)
grep -q 'sampling was off (MAPPROF_RATE=0)' <<<"$err" &&
	ok "--folded at rate 0 says sampling was off" || not_ok "--folded at rate 0 says sampling was off" "$err"
