/* SPDX-License-Identifier: MIT */
/* Stack interning, sample buckets and the sharded live table: open-addressing hash tables in
 * arena memory that double when 1/2 full, plus the per-thread cache that lets a repeated stack
 * skip the index lock. Locking is described in table.h. */
#include <pthread.h>
#include <string.h>
#include "arena.h"
#include "table.h"
#include "unload.h"
#include "thread.h"

/* index_lock protects the stack and bucket tables below (not the bucket counters: atomics,
 * under shard locks). A mutex rather than a spinlock: sleeping beats spinning on 2 cores. */
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;

/* Stacks: ids are indexes into stacks[]; stack_slots holds id+1 (0 = empty). The mp_stack_t
 * blocks never move or go away (a fork child's reset leaves them allocated), so a thread may
 * compare against one it found earlier without the lock. */
static mp_stack_t **stacks;
static uint32_t nstacks, stacks_cap;
static uint32_t *stack_slots;
static uint32_t stack_slots_cap;

/* Buckets: index i lives in chunk c = floor(log2(i / CHUNK0 + 1)), which holds CHUNK0 << c
 * buckets. Chunks are allocated once and kept (also across a fork child's reset), so a bucket
 * pointer stays valid without the lock. bucket_slots holds index+1. nbuckets is written under
 * index_lock with release stores and may be read without it (acquire). */
#define CHUNK0_SHIFT 10
#define NCHUNKS	     22
static mp_bucket_t *bucket_chunks[NCHUNKS];
static uint32_t nbuckets;
static uint32_t *bucket_slots;
static uint32_t bucket_slots_cap;

/* Live objects, sharded by the region of the pointer; in a shard, the probe uses mix(p).
 * Each shard's fields are protected by its lock (see shard_of). Key 0 = empty, 1 = deleted. */
struct live {
	uintptr_t ptr;
	uint32_t bucket;
	uint32_t size; /* the object's, in a MP_BUCKET_MIXED bucket (which takes none larger) */
};
/* Bucket counter changes made in a shard wait in its small direct-mapped cache and reach the
 * shared bucket (atomics) when evicted or when every lock is taken (mp_table_lock_all): threads
 * sampling the same stacks do not move the bucket's cache line between cores on every call. */
#define SHARD_DELTAS 256
struct delta {
	uint32_t bucket1; /* bucket index + 1, 0 = empty */
	int32_t allocs, inuse;
};
struct shard {
	struct live *live;
	uint64_t cap, used, count; /* used counts deleted slots too */
	uint64_t inserted;	   /* sampled objects recorded here (for the totals) */
	struct delta delta[SHARD_DELTAS];
} __attribute__((aligned(64)));
static struct shard shards[MP_TABLE_SHARDS];
/* Their locks, each on a cache line of its own but all in one page: fork's handlers lock and
 * unlock every one, and the first write to a page after a fork copies it, in the parent and in
 * the child (the locks inside the shards, which span 25 pages, were a third of the page faults
 * of a program that forks per request). */
static struct {
	pthread_mutex_t m;
} __attribute__((aligned(64))) shard_locks[MP_TABLE_SHARDS]
    __attribute__((aligned(4096))) = {[0 ... MP_TABLE_SHARDS - 1] = {PTHREAD_MUTEX_INITIALIZER}};

static inline pthread_mutex_t *lock_of(const struct shard *s)
{
	return &shard_locks[s - shards].m;
}
#define SHARD_BITS 5 /* log2(MP_TABLE_SHARDS) */
_Static_assert(MP_TABLE_SHARDS == 1 << SHARD_BITS, "shard count is 2^SHARD_BITS");

/* The in-use estimate: sum of est over live objects, in 1/4096 bytes (fixed point, so that
 * atomic adds stay exact: a free subtracts exactly what its allocation added; in exact mode every
 * weight is 1 and the figure is exact), and its largest value. Changed with atomics under the
 * lock of the shard whose object changed; read under every lock. Own cache line.
 *
 * A thread with a record nets its own frees against its next allocations before publishing
 * (mp_thread_t.est_pending, at most EST_PENDING_MAX below zero, written under a shard lock):
 * the usual free-then-malloc pair writes the shared line once, or not at all. Only frees wait,
 * so the published sum never falls short of the true one and a new peak is never missed; the
 * dump adds the pending amounts back, so the in-use figure stays exact. With one thread the
 * peak is exact; with several, a peak may include up to EST_PENDING_MAX of each other thread's
 * frees that had not been published yet. */
