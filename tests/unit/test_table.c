/* SPDX-License-Identifier: MIT */
/* preload/table.c: stack interning, sample buckets, the live table and the fork reset, driven
 * directly (no process under the shim). The table is global state: tests run in order and
 * each starts from mp_table_reset(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "table.h"

static int reset(void **state)
{
	mp_table_reset();
	return 0;
}

/* The bucket of (stack, size, kind), or NULL. Takes every lock: the shards' waiting counter
 * changes reach the buckets. */
static const mp_bucket_t *find(uint32_t stack, uint64_t size, unsigned kind)
{
	const mp_bucket_t *found = NULL;
	mp_table_lock_all();
	for (uint32_t i = 0; i < mp_table_bucket_count_locked(); i++) {
		const mp_bucket_t *b = mp_table_bucket_locked(i);
		if (b->stack == stack && b->size == size && b->kind == kind)
			found = b;
	}
	mp_table_unlock_all();
	return found;
}

static uint32_t intern(const uintptr_t *pc, int n)
{
	mp_table_lock();
	uint32_t id = mp_table_intern_locked(pc, n, 0);
	mp_table_unlock();
	return id;
}

/* What a sample point does after its capture (no thread record here: no per-thread cache). */
static bool alloc(const void *p, uint32_t stack, uint64_t size, unsigned kind)
{
	uint32_t b = mp_table_bucket(&mp_tls, stack, size, kind);
	return b != MP_NO_BUCKET && mp_table_insert(p, b, size);
}

static bool take(const void *p, uint64_t *size)
{
	uint32_t bucket;
	return mp_table_take(p, size, &bucket);
}

static void intern_dedups(void **state)
{
	uintptr_t a[3] = {0x1000, 0x2000, 0x3000}, b[3] = {0x1000, 0x2000, 0x3001};
	mp_table_lock();
	uint32_t ia = mp_table_intern_locked(a, 3, 0);
	uint32_t ib = mp_table_intern_locked(b, 3, 0);
	uint32_t ia2 = mp_table_intern_locked(a, 3, 0);
	uint32_t ishort = mp_table_intern_locked(a, 2, 0); /* a prefix is another stack */
	assert_int_equal(ia, 0);
	assert_int_equal(ib, 1);
	assert_int_equal(ia2, ia);
	assert_int_equal(ishort, 2);
	/* the same pcs under another unload key (a library reloaded over them) are another stack */
	uint32_t ikey = mp_table_intern_locked(a, 3, 7);
	assert_int_equal(ikey, 3);
	assert_int_equal(mp_table_intern_locked(a, 3, 7), ikey);
	assert_int_equal(mp_table_stack_locked(ikey)->key, 7);
	assert_int_equal(mp_table_stack_locked(ia)->key, 0);
	assert_int_equal(mp_table_stack_count_locked(), 4);
	const mp_stack_t *s = mp_table_stack_locked(ib);
	assert_int_equal(s->n, 3);
	assert_memory_equal(s->pc, b, sizeof(b));
	assert_int_equal(mp_table_intern_locked(a, 0, 0), MP_NO_STACK);
	assert_null(mp_table_stack_locked(4));
	mp_table_unlock();
}

/* 20000 distinct stacks force several rehashes; every one keeps its id and frames. */
static void intern_many(void **state)
{
	enum { N = 20000 };
	mp_table_lock();
	for (uint32_t i = 0; i < N; i++) {
		uintptr_t pc[4] = {0x400000 + i, 0x500000 + i % 7, i * 13, 42};
		assert_int_equal(mp_table_intern_locked(pc, 1 + (int)(i % 4), 0), i);
	}
	for (uint32_t i = 0; i < N; i++) {
		uintptr_t pc[4] = {0x400000 + i, 0x500000 + i % 7, i * 13, 42};
		assert_int_equal(mp_table_intern_locked(pc, 1 + (int)(i % 4), 0), i);
		const mp_stack_t *s = mp_table_stack_locked(i);
		assert_int_equal(s->n, 1 + i % 4);
		assert_memory_equal(s->pc, pc, s->n * sizeof(uintptr_t));
	}
	assert_int_equal(mp_table_stack_count_locked(), N);
	mp_table_unlock();
}

