/* SPDX-License-Identifier: MIT */
/* Stack interning, sample buckets and the live table: open-addressing hash tables in arena
 * memory that double when 1/2 full. Everything here runs with table_lock held (see table.h). */
#include <pthread.h>
#include <string.h>
#include "arena.h"
#include "table.h"

/* table_lock protects every static below. A mutex rather than a spinlock: exact mode takes it
 * on every allocation from every thread, and sleeping beats spinning on 2 cores. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* Stacks: ids are indexes into stacks[]; stack_slots holds id+1 (0 = empty). */
static mp_stack_t **stacks;
static uint32_t nstacks, stacks_cap;
static uint32_t *stack_slots;
static uint32_t stack_slots_cap;

/* Buckets: indexes into buckets[]; bucket_slots holds index+1. */
static mp_bucket_t *buckets;
static uint32_t nbuckets, buckets_cap;
static uint32_t *bucket_slots;
static uint32_t bucket_slots_cap;

/* Live objects: key 0 = empty, 1 = deleted. */
struct live {
	uintptr_t ptr;
	uint32_t bucket;
	uint32_t pad;
};
static struct live *live;
static uint64_t live_cap, live_used, live_count; /* used counts deleted slots too */

#define DELETED ((uintptr_t)1)

void mp_table_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void mp_table_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_pcs(const uintptr_t *pc, int n)
{
	uint64_t h = 0x84222325cbf29ce4ull ^ (uint64_t)n;
	for (int i = 0; i < n; i++)
		h = mix(h ^ pc[i]) + 0x9E3779B97F4A7C15ull;
	return h;
}

/* Grows an array of elem-sized items to at least want items; false on no memory. */
static bool grow_array(void **arr, uint32_t *cap, size_t elem, uint32_t want)
{
	if (want <= *cap)
		return true;
	uint32_t ncap = *cap ? *cap * 2 : 256;
	while (ncap < want)
		ncap *= 2;
	void *n = mp_arena_alloc((size_t)ncap * elem);
	if (!n)
		return false;
	if (*arr) {
		memcpy(n, *arr, (size_t)*cap * elem);
		mp_arena_free(*arr, (size_t)*cap * elem);
	}
	*arr = n;
	*cap = ncap;
	return true;
}

static bool rehash_stacks(void)
{
	uint32_t ncap = stack_slots_cap ? stack_slots_cap * 2 : 1024;
	uint32_t *n = mp_arena_alloc((size_t)ncap * sizeof(*n));
	if (!n)
		return false;
	for (uint32_t id = 0; id < nstacks; id++) {
		uint64_t i = stacks[id]->hash & (ncap - 1);
		while (n[i])
			i = (i + 1) & (ncap - 1);
		n[i] = id + 1;
	}
	mp_arena_free(stack_slots, (size_t)stack_slots_cap * sizeof(*n));
	stack_slots = n;
	stack_slots_cap = ncap;
	return true;
}

uint32_t mp_table_intern_locked(const uintptr_t *pc, int n)
{
	if (n <= 0)
		return MP_NO_STACK;
	uint64_t h = hash_pcs(pc, n);
	if ((nstacks + 1) * 2 > stack_slots_cap && !rehash_stacks())
		return MP_NO_STACK;
	uint64_t i = h & (stack_slots_cap - 1);
	while (stack_slots[i]) {
		const mp_stack_t *s = stacks[stack_slots[i] - 1];
		if (s->hash == h && s->n == (uint32_t)n && !memcmp(s->pc, pc, n * sizeof(*pc)))
			return stack_slots[i] - 1;
		i = (i + 1) & (stack_slots_cap - 1);
	}
	if (nstacks == UINT32_MAX - 1 ||
	    !grow_array((void **)&stacks, &stacks_cap, sizeof(*stacks), nstacks + 1))
		return MP_NO_STACK;
	mp_stack_t *s = mp_arena_alloc(sizeof(*s) + n * sizeof(*pc));
	if (!s)
		return MP_NO_STACK;
	s->hash = h;
	s->n = n;
	memcpy(s->pc, pc, n * sizeof(*pc));
	stacks[nstacks] = s;
	stack_slots[i] = ++nstacks;
	return nstacks - 1;
}

