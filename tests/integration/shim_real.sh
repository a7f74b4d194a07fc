#!/bin/bash
# SPDX-License-Identifier: MIT
# Real programs nobody here wrote: python3, perl and sqlite3 on small jobs (with child
# processes) give the same stdout, stderr (apart from `mapprof:` lines) and exit status with
# and without the shim, and leave exactly one valid dump per process that exits normally.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$ROOT/tests/tools

# same NAME NPROC CMD...: compares CMD with and without the shim (default rate, and exact
# mode), then checks the dumps of the shim run: NPROC files, NPROC distinct pids, all valid.
same() {
	local name=$1 nproc=$2
	shift 2
	local d=$T/$name
	mkdir -p "$d/a" "$d/b"
	(cd "$d" && "$@" >"$d/plain.out" 2>"$d/plain.err" </dev/null)
	local rc0=$?
	local mode
	for mode in a b; do
		local rate=524288
		[ $mode == b ] && rate=1
		(cd "$d" && env LD_PRELOAD="$LIB" MAPPROF_RATE=$rate MAPPROF_OUT="$d/$mode/m.%p.%n" "$@" \
			>"$d/$mode.out" 2>"$d/$mode.err" </dev/null)
		local rc=$?
		grep -v '^mapprof: ' "$d/$mode.err" >"$d/$mode.err2"
		if cmp -s "$d/plain.out" "$d/$mode.out" && cmp -s "$d/plain.err" "$d/$mode.err2" &&
			[ $rc -eq $rc0 ]; then
			ok "$name (rate $rate): same stdout, stderr and exit status ($rc0)"
		else
			not_ok "$name (rate $rate): output differs" "exit $rc0 vs $rc" \
				"$(diff "$d/plain.out" "$d/$mode.out" | head -5)" \
				"$(diff "$d/plain.err" "$d/$mode.err2" | head -5)"
		fi
		expect_eq "$name (rate $rate): no mapprof: line" 0 "$(grep -c '^mapprof: ' "$d/$mode.err")"
		"$PY" - "$d/$mode" "$name (rate $rate): " "$nproc" <<'EOF'
import sys
import mprof_decode as m
t = m.Tap(sys.argv[2])
want = int(sys.argv[3])
try:
    ds = m.load_dir(sys.argv[1])
except m.FormatError as e:
    t.ok("dumps decode", False, str(e))
    sys.exit(0)
# One dump per process image: a process that execs may also leave one for the image it
# replaced (preload/exec.c dumps before exec when that image recorded samples), never two.
pids = {d["header"]["pid"] for d in ds}
images = [(d["header"]["pid"], d["header"]["exe"], tuple(d["header"]["cmdline"])) for d in ds]
t.eq("one dump per process (distinct pids)", want, len(pids))
t.eq("no process image dumped twice", len(images), len(set(images)))
t.eq("every dump is the final one of its image (seq 0)", [0] * len(ds),
     [d["header"]["seq"] for d in ds])
t.ok("every dump is consistent (samples <= totals)",
     all(d["totals"]["sampled"] <= d["totals"]["alloc_calls"] for d in ds))
if ds and ds[0]["header"]["rate"] == 1:
    t.ok("exact mode: every allocation sampled",
         all(d["totals"]["sampled"] + d["totals"]["dropped"] == d["totals"]["alloc_calls"] for d in ds),
         [(d["totals"]["sampled"], d["totals"]["alloc_calls"]) for d in ds])
EOF
	done
}

PYJOB='
import json, subprocess, sys, collections
words = collections.Counter(("w%d" % (i * 7919 % 1000)) for i in range(100000))
data = {k: [v, str(v) * 3] for k, v in words.most_common(200)}
s = json.dumps(data, sort_keys=True)
print(len(s), sum(words.values()), sorted(json.loads(s))[:3])
for i in range(2):
    r = subprocess.run([sys.executable, "-c", "import sys; print(sum(range(%d))); sys.stderr.write(\"child err\\n\")" % (i * 1000)], capture_output=True, text=True)
    print(r.stdout.strip(), r.stderr.strip(), r.returncode)
sys.stderr.write("to stderr\n")
sys.exit(3)
'
same python3 3 /usr/bin/python3 -c "$PYJOB"

PLJOB='
my %h; for my $i (1..50000) { $h{"k" . ($i * 7 % 5003)} .= "x"; }
my @k = sort { length($h{$b}) <=> length($h{$a}) || $a cmp $b } keys %h;
print scalar(@k), " $k[0] ", length($h{$k[0]}), "\n";
my $s = join(",", map { sprintf("%05d", $_) } 1..20000); $s =~ s/(\d+),/$1;/g;
print length($s), "\n";
system("/bin/echo", "from child");
print STDERR "perl stderr\n";
exit 5;
'
same perl 2 /usr/bin/perl -e "$PLJOB"

SQL="
create table t(a integer primary key, b text, c real);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 20000)
insert into t select i, printf('row%05d', i % 997), i * 0.5 from n;
create index tb on t(b);
select count(*), count(distinct b), sum(c) from t;
select b, count(*) from t group by b order by count(*) desc, b limit 3;
select * from no_such_table;
"
if command -v sqlite3 >/dev/null; then
	echo "$SQL" >"$T/job.sql"
	same sqlite3 1 /usr/bin/sqlite3 -bail :memory: ".read $T/job.sql"
else
	ok "sqlite3: skipped, not installed # SKIP"
fi