static void alloc_and_free_counts(void **state)
{
	uintptr_t pc[2] = {0x10, 0x20};
	char objs[10], never;
	uint32_t st = intern(pc, 2);
	for (int i = 0; i < 10; i++)
		assert_true(alloc(&objs[i], st, i < 6 ? 24 : 48, 0));
	const mp_bucket_t *b24 = find(st, 24, 0), *b48 = find(st, 48, 0);
	assert_non_null(b24);
	assert_non_null(b48);
	assert_int_equal(b24->allocs, 6);
	assert_int_equal(b24->inuse, 6);
	assert_int_equal(b48->allocs, 4);
	uint64_t size = 0;
	assert_true(take(&objs[0], &size));
	assert_int_equal(size, 24);
	assert_true(take(&objs[7], &size));
	assert_int_equal(size, 48);
	/* A second free of the same pointer, and a pointer never recorded, are not found. */
	assert_false(take(&objs[0], &size));
	assert_false(take(&never, &size));
	b24 = find(st, 24, 0);
	b48 = find(st, 48, 0);
	assert_int_equal(b24->allocs, 6);
	assert_int_equal(b24->inuse, 5);
	assert_int_equal(b48->allocs, 4);
	assert_int_equal(b48->inuse, 3);
	/* Every tracked pointer passes the free() filter. */
	for (int i = 1; i < 10; i++)
		if (i != 7)
			assert_true(mp_filter_maybe(&objs[i]));
}

/* A pointer recorded twice without a free in between (a free the shim never saw) moves to the
 * new bucket; in-use counts stay consistent. */
static void realloc_same_address(void **state)
{
	uintptr_t pc[1] = {0x99};
	char obj;
	uint32_t st = intern(pc, 1);
	assert_true(alloc(&obj, st, 10, 0));
	assert_true(alloc(&obj, st, 20, 0));
	assert_int_equal(find(st, 10, 0)->inuse, 0);
	assert_int_equal(find(st, 20, 0)->inuse, 1);
	uint64_t size;
	assert_true(take(&obj, &size));
	assert_int_equal(size, 20);
	assert_false(take(&obj, &size));
}

/* 200000 live objects, freed in another order, with tombstones and rehashes in between. */
static void live_table_many(void **state)
{
	enum { N = 200000 };
	uintptr_t pc[1] = {0x77};
	char *objs = malloc(N);
	assert_non_null(objs);
	uint32_t st = intern(pc, 1);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++)
			assert_true(alloc(objs + i, st, 8, 0));
		uint64_t size;
		for (int i = N - 1; i >= 0; i -= 2)
			assert_true(take(objs + i, &size));
		for (int i = N - 2; i >= 0; i -= 2)
			assert_true(take(objs + i, &size));
		assert_false(take(objs, &size));
	}
	const mp_bucket_t *b = find(st, 8, 0);
	assert_int_equal(b->allocs, 2 * N);
	assert_int_equal(b->inuse, 0);
	free(objs);
}

static void set_kind_moves_object(void **state)
{
	uintptr_t pc[1] = {0x55};
	char a, b;
	uint32_t st = intern(pc, 1);
	assert_true(alloc(&a, st, 64, 0));
	assert_true(alloc(&b, st, 64, 0));
	mp_table_set_kind(&a, MP_KIND_UTHASH);
	assert_int_equal(find(st, 64, 0)->allocs, 1);
	assert_int_equal(find(st, 64, MP_KIND_UTHASH)->allocs, 1);
	assert_int_equal(find(st, 64, MP_KIND_UTHASH)->inuse, 1);
	uint64_t size;
	assert_true(take(&a, &size));
	assert_int_equal(find(st, 64, MP_KIND_UTHASH)->inuse, 0);
	mp_table_set_kind(&a, MP_KIND_UTHASH); /* not live: no-op */
	assert_int_equal(find(st, 64, MP_KIND_UTHASH)->allocs, 1);
}

/* One object's weight at `rate` in the mixed buckets' fixed points (table.h), as table.c has it. */
static uint64_t w_fx(uint64_t size, uint64_t rate)
{
	return (uint64_t)(mp_sample_weight(size, rate) * (1 << MP_MIXED_W_SHIFT) + 0.5);
}

