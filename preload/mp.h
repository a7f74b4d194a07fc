/* SPDX-License-Identifier: MIT */
/* Internal declarations shared by the shim's modules: the state machine, the per-thread
 * state, the configuration and the real allocator. Nothing here is exported from the .so. */
#ifndef MP_PRELOAD_MP_H
#define MP_PRELOAD_MP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "mapprof/dump_format.h"

#define MP_HIDDEN      __attribute__((visibility("hidden")))
#define MP_EXPORT      __attribute__((visibility("default")))
#define mp_likely(x)   __builtin_expect(!!(x), 1)
#define mp_unlikely(x) __builtin_expect(!!(x), 0)

/* One state for the whole shim, checked first by every entry point. Written by init (once),
 * by the fault path (to DISABLED) and by the fork child handler; read everywhere, relaxed. */
enum mp_state {
	MP_UNINIT = 0, /* nothing resolved yet: the first call runs mp_init() */
	MP_BOOTSTRAP,  /* dlsym is running: allocations come from the static area */
	MP_READY,      /* profiling */
	MP_FORWARD,    /* real functions resolved, profiling off (set-uid, bad config, fault) */
};
extern MP_HIDDEN volatile int mp_state;

/* The allocator underneath (glibc, jemalloc, tcmalloc): resolved with dlsym(RTLD_NEXT). A NULL
 * entry for an optional function means "emulate through the others" (see init.c). Written once
 * by init before the state becomes READY/FORWARD; read-only afterwards. */
struct mp_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
};
extern MP_HIDDEN struct mp_real mp_real;

/* Configuration, read once from the environment by init; read-only afterwards. */
struct mp_config {
	uint64_t rate; /* mean bytes between samples; 1 = all; 0 = none */
	uint64_t seed; /* base seed (given or drawn) */
	bool seed_given;
	unsigned depth;	   /* max frames per stack, 1..MP_MAX_DEPTH */
	int signal;	   /* dump on this signal, 0 = none */
	unsigned interval; /* dump every N seconds, 0 = never */
	bool maps;	   /* map tracking on */
	bool unwind_fp;	   /* MAPPROF_UNWIND=fp: frame-pointer walk instead of libunwind */
	char out[512];	   /* MAPPROF_OUT template */
};
extern MP_HIDDEN struct mp_config mp_config;

/* Exact per-thread counters. Each thread owns one record (arena memory, never freed, reused
 * after the thread exits), so the malloc path writes only its own cache line; dumps sum them. */
typedef struct mp_thread {
	uint64_t alloc_calls;
	uint64_t free_calls;
	uint64_t alloc_bytes;
	struct mp_thread *next; /* registry list: written under the registry lock */
	int live;		/* 1 while a thread owns it */
	uint32_t index;		/* registration order, for MAPPROF_SEED */
	void *tcache;		/* table.c's stack/bucket cache: owner only, NULL until used */
	uint32_t capturing;	/* stack.c: 1 while the owner is in the unwinder (fork waits) */
	int64_t est_pending;	/* table.c: frees not yet in the in-use estimate (<= 0), written
				 * by the owner under a shard lock, read under every shard lock */
} __attribute__((aligned(64))) mp_thread_t;

/* Per-thread state in initial-exec TLS: reading it never calls __tls_get_addr (which could
 * allocate) and costs one %fs-relative load. */
typedef struct mp_tls {
	int64_t countdown;   /* bytes until the next sample point; < 0 means "take the slow path" */
	mp_thread_t *rec;    /* NULL until the thread's first slow path registers it */
	uint64_t rng;	     /* xorshift state for the sampler */
	uint32_t guard;	     /* > 0 while the profiler works on this thread: calls pass through */
	uint8_t dying;	     /* set by the thread-exit destructor: count into the global record */
	uint8_t map_pending; /* maps.c wants to see the next allocation (a new bucket array) */
	uint8_t map_kind;    /* kind of that allocation */
} mp_tls_t;
extern MP_HIDDEN __thread mp_tls_t mp_tls __attribute__((tls_model("initial-exec")));

/* MurmurHash3's 64-bit finalizer: the hash of the shim's tables (stacks, live objects, maps). */
static inline uint64_t mp_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* init.c */
MP_HIDDEN void mp_init(void);
MP_HIDDEN void mp_fault(const char *what);
MP_HIDDEN void mp_log(const char *msg);
MP_HIDDEN void mp_thread_attach(mp_tls_t *t);
MP_HIDDEN uint64_t mp_now_ns(void);    /* CLOCK_REALTIME */
MP_HIDDEN uint64_t mp_mono_ns(void);   /* CLOCK_MONOTONIC */
extern MP_HIDDEN uint64_t mp_start_ns; /* CLOCK_REALTIME at start (or fork) */
extern MP_HIDDEN int mp_forked_child;

/* bootstrap.c: the static area that serves allocations while dlsym runs. */
MP_HIDDEN void *mp_bootstrap_alloc(size_t size, size_t align);
#define MP_BOOTSTRAP_SIZE (64u << 10)
extern MP_HIDDEN char mp_bootstrap_area[MP_BOOTSTRAP_SIZE];
/* On every free: one subtraction and one compare. */
static inline bool mp_bootstrap_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)mp_bootstrap_area < MP_BOOTSTRAP_SIZE;
}
MP_HIDDEN size_t mp_bootstrap_size(const void *p);

/* sample.c: the sampler (pure arithmetic). */
MP_HIDDEN uint64_t mp_sample_rng_seed(uint64_t base, uint64_t index);
MP_HIDDEN uint64_t mp_sample_rand(uint64_t *state);
MP_HIDDEN int64_t mp_sample_next(uint64_t *state, uint64_t rate);
MP_HIDDEN double mp_sample_weight(uint64_t size, uint64_t rate);

/* record.c: the sampled slow paths, called from interpose.c. Guard not held on entry. */
MP_HIDDEN void mp_record_alloc(mp_tls_t *t, void *p, size_t size);
MP_HIDDEN void mp_record_free(mp_tls_t *t, void *p);
MP_HIDDEN uint32_t mp_record_take(mp_tls_t *t, void *p);
MP_HIDDEN void mp_record_realloc_undo(mp_tls_t *t, void *p, uint32_t bucket);
MP_HIDDEN void mp_record_thread_init(mp_tls_t *t);

/* filter.c: read-only-on-the-fast-path filter of pointers the shim tracks. */
MP_HIDDEN bool mp_filter_init(void);
MP_HIDDEN void mp_filter_add(const void *p);
MP_HIDDEN void mp_filter_remove(const void *p);
MP_HIDDEN void mp_filter_add_map(const void *p);
MP_HIDDEN void mp_filter_remove_map(const void *p);
MP_HIDDEN void mp_filter_reset(void);
extern MP_HIDDEN uint8_t *mp_filter_bits;
#define MP_FILTER_BITS	       20
#define MP_FILTER_SAMPLE_SHIFT 0 /* low nibble: sampled objects (table.c) */
#define MP_FILTER_MAP_SHIFT    4 /* high nibble: map bucket arrays (maps.c) */
/* The byte for p: zero means p is certainly not tracked. */
static inline uint8_t mp_filter_get(const void *p)
{
	uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
	return __atomic_load_n(&mp_filter_bits[h >> (64 - MP_FILTER_BITS)], __ATOMIC_RELAXED);
}
static inline bool mp_filter_maybe(const void *p)
{
	uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
	return mp_filter_bits[h >> (64 - MP_FILTER_BITS)] != 0;
}

/* Time a dump: what triggered it. */
MP_HIDDEN int mp_dump_write(const char *why);

#endif
