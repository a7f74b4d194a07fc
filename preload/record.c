/* SPDX-License-Identifier: MIT */
/* The slow paths behind interpose.c: thread attach, sample points, and frees of tracked
 * pointers. Stacks are captured before any lock is taken; a repeated stack and bucket are found
 * in the thread's cache without a lock, and only p's shard of the live table is locked for the
 * update (table.h). Map hooks (maps.c) get the allocation or free before the real free runs. */
#include <errno.h>
#include "arena.h"
#include "maps.h"
#include "record.h"
#include "stack.h"
#include "table.h"
#include "thread.h"

/* Sampling points that could not be recorded (no memory). Atomic: rare, any thread. Read by
 * the dump writer; the other totals (sampled objects, in-use estimate) live in table.c. */
static uint64_t n_dropped;

/* Out of line: the first drop says so (a dump's "dropped" alone went unnoticed), unless the
 * arena's cap line came first. */
static __attribute__((noinline, cold)) void dropped(void)
{
	__atomic_fetch_add(&n_dropped, 1, __ATOMIC_RELAXED);
	if (mp_arena_short_first())
		mp_log("a sample could not be recorded (no memory for the profiler's tables, an "
		       "address-space limit perhaps, or no stack); samples, stacks and map events "
		       "that find no memory are dropped too, and the dumps count them");
}

/* Guard held, no lock held. */
static inline void sample(mp_tls_t *t, void *p, size_t size, unsigned kind)
{
	uint32_t id = mp_stack_id(t);
	uint32_t b = id != MP_NO_STACK ? mp_table_bucket(t, id, size, kind) : MP_NO_BUCKET;
	if (b == MP_NO_BUCKET || !mp_table_insert(p, b, size))
		dropped();
}

/* Moves the thread's sampler past an allocation of `size` bytes; true at a sample point. The
 * point falls inside the allocation that covers it (size > avail + reserve); exact mode samples
 * all. Otherwise the fast path's window is refilled from what is left: mp_record_alloc counted
 * this allocation, and mp_avail_set folds in what the fast path counted since the last set. */
static bool sample_step(mp_tls_t *t, size_t size)
{
	uint64_t left = t->avail + t->reserve;
	if (mp_config.rate != 1 && size <= left) {
		mp_countdown_set(t, left - size);
		return false;
	}
	int64_t next = mp_sample_next(&t->rng, mp_config.rate);
	mp_countdown_set(t, next < 0 ? 0 : (uint64_t)next);
	return mp_config.rate != 0;
}

/* Any state of the guard. The allocation p of `size` bytes succeeded and mp_fast_alloc did not
 * count it: the guard is held (the profiler's own: ignored), the thread is exiting or has no
 * record yet, a map hook waits for it, or it is a sample point. */
void mp_record_alloc(mp_tls_t *t, void *p, size_t size)
{
	if (t->guard)
		return;
	int saved = errno; /* the program's, after a successful allocation */
	if (mp_unlikely(saved == ENOMEM))
		mp_alloc_may_fail(); /* left by a failure the fast path could not see (fallible.c)
				      */
	mp_guard_enter(t);
	if (mp_unlikely(t->rec == NULL))
		mp_thread_attach(t); /* its first sample interval, which this allocation uses */
	mp_thread_t *r = t->rec;
	if (r) {
		t->n.alloc_calls++;
		t->n.alloc_bytes += size;
	} else {
		mp_thread_count_orphan(1, 0, size);
	}
	unsigned kind = 0;
	if (t->map_pending)
		kind = mp_maps_on_alloc(t, p, size);
	/* A thread past its exit destructor (other key destructors run after ours) has no record
	 * but keeps sampling: its countdown (avail + reserve) goes on (hold keeps the fast path
	 * off). */
	if ((r || t->dying) && sample_step(t, size))
		sample(t, p, size, kind);
	if (!r && !t->dying)
		mp_countdown_set(t, 0); /* no record: the fast path must not run */
	mp_guard_leave(t);
	errno = saved;
}

__attribute__((cold, noinline)) void mp_fast_alloc_undo(size_t size)
{
	mp_tls_t *t = &mp_tls;
	t->avail += size; /* takes the bytes back too: mp_avail_set */
	t->n.alloc_calls--;
	mp_alloc_failed(size);
}

/* Guard not held. p hit the filter: it may be a sampled object (the byte's sample counter is
 * set) or a tracked bucket array (its map counter is set); only those structures are looked
 * at, so a bucket array's free never takes a table lock. */
void mp_record_free(mp_tls_t *t, void *p)
{
	uint64_t size;
	(void)mp_record_take(t, p, &size);
}

void mp_record_stats_locked(struct mp_sample_stats *out)
{
	struct mp_table_stats ts;
	mp_table_stats_locked(&ts);
	out->sampled = ts.inserted;
	out->dropped = __atomic_load_n(&n_dropped, __ATOMIC_RELAXED);
	out->inuse_est = ts.inuse_est;
	out->peak_inuse_est = ts.peak_est;
}

void mp_record_reset(void)
{
	n_dropped = 0;		/* the rest is reset with the table */
	mp_arena_short_reset(); /* a fork child says its own */
}

/* Guard not held. Forgets p (before the real free or realloc: after it, p may belong to
 * another thread) and returns the bucket it was in, so that a failed realloc can put it back;
 * UINT32_MAX if p was not a sampled object. */
uint32_t mp_record_take(mp_tls_t *t, void *p, uint64_t *size)
{
	int saved = errno; /* free() leaves the program's errno alone */
	mp_guard_enter(t);
	uint8_t f = mp_filter_get(p);
	uint32_t bucket = UINT32_MAX;
	if (f & (15u << MP_FILTER_SAMPLE_SHIFT)) {
		if (!mp_table_take(p, size, &bucket))
			bucket = UINT32_MAX;
	}
	if (mp_config.maps && (f & (15u << MP_FILTER_MAP_SHIFT)))
		mp_maps_on_free(t, p);
	mp_guard_leave(t);
	errno = saved;
	return bucket;
}

/* Guard not held. The realloc failed: p is still live, in the bucket it was taken from. */
void mp_record_realloc_undo(mp_tls_t *t, void *p, uint32_t bucket, uint64_t size)
{
	t->guard++;
	mp_table_relive(p, bucket, size);
	t->guard--;
}
