/* SPDX-License-Identifier: MIT */
/* uthash: the shim side of include/mapprof/uthash.h, whose hook macros call these exported
 * functions through weak references. uthash's hooks are compile-time macros, so only programs
 * built with that header are seen. An instance is the UT_hash_table's address: created by the
 * uthash_malloc of a table-sized block (unless it is the bucket array that follows a table),
 * grown at each uthash_expand_fyi, dead at the
 * uthash_free of the table (HASH_CLEAR, or HASH_DELETE of the last item). */
#include <stdlib.h>
#include "maps_int.h"

MP_EXPORT void *mapprof_uthash_malloc(size_t size, size_t table_size);
MP_EXPORT void mapprof_uthash_free(void *p, size_t size, size_t table_size, size_t items);
MP_EXPORT void mapprof_uthash_expand_fyi(const void *tbl, const void *buckets, size_t num_buckets,
					 size_t items, size_t bucket_bytes, int noexpand);
MP_EXPORT void mapprof_uthash_noexpand_fyi(const void *tbl);
MP_EXPORT void mapprof_uthash_size(const void *tbl, size_t items);

static inline uintptr_t key_of(const void *tbl)
{
	return mp_maps_key(MP_KIND_UTHASH, tbl);
}

/* Maps lock held: from now on this thread's size reports for m's table need no lock. */
static void ut_cache_locked(mp_maps_tls_t *x, const void *tbl, mp_map_inst_t *m)
{
	x->ut_tbl = tbl;
	x->ut_inst = m;
	x->ut_serial = m->serial;
	x->ut_serial_gen = mp_maps_gen;
}

/* Guard not held on entry (the program's call). The allocation itself goes through our malloc
 * unguarded, so it is counted and may be sampled like any other; a bucket array that is sampled
 * is labelled through map_pending. */
void *mapprof_uthash_malloc(size_t size, size_t table_size)
{
	mp_tls_t *t = &mp_tls;
	if (!mp_maps_active(t))
		return malloc(size);
	mp_maps_tls_t *x = &mp_maps_tls;
	if (size == table_size && !x->ut_want_buckets) {
		void *p = malloc(size);
		if (p) {
			x->ut_want_buckets = true;
			mp_guard_enter(t);
			uint32_t stack = mp_maps_stack();
			uint64_t now = mp_maps_now();
			mp_maps_lock();
			mp_map_inst_t *m = mp_maps_create_locked(key_of(p), stack, now);
			if (m)
				ut_cache_locked(&mp_maps_tls, p, m);
			mp_maps_unlock();
			mp_guard_leave(t);
		}
		return p;
	}
	x->ut_want_buckets = false;
	void *p;
	if (mp_likely(size < t->avail)) {
		/* No sample point in this allocation (avail is within the distance to the next),
		 * so no sample to label: our fast path takes it, not the slow path that reads
		 * map_pending (about 150 instructions less per bucket array). A signal handler's
		 * allocation in between may move the point into it: that sample goes unlabelled. */
		p = malloc(size);
	} else {
		t->map_kind = MP_KIND_UTHASH;
		mp_map_pending_set(t, 1);
		/* The compiler knows malloc does not read our globals and would sink the stores
		 * above past the call: the barriers keep them where our malloc can see them. */
		__asm__ volatile("" ::: "memory");
		p = malloc(size);
		__asm__ volatile("" ::: "memory");
		mp_map_pending_set(t, 0); /* if malloc failed, nothing consumed it */
	}
	x->ut_array = p;
	x->ut_t0 = mp_maps_now();
	return p;
}

/* Guard not held on entry. `items` is the table's num_items when p is the table; a bucket
 * array of the table's size (4 buckets) is no instance, so it is not looked at. */
void mapprof_uthash_free(void *p, size_t size, size_t table_size, size_t items)
{
	mp_tls_t *t = &mp_tls;
	if (p && size == table_size && mp_maps_active(t)) {
		mp_maps_tls_t *x = &mp_maps_tls;
		mp_guard_enter(t);
		uint64_t now = mp_maps_now();
		mp_maps_lock();
		mp_map_inst_t *m = mp_maps_find_locked(key_of(p));
		if (m && items == 0 && m->grows == 0) {
			/* Freed empty: a table HASH_MAKE_TABLE could not finish (its bucket array
			 * or bloom filter failed under HASH_NONFATAL_OOM), so the add failed and
			 * no table was. A table dies with its last item still counted. */
			if (x->ut_tbl == p)
				x->ut_tbl = NULL;
			mp_maps_discard_locked(m);
		} else if (m) {
			mp_maps_set_size_locked(m, items);
			mp_maps_kill_locked(m, now);
		}
		mp_maps_unlock();
		mp_guard_leave(t);
	}
	free(p);
}

/* Guard not held on entry. After an expansion: num_buckets is the new count. The duration
 * runs from the new array's allocation (if this thread's last uthash_malloc was it) to here. */