static uint64_t bucket_hash(uint32_t stack, uint64_t size, unsigned kind)
{
	return mix(((uint64_t)stack << 8 | kind) ^ mix(size));
}

static bool rehash_buckets(void)
{
	uint32_t ncap = bucket_slots_cap ? bucket_slots_cap * 2 : 1024;
	uint32_t *n = mp_arena_alloc((size_t)ncap * sizeof(*n));
	if (!n)
		return false;
	for (uint32_t b = 0; b < nbuckets; b++) {
		uint64_t i =
		    bucket_hash(buckets[b].stack, buckets[b].size, buckets[b].kind) & (ncap - 1);
		while (n[i])
			i = (i + 1) & (ncap - 1);
		n[i] = b + 1;
	}
	mp_arena_free(bucket_slots, (size_t)bucket_slots_cap * sizeof(*n));
	bucket_slots = n;
	bucket_slots_cap = ncap;
	return true;
}

/* Returns the bucket index for (stack, size, kind), creating it; UINT32_MAX on no memory. */
static uint32_t bucket_get(uint32_t stack, uint64_t size, unsigned kind)
{
	if ((nbuckets + 1) * 2 > bucket_slots_cap && !rehash_buckets())
		return UINT32_MAX;
	uint64_t i = bucket_hash(stack, size, kind) & (bucket_slots_cap - 1);
	while (bucket_slots[i]) {
		mp_bucket_t *b = &buckets[bucket_slots[i] - 1];
		if (b->stack == stack && b->size == size && b->kind == kind)
			return bucket_slots[i] - 1;
		i = (i + 1) & (bucket_slots_cap - 1);
	}
	if (nbuckets == UINT32_MAX - 1 ||
	    !grow_array((void **)&buckets, &buckets_cap, sizeof(*buckets), nbuckets + 1))
		return UINT32_MAX;
	mp_bucket_t *b = &buckets[nbuckets];
	b->stack = stack;
	b->size = size;
	b->kind = kind;
	/* The array is reused after a fork (mp_table_reset keeps it): clear the parent's counts. */
	b->allocs = 0;
	b->inuse = 0;
	bucket_slots[i] = ++nbuckets;
	return nbuckets - 1;
}

static bool rehash_live(void)
{
	/* Grow when live objects fill a quarter; otherwise rebuild in place to drop tombstones. */
	uint64_t ncap = live_cap ? (live_count * 4 > live_cap ? live_cap * 2 : live_cap) : 4096;
	struct live *n = mp_arena_alloc(ncap * sizeof(*n));
	if (!n)
		return false;
	for (uint64_t j = 0; j < live_cap; j++) {
		if (live[j].ptr <= DELETED)
			continue;
		uint64_t i = mix(live[j].ptr) & (ncap - 1);
		while (n[i].ptr)
			i = (i + 1) & (ncap - 1);
		n[i] = live[j];
	}
	mp_arena_free(live, live_cap * sizeof(*n));
	live = n;
	live_cap = ncap;
	live_used = live_count;
	return true;
}