#define EST_SHIFT	12
#define EST_PENDING_MAX ((int64_t)1024 << EST_SHIFT) /* 1 KiB */
static struct {
	uint64_t inuse, peak;
} est __attribute__((aligned(64)));

/* Bumped by the fork child's reset: per-thread caches filled before it are stale. Written only
 * single-threaded (child, tests); read without a lock. */
static uint32_t table_gen;

#define DELETED ((uintptr_t)1)

void mp_table_lock(void)
{
	pthread_mutex_lock(&index_lock);
}

void mp_table_unlock(void)
{
	pthread_mutex_unlock(&index_lock);
}

static void shard_flush(struct shard *s);

/* Also moves the shards' waiting counter deltas into the buckets, so that the views below
 * read final figures. */
void mp_table_lock_all(void)
{
	for (int i = 0; i < MP_TABLE_SHARDS; i++) {
		pthread_mutex_lock(&shard_locks[i].m);
		shard_flush(&shards[i]);
	}
	pthread_mutex_lock(&index_lock);
}

void mp_table_unlock_all(void)
{
	pthread_mutex_unlock(&index_lock);
	for (int i = MP_TABLE_SHARDS - 1; i >= 0; i--)
		pthread_mutex_unlock(&shard_locks[i].m);
}

static inline uint64_t mix(uint64_t x)
{
	return mp_mix64(x);
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

uint32_t mp_table_intern_locked(const uintptr_t *pc, int n, uint32_t key)
{
	if (n <= 0)
		return MP_NO_STACK;
	uint64_t h = hash_pcs(pc, n) ^ (key ? mix(key) : 0);
	if ((nstacks + 1) * 2 > stack_slots_cap && !rehash_stacks())
		return MP_NO_STACK;
	uint64_t i = h & (stack_slots_cap - 1);
	while (stack_slots[i]) {
		const mp_stack_t *s = stacks[stack_slots[i] - 1];
		if (s->hash == h && s->n == (uint32_t)n && s->key == key &&
		    !memcmp(s->pc, pc, n * sizeof(*pc)))
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
	s->key = key;
	s->sizes = 0;
	memcpy(s->pc, pc, n * sizeof(*pc));
	stacks[nstacks] = s;
	stack_slots[i] = ++nstacks;
	return nstacks - 1;
}

/* The bucket with index i < nbuckets (any thread that learnt i legitimately). */
static inline mp_bucket_t *bucket_at(uint32_t i)
{
	uint64_t j = (uint64_t)i + (1u << CHUNK0_SHIFT);
	unsigned top = 63 - (unsigned)__builtin_clzll(j);
	return &bucket_chunks[top - CHUNK0_SHIFT][j - (1ull << top)];
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
		const mp_bucket_t *k = bucket_at(b);
		uint64_t i = bucket_hash(k->stack, k->size, k->kind) & (ncap - 1);
		while (n[i])
			i = (i + 1) & (ncap - 1);
		n[i] = b + 1;
	}
	mp_arena_free(bucket_slots, (size_t)bucket_slots_cap * sizeof(*n));
	bucket_slots = n;
	bucket_slots_cap = ncap;
	return true;
}

/* One object's share of the in-use estimate: weight x size in 1/4096 bytes, rounded. */
static uint64_t est_of(uint64_t size)
{
	double e = mp_sample_weight(size, mp_config.rate) * (double)size * (1 << EST_SHIFT) + 0.5;
	return e >= 1.8e19 ? UINT64_MAX >> 8 : (uint64_t)e;
}

static inline bool is_mixed(const mp_bucket_t *b)
{
	return b->kind & MP_BUCKET_MIXED;
}

/* One object's weight (the objects it stands for), and its weight x size, in the mixed sums'
 * fixed points. */
static uint64_t w_of(uint64_t size)
{
	double w = mp_sample_weight(size, mp_config.rate) * (1 << MP_MIXED_W_SHIFT) + 0.5;
	return w >= 1.8e19 ? UINT64_MAX >> 8 : (uint64_t)w;
}

static uint64_t wb_of(uint64_t size)
{
	double e =
	    mp_sample_weight(size, mp_config.rate) * (double)size * (1 << MP_MIXED_B_SHIFT) + 0.5;
	return e >= 1.8e19 ? UINT64_MAX >> 8 : (uint64_t)e;
}

/* Shard lock held. An object of `size` joins (d = 1) or leaves (d = -1) mixed bucket b's
 * in-use sums, and with alloc its allocated ones too. Fixed point: a leave takes off exactly
 * what the join put in. */
static void mix_bump(mp_bucket_t *b, uint64_t size, int d, bool alloc)
{
	uint64_t w = w_of(size), e = wb_of(size);
	if (d < 0)
		w = -w, e = -e;
	__atomic_add_fetch(&b->mix_inuse_w, w, __ATOMIC_RELAXED);
	__atomic_add_fetch(&b->mix_inuse_b, e, __ATOMIC_RELAXED);
	if (alloc) {
		__atomic_add_fetch(&b->mix_w, w, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->mix_b, e, __ATOMIC_RELAXED);
	}
}

/* One live object's share of the in-use estimate. */
static inline uint64_t est_in(const mp_bucket_t *b, const struct live *l)
{
	return is_mixed(b) ? est_of(l->size) : b->est;
}

/* Index lock held. The bucket index for (stack, size, kind), made if needed; MP_NO_BUCKET on
 * no memory. Past MP_TABLE_SIZES exact sizes at a stack, sampled sizes that fit a live record
 * go to the stack's mixed bucket of that kind (table.h). */
static uint32_t bucket_get_locked(uint32_t stack, uint64_t size, unsigned kind)
{
	if ((nbuckets + 1) * 2 > bucket_slots_cap && !rehash_buckets())
		return MP_NO_BUCKET;
	uint64_t i = bucket_hash(stack, size, kind) & (bucket_slots_cap - 1);
	while (bucket_slots[i]) {
		const mp_bucket_t *b = bucket_at(bucket_slots[i] - 1);
		if (b->stack == stack && b->size == size && b->kind == kind)
			return bucket_slots[i] - 1;
		i = (i + 1) & (bucket_slots_cap - 1);
	}
	mp_stack_t *st = stack < nstacks ? stacks[stack] : NULL;
	if (!(kind & MP_BUCKET_MIXED) && st) {
		if (mp_config.rate >= MP_TABLE_MIX_MIN && size != 0 && size <= UINT32_MAX &&
		    st->sizes >= MP_TABLE_SIZES)
			return bucket_get_locked(stack, 0, kind | MP_BUCKET_MIXED);
		st->sizes++;
	}
	uint32_t id = nbuckets;
	uint64_t j = (uint64_t)id + (1u << CHUNK0_SHIFT);
	unsigned c = 63 - (unsigned)__builtin_clzll(j) - CHUNK0_SHIFT;
	if (c >= NCHUNKS)
		return MP_NO_BUCKET;
	if (!bucket_chunks[c]) {
		bucket_chunks[c] =
		    mp_arena_alloc(((size_t)1 << (CHUNK0_SHIFT + c)) * sizeof(mp_bucket_t));
		if (!bucket_chunks[c])
			return MP_NO_BUCKET;
	}
	mp_bucket_t *b = bucket_at(id);
	b->stack = stack;
	b->size = size;
	b->kind = kind;
	b->est = kind & MP_BUCKET_MIXED ? 0 : est_of(size);
	/* Chunks are reused after a fork (mp_table_reset keeps them): clear the parent's counts. */
	b->allocs = 0;
	b->inuse = 0;
	b->mix_w = b->mix_b = b->mix_inuse_w = b->mix_inuse_b = 0;
	bucket_slots[i] = id + 1;
	__atomic_store_n(&nbuckets, id + 1, __ATOMIC_RELEASE);
	return id;
}

/* --- the per-thread cache: the last stacks and buckets this thread used --- */

#define TC_STACKS  16  /* 2-way: a stack goes in slot h or h^1 */
#define TC_BUCKETS 256 /* direct-mapped */
struct tcache {
	uint32_t gen; /* table_gen when the entries below were made */
	struct {
		const mp_stack_t *s; /* interned stack (immutable), NULL = empty */
		uint32_t id;
	} st[TC_STACKS];
	struct {
		uint64_t size;
		uint32_t stack, kind;
		uint32_t bucket1; /* bucket index + 1, 0 = empty */
	} bk[TC_BUCKETS];
};

/* Guard held. The calling thread's cache, or NULL (no record, or no memory). */
static struct tcache *tcache_of(mp_tls_t *t)
{
	mp_thread_t *r = t->rec;
	if (mp_unlikely(r == NULL))
		return NULL;
	struct tcache *c = r->tcache;
	if (mp_unlikely(c == NULL)) {
		c = mp_arena_alloc(sizeof(*c)); /* zeroed */
		if (!c)
			return NULL;
		c->gen = table_gen;
		r->tcache = c;
	}
	uint32_t gen = __atomic_load_n(&table_gen, __ATOMIC_RELAXED);
	if (mp_unlikely(c->gen != gen)) {
		memset(c, 0, sizeof(*c));
		c->gen = gen;
	}
	return c;
}

static inline unsigned tc_stack_slot(const uintptr_t *pc, int n)
{
	uint64_t k = pc[0] ^ (n > 1 ? pc[1] * 0x9E3779B97F4A7C15ull : 0) ^ (uint64_t)n;
	return (unsigned)((k * 0xff51afd7ed558ccdull) >> 60) & (TC_STACKS - 1);
}

static inline bool same_stack(const mp_stack_t *s, const uintptr_t *pc, int n)
{
	if (s == NULL || s->n != (uint32_t)n)
		return false;
	for (int i = 0; i < n; i++)
		if (s->pc[i] != pc[i])
			return false;
	return true;
}

uint32_t mp_table_intern(mp_tls_t *t, const uintptr_t *pc, int n)
{
	if (n <= 0)
		return MP_NO_STACK;
	struct tcache *c = tcache_of(t);
	unsigned h = 0;
	if (c) {
		/* A hit compares every frame with the interned stack: never a hash-only match. */
		h = tc_stack_slot(pc, n);
		if (same_stack(c->st[h].s, pc, n))
			return c->st[h].id;
		if (same_stack(c->st[h ^ 1].s, pc, n))
			return c->st[h ^ 1].id;
	}
	uint32_t key = mp_unload_key(pc, n);
	pthread_mutex_lock(&index_lock);
	uint32_t id = mp_table_intern_locked(pc, n, key);
	const mp_stack_t *s = id != MP_NO_STACK ? stacks[id] : NULL;
	pthread_mutex_unlock(&index_lock);
	if (c && s) {
		c->st[h ^ 1] = c->st[h];
		c->st[h].s = s;
		c->st[h].id = id;
	}
	return id;
}

uint32_t mp_table_bucket(mp_tls_t *t, uint32_t stack, uint64_t size, unsigned kind)
{
	struct tcache *c = tcache_of(t);
	unsigned h = 0;
	if (c) {
		/* Fibonacci hashing: consecutive sizes of one stack land in distinct slots. */
		uint64_t k = size + (uint64_t)stack * 0x51ed27ull + (uint64_t)kind * 0x3c6ef3ull;
		h = (unsigned)((k * 0x9E3779B97F4A7C15ull) >> 56) & (TC_BUCKETS - 1);
		if (c->bk[h].bucket1 && c->bk[h].size == size && c->bk[h].stack == stack &&
		    c->bk[h].kind == kind)
			return c->bk[h].bucket1 - 1;
	}
	pthread_mutex_lock(&index_lock);
	uint32_t b = bucket_get_locked(stack, size, kind);
	pthread_mutex_unlock(&index_lock);
	if (c && b != MP_NO_BUCKET) {
		c->bk[h].size = size;
		c->bk[h].stack = stack;
		c->bk[h].kind = kind;
		c->bk[h].bucket1 = b + 1;
	}
	return b;
}

/* --- the live table --- */

/* Shard lock held (the estimate's cache line is shared by all shards: atomics). */
static inline void est_publish(uint64_t e)
{
	uint64_t v = __atomic_add_fetch(&est.inuse, e, __ATOMIC_RELAXED);
	uint64_t p = __atomic_load_n(&est.peak, __ATOMIC_RELAXED);
	while (v > p && !__atomic_compare_exchange_n(&est.peak, &p, v, true, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

/* Shard lock held. An allocation's share: netted against this thread's pending frees. */
static inline void est_add(uint64_t e)
{
	mp_thread_t *r = mp_tls.rec;
	if (mp_unlikely(r == NULL)) {
		est_publish(e);
		return;
	}
	int64_t d = r->est_pending + (int64_t)e;
	if (d <= 0) {
		r->est_pending = d; /* still below what was published: no new peak possible */
		return;
	}
	r->est_pending = 0;
	est_publish((uint64_t)d);
}

/* Shard lock held. A free's share: waits in this thread's record, up to EST_PENDING_MAX. */
static inline void est_sub(uint64_t e)
{
	mp_thread_t *r = mp_tls.rec;
	if (mp_likely(r != NULL) && r->est_pending - (int64_t)e >= -EST_PENDING_MAX) {
		r->est_pending -= (int64_t)e;
		return;
	}
	__atomic_sub_fetch(&est.inuse, e, __ATOMIC_RELAXED);
}

/* Shard lock held. Adds to bucket i's counters through the shard's delta cache. */
static inline void bucket_bump(struct shard *s, uint32_t i, int allocs, int inuse)
{
	struct delta *d = &s->delta[(i * 0x9E3779B9u) >> (32 - 8)];
	_Static_assert(SHARD_DELTAS == 256, "index bits");
	if (mp_unlikely(d->bucket1 != i + 1)) {
		if (d->bucket1) {
			mp_bucket_t *b = bucket_at(d->bucket1 - 1);
			__atomic_add_fetch(&b->allocs, (uint64_t)(int64_t)d->allocs,
					   __ATOMIC_RELAXED);
			__atomic_add_fetch(&b->inuse, (uint64_t)(int64_t)d->inuse,
					   __ATOMIC_RELAXED);
		}
		d->bucket1 = i + 1;
		d->allocs = d->inuse = 0;
	}
	d->allocs += allocs;
	d->inuse += inuse;
	if (mp_unlikely(d->allocs > (1 << 30) || d->inuse > (1 << 30) || d->inuse < -(1 << 30))) {
		mp_bucket_t *b = bucket_at(i);
		__atomic_add_fetch(&b->allocs, (uint64_t)(int64_t)d->allocs, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->inuse, (uint64_t)(int64_t)d->inuse, __ATOMIC_RELAXED);
		d->allocs = d->inuse = 0;
	}
}

/* Shard lock held. Moves every waiting delta into its bucket. */
static void shard_flush(struct shard *s)
{
	for (int j = 0; j < SHARD_DELTAS; j++) {
		struct delta *d = &s->delta[j];
		if (!d->bucket1)
			continue;
		mp_bucket_t *b = bucket_at(d->bucket1 - 1);
		__atomic_add_fetch(&b->allocs, (uint64_t)(int64_t)d->allocs, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->inuse, (uint64_t)(int64_t)d->inuse, __ATOMIC_RELAXED);
		d->bucket1 = 0;
		d->allocs = d->inuse = 0;
	}
}

/* Shard lock held. */
static bool rehash_live(struct shard *s)
{
	/* Grow when live objects fill a quarter; otherwise rebuild in place to drop tombstones. */
	uint64_t ncap = s->cap ? (s->count * 4 > s->cap ? s->cap * 2 : s->cap) : 256;
	struct live *n = mp_arena_alloc(ncap * sizeof(*n));
	if (!n)
		return false;
	for (uint64_t j = 0; j < s->cap; j++) {
		if (s->live[j].ptr <= DELETED)
			continue;
		uint64_t i = mix(s->live[j].ptr) & (ncap - 1);
		while (n[i].ptr)
			i = (i + 1) & (ncap - 1);
		n[i] = s->live[j];
	}
	mp_arena_free(s->live, s->cap * sizeof(*n));
	s->live = n;
	s->cap = ncap;
	s->used = s->count;
	return true;
}

/* The shard of p: by the 64 KiB region p lies in, not by p itself. Allocators give each
 * thread its own arena (glibc: per-thread heaps; jemalloc, tcmalloc: thread caches with their
 * own runs), so objects made and freed by one thread cluster in a few regions and threads tend
 * to stay on different shards: fewer lock waits and fewer cache lines moving between cores. */
static inline struct shard *shard_of(const void *p)
{
	return &shards[mix((uintptr_t)p >> 16) >> (64 - SHARD_BITS)];
}

/* Shard lock held. */
static struct live *live_find(struct shard *s, uint64_t h, const void *p)
{
	if (!s->cap)
		return NULL;
	uint64_t i = h & (s->cap - 1);
	while (s->live[i].ptr) {
		if (s->live[i].ptr == (uintptr_t)p)
			return &s->live[i];
		i = (i + 1) & (s->cap - 1);
	}
	return NULL;
}

bool mp_table_insert(const void *p, uint32_t bucket, uint64_t size)
{
	uint64_t h = mix((uintptr_t)p);
	struct shard *s = shard_of(p);
	mp_bucket_t *b = bucket_at(bucket);
	bool ok = true;
	pthread_mutex_lock(lock_of(s));
	if ((s->used + 1) * 2 > s->cap && !rehash_live(s)) {
		ok = false;
		goto out;
	}
	/* Probe to the first empty slot: p may sit behind a tombstone (a stale record of a free we
	 * never saw), and a new record goes in the first tombstone passed, if any. */
	uint64_t i = h & (s->cap - 1);
	uint64_t slot = UINT64_MAX;
	while (s->live[i].ptr) {
		if (s->live[i].ptr == (uintptr_t)p) {
			/* Already tracked: the old record is stale (its free was never seen, e.g.
			 * it happened under the guard); replace it. */
			mp_bucket_t *ob = bucket_at(s->live[i].bucket);
			bucket_bump(s, s->live[i].bucket, 0, -1);
			est_sub(est_in(ob, &s->live[i]));
			if (is_mixed(ob))
				mix_bump(ob, s->live[i].size, -1, false);
			s->live[i].bucket = bucket;
			goto count;
		}
		if (s->live[i].ptr == DELETED && slot == UINT64_MAX)
			slot = i;
		i = (i + 1) & (s->cap - 1);
	}
	if (slot != UINT64_MAX)
		i = slot;
	if (s->live[i].ptr == 0)
		s->used++;
	s->live[i].ptr = (uintptr_t)p;
	s->live[i].bucket = bucket;
	s->count++;
	mp_filter_add(p);
count:
	bucket_bump(s, bucket, 1, 1);
	if (is_mixed(b)) {
		s->live[i].size = (uint32_t)size; /* a mixed bucket takes none larger */
		mix_bump(b, size, 1, true);
	}
	est_add(est_in(b, &s->live[i]));
	s->inserted++;
out:
	pthread_mutex_unlock(lock_of(s));
	return ok;
}

bool mp_table_take(const void *p, uint64_t *size, uint32_t *bucket)
{
	uint64_t h = mix((uintptr_t)p);
	struct shard *s = shard_of(p);
	bool found = false;
	pthread_mutex_lock(lock_of(s));
	struct live *l = live_find(s, h, p);
	if (l) {
		mp_bucket_t *b = bucket_at(l->bucket);
		bucket_bump(s, l->bucket, 0, -1);
		est_sub(est_in(b, l));
		*size = is_mixed(b) ? l->size : b->size;
		if (is_mixed(b))
			mix_bump(b, l->size, -1, false);
		*bucket = l->bucket;
		l->ptr = DELETED;
		s->count--;
		mp_filter_remove(p);
		found = true;
	}
	pthread_mutex_unlock(lock_of(s));
	return found;
}

void mp_table_relive(const void *p, uint32_t bucket, uint64_t size)
{
	if (bucket >= __atomic_load_n(&nbuckets, __ATOMIC_ACQUIRE))
		return;
	uint64_t h = mix((uintptr_t)p);
	struct shard *s = shard_of(p);
	mp_bucket_t *b = bucket_at(bucket);
	pthread_mutex_lock(lock_of(s));
	if ((s->used + 1) * 2 <= s->cap || rehash_live(s)) {
		uint64_t i = h & (s->cap - 1);
		while (s->live[i].ptr > DELETED)
			i = (i + 1) & (s->cap - 1);
		if (s->live[i].ptr == 0)
			s->used++;
		s->live[i].ptr = (uintptr_t)p;
		s->live[i].bucket = bucket;
		s->count++;
		bucket_bump(s, bucket, 0, 1);
		if (is_mixed(b)) {
			s->live[i].size = (uint32_t)size;
			mix_bump(b, size, 1, false);
		}
		est_add(est_in(b, &s->live[i]));
		mp_filter_add(p);
	}
	pthread_mutex_unlock(lock_of(s));
}

void mp_table_set_kind(const void *p, unsigned kind)
{
	uint64_t h = mix((uintptr_t)p);
	struct shard *s = shard_of(p);
	pthread_mutex_lock(lock_of(s));
	struct live *l = live_find(s, h, p);
	mp_bucket_t *old = l ? bucket_at(l->bucket) : NULL;
	if (old && (old->kind & ~MP_BUCKET_MIXED) != kind) {
		/* The object's own size: a mixed bucket's is in its record. */
		uint64_t size = is_mixed(old) ? l->size : old->size;
		pthread_mutex_lock(&index_lock); /* shard -> index: the documented order */
		uint32_t nb = is_mixed(old)
				  ? bucket_get_locked(old->stack, 0, kind | MP_BUCKET_MIXED)
				  : bucket_get_locked(old->stack, size, kind);
		pthread_mutex_unlock(&index_lock);
		if (nb != MP_NO_BUCKET) {
			/* Same size, so the same share of the in-use estimate. */
			bucket_bump(s, l->bucket, -1, -1);
			bucket_bump(s, nb, 1, 1);
			if (is_mixed(old))
				mix_bump(old, size, -1, true);
			mp_bucket_t *n = bucket_at(nb);
			if (is_mixed(n)) {
				l->size = (uint32_t)size;
				mix_bump(n, size, 1, true);
			}
			l->bucket = nb;
		}
	}
	pthread_mutex_unlock(lock_of(s));
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
	return i < nbuckets ? bucket_at(i) : NULL;
}

void mp_table_stats_locked(struct mp_table_stats *out)
{
	out->inserted = 0;
	for (int i = 0; i < MP_TABLE_SHARDS; i++)
		out->inserted += shards[i].inserted;
	uint64_t half = 1u << (EST_SHIFT - 1);
	uint64_t inuse = __atomic_load_n(&est.inuse, __ATOMIC_RELAXED) + mp_thread_est_pending();
	out->inuse_est = (inuse + half) >> EST_SHIFT;
	out->peak_est = (__atomic_load_n(&est.peak, __ATOMIC_RELAXED) + half) >> EST_SHIFT;
}

/* Any lock or none: the in-use estimate's peak so far, in bytes (0 at MAPPROF_RATE=0). */
uint64_t mp_table_peak_est(void)
{
	return (__atomic_load_n(&est.peak, __ATOMIC_RELAXED) + (1u << (EST_SHIFT - 1))) >>
	       EST_SHIFT;
}

void mp_table_forget_cached(void)
{
	__atomic_add_fetch(&table_gen, 1, __ATOMIC_RELAXED);
}

void mp_table_reset(void)
{
	/* The child is single-threaded here; the old arrays stay allocated (small, and the arena
	 * would only hand them back to us). */
	pthread_mutex_init(&index_lock, NULL);
	table_gen++;
	nstacks = 0;
	if (stack_slots)
		memset(stack_slots, 0, (size_t)stack_slots_cap * sizeof(*stack_slots));
	nbuckets = 0;
	if (bucket_slots)
		memset(bucket_slots, 0, (size_t)bucket_slots_cap * sizeof(*bucket_slots));
	/* Only what the parent changed is written: a write copies the page. (The deltas are
	 * 0 after a fork: its prepare handler flushed them, mp_table_lock_all.) */
	for (int i = 0; i < MP_TABLE_SHARDS; i++) {
		struct shard *s = &shards[i];
		pthread_mutex_init(&shard_locks[i].m, NULL);
		if (s->live && s->used)
			memset(s->live, 0, s->cap * sizeof(*s->live));
		if (s->used || s->count || s->inserted)
			s->used = s->count = s->inserted = 0;
		for (int j = 0; j < SHARD_DELTAS; j++) {
			if (s->delta[j].bucket1) {
				memset(s->delta, 0, sizeof(s->delta));
				break;
			}
		}
	}
	est.inuse = est.peak = 0;
	mp_filter_reset();
}
