#!/bin/bash
# SPDX-License-Identifier: MIT
# Sampled mode (MAPPROF_RATE=65536) against tests/programs/shim_sampled.c: per (stack, size)
# unbiased estimates c / (1 - exp(-s/R)) must fall within stated bounds of the truth, for sizes
# far below (64 B), near (64 KiB) and far above (1 MiB) the rate, and for one site of mixed
# sizes. Every bound is z standard deviations of the estimator (sampling is independent per
# allocation: the sample points are a Poisson process over bytes, so each allocation of s bytes
# is sampled with probability p = 1 - exp(-s/R), independently); the chance of an accidental
# failure is printed next to each check. Fixed seeds make the runs deterministic anyway.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export PYTHONPATH=$ROOT/tests/tools
PROG=$PROGS/shim_sampled
RATE=65536

run() { # run LABEL [ENV...]
	local label=$1
	shift
	mkdir -p "$T/$label"
	env LD_PRELOAD="$LIB" MAPPROF_RATE=$RATE MAPPROF_OUT="$T/$label/mapprof.%p.%n.mprof" "$@" \
		"$PROG" >"$T/$label.out" 2>"$T/$label.err"
	local rc=$?
	expect_eq "$label: output and exit status unchanged" "sampled ok|0|" \
		"$(cat "$T/$label.out")|$rc|$(cat "$T/$label.err")"
}

for seed in 1 2 3; do
	run "seed$seed" MAPPROF_SEED=$seed
done
run seed1again MAPPROF_SEED=1
run noseed_a
run noseed_b

"$PY" - "$T" "$RATE" <<'EOF'
import math, os, sys
import mprof_decode as m
root, R = sys.argv[1], int(sys.argv[2])
Z = 5.5  # two-sided normal tail at 5.5 sd: 3.8e-8 per check

def p_of(s):
    return -math.expm1(-s / R)

def chance(z):
    return "%.1e" % math.erfc(z / math.sqrt(2))