bool mp_table_alloc_locked(const void *p, uint32_t stack, uint64_t size, unsigned kind)
{
	if ((live_used + 1) * 2 > live_cap && !rehash_live())
		return false;
	uint32_t b = bucket_get(stack, size, kind);
	if (b == UINT32_MAX)
		return false;
	/* Probe to the first empty slot: p may sit behind a tombstone (a stale record of a free we
	 * never saw), and a new record goes in the first tombstone passed, if any. */
	uint64_t i = mix((uintptr_t)p) & (live_cap - 1);
	uint64_t slot = UINT64_MAX;
	while (live[i].ptr) {
		if (live[i].ptr == (uintptr_t)p) {
			/* Already tracked: the old record is stale (its free was never seen, e.g.
			 * it happened under the guard); replace it. */
			buckets[live[i].bucket].inuse--;
			live[i].bucket = b;
			buckets[b].allocs++;
			buckets[b].inuse++;
			return true;
		}
		if (live[i].ptr == DELETED && slot == UINT64_MAX)
			slot = i;
		i = (i + 1) & (live_cap - 1);
	}
	if (slot != UINT64_MAX)
		i = slot;
	if (live[i].ptr == 0)
		live_used++;
	live[i].ptr = (uintptr_t)p;
	live[i].bucket = b;
	live_count++;
	buckets[b].allocs++;
	buckets[b].inuse++;
	mp_filter_add(p);
	return true;
}

static struct live *live_find(const void *p)
{
	if (!live_cap)
		return NULL;
	uint64_t i = mix((uintptr_t)p) & (live_cap - 1);
	while (live[i].ptr) {
		if (live[i].ptr == (uintptr_t)p)
			return &live[i];
		i = (i + 1) & (live_cap - 1);
	}
	return NULL;
}

bool mp_table_take_locked(const void *p, uint64_t *size, uint32_t *bucket)
{
	struct live *l = live_find(p);
	if (!l)
		return false;
	mp_bucket_t *b = &buckets[l->bucket];
	b->inuse--;
	*size = b->size;
	*bucket = l->bucket;
	l->ptr = DELETED;
	live_count--;
	mp_filter_remove(p);
	return true;
}

bool mp_table_free_locked(const void *p, uint64_t *size)
{
	uint32_t bucket;
	return mp_table_take_locked(p, size, &bucket);
}

void mp_table_relive_locked(const void *p, uint32_t bucket)
{
	if (bucket >= nbuckets || ((live_used + 1) * 2 > live_cap && !rehash_live()))
		return;
	uint64_t i = mix((uintptr_t)p) & (live_cap - 1);
	while (live[i].ptr > DELETED)
		i = (i + 1) & (live_cap - 1);
	if (live[i].ptr == 0)
		live_used++;
	live[i].ptr = (uintptr_t)p;
	live[i].bucket = bucket;
	live_count++;
	buckets[bucket].inuse++;
	mp_filter_add(p);
}

void mp_table_set_kind_locked(const void *p, unsigned kind)
{
	struct live *l = live_find(p);
	if (!l)
		return;
	mp_bucket_t *old = &buckets[l->bucket];
	if (old->kind == kind)
		return;
	uint32_t nb = bucket_get(old->stack, old->size, kind);
	if (nb == UINT32_MAX)
		return;
	old = &buckets[l->bucket]; /* bucket_get may have moved the array */
	old->allocs--;
	old->inuse--;
	buckets[nb].allocs++;
	buckets[nb].inuse++;
	l->bucket = nb;
}

uint32_t mp_table_stack_count_locked(void)
{
	return nstacks;
}

const mp_stack_t *mp_table_stack_locked(uint32_t id)
{
	return id < nstacks ? stacks[id] : NULL;
}

uint32_t mp_table_bucket_count_locked(void)
{
	return nbuckets;
}

const mp_bucket_t *mp_table_bucket_locked(uint32_t i)
{
	return i < nbuckets ? &buckets[i] : NULL;
}

void mp_table_reset(void)
{
	/* The child is single-threaded here; the old arrays stay allocated (small, and the arena
	 * would only hand them back to us). */
	pthread_mutex_init(&table_lock, NULL);
	nstacks = 0;
	if (stack_slots)
		memset(stack_slots, 0, (size_t)stack_slots_cap * sizeof(*stack_slots));
	nbuckets = 0;
	if (bucket_slots)
		memset(bucket_slots, 0, (size_t)bucket_slots_cap * sizeof(*bucket_slots));
	if (live)
		memset(live, 0, live_cap * sizeof(*live));
	live_used = live_count = 0;
	mp_filter_reset();
}
