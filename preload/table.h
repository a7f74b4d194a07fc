/* SPDX-License-Identifier: MIT */
/* The stack table (interned call stacks), the sample buckets per (stack, size, kind) and the
 * live table (tracked pointer -> its bucket).
 *
 * Locks. The index lock (mp_table_lock) protects stack interning and bucket creation. The live
 * table is split into MP_TABLE_SHARDS shards by pointer hash, each with its own lock, so that
 * sampled allocations and frees on different threads rarely meet. Bucket counters and the
 * in-use estimate are updated with atomics, always inside the lock of the shard whose object
 * changed: a holder of every lock (mp_table_lock_all: the dump writer, fork) sees a consistent
 * snapshot. Order: shards (ascending) -> index -> arena; maps -> index. All locks are taken
 * only on slow paths, after the stack has been captured, and never while calling into the
 * loader or libunwind.
 *
 * Stacks and buckets never move once created (stacks are separate arena blocks, buckets live
 * in chunks that are never reallocated), so a stack or bucket id, once seen, can be read
 * without the index lock. Each thread keeps a small cache of the stacks and buckets it used
 * last (in its thread record), so a repeated stack costs a comparison of its frames and no lock. */
#ifndef MP_PRELOAD_TABLE_H
#define MP_PRELOAD_TABLE_H
#include <stdint.h>
#include "mp.h"

#define MP_NO_STACK	UINT32_MAX
#define MP_NO_BUCKET	UINT32_MAX
#define MP_TABLE_SHARDS 32

typedef struct mp_stack {
	uint64_t hash;
	uint32_t n;
	uint32_t key;	/* unload.h: the unload epoch the pcs were captured under, 0 mostly */
	uint32_t sizes; /* buckets of exact sizes made for it (index lock held) */
	uintptr_t pc[];
} mp_stack_t;

/* stack, kind and size are written once, before the bucket id is published; allocs and inuse
 * change with atomics under the lock of the shard whose object moved.
 *
 * A stack sampled at more than MP_TABLE_SIZES distinct sizes (a buffer grown by realloc in
 * small steps, random sizes: a bucket per sample, memory without bound) puts the sizes after
 * those in one bucket per kind, flagged MP_BUCKET_MIXED in kind, size 0. Such a bucket keeps its
 * estimates itself, each object weighted by its own size: objects (sum of weights) and bytes
 * (sum of weight x size), allocated and in use, in the fixed points below; a live object of it
 * keeps its size in the live table. Below a rate of MP_TABLE_MIX_MIN (exact mode among them),
 * and above 4 GiB, every size stays exact. */
#define MP_TABLE_SIZES	 64
#define MP_TABLE_MIX_MIN 1024 /* the rate from which sizes mix (fixed-point error < 1e-4) */
#define MP_BUCKET_MIXED	 0x80000000u
#define MP_MIXED_W_SHIFT MP_MIXED_OBJECTS_SHIFT /* objects in 1/4096 (dump_format.h) */
#define MP_MIXED_B_SHIFT MP_MIXED_BYTES_SHIFT	/* bytes in 1/16 */
typedef struct mp_bucket {
	uint32_t stack;
	uint32_t kind;
	uint64_t size;
	uint64_t allocs; /* sampled allocations, cumulative */
	uint64_t inuse;	 /* of those, live */
	uint64_t est; /* one object's share of the in-use estimate, 1/4096 bytes (weight x size) */
	/* MP_BUCKET_MIXED: sums of weight and of weight x size (fixed points above), allocated
	 * and in use; atomics under the shard lock of the object that changed. */
	uint64_t mix_w, mix_b, mix_inuse_w, mix_inuse_b;
} mp_bucket_t;

/* Totals kept next to the live table. */
struct mp_table_stats {
	uint64_t inserted;  /* sampled objects recorded */
	uint64_t inuse_est; /* sum of est over live objects, bytes (rounded) */
	uint64_t peak_est;  /* its largest value so far, bytes (rounded) */
};

/* The index lock (stacks and buckets). */
MP_HIDDEN void mp_table_lock(void);
MP_HIDDEN void mp_table_unlock(void);
/* Every shard, then the index: a consistent snapshot (dump writer, fork prepare). */
MP_HIDDEN void mp_table_lock_all(void);
MP_HIDDEN void mp_table_unlock_all(void);
/* Fork child: forget the parent's stacks, samples and live objects; locks reinitialised.
 * No lock held (single-threaded). */
MP_HIDDEN void mp_table_reset(void);
/* Any thread: every thread's cache of stack and bucket ids is stale (an object was unloaded). */
MP_HIDDEN void mp_table_forget_cached(void);

/* Index lock held. Returns the id of the stack (pcs, key), or MP_NO_STACK when memory ran out. */
MP_HIDDEN uint32_t mp_table_intern_locked(const uintptr_t *pc, int n, uint32_t key);
/* Guard held, no table lock held. The same through the calling thread's cache: a hit (every
 * frame compared) takes no lock. */
MP_HIDDEN uint32_t mp_table_intern(mp_tls_t *t, const uintptr_t *pc, int n);
/* Guard held, no table lock held. The bucket of (stack, size, kind), created if needed, through
 * the thread's cache; MP_NO_BUCKET on no memory. */
MP_HIDDEN uint32_t mp_table_bucket(mp_tls_t *t, uint32_t stack, uint64_t size, unsigned kind);
/* No table lock held (takes p's shard lock). Records a sampled live object in bucket b;
 * returns false (and records nothing) on no memory. */
MP_HIDDEN bool mp_table_insert(const void *p, uint32_t bucket, uint64_t size);
/* No table lock held. If p is a live sampled object, forgets it and returns true with its
 * size and bucket (for mp_table_relive). */
MP_HIDDEN bool mp_table_take(const void *p, uint64_t *size, uint32_t *bucket);
/* No table lock held. Puts back a live object taken by mp_table_take (a realloc that failed). */
MP_HIDDEN void mp_table_relive(const void *p, uint32_t bucket, uint64_t size);
/* No table lock held. Marks the live sampled object p as a bucket array of `kind` (maps.c):
 * the object moves to the (stack, size, kind) bucket. No-op when p is not sampled. */
MP_HIDDEN void mp_table_set_kind(const void *p, unsigned kind);

/* Every lock held (mp_table_lock_all): read-only views for the dump writer. */
MP_HIDDEN uint32_t mp_table_stack_count_locked(void);
MP_HIDDEN const mp_stack_t *mp_table_stack_locked(uint32_t id);
MP_HIDDEN uint32_t mp_table_bucket_count_locked(void);
MP_HIDDEN const mp_bucket_t *mp_table_bucket_locked(uint32_t i);
MP_HIDDEN void mp_table_stats_locked(struct mp_table_stats *out);
MP_HIDDEN uint64_t mp_table_peak_est(void);
#endif
