#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Independent decoder of mapprof dumps (include/mapprof/DUMP_FORMAT.md), the test oracle.

Written from the format document alone, without looking at analyzer/dump_read.c, so that the
tests check the shim against the document rather than against a second copy of the same code.
Standard library only; symbol resolution runs binutils (addr2line, nm).

Command line:
    mprof_decode.py [--resolve] [--compact] DUMP...    JSON of every section of each dump
    mprof_decode.py --sites DUMP                       per leaf function: size -> [allocs, inuse]

As a module (tests import it):
    d = load(path)                   dict with header, objects, stacks, samples, totals, ...
    names = resolve_stacks(d)        list (per stack) of lists of function names, leaf first
    sites = site_table(d)            {(function, kind, size): [alloc_count, inuse_count]}
    Tap, load_dir                    helpers for the integration suites

Sections 7 and 8 (map growth) are decoded by decode_map_grows/decode_map_sites; keep each
section's decoder in its own function so that they can be edited independently.
"""
import json
import os
import struct
import subprocess
import sys

MAGIC = b"MPROFDMP"
MAX_STRING = 1 << 20
MAX_DEPTH = 256

SEC_HEADER = 1
SEC_OBJECTS = 2
SEC_STACKS = 3
SEC_SAMPLES = 4
SEC_TOTALS = 5
SEC_ALLOCATOR = 6
SEC_MAP_GROWS = 7
SEC_MAP_SITES = 8
SEC_UNLOADED = 9
SEC_STACK_KEYS = 10
SEC_MAP_PC_LIVE = 11
SEC_MIXED_SAMPLES = 12
SEC_END = 0xE0D

FLAG_SEED_GIVEN = 1
FLAG_MAPS = 2
FLAG_FORK_CHILD = 4


class FormatError(Exception):
    pass


class Reader:
    """Bounds-checked little-endian cursor over one section payload."""

    def __init__(self, data, base=0, what="section"):
        self.data = data
        self.pos = 0
        self.base = base  # file offset of data[0], for messages
        self.what = what

    def need(self, n):
        if self.pos + n > len(self.data):
            raise FormatError("%s: truncated at file offset %d (need %d bytes, have %d)" %
                              (self.what, self.base + self.pos, n, len(self.data) - self.pos))

    def take(self, fmt):
        n = struct.calcsize(fmt)
        self.need(n)
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += n
        return v if len(v) > 1 else v[0]

    def u16(self):
        return self.take("<H")

    def u32(self):
        return self.take("<I")

    def u64(self):
        return self.take("<Q")

    def i64(self):
        return self.take("<q")

    def raw(self, n):
        self.need(n)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(b)

    def str(self):
        n = self.u32()
        if n > MAX_STRING:
            raise FormatError("%s: string of %d bytes at file offset %d exceeds 1 MiB" %
                              (self.what, n, self.base + self.pos - 4))
        return self.raw(n)


def text(b):
    return b.decode("utf-8", "replace")


def decode_header(r):
    h = {}
    h["pid"] = r.u32()
    h["ppid"] = r.u32()
    h["seq"] = r.u64()
    h["rate"] = r.u64()
    h["seed"] = r.u64()
    h["depth"] = r.u32()
    h["flags"] = r.u32()
    h["start_ns"] = r.i64()
    h["dump_ns"] = r.i64()
    h["exe"] = text(r.str())
    cmd = r.str()
    if cmd and not cmd.endswith(b"\0"):
        raise FormatError("header: cmdline does not end with a NUL byte")
    h["cmdline"] = [text(a) for a in cmd.split(b"\0")[:-1]] if cmd else []
    h["seed_given"] = bool(h["flags"] & FLAG_SEED_GIVEN)
    h["maps_enabled"] = bool(h["flags"] & FLAG_MAPS)
    h["fork_child"] = bool(h["flags"] & FLAG_FORK_CHILD)
    return h


def decode_object(r, what):
    o = {}
    o["bias"] = r.u64()
    o["start"] = r.u64()
    o["limit"] = r.u64()
    o["offset"] = r.u64()
    o["path"] = text(r.str())
    o["build_id"] = r.str().hex()
    if o["limit"] < o["start"]:
        raise FormatError("%s: limit below start for %s" % (what, o["path"]))
    return o


def decode_objects(r):
    return [decode_object(r, "objects") for _ in range(r.u32())]


def decode_unloaded(r):
    out = []
    for _ in range(r.u32()):
        o = decode_object(r, "unloaded")
        o["epoch"] = r.u32()
        if o["epoch"] == 0:
            raise FormatError("unloaded: epoch 0 for %s" % o["path"])
        out.append(o)
    return out


def decode_stack_keys(r):
    return {r.u32(): r.u32() for _ in range(r.u32())}


def decode_map_pc_live(r):
    out = []
    for _ in range(r.u32()):
        pc, key, kind, _reserved, most = r.take("<QIHHQ")
        out.append({"pc": pc, "key": key, "kind": kind, "max_live": most})
    return out


def decode_stacks(r):
    out = []
    for i in range(r.u32()):
        n = r.u32()
        if n < 1 or n > MAX_DEPTH:
            raise FormatError("stacks: stack %d has %d frames (1..256)" % (i, n))
        out.append(list(r.take("<%dQ" % n)) if n > 1 else [r.u64()])
    return out


def decode_samples(r):
    out = []
    for _ in range(r.u32()):
        s = {}
        s["stack"] = r.u32()
        s["kind"] = r.u32()
        s["size"] = r.u64()
        s["alloc_count"] = r.u64()
        s["inuse_count"] = r.u64()
        out.append(s)
    return out


def decode_mixed_samples(r):
    """2.0: estimates of samples of many sizes (objects in 1/4096, bytes in 1/16)."""
    out = []
    for _ in range(r.u32()):
        i, w, b, iw, ib = r.take("<IQQQQ")
        out.append({"sample": i, "objects": w / 4096.0, "bytes": b / 16.0,
                    "inuse_objects": iw / 4096.0, "inuse_bytes": ib / 16.0})
    return out


TOTAL_FIELDS = ("alloc_calls", "free_calls", "alloc_bytes", "sampled", "dropped",
                "inuse_bytes_est", "peak_inuse_bytes_est", "threads")


def decode_totals(r):
    t = {k: r.u64() for k in TOTAL_FIELDS}
    t["grow_thread_ns"] = r.u64() if len(r.data) - r.pos >= 8 else 0  # 1.3
    t["maps_dropped"] = r.u64() if len(r.data) - r.pos >= 8 else 0  # 1.4
    return t


def decode_allocator(r):
    out = {}
    for _ in range(r.u32()):
        k = text(r.str())
        out[k] = r.u64()
    return out


GROW_FIELDS = ("from_buckets", "to_buckets", "count", "rehashed", "bytes", "ns")


def decode_map_grows(r):
    out = []
    for _ in range(r.u32()):
        g = {"stack": r.u32(), "kind": r.u16(), "flags": r.u16()}
        for k in GROW_FIELDS:
            g[k] = r.u64()
        out.append(g)
    return out


SITE_FIELDS = ("instances", "live", "max_live", "grows", "max_grows", "reserved", "tiny",
               "shared", "max_threads", "noexpand", "grow_bytes", "grow_ns", "max_grow_ns",
               "max_size")


def decode_map_sites(r):
    out = []
    for _ in range(r.u32()):
        s = {"stack": r.u32(), "kind": r.u16(), "flags": r.u16()}
        for k in SITE_FIELDS:
            s[k] = r.u64()
        s["size_hist"] = list(r.take("<32Q"))
        s["life_hist"] = list(r.take("<48Q"))
        out.append(s)
    # 1.2: heap_grow_bytes per entry, appended after them (a 1.1 file: grow_bytes)
    more = len(r.data) - r.pos >= 8 * len(out)
    for s in out:
        s["heap_grow_bytes"] = r.u64() if more else s["grow_bytes"]
    # 1.3: turns per entry, appended after those (older: shared)
    more = len(r.data) - r.pos >= 8 * len(out)
    for s in out:
        s["turns"] = r.u64() if more else s["shared"]
    # 1.7: copies, then lf_lowered; 1.8: late_reserved, then late_buckets; 1.9: moved_out; per
    # entry, appended after those (older: 0)
    for key in ("copies", "lf_lowered", "late_reserved", "late_buckets", "moved_out"):
        more = len(r.data) - r.pos >= 8 * len(out)
        for s in out:
            s[key] = r.u64() if more else 0
    return out


DECODERS = {
    SEC_HEADER: ("header", decode_header),
    SEC_OBJECTS: ("objects", decode_objects),
    SEC_STACKS: ("stacks", decode_stacks),
    SEC_SAMPLES: ("samples", decode_samples),
    SEC_TOTALS: ("totals", decode_totals),
    SEC_ALLOCATOR: ("allocator", decode_allocator),
    SEC_MAP_GROWS: ("map_grows", decode_map_grows),
    SEC_MAP_SITES: ("map_sites", decode_map_sites),
    SEC_UNLOADED: ("unloaded", decode_unloaded),
    SEC_STACK_KEYS: ("stack_keys", decode_stack_keys),
    SEC_MAP_PC_LIVE: ("map_pc_live", decode_map_pc_live),
    SEC_MIXED_SAMPLES: ("mixed_samples", decode_mixed_samples),
}
REQUIRED = ("header", "objects", "stacks", "samples", "totals")


def decode(data, name="dump"):
    """Parses a whole dump; raises FormatError on anything the document forbids."""
    if len(data) < 16 or data[:8] != MAGIC:
        raise FormatError("%s: bad magic" % name)
    major, minor, hsize = struct.unpack_from("<HHI", data, 8)
    if major not in (1, 2):
        raise FormatError("%s: major version %d (only 1 and 2 are known)" % (name, major))
    if major == 2:  # 2.0 is 1.6 with MIXED_SAMPLES (its size-0 samples hold many sizes)
        minor += 6
    if hsize < 16 or hsize > len(data):
        raise FormatError("%s: file header size %d" % (name, hsize))
    d = {"file": name, "major": major, "minor": minor, "unknown_sections": []}
    pos = hsize
    ended = False
    while pos < len(data):
        if pos + 16 > len(data):
            raise FormatError("%s: truncated section header at offset %d" % (name, pos))
        stype, reserved, length = struct.unpack_from("<IIQ", data, pos)
        body = pos + 16
        if length > len(data) - body:
            raise FormatError("%s: section %d at offset %d runs past the end" % (name, stype, pos))
        if stype == SEC_END:
            if length != 0:
                raise FormatError("%s: END section with payload" % name)
            ended = True
            pos = body
            break
        if stype in DECODERS:
            key, fn = DECODERS[stype]
            if key in d:
                raise FormatError("%s: section %s appears twice" % (name, key))
            r = Reader(memoryview(data)[body:body + length], body, "%s: %s" % (name, key))
            d[key] = fn(r)  # a longer payload is allowed (later minors append fields)
            # ...but not a shorter one: the fields a minor appended are there from it on
            if key == "totals":
                need = 64 + 8 * (minor >= 3) + 8 * (minor >= 4)
            elif key == "map_sites":
                # heap_grow_bytes from 1.3 on, turns from 1.4 (shims wrote 1.2 and 1.3 first)
                entry = 8 + 8 * (len(SITE_FIELDS) + 32 + 48 + (minor >= 3) + (minor >= 4))
                need = 4 + entry * len(d[key])
            else:
                need = 0
            if length < need:
                raise FormatError("%s: %s section short of its minor's fields" % (name, key))
        else:
            d["unknown_sections"].append(stype)
        pos = body + length
    if not ended:
        raise FormatError("%s: no END section (truncated file)" % name)
    if pos != len(data):
        raise FormatError("%s: %d bytes after END" % (name, len(data) - pos))
    for k in REQUIRED:
        if k not in d:
            raise FormatError("%s: required section %s missing" % (name, k))
    ns = len(d["stacks"])
    for s in d["samples"]:
        if s["stack"] >= ns:
            raise FormatError("%s: sample names stack %d of %d" % (name, s["stack"], ns))
        if s["inuse_count"] > s["alloc_count"]:
            raise FormatError("%s: sample with inuse %d > alloc %d" %
                              (name, s["inuse_count"], s["alloc_count"]))
    for m in d.get("mixed_samples", []):
        if m["sample"] >= len(d["samples"]) or "mixed" in d["samples"][m["sample"]]:
            raise FormatError("%s: mixed_samples names sample %d" % (name, m["sample"]))
        d["samples"][m["sample"]]["mixed"] = m
    for key in ("map_grows", "map_sites"):
        for s in d.get(key, []):
            if s["stack"] >= ns:
                raise FormatError("%s: %s names stack %d of %d" % (name, key, s["stack"], ns))
    for s in d.get("stack_keys", {}):
        if s >= ns:
            raise FormatError("%s: stack_keys names stack %d of %d" % (name, s, ns))
    return d


def load(path):
    with open(path, "rb") as f:
        return decode(f.read(), path)


# ---- symbolization -------------------------------------------------------------------------

_nm_cache = {}
_a2l_cache = {}


def find_object(d, pc, key=0):
    """The object of return address pc in a stack of unload key `key`: the unloaded object
    covering it with the lowest epoch above the key, else the loaded one."""
    later = [o for o in d.get("unloaded", []) if o["start"] < pc <= o["limit"] and o["epoch"] > key]
    if later:
        return min(later, key=lambda o: o["epoch"])
    for o in d["objects"]:
        if o["start"] < pc <= o["limit"]:
            return o
    return None


def _nm_symbols(path):
    """Sorted (address, name) of the function symbols of an object (.symtab, else .dynsym)."""
    if path in _nm_cache:
        return _nm_cache[path]
    syms = []
    for args in (["nm", "--defined-only"], ["nm", "-D", "--defined-only"]):
        try:
            out = subprocess.run(args + [path], capture_output=True, text=True).stdout
        except OSError:
            out = ""
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwWiI":
                try:
                    syms.append((int(parts[0], 16), parts[2]))
                except ValueError:
                    pass
        if syms:
            break
    syms.sort()
    _nm_cache[path] = syms
    return syms


def _nm_lookup(path, addr):
    syms = _nm_symbols(path)
    lo, hi = 0, len(syms)
    while lo < hi:
        mid = (lo + hi) // 2
        if syms[mid][0] <= addr:
            lo = mid + 1
        else:
            hi = mid
    return syms[lo - 1][1] if lo else "??"


def _addr2line(path, addrs):
    """Function names for ELF virtual addresses in path (one addr2line run per object)."""
    todo = [a for a in addrs if (path, a) not in _a2l_cache]
    if todo:
        names = []
        try:
            out = subprocess.run(["addr2line", "-f", "-e", path] + ["%x" % a for a in todo],
                                 capture_output=True, text=True).stdout.splitlines()
            names = out[0::2]
        except OSError:
            pass
        for i, a in enumerate(todo):
            n = names[i] if i < len(names) else "??"
            if n == "??" or not n:
                n = _nm_lookup(path, a)
            _a2l_cache[(path, a)] = n
    return [_a2l_cache[(path, a)] for a in addrs]


def resolve_stacks(d):
    """Function name of every frame of every stack (leaf first). pc - 1 - bias is the ELF
    address of the call; frames outside every object resolve to '?'."""
    per_obj = {}
    where = []
    keys = d.get("stack_keys", {})
    for i, st in enumerate(d["stacks"]):
        row = []
        for pc in st:
            o = find_object(d, pc, keys.get(i, 0))
            if o is None or not os.path.exists(o["path"]):
                row.append(None)
                continue
            a = pc - 1 - o["bias"]
            per_obj.setdefault(o["path"], set()).add(a)
            row.append((o["path"], a))
        where.append(row)
    names = {}
    for path, addrs in per_obj.items():
        addrs = sorted(addrs)
        for a, n in zip(addrs, _addr2line(path, addrs)):
            names[(path, a)] = n
    return [["?" if w is None else names[w] for w in row] for row in where]


def site_table(d, frame=0):
    """{(function of stack frame `frame`, kind, size): [alloc_count, inuse_count]} summed."""
    names = resolve_stacks(d)
    out = {}
    for s in d["samples"]:
        st = names[s["stack"]]
        fn = st[frame] if frame < len(st) else "?"
        v = out.setdefault((fn, s["kind"], s["size"]), [0, 0])
        v[0] += s["alloc_count"]
        v[1] += s["inuse_count"]
    return out


# ---- test helpers (for tests/integration/shim_*.sh) ----------------------------------------

class Tap:
    """Prints one "ok - NAME" / "not ok - NAME" line per check, as tests/integration/lib.sh."""

    def __init__(self, prefix=""):
        self.prefix = prefix
        self.failed = 0

    def ok(self, name, cond, *diag):
        name = self.prefix + name
        if cond:
            print("ok - %s" % name)
        else:
            self.failed += 1
            print("not ok - %s" % name)
            for line in diag:
                print("    %s" % line)
        sys.stdout.flush()
        return bool(cond)

    def eq(self, name, expected, actual):
        return self.ok(name, expected == actual, "expected: %r" % (expected,),
                       "actual:   %r" % (actual,))

    def within(self, name, truth, actual, tol, chance):
        """|actual - truth| <= tol; `chance` is the stated probability of an accidental miss."""
        return self.ok(name, abs(actual - truth) <= tol,
                       "truth %r, actual %r, allowed +-%r (accidental failure chance %s)" %
                       (truth, actual, tol, chance))


def load_dir(path):
    """Every finished dump in a directory (temporary files skipped), sorted by name."""
    names = sorted(n for n in os.listdir(path) if ".tmp." not in n)
    return [load(os.path.join(path, n)) for n in names]


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = {a for a in argv if a.startswith("--")}
    if not args or opts - {"--resolve", "--compact", "--sites"}:
        sys.stderr.write(__doc__)
        return 1
    rc = 0
    for path in args:
        try:
            d = load(path)
        except (OSError, FormatError) as e:
            sys.stderr.write("mprof_decode: %s\n" % e)
            rc = 2
            continue
        if "--sites" in opts:
            for (fn, kind, size), (a, u) in sorted(site_table(d).items()):
                print("%s\t%d\t%d\t%d\t%d" % (fn, kind, size, a, u))
            continue
        if "--resolve" in opts:
            d["frames"] = resolve_stacks(d)
        print(json.dumps(d, indent=None if "--compact" in opts else 1, sort_keys=True))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