void mapprof_uthash_expand_fyi(const void *tbl, const void *buckets, size_t num_buckets,
			       size_t items, size_t bucket_bytes, int noexpand)
{
	mp_tls_t *t = &mp_tls;
	if (!mp_maps_active(t))
		return;
	mp_maps_tls_t *x = &mp_maps_tls;
	uint64_t now = mp_maps_now();
	/* Seen allocated by our malloc hook (a program's own uthash_malloc is not) */
	bool seen = buckets && x->ut_array == buckets;
	uint64_t dt = seen && now > x->ut_t0 ? now - x->ut_t0 : 0;
	x->ut_array = NULL;
	x->ut_want_buckets = false;
	mp_guard_enter(t);
	uint32_t stack = mp_maps_stack();
	mp_maps_lock();
	/* An expansion to 4 buckets (from 1 or 2) allocates a table-sized array, taken for a new
	 * table when it came: it is this table's array, no instance. */
	mp_map_inst_t *fake = buckets ? mp_maps_find_locked(key_of(buckets)) : NULL;
	if (fake && fake->grows == 0) {
		if (x->ut_tbl == buckets)
			x->ut_tbl = NULL;
		mp_maps_discard_locked(fake);
	}
	mp_map_inst_t *m = mp_maps_find_locked(key_of(tbl));
	if (m && m->grows > 0 && num_buckets / 2 < m->buckets) {
		/* A table's bucket count only doubles: one that grows from fewer buckets than its
		 * instance has is another table at the same address, made and freed unseen (on the
		 * program's own uthash_malloc and uthash_free, or by code built without the
		 * header). Its predecessor ends here, not counted in with it. */
		mp_maps_kill_locked(m, now);
		m = NULL;
	}
	if (!m) /* made before map tracking saw it: first seen here */
		m = mp_maps_create_locked(key_of(tbl), stack, now);
	if (m) {
		mp_maps_set_size_locked(m, items);
		mp_maps_grow_locked(m, stack, noexpand ? MP_GROW_NOEXPAND : 0, num_buckets / 2,
				    num_buckets, items, num_buckets * bucket_bytes,
				    dt ? mp_maps_ns_locked(dt, now) : 0);
		if (seen)
			m->site->agg.heap_grow_bytes += num_buckets * bucket_bytes;
	}
	mp_maps_unlock();
	mp_guard_leave(t);
}

/* Guard not held on entry. Runs just before the expand_fyi of the expansion that stopped
 * further ones (that grow then carries MP_GROW_NOEXPAND). */
void mapprof_uthash_noexpand_fyi(const void *tbl)
{
	mp_tls_t *t = &mp_tls;
	if (!mp_maps_active(t))
		return;
	mp_guard_enter(t);
	mp_maps_lock();
	mp_map_inst_t *m = mp_maps_find_locked(key_of(tbl));
	if (m)
		mp_maps_noexpand_locked(m);
	mp_maps_unlock();
	mp_guard_leave(t);
}

/* Guard not held on entry. The header calls this on each of a table's first 8 adds and then on
 * every 16th: the largest size is known within 16 (exactly up to 8, so "tiny" is exact)
 * without a call per insert. While a thread keeps filling the same table, no lock: the count
 * goes straight into the instance it cached (its site's max is updated when the instance is
 * folded: at death, or for the dump). */
/* The uncached case: another table than the one cached (or a stale cache). Out of line so that
 * the cached path of mapprof_uthash_size, the one a filling loop takes, saves no registers. */
static __attribute__((noinline)) void size_slow(mp_tls_t *t, mp_maps_tls_t *x, const void *tbl,
						size_t items)
{
	mp_guard_enter(t);
	mp_maps_lock();
	mp_map_inst_t *m = mp_maps_find_locked(key_of(tbl));
	if (m) {
		if (items > m->max_size)
			mp_maps_set_size_locked(m, items);
		ut_cache_locked(x, tbl, m);
	}
	mp_maps_unlock();
	mp_guard_leave(t);
}

void mapprof_uthash_size(const void *tbl, size_t items)
{
	mp_tls_t *t = &mp_tls;
	if (!mp_maps_active(t))
		return;
	mp_maps_tls_t *x = &mp_maps_tls;
	if (mp_likely(x->ut_tbl == tbl && x->ut_serial_gen == mp_maps_gen)) {
		mp_map_inst_t *c = x->ut_inst;
		if (__atomic_load_n(&c->serial, __ATOMIC_RELAXED) == x->ut_serial) {
			/* Racy with the dump's read under the lock: it sees this size or the last.
			 */
			if (items > __atomic_load_n(&c->max_size, __ATOMIC_RELAXED))
				__atomic_store_n(&c->max_size, items, __ATOMIC_RELAXED);
			return;
		}
	}
	size_slow(t, x, tbl, items);
}
