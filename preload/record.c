/* SPDX-License-Identifier: MIT */
/* The slow paths behind interpose.c: thread attach, sample points, and frees of tracked
 * pointers. Stacks are captured before any lock is taken; the table lock is held only for the
 * table update. Map hooks (maps.c) get the allocation or free before the real free runs. */
#include "maps.h"
#include "record.h"
#include "stack.h"
#include "table.h"
#include "thread.h"

/* Written under the table lock, read by the dump writer under it. The in-use estimate sums
 * weight x size over live sampled objects, so its peak is an estimate of the peak heap. */
static uint64_t n_sampled, n_dropped;
static double inuse_est, peak_est;

static void sample(mp_tls_t *t, void *p, size_t size, unsigned kind)
{
	uintptr_t pcs[MP_MAX_DEPTH];
	int n = mp_stack_capture(pcs, (int)mp_config.depth);
	double w = mp_sample_weight(size, mp_config.rate);
	mp_table_lock();
	uint32_t id = mp_table_intern_locked(pcs, n);
	if (id != MP_NO_STACK && mp_table_alloc_locked(p, id, size, kind)) {
		n_sampled++;
		inuse_est += w * (double)size;
		if (inuse_est > peak_est)
			peak_est = inuse_est;
	} else {
		n_dropped++;
	}
	mp_table_unlock();
}

/* Guard not held. Runs when the countdown went below zero, the thread has no record yet, or a
 * map hook waits for this allocation. The caller already counted it if the thread had a record. */
void mp_record_alloc(mp_tls_t *t, void *p, size_t size)
{
	t->guard++;
	if (mp_unlikely(t->rec == NULL)) {
		mp_thread_attach(t);
		if (t->rec) {
			t->rec->alloc_calls++;
			t->rec->alloc_bytes += size;
		} else {
			mp_thread_count_orphan(1, 0, size);
		}
		/* A fresh thread starts from a fresh interval, then this allocation uses it. */
		t->countdown = mp_sample_next(&t->rng, mp_config.rate) - (int64_t)size;
	}
	unsigned kind = 0;
	if (t->map_pending)
		kind = mp_maps_on_alloc(t, p, size);
	if (t->countdown < 0) {
		if (mp_config.rate != 0)
			sample(t, p, size, kind);
		t->countdown = mp_sample_next(&t->rng, mp_config.rate);
	}
	t->guard--;
}

/* Guard not held. p hit the filter: it may be a sampled object (the byte's sample counter is
 * set) or a tracked bucket array (its map counter is set); only those structures are looked
 * at, so a bucket array's free never takes the table lock. */
void mp_record_free(mp_tls_t *t, void *p)
{
	(void)mp_record_take(t, p);
}

void mp_record_stats_locked(struct mp_sample_stats *out)
{
	out->sampled = n_sampled;
	out->dropped = n_dropped;
	out->inuse_est = inuse_est > 0 ? (uint64_t)(inuse_est + 0.5) : 0;
	out->peak_inuse_est = (uint64_t)(peak_est + 0.5);
}

void mp_record_reset(void)
{
	n_sampled = n_dropped = 0;
	inuse_est = peak_est = 0;
}

/* Guard not held. Forgets p (before the real free or realloc: after it, p may belong to
 * another thread) and returns the bucket it was in, so that a failed realloc can put it back;
 * UINT32_MAX if p was not a sampled object. */
uint32_t mp_record_take(mp_tls_t *t, void *p)
{
	t->guard++;
	uint8_t f = mp_filter_get(p);
	uint64_t size;
	uint32_t bucket = UINT32_MAX;
	if (f & (15u << MP_FILTER_SAMPLE_SHIFT)) {
		mp_table_lock();
		if (mp_table_take_locked(p, &size, &bucket)) {
			inuse_est -= mp_sample_weight(size, mp_config.rate) * (double)size;
			if (inuse_est < 0)
				inuse_est = 0;
		}
		mp_table_unlock();
	}
	if (mp_config.maps && (f & (15u << MP_FILTER_MAP_SHIFT)))
		mp_maps_on_free(t, p);
	t->guard--;
	return bucket;
}

/* Guard not held. The realloc failed: p is still live, in the bucket it was taken from. */
void mp_record_realloc_undo(mp_tls_t *t, void *p, uint32_t bucket)
{
	t->guard++;
	mp_table_lock();
	mp_table_relive_locked(p, bucket);
	const mp_bucket_t *b = mp_table_bucket_locked(bucket);
	if (b)
		inuse_est += mp_sample_weight(b->size, mp_config.rate) * (double)b->size;
	mp_table_unlock();
	t->guard--;
}