static uint64_t est_fx(uint64_t size, uint64_t rate)
{
	return (uint64_t)(mp_sample_weight(size, rate) * (double)size * (1 << MP_MIXED_B_SHIFT) +
			  0.5);
}

static uint64_t saved_rate;

static int rate_4096(void **state)
{
	saved_rate = mp_config.rate;
	mp_config.rate = 4096;
	return reset(state);
}

static int rate_back(void **state)
{
	(void)state;
	mp_config.rate = saved_rate;
	return 0;
}

/* A stack sampled at many sizes (a buffer grown by realloc in small steps): MP_TABLE_SIZES
 * exact buckets, then one mixed bucket per kind whose sums weigh each object by its own size;
 * a free takes off exactly what its allocation put in, and the live record keeps the size. In
 * exact mode every size keeps its own bucket. */
static void many_sizes_share_a_mixed_bucket(void **state)
{
	uintptr_t pc[1] = {0x77};
	uint32_t st = intern(pc, 1);
	enum { N = 300 };
	static char objs[N];
	uint64_t w = 0, e = 0, wlive = 0, elive = 0;
	for (int i = 0; i < N; i++) {
		uint64_t size = 1000 + 7 * (uint64_t)i;
		assert_true(alloc(&objs[i], st, size, 0));
		if (i >= MP_TABLE_SIZES) {
			w += w_fx(size, 4096);
			e += est_fx(size, 4096);
		}
	}
	assert_int_equal(mp_table_bucket_count_locked(), MP_TABLE_SIZES + 1);
	uint64_t size;
	for (int i = MP_TABLE_SIZES; i < N; i++) {
		if (i % 3 == 0) {
			assert_true(take(&objs[i], &size));
			assert_int_equal(size,
					 1000 + 7 * (uint64_t)i); /* its own, not the bucket's */
		} else {
			wlive += w_fx(1000 + 7 * (uint64_t)i, 4096);
			elive += est_fx(1000 + 7 * (uint64_t)i, 4096);
		}
	}
	const mp_bucket_t *m = find(st, 0, MP_BUCKET_MIXED);
	assert_non_null(m);
	assert_int_equal(m->allocs, N - MP_TABLE_SIZES);
	assert_int_equal(m->mix_w, w);
	assert_int_equal(m->mix_b, e);
	assert_int_equal(m->mix_inuse_w, wlive);
	assert_int_equal(m->mix_inuse_b, elive);
	/* A bucket array's kind: the object moves with its own size to the kind's mixed bucket. */
	int k = MP_TABLE_SIZES + 1; /* live: k % 3 != 0 */
	mp_table_set_kind(&objs[k], MP_KIND_UTHASH);
	const mp_bucket_t *mk = find(st, 0, MP_KIND_UTHASH | MP_BUCKET_MIXED);
	assert_non_null(mk);
	assert_int_equal(mk->mix_inuse_w, w_fx(1000 + 7 * (uint64_t)k, 4096));
	assert_int_equal(m->mix_inuse_w, wlive - w_fx(1000 + 7 * (uint64_t)k, 4096));
	assert_true(take(&objs[k], &size));
	assert_int_equal(size, 1000 + 7 * (uint64_t)k);
	assert_int_equal(mk->mix_inuse_w, 0);
	assert_int_equal(mk->mix_inuse_b, 0);
	/* A realloc that failed puts its object back with its own size: in use as before. */
	k = MP_TABLE_SIZES + 4; /* live */
	uint64_t cur = m->mix_inuse_w, cur_est = m->mix_inuse_b;
	uint32_t bucket;
	assert_true(mp_table_take(&objs[k], &size, &bucket));
	assert_int_equal(m->mix_inuse_w, cur - w_fx(size, 4096));
	mp_table_relive(&objs[k], bucket, size);
	assert_int_equal(m->mix_inuse_w, cur);
	assert_int_equal(m->mix_inuse_b, cur_est);
	/* An object recorded again at its address (its free unseen) leaves the sums it was in. */
	uint64_t before = m->mix_inuse_w;
	assert_true(alloc(&objs[k], st, 5000, 0)); /* a new size: mixed too */
	assert_int_equal(m->mix_inuse_w,
			 before - w_fx(1000 + 7 * (uint64_t)k, 4096) + w_fx(5000, 4096));
	assert_true(take(&objs[k], &size));
	assert_int_equal(size, 5000);
	/* Exact mode (and rates below MP_TABLE_MIX_MIN): a bucket per size, however many. */
	mp_table_reset();
	mp_config.rate = 1;
	st = intern(pc, 1);
	for (int i = 0; i < N; i++)
		assert_true(alloc(&objs[i], st, 1000 + 7 * (uint64_t)i, 0));
	assert_int_equal(mp_table_bucket_count_locked(), N);
	assert_null(find(st, 0, MP_BUCKET_MIXED));
}

