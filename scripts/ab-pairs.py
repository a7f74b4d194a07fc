#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Paired A/B timing of one command under two environments, for overheads of a few percent on
a noisy VM (the benchmark's rounds swing by +-10% there). Runs A and B back to back, pinned to
one CPU, alternating which goes first, N times; compares CPU time (user + system) pair by pair.

    A="LD_PRELOAD=$PWD/build/libmapprof.so,MAPPROF_MAPS=0" \\
    B="LD_PRELOAD=$PWD/build/libmapprof.so" \\
        scripts/ab-pairs.py 30 build/bench/unordered_map_churn 20000 256

A and B are comma-separated NAME=VALUE lists added to the environment (empty: as is). Prints
the median of the B/A ratios of the pairs, their quartiles and the ratio of the minima. Dumps
go to a temporary directory, removed at the end, unless MAPPROF_OUT is set (in A, B or the
environment)."""
import os
import resource
import statistics
import subprocess
import sys
import tempfile


def env(spec, out):
    e = dict(os.environ)
    e.setdefault("MAPPROF_OUT", os.path.join(out, "mapprof.%p.%n.mprof"))
    for kv in filter(None, spec.split(",")):
        k, v = kv.split("=", 1)
        e[k] = v
    return e


def cpu_time(cmd, e):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["taskset", "-c", "1"] + cmd, env=e, stdout=subprocess.DEVNULL, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n, cmd = int(sys.argv[1]), sys.argv[2:]
    a, b = [], []
    with tempfile.TemporaryDirectory(prefix="ab-pairs.") as out:
        a_env, b_env = env(os.environ.get("A", ""), out), env(os.environ.get("B", ""), out)
        for i in range(n):
            if i % 2:
                b.append(cpu_time(cmd, b_env))
                a.append(cpu_time(cmd, a_env))
            else:
                a.append(cpu_time(cmd, a_env))
                b.append(cpu_time(cmd, b_env))
    ratios = [y / x for x, y in zip(a, b)]
    q = statistics.quantiles(ratios, n=4)
    print(f"A: min {min(a):.4f} s, median {statistics.median(a):.4f} s")
    print(f"B: min {min(b):.4f} s, median {statistics.median(b):.4f} s")
    print(f"B/A: median of {n} pairs {statistics.median(ratios):.4f} "
          f"(quartiles {q[0]:.4f} .. {q[2]:.4f}), min-based {min(b) / min(a):.4f}")


if __name__ == "__main__":
    main()
