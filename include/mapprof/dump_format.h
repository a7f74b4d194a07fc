/* SPDX-License-Identifier: MIT */
/* The mapprof dump format: the one thing the shim (writer) and mapprof-report (reader) share.
 * The prose description with every field is include/mapprof/DUMP_FORMAT.md; keep both in step.
 * All integers are little-endian and fixed width; there is no padding between fields. */
#ifndef MAPPROF_DUMP_FORMAT_H
#define MAPPROF_DUMP_FORMAT_H

#include <stdint.h>

/* File header: 8 magic bytes, u16 major, u16 minor, u32 header size (16). */
#define MP_DUMP_MAGIC	  "MPROFDMP"
#define MP_DUMP_MAGIC_LEN 8
#define MP_DUMP_MAJOR	  1 /* readers refuse a newer major */
/* A dump with MIXED_SAMPLES is 2.x (2.0 is 1.6 with them, 2.1 is 1.7, 2.2 is 1.8,
 * 2.3 is 1.9): its size-0
 * samples hold objects of many sizes, which a 1.x reader would take for objects of size 0, so it
 * refuses the file. */
#define MP_DUMP_MAJOR_MIXED 2
#define MP_DUMP_MINOR                                                                              \
	9 /* readers accept any minor: new fields go in new sections, or after a section's own */
#define MP_DUMP_MINOR_MIXED	 (MP_DUMP_MINOR - 6) /* with MP_DUMP_MAJOR_MIXED */
#define MP_DUMP_FILE_HEADER_SIZE 16

/* Every section: u32 type, u32 reserved (0), u64 payload length, then the payload. A reader skips
 * a type it does not know. The last section is MP_SEC_END with length 0: a file without it is
 * truncated. Each known section appears at most once, in any order, before END. */
#define MP_DUMP_SECTION_HEADER_SIZE 16
enum mp_section_type {
	MP_SEC_HEADER = 1,	   /* process and configuration */
	MP_SEC_OBJECTS = 2,	   /* loaded objects (mappings) */
	MP_SEC_STACKS = 3,	   /* interned call stacks */
	MP_SEC_SAMPLES = 4,	   /* sampled allocations per (stack, size, kind) */
	MP_SEC_TOTALS = 5,	   /* exact counters */
	MP_SEC_ALLOCATOR = 6,	   /* the underlying allocator's own statistics */
	MP_SEC_MAP_GROWS = 7,	   /* map grow events per (stack, kind, flags, from, to) */
	MP_SEC_MAP_SITES = 8,	   /* map instances aggregated per creation site */
	MP_SEC_UNLOADED = 9,	   /* objects unloaded by dlclose before the dump (1.1) */
	MP_SEC_STACK_KEYS = 10,	   /* stacks captured after an unload over their pcs (1.1) */
	MP_SEC_MAP_PC_LIVE = 11,   /* map instances alive at once per site-stack pc (1.2) */
	MP_SEC_MIXED_SAMPLES = 12, /* estimates of samples of many sizes (1.6) */
	MP_SEC_END = 0xE0D,
};

/* MP_SEC_MIXED_SAMPLES fixed points: objects in 1/2^MP_MIXED_OBJECTS_SHIFT, bytes in
 * 1/2^MP_MIXED_BYTES_SHIFT (cumulative sums: room for 4.5e15 objects and 1.1e18 bytes at one
 * site). */
#define MP_MIXED_OBJECTS_SHIFT 12
#define MP_MIXED_BYTES_SHIFT   4
#define MP_MIXED_SAMPLE_SIZE   36

/* MP_SEC_HEADER flags. */
#define MP_HDR_SEED_GIVEN   (1u << 0) /* MAPPROF_SEED was set */
#define MP_HDR_MAPS_ENABLED (1u << 1) /* map tracking was on (MAPPROF_MAPS != 0) */
#define MP_HDR_FORKED_CHILD (1u << 2) /* this process started as a fork child of ppid */

/* Map kinds (MP_SEC_SAMPLES kind, MP_SEC_MAP_* kind). 0 in samples means "not a bucket array". */
enum mp_map_kind {
	MP_KIND_NONE = 0,
	MP_KIND_UTHASH = 1,
	MP_KIND_UNORDERED_MAP =
	    2,		 /* any libstdc++ _Hashtable: unordered_{map,set,multimap,multiset} */
	MP_KIND_API = 3, /* reported through mapprof_map_* in include/mapprof.h */
	MP_KIND_COUNT = 4,
};

/* MP_SEC_MAP_GROWS flags. */
/* MP_GROW_EXPLICIT: asked for by reserve()/rehash()/an API call, not by an insert. */
#define MP_GROW_EXPLICIT (1u << 0)
#define MP_GROW_NOEXPAND (1u << 1) /* uthash: expansion stopped (noexpand_fyi) */

/* MP_SEC_MAP_SITES flags. */
#define MP_SITE_RESERVES (1u << 0) /* at least one instance of this site called reserve/rehash */
/* (1.5) unordered_map: an instance had an explicit grow (reserve/rehash, or libstdc++'s own)
 * at a max_load_factor of MP_SITE_LOWLOAD_MAX or less: 8 buckets or more per element by the
 * program's choice, which the report's oversized verdict (8 per element) cannot tell apart. */
#define MP_SITE_LOWLOAD	    (1u << 1)
#define MP_SITE_LOWLOAD_MAX 0.125f
/* (1.6) unordered_map: an instance grew by inserts after the program shrank it (rehash() or
 * reserve() to fewer buckets than it had): those grows are not for want of a reserve. */
#define MP_SITE_SHRUNK (1u << 2)

/* Histograms in MP_SEC_MAP_SITES. Size bucket 0 holds 0; bucket b>=1 holds [2^(b-1), 2^b - 1];
 * the last bucket also holds everything larger. Lifetime buckets are the same on nanoseconds. */
/* MP_SEC_MAP_PC_LIVE: the pcs counted are a site stack's first MP_SITE_PC_DEPTH. */
#define MP_SITE_PC_DEPTH     8
#define MP_HIST_SIZE_BUCKETS 32
#define MP_HIST_LIFE_BUCKETS 48
/* MAP_SITES max_threads: the shim keeps 4 grower threads per instance, more read as 5. */
#define MP_MAP_MAX_THREADS 5

/* Reader limits: anything beyond these is an "impossible" value, refused with an offset. */
#define MP_MAX_DEPTH  256
#define MP_MAX_STRING (1u << 20)

#endif