SMALL_N, NEAR_N, FAR_N = 2000000, 20000, 2000
SMALL_KEPT = SMALL_N // 4
MIXED = {16 << k: (1 << (20 - k)) // 4 + 200 for k in range(17)}

def dump(label):
    ds = m.load_dir(os.path.join(root, label))
    return ds[0] if len(ds) == 1 else None

for seed in (1, 2, 3):
    t = m.Tap("seed %d: " % seed)
    d = dump("seed%d" % seed)
    if not t.ok("one dump", d is not None):
        continue
    h = d["header"]
    t.eq("header rate, seed, seed_given", (R, seed, True), (h["rate"], h["seed"], h["seed_given"]))
    sites = m.site_table(d)
    def get(fn, size):
        v = sites.get((fn, 0, size), [0, 0])
        return v[0], v[1]

    # Far below the rate: 2e6 x 64 B, p = 9.8e-4, about 1950 samples.
    p = p_of(64)
    c, cin = get("site_small", 64)
    sd = math.sqrt(SMALL_N * (1 - p) / p)
    t.within("site_small count estimate (64 B << R)", SMALL_N, c / p, Z * sd, chance(Z))
    sd_in = math.sqrt(SMALL_KEPT * (1 - p) / p)
    # In-use samples number about 490: the normal tail is slightly optimistic there, so z=6
    # (normal 2e-9; a Poisson(490) Chernoff bound still gives < 1e-6).
    t.within("site_small in-use estimate", SMALL_KEPT, cin / p, 6 * sd_in, "< 1e-6")

    # Near the rate: 2e4 x 64 KiB, p = 0.63.
    p = p_of(65536)
    c, cin = get("site_near", 65536)
    sd = math.sqrt(NEAR_N * (1 - p) / p)
    t.within("site_near count estimate (64 KiB = R)", NEAR_N, c / p, Z * sd, chance(Z))
    t.eq("site_near nothing in use", 0, cin)
    t.within("site_near bytes estimate", NEAR_N * 65536, c / p * 65536, Z * sd * 65536, chance(Z))

    # Far above the rate: 2000 x 1 MiB, p = 1 - 1.1e-7: at most 3 misses
    # (P(>= 4 misses) = C(2000,4) (1.1e-7)^4 < 1e-16).
    p = p_of(1 << 20)
    c, cin = get("site_far", 1 << 20)
    t.ok("site_far count estimate (1 MiB >> R): %d samples of %d" % (c, FAR_N),
         FAR_N - 3 <= c <= FAR_N and abs(c / p - c) < 1e-2)

    # Mixed sizes at one site: the estimator is applied per (stack, size) and summed. The
    # variance is the sum of the per-size variances. The sum of skewed per-size terms (about 60
    # samples each for the small sizes) is less normal than one big count: z = 6.5 (normal
    # 8e-11; leaves room for skew, well under 1e-6).
    est = var = true = 0.0
    for s, n in MIXED.items():
        p = p_of(s)
        c, _ = get("site_mixed", s)
        est += c / p * s
        var += n * (1 - p) / p * s * s
        true += n * s
    t.within("site_mixed bytes estimate over 17 sizes", true, est, 6.5 * math.sqrt(var), "< 1e-6")
    t.eq("site_mixed has no other sizes", sorted(MIXED),
         sorted(size for (fn, kind, size) in sites if fn == "site_mixed"))

    # Exact totals do not depend on sampling: allocation calls, frees, bytes.
    tot = d["totals"]
    calls = SMALL_N + NEAR_N + FAR_N + sum(MIXED.values()) + 1  # + the calloc of `kept`
    frees = SMALL_N - SMALL_KEPT + NEAR_N + FAR_N + sum(MIXED.values())
    nbytes = SMALL_N * 64 + NEAR_N * 65536 + FAR_N * (1 << 20) + \
        sum(n * s for s, n in MIXED.items()) + (SMALL_KEPT + 1) * 8
    t.ok("totals alloc_calls exact (+2 libc slack)", calls <= tot["alloc_calls"] <= calls + 2,
         "truth %d actual %d" % (calls, tot["alloc_calls"]))
    t.ok("totals free_calls exact (+2 libc slack)", frees <= tot["free_calls"] <= frees + 2,
         "truth %d actual %d" % (frees, tot["free_calls"]))
    t.ok("totals alloc_bytes exact (+64 KiB libc slack)",
         nbytes <= tot["alloc_bytes"] <= nbytes + 65536,
         "truth %d actual %d" % (nbytes, tot["alloc_bytes"]))
    t.eq("sampled == sum of alloc_count", tot["sampled"], sum(s["alloc_count"] for s in d["samples"]))
    t.eq("dropped", 0, tot["dropped"])
    # The shim's own in-use estimate: the kept pointer array (4 MB, p ~ 1) plus the kept
    # 64-byte objects (estimate sd above, scaled by 64); libc slack 64 KiB.
    live = SMALL_KEPT * 64 + (SMALL_KEPT + 1) * 8
    t.within("totals inuse_bytes_est", live, tot["inuse_bytes_est"],
             6 * sd_in * 64 + 65536, "< 1e-6")
    t.ok("peak_inuse_bytes_est >= inuse_bytes_est",
         tot["peak_inuse_bytes_est"] >= tot["inuse_bytes_est"])

t = m.Tap("seeds: ")
a, b, c2 = dump("seed1"), dump("seed1again"), dump("seed2")
sa = {k: v for k, v in m.site_table(a).items() if k[0].startswith("site_")}
sb = {k: v for k, v in m.site_table(b).items() if k[0].startswith("site_")}
sc = {k: v for k, v in m.site_table(c2).items() if k[0].startswith("site_")}
t.ok("the same seed reproduces every sample count", sa == sb)
# Two seeds agreeing on all 20 buckets by chance: each of the larger counts alone agrees with
# probability < 1% (sd > 40), so all of them < 1e-6.
t.ok("another seed gives other sample counts", sa != sc)
na, nb = dump("noseed_a"), dump("noseed_b")
t.ok("without MAPPROF_SEED the seed is drawn per run (P(equal) = 2^-64)",
     not na["header"]["seed_given"] and na["header"]["seed"] != nb["header"]["seed"])
EOF
