/* SPDX-License-Identifier: MIT */
/* The stack table (interned call stacks), the sample buckets per (stack, size, kind) and the
 * live table (tracked pointer -> its bucket). One lock protects all three: it is taken only on
 * slow paths (sampled allocations, frees that hit the filter, dumps), after the stack has been
 * captured, and never while calling into the loader or libunwind. */
#ifndef MP_PRELOAD_TABLE_H
#define MP_PRELOAD_TABLE_H
#include <stdint.h>
#include "mp.h"

#define MP_NO_STACK UINT32_MAX

typedef struct mp_stack {
	uint64_t hash;
	uint32_t n;
	uint32_t pad;
	uintptr_t pc[];
} mp_stack_t;

typedef struct mp_bucket {
	uint32_t stack;
	uint32_t kind;
	uint64_t size;
	uint64_t allocs; /* sampled allocations, cumulative */
	uint64_t inuse;  /* of those, live */
} mp_bucket_t;

MP_HIDDEN void mp_table_lock(void);
MP_HIDDEN void mp_table_unlock(void);
/* Fork child: forget the parent's stacks, samples and live objects. Lock not held. */
MP_HIDDEN void mp_table_reset(void);

/* Lock held. Returns the stack id, or MP_NO_STACK when memory ran out. */
MP_HIDDEN uint32_t mp_table_intern_locked(const uintptr_t *pc, int n);
/* Lock held. Records a sampled live object; returns false (and records nothing) on no memory. */
MP_HIDDEN bool mp_table_alloc_locked(const void *p, uint32_t stack, uint64_t size, unsigned kind);
/* Lock held. If p is a live sampled object, forgets it and returns true with its size. */
MP_HIDDEN bool mp_table_free_locked(const void *p, uint64_t *size);
/* Lock held. Like mp_table_free_locked, and gives the bucket p was in (for mp_table_relive). */
MP_HIDDEN bool mp_table_take_locked(const void *p, uint64_t *size, uint32_t *bucket);
/* Lock held. Puts back a live object taken by mp_table_take_locked (a realloc that failed). */
MP_HIDDEN void mp_table_relive_locked(const void *p, uint32_t bucket);
/* Lock held. Marks the live sampled object p as a bucket array of `kind` (maps.c): the object
 * moves to the (stack, size, kind) bucket. No-op when p is not sampled. */
MP_HIDDEN void mp_table_set_kind_locked(const void *p, unsigned kind);

/* Lock held: read-only views for the dump writer. */
MP_HIDDEN uint32_t mp_table_stack_count_locked(void);
MP_HIDDEN const mp_stack_t *mp_table_stack_locked(uint32_t id);
MP_HIDDEN uint32_t mp_table_bucket_count_locked(void);
MP_HIDDEN const mp_bucket_t *mp_table_bucket_locked(uint32_t i);
#endif
