# SPDX-License-Identifier: MIT
"""The contract of `mapprof-report --maps --json` (issue 6), checked key by key: the keys of the
summary and of each site, in their stable order, with their types. Imported by
tests/integration/churn.sh and demo.sh; uses only the standard library."""

import json

# (key, type) in output order. bool is tested before int: in Python a bool is an int.
SUMMARY = [
    ("processes", int), ("skipped_files", int), ("map_tracking", int), ("rate", int), ("exact", bool),
    ("lower_bounds", bool), ("alloc_calls", int), ("free_calls", int), ("alloc_bytes", int),
    ("peak_inuse_bytes_est", (int, None)), ("inuse_bytes_est", (int, None)), ("maps", int), ("grows", int),
    ("dropped", int), ("maps_dropped", int), ("grow_bytes", int), ("heap_grow_bytes", int), ("grow_ns", int), ("duration_ns", int),
    ("allocator", dict), ("allocator_processes", int),
]
SITE = [
    ("kind", str), ("function", str), ("file", str), ("container", str), ("line", int), ("instances", int),
    ("live", int), ("max_live", int), ("grows", int), ("grows_per_instance", float),
    ("max_grows", int), ("reserved", int), ("copies", int), ("moved_out", int), ("final_size", dict),
    ("lifetime_ns", dict),
    ("tiny", int), ("shared", int), ("turns", int), ("noexpand", int), ("grow_bytes", int),
    ("heap_grow_bytes", int), ("grow_bytes_share", float),
    ("grow_ns", int), ("max_grow_ns", int), ("threads", int), ("verdicts", list),
]
FINAL_SIZE = ["p50", "p90", "max"]
LIFETIME = ["p50", "p90"]
VERDICT = ["id", "evidence", "suggestion"]
VERDICT_IDS = {"presize", "reuse", "tiny", "shared", "hash", "oversized", "dominant"}
KINDS = {"uthash", "unordered_map", "api"}


def is_type(v, t):
    """int: a non-negative integer (every count here is); float: any JSON number; (int, None):
    such an integer or null (in-use figures with sampling off: unknown)."""
    if t == (int, None):
        return v is None or is_type(v, int)
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    if t is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, t)


def load(path):
    with open(path) as f:
        return json.load(f)


def schema_errors(doc):
    """Every way doc departs from the contract, as strings (empty when it conforms)."""
    errs = []
    if not isinstance(doc, dict) or list(doc) != ["summary", "sites"]:
        return ["top-level keys %r, want ['summary', 'sites']" %
                (list(doc) if isinstance(doc, dict) else type(doc).__name__)]
    s = doc["summary"]
    if list(s) != [k for k, _ in SUMMARY]:
        errs.append("summary keys %r" % list(s))
    for k, t in SUMMARY:
        if k in s and not is_type(s[k], t):
            errs.append("summary.%s = %r is not %s" % (k, s[k], getattr(t, "__name__", "int or null")))
    for k, v in s.get("allocator", {}).items():
        if not is_type(v, int) or not (k.startswith("glibc.") or k.startswith("jemalloc.")):
            errs.append("summary.allocator[%r] = %r" % (k, v))
    if not isinstance(doc["sites"], list):
        return errs + ["sites is not a list"]
    for i, site in enumerate(doc["sites"]):
        where = "sites[%d] (%s)" % (i, site.get("function") if isinstance(site, dict) else "?")
        if not isinstance(site, dict) or list(site) != [k for k, _ in SITE]:
            errs.append("%s keys %r" % (where, list(site) if isinstance(site, dict) else site))
            continue
        for k, t in SITE:
            if not is_type(site[k], t):
                errs.append("%s.%s = %r is not %s" % (where, k, site[k], t.__name__))
        if site["kind"] not in KINDS:
            errs.append("%s.kind %r" % (where, site["kind"]))
        for k, keys in (("final_size", FINAL_SIZE), ("lifetime_ns", LIFETIME)):
            d = site[k]
            if list(d) != keys or not all(is_type(d[x], int) for x in keys):
                errs.append("%s.%s = %r" % (where, k, d))
            elif not all(d[a] <= d[b] for a, b in zip(keys, keys[1:])):
                errs.append("%s.%s not ordered: %r" % (where, k, d))
        for v in site["verdicts"]:
            if not isinstance(v, dict) or list(v) != VERDICT:
                errs.append("%s verdict keys %r" % (where, v))
            elif v["id"] not in VERDICT_IDS or not all(
                    isinstance(v[x], str) and v[x] for x in VERDICT):
                errs.append("%s verdict %r" % (where, v))
    return errs


def verdicts(site):
    return sorted(v["id"] for v in site["verdicts"])


def sites_named(doc, function):
    return [s for s in doc["sites"] if s["function"] == function]
