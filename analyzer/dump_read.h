/* SPDX-License-Identifier: MIT */
/* The parsed form of one dump (include/mapprof/DUMP_FORMAT.md): plain structs, host byte order,
 * every index already checked against its table. Parsing lives in dump_read.c. */
#ifndef MP_DUMP_READ_H
#define MP_DUMP_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapprof/dump_format.h"

typedef struct {
	uint64_t bias, start, limit, offset;
	char *path;	   /* NUL-terminated copy */
	uint8_t *build_id; /* raw bytes */
	uint32_t build_id_len;
	uint32_t unload_epoch; /* 0: loaded at the dump; else unloaded (UNLOADED section) */
} mp_dump_object_t;

typedef struct {
	uint32_t stack, kind;
	uint64_t size, alloc_count, inuse_count;
	/* A sample of many sizes (size 0 in a 2.x dump): 1 + its MIXED_SAMPLES entry, else 0
	 * (mp_dump_sample_mix). */
	uint32_t mixed;
} mp_dump_sample_t;

typedef struct {
	uint64_t alloc_calls, free_calls, alloc_bytes, sampled, dropped, inuse_bytes_est,
	    peak_inuse_bytes_est, threads;
	uint64_t grow_thread_ns; /* 1.3; 0 in older dumps */
	uint64_t maps_dropped;	 /* 1.4; 0 in older dumps */
} mp_dump_totals_t;

typedef struct {
	char *key;
	uint64_t value;
} mp_dump_stat_t;

typedef struct {
	uint32_t stack;
	uint16_t kind, flags;
	uint64_t from_buckets, to_buckets, count, rehashed, bytes, ns;
} mp_dump_grow_t;

typedef struct {
	uint32_t stack;
	uint16_t kind, flags;
	uint64_t instances, live, max_live, grows, max_grows, reserved, tiny, shared, max_threads,
	    noexpand, grow_bytes, grow_ns, max_grow_ns, max_size;
	uint64_t size_hist[MP_HIST_SIZE_BUCKETS];
	uint64_t life_hist[MP_HIST_LIFE_BUCKETS];
	uint64_t heap_grow_bytes; /* 1.2; grow_bytes in older dumps */
	uint64_t turns;		  /* 1.3; shared in older dumps */
	uint64_t copies;	  /* 1.7; 0 in older dumps */
	uint64_t lf_lowered;	  /* 1.7; 0 in older dumps */
	/* 1.8 (0 in older dumps): instances with an explicit grow after their first, and the sum
	 * of their largest such bucket counts */
	uint64_t late_reserved, late_buckets;
	uint64_t moved_out; /* 1.9 (0 in older dumps): moved out, swapped or assigned over */
} mp_dump_site_t;

/* MAP_PC_LIVE: maps alive at once over the sites with pc among their stack's first frames. */
typedef struct {
	uint64_t pc;
	uint32_t key;
	uint16_t kind;
	uint64_t max_live;
} mp_dump_pc_live_t;

typedef struct {
	char *name;	       /* the file name given, for messages */
	uint64_t content_hash; /* of the file's bytes: two files of one snapshot must agree */
	uint16_t major, minor;
	unsigned level; /* the 1.x minor whose fields it has: 2.0 is 1.6 with MIXED_SAMPLES */

	/* HEADER */
	uint32_t pid, ppid, depth, flags;
	uint64_t seq, rate, seed;
	int64_t start_ns, dump_ns;
	char *exe;
	char *cmdline; /* NUL-separated arguments, cmdline_len bytes */
	uint32_t cmdline_len;

	/* OBJECTS, then the UNLOADED entries (unload_epoch > 0). */
	uint32_t nobjects;
	mp_dump_object_t *objects;
	uint32_t nunloaded;
	mp_dump_object_t *unloaded; /* while parsing; appended to objects at the end */

	/* STACKS: stack i is pcs[frame_off[i] .. frame_off[i+1]), innermost first. */
	uint32_t nstacks;
	uint32_t *frame_off; /* nstacks + 1 entries */
	uint64_t *pcs;
	/* STACK_KEYS: per stack, the unload epoch its pcs were captured under (NULL: all 0). A pc
	 * belongs to the first unloaded object covering it with an epoch above the key, else to
	 * the loaded one (mp_dump_object_at). */
	uint32_t *stack_key;
	uint32_t nkeys;
	uint32_t *keys; /* while parsing: (stack, key) pairs */
	/* objects_at.c's index: loaded objects by start; unloaded ones by range, then epoch */
	uint32_t nloaded, nuranges;
	uint32_t *loaded_order, *unloaded_order;
	struct mp_urange *uranges;

	uint32_t nsamples;
	mp_dump_sample_t *samples;
	uint32_t nmixed;
	uint64_t *mixed; /* MIXED_SAMPLES entries: the sample's index, then its four sums */

	mp_dump_totals_t totals;

	bool has_allocator, has_grows, has_sites;
	uint32_t nstats;
	mp_dump_stat_t *stats;
	uint32_t ngrows;
	mp_dump_grow_t *grows;
	uint32_t nsites;
	mp_dump_site_t *sites;
	uint32_t npc_live;
	mp_dump_pc_live_t *pc_live; /* sorted by (kind, key, pc): mp_dump_pc_live */
} mp_dump_t;

/* Parses len bytes of one dump into *d (zeroed first; free with mp_dump_free even on failure).
 * name is used in messages. Returns MP_OK, or MP_EINPUT with "NAME: offset N: what" in err. */
int mp_dump_parse(const uint8_t *buf, size_t len, const char *name, mp_dump_t *d, char *err,
		  size_t errlen);

/* Reads and parses a file: MP_OK, MP_EINPUT (format, message as above) or MP_EIO (open/read). */
int mp_dump_read_file(const char *path, mp_dump_t *d, char *err, size_t errlen);

void mp_dump_free(mp_dump_t *d);

/* MAP_PC_LIVE's entry for (kind, key, pc), or NULL (none, or a dump before 1.2). */
const mp_dump_pc_live_t *mp_dump_pc_live(const mp_dump_t *d, uint16_t kind, uint32_t key,
					 uint64_t pc);

/* objects_at.c: the index below, built once the objects are all read. */
void mp_dump_index_objects(mp_dump_t *d);
/* The object holding return address pc in stack s, as an index into objects; -1 if none. */
int64_t mp_dump_object_at(const mp_dump_t *d, uint32_t s, uint64_t pc);

static inline uint32_t mp_dump_stack_len(const mp_dump_t *d, uint32_t s)
{
	return d->frame_off[s + 1] - d->frame_off[s];
}

static inline const uint64_t *mp_dump_stack_pcs(const mp_dump_t *d, uint32_t s)
{
	return d->pcs + d->frame_off[s];
}

/* The label text of a map kind (dump samples, grows and sites). */
static inline const char *mp_dump_kind_name(uint32_t kind)
{
	switch (kind) {
	case MP_KIND_UTHASH:
		return "uthash";
	case MP_KIND_UNORDERED_MAP:
		return "unordered_map";
	case MP_KIND_API:
		return "api";
	default:
		return "other"; /* a kind from a later minor version */
	}
}

/* A sample of many sizes' estimates, each object weighed by its own size, in the fixed points
 * of dump_format.h: objects, bytes, in-use objects, in-use bytes; NULL for any other sample. */
static inline const uint64_t *mp_dump_sample_mix(const mp_dump_t *d, const mp_dump_sample_t *s)
{
	return s->mixed ? &d->mixed[(size_t)(s->mixed - 1) * 5 + 1] : NULL;
}

#endif
