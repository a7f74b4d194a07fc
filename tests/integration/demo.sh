#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo (issue 6): runs scripts/demo.sh into a scratch directory (one plain timing run per
# twin instead of three) and asserts from the measured numbers, not the printed table: the fixed
# twin cuts peak in-use bytes and bytes allocated at least tenfold (exact mode, checked again
# against the exact-mode dumps here), both twins print the same checksum line in every run, the
# wasteful run's report names parse_fields, dedup and headers with their verdicts (and the fixed
# run's has none of them), and the six profiles decode with the expected sample types.
. "$(dirname "$0")/lib.sh"

if [ ! -f "$LIB" ] || [ ! -x "$REPORT" ]; then
	ok "demo # SKIP $LIB or $REPORT not built yet"
	exit 0
fi
D=$T/demo
export ROOT D
if DEMO_DIR=$D DEMO_PLAIN_RUNS=1 BUILD=$BUILD scripts/demo.sh >"$T/demo.out" 2>"$T/demo.err"; then
	ok "scripts/demo.sh exits 0"
else
	not_ok "scripts/demo.sh exits 0" "$(tail -20 "$T/demo.err")"
fi
for f in service service_fixed heap.pb.gz alloc.pb.gz grow.pb.gz heap_fixed.pb.gz \
	alloc_fixed.pb.gz grow_fixed.pb.gz before_after.json; do
	check "demo wrote $f" test -s "$D/$f"
done
check "demo dumps: one per run" bash -c "ls $D/wasteful/*.mprof $D/fixed/*.mprof \
	$D/exact/wasteful/*.mprof $D/exact/fixed/*.mprof | wc -l | grep -qx 4"
out=$(cat "$T/demo.out")
for want in 'mapprof map churn report' 'tests/demo/service.c:[0-9]+  parse_fields' \
	'^peak in-use bytes +[0-9.]+[kMG]?B +[0-9.]+[kMG]?B +[0-9.]+x$' \
	'^bytes allocated +[0-9.]+[kMG]?B +[0-9.]+[kMG]?B +[0-9.]+x$' \
	'^allocation calls +[0-9]+ +[0-9]+ +[0-9.]+x$' '^grows +[0-9]+ +[0-9]+ +[0-9.]+x$' \
	'^wall time +[0-9.]+s +[0-9.]+s +[0-9.]+x$' 'go tool pprof -top ' \
	'-sample_index=alloc_space' '-tagfocus=map_kind=uthash' 'go tool pprof -http='; do
	grep -qE -- "$want" <<<"$out" && ok "demo prints /$want/" || not_ok "demo prints /$want/"
done

python3 - <<'PY'
import glob, json, os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests/tools"))
import maps_json as mj
from mprof_decode import Tap

D = os.environ["D"]
REPORT = os.path.join(os.environ["ROOT"], os.environ.get("BUILD", "build"), "mapprof-report")
tap = Tap("demo: ")
try:
    ba = json.load(open(os.path.join(D, "before_after.json")))
except (OSError, ValueError) as e:
    tap.ok("before_after.json parses", False, str(e))
    sys.exit(0)
m = ba["metrics"]
tap.ok("the table is from exact-mode runs", ba["exact"] is True)
for key in ("peak_inuse_bytes", "alloc_bytes"):
    w, f = m[key]["wasteful"], m[key]["fixed"]
    tap.ok("fixed twin cuts %s at least tenfold (%d -> %d)" % (key, w, f),
           f > 0 and w >= 10 * f, m[key])
for key in ("alloc_calls", "grows", "wall_ns"):
    tap.ok("fixed twin has fewer %s" % key, m[key]["wasteful"] > m[key]["fixed"] > 0, m[key])