/* The fork child's reset: no stacks, no buckets, nothing live, and buckets created afterwards
 * start from zero (the bucket array is reused: its old counts must not leak into the child). */
static void reset_forgets_everything(void **state)
{
	uintptr_t pc[2] = {0xA, 0xB};
	char objs[100];
	uint32_t st = intern(pc, 2);
	for (int i = 0; i < 100; i++)
		assert_true(alloc(&objs[i], st, 64, 0));
	mp_table_reset();
	assert_int_equal(mp_table_stack_count_locked(), 0);
	assert_int_equal(mp_table_bucket_count_locked(), 0);
	uint64_t size;
	assert_false(take(&objs[5], &size));
	uintptr_t pc2[1] = {0xC};
	uint32_t st2 = intern(pc2, 1);
	assert_int_equal(st2, 0);
	char x;
	assert_true(alloc(&x, st2, 96, 0));
	const mp_bucket_t *b = find(st2, 96, 0);
	assert_non_null(b);
	assert_int_equal(b->allocs, 1);
	assert_int_equal(b->inuse, 1);
}

/* The per-thread cache: stacks that share the frames its slot is chosen by (first two, depth)
 * but differ deeper are different stacks; a repeat finds its id again. */
static void thread_cache_compares_every_frame(void **state)
{
	static mp_thread_t rec;
	mp_thread_t *saved = mp_tls.rec;
	mp_tls.rec = &rec;
	uintptr_t a[4] = {0x1000, 0x2000, 0x3000, 0x4000}, b[4] = {0x1000, 0x2000, 0x3000, 0x4001};
	uint32_t ia = mp_table_intern(&mp_tls, a, 4);
	uint32_t ib = mp_table_intern(&mp_tls, b, 4);
	assert_int_not_equal(ia, ib);
	assert_int_equal(mp_table_intern(&mp_tls, a, 4), ia);
	assert_int_equal(mp_table_intern(&mp_tls, b, 4), ib);
	assert_int_equal(mp_table_intern(&mp_tls, a, 3), intern(a, 3)); /* a prefix: another */
	assert_int_not_equal(mp_table_intern(&mp_tls, a, 3), ia);
	uint32_t b1 = mp_table_bucket(&mp_tls, ia, 32, 0), b2 = mp_table_bucket(&mp_tls, ib, 32, 0);
	assert_int_not_equal(b1, b2);
	assert_int_equal(mp_table_bucket(&mp_tls, ia, 32, 0), b1);
	assert_int_not_equal(mp_table_bucket(&mp_tls, ia, 32, 1), b1);
	/* After a fork child's reset the cache must not hand out the parent's ids. */
	mp_table_reset();
	assert_int_equal(mp_table_intern(&mp_tls, b, 4), 0);
	assert_int_equal(mp_table_bucket(&mp_tls, 0, 32, 0), 0);
	mp_tls.rec = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(intern_dedups, reset),
	    cmocka_unit_test_setup(intern_many, reset),
	    cmocka_unit_test_setup(alloc_and_free_counts, reset),
	    cmocka_unit_test_setup(realloc_same_address, reset),
	    cmocka_unit_test_setup(live_table_many, reset),
	    cmocka_unit_test_setup(set_kind_moves_object, reset),
	    cmocka_unit_test_setup_teardown(many_sizes_share_a_mixed_bucket, rate_4096, rate_back),
	    cmocka_unit_test_setup(reset_forgets_everything, reset),
	    cmocka_unit_test_setup(thread_cache_compares_every_frame, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