# The numbers are those of the dumps: recomputed here from the exact-mode dumps.
for run in ("wasteful", "fixed"):
    out = subprocess.run([REPORT, "--maps", "--json"] + glob.glob(os.path.join(D, "exact", run,
                         "*.mprof")), capture_output=True, text=True)
    try:
        s = json.loads(out.stdout)["summary"]
    except ValueError:
        tap.ok("%s: exact-mode report" % run, False, out.stderr[-300:])
        continue
    tap.eq("%s: table numbers are the exact-mode summary" % run,
           (s["peak_inuse_bytes_est"], s["alloc_bytes"], s["alloc_calls"], s["grows"], 1),
           tuple(m[k][run] for k in ("peak_inuse_bytes", "alloc_bytes", "alloc_calls",
                                     "grows")) + (s["rate"],))
# Same checksum line from both twins, in every run.
lines = {(run, mode): text for run, o in ba["outputs"].items() for mode, text in o.items()}
tap.eq("every run printed its output (plain, sampled, exact x 2 twins)", 6, len(lines))
tap.ok("both twins print the same checksum line in every run",
       len(set(lines.values())) == 1 and
       re.fullmatch(r"served \d+ requests, checksum \d+", next(iter(lines.values()), "")),
       *["%s %s: %s" % (k[0], k[1], v) for k, v in sorted(lines.items())])
# The wasteful run's report: its sites and verdicts.
for name in ("maps.json", "maps_fixed.json", "exact/wasteful.json", "exact/fixed.json"):
    doc = mj.load(os.path.join(D, name))
    errs = mj.schema_errors(doc)
    tap.ok("%s: keys and types" % name, not errs, *errs[:10])
    fixed = "fixed" in name
    for fn, want, never in (("parse_fields", {"presize", "reuse"}, {"presize", "reuse", "tiny"}),
                            ("dedup", {"reuse"}, {"presize", "tiny"}),
                            ("headers", {"tiny", "reuse"}, {"presize"})):
        sites = mj.sites_named(doc, fn)
        got = set(mj.verdicts(sites[0])) if len(sites) == 1 else None
        if fixed:  # the fix removes dedup's and headers' maps; parse_fields keeps 8 tables
            tap.ok("%s: %s has none of presize, reuse, tiny" % (name, fn),
                   got is None or not got & {"presize", "reuse", "tiny"}, got)
            continue
        tap.ok("%s: one %s site with %s (and not %s)" % (name, fn, sorted(want), sorted(never - want)),
               got is not None and want <= got and not (got & (never - want)),
               "verdicts %r" % got)
    if not fixed:
        tap.eq("%s: parse_fields is the worst site" % name, "parse_fields",
               doc["sites"][0]["function"] if doc["sites"] else None)
        tap.ok("%s: sites at service.c lines" % name,
               all(s["file"] == "tests/demo/service.c" and s["line"] > 0 for s in doc["sites"]),
               [(s["file"], s["line"]) for s in doc["sites"]])
# The profiles decode, with the sample types pprof selects.
PBDUMP = os.path.join(os.environ["ROOT"], os.environ.get("BUILD", "build"),
                      "tests/tools/mapprof-pbdump")
# alloc.pb.gz opens on alloc_space where mapprof-report sets the default from --sample-index.
help = subprocess.run([REPORT, "--help"], capture_output=True, text=True)
alloc_default = ("alloc_space" if "default sample type" in help.stdout + help.stderr
                 else "inuse_space")
for prof, types, default in (("heap", "alloc_space/bytes", "inuse_space"),
                             ("alloc", "alloc_space/bytes", alloc_default),
                             ("grow", "grow_bytes/bytes", "grows")):
    for sfx in ("", "_fixed"):
        p = os.path.join(D, prof + sfx + ".pb.gz")
        out = subprocess.run([PBDUMP, p], capture_output=True, text=True).stdout
        tap.ok("%s%s.pb.gz decodes: has %s, default %s" % (prof, sfx, types, default),
               types in out and ("default_sample_type: %s\n" % default) in out, out[:300])
out = subprocess.run([PBDUMP, "--stacks", os.path.join(D, "alloc.pb.gz")], capture_output=True,
                     text=True).stdout
tap.ok("alloc.pb.gz: uthash bucket arrays labelled map_kind=uthash under parse_fields",
       any("map_kind=uthash" in l and "parse_fields@" in l for l in out.splitlines()))
PY
exit 0
