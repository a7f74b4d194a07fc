/* SPDX-License-Identifier: MIT */
/* The map-tracking store: live instances, creation sites with their aggregates, grow
 * aggregates per (stack, kind, flags, from, to) and the tracked unordered_map bucket arrays.
 * The front ends (maps_uthash.c, maps_stdcxx.c, maps_api.c) turn hook calls into the
 * operations below; maps_dump.c serializes the result. Dead instances fold into their site and
 * are freed, so memory is bounded by live maps plus the (capped) number of stacks. */
#include <pthread.h>
#include <string.h>
#include "arena.h"
#include "maps_int.h"
#include "stack.h"
#include "table.h"

/* maps_lock protects every table and counter in this file and the site/grow/instance objects
 * they hold. A plain mutex: it is taken only on map events (grows, creations, deaths, frees of
 * tracked bucket arrays) and dumps, never on the unsampled malloc path. Lock order: maps ->
 * table -> arena (see maps_int.h). Reinitialized in the fork child by mp_maps_reset. */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static mp_htab_t insts;	 /* mp_map_inst_t by key */
static mp_htab_t sites;	 /* mp_map_site_t by (stack, kind) */
static mp_htab_t grows;	 /* mp_map_grow_t by (stack, kind, flags, from, to) */
static mp_htab_t arrays; /* struct array by pointer */
static uint64_t next_serial;
/* Tracked arrays: read without the lock by mp_maps_on_free to skip the lock when none exist. */
static size_t n_arrays;

/* Written by mp_maps_reset (fork child), read by the front ends. */
uint32_t mp_maps_gen;
__thread mp_maps_tls_t mp_maps_tls __attribute__((tls_model("initial-exec")));
static uint32_t next_tid; /* atomic */

struct array {
	mp_hnode_t h;
	const void *p;
	uintptr_t key; /* owner instance: key and serial (validated by lookup, never a pointer) */
	uint64_t serial;
};

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* --- a chained hash table of intrusive nodes, in arena memory --- */

static bool htab_grow(mp_htab_t *t)
{
	size_t nb = t->nb ? t->nb * 2 : 256;
	mp_hnode_t **b = mp_arena_alloc(nb * sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 0; i < t->nb; i++) {
		mp_hnode_t *n = t->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	if (t->b)
		mp_arena_free(t->b, t->nb * sizeof(*t->b));
	t->b = b;
	t->nb = nb;
	return true;
}

static inline mp_hnode_t *htab_head(const mp_htab_t *t, uint64_t hash)
{
	return t->nb ? t->b[hash & (t->nb - 1)] : NULL;
}

/* n->hash set by the caller. False (nothing inserted) when the bucket array cannot grow. */
static bool htab_insert(mp_htab_t *t, mp_hnode_t *n)
{
	if (t->n + 1 > t->nb && !htab_grow(t) && !t->nb)
		return false; /* a full table that cannot grow still takes entries (longer chains)
			       */
	mp_hnode_t **head = &t->b[n->hash & (t->nb - 1)];
	n->next = *head;
	*head = n;
	t->n++;
	return true;
}

static void htab_remove(mp_htab_t *t, mp_hnode_t *n)
{
	mp_hnode_t **pp = &t->b[n->hash & (t->nb - 1)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
	}
}

static void htab_clear(mp_htab_t *t)
{
	if (t->b)
		memset(t->b, 0, t->nb * sizeof(*t->b));
	t->n = 0;
}

/* --- locking, stacks, thread ids --- */

void mp_maps_lock(void)
{
	pthread_mutex_lock(&maps_lock);
}

void mp_maps_unlock(void)
{
	pthread_mutex_unlock(&maps_lock);
}

void mp_maps_lock_all(void)
{
	pthread_mutex_lock(&maps_lock);
}

void mp_maps_unlock_all(void)
{
	pthread_mutex_unlock(&maps_lock);
}

/* Fork child, single-threaded, lock free: the parent's stacks are gone, so is everything that
 * refers to them. Arena memory of the old objects is simply dropped. */
void mp_maps_reset(void)
{
	pthread_mutex_init(&maps_lock, NULL);
	htab_clear(&insts);
	htab_clear(&sites);
	htab_clear(&grows);
	htab_clear(&arrays);
	n_arrays = 0;
	mp_maps_gen++;
	mp_maps_tls.stage = 0;
	mp_maps_tls.policy = NULL;
	mp_maps_tls.ut_array = NULL;
}

uint32_t mp_maps_tid(void)
{
	mp_maps_tls_t *x = &mp_maps_tls;
	if (mp_unlikely(x->tid == 0))
		x->tid = __atomic_add_fetch(&next_tid, 1, __ATOMIC_RELAXED);
	return x->tid;
}

/* --- sites, grows, instances --- */

static mp_map_site_t *site_get(uint32_t stack, unsigned kind)
{
	uint64_t h = mix(((uint64_t)stack << 2) | kind);
	for (mp_hnode_t *n = htab_head(&sites, h); n; n = n->next) {
		mp_map_site_t *s = (mp_map_site_t *)n;
		if (n->hash == h && s->stack == stack && s->kind == kind)
			return s;
	}
	mp_map_site_t *s = mp_arena_alloc(sizeof(*s));
	if (!s)
		return NULL;
	s->h.hash = h;
	s->stack = stack;
	s->kind = (uint16_t)kind;
	if (!htab_insert(&sites, &s->h)) {
		mp_arena_free(s, sizeof(*s));
		return NULL;
	}
	return s;
}

static mp_map_grow_t *grow_get(uint32_t stack, unsigned kind, unsigned flags, uint64_t from,
			       uint64_t to)
{
	uint64_t h = mix(mix(((uint64_t)stack << 20) | (kind << 16) | flags) ^ from) ^ mix(to);
	for (mp_hnode_t *n = htab_head(&grows, h); n; n = n->next) {
		mp_map_grow_t *g = (mp_map_grow_t *)n;
		if (n->hash == h && g->stack == stack && g->kind == kind && g->flags == flags &&
		    g->from == from && g->to == to)
			return g;
	}
	mp_map_grow_t *g = mp_arena_alloc(sizeof(*g));
	if (!g)
		return NULL;
	g->h.hash = h;
	g->stack = stack;
	g->kind = (uint16_t)kind;
	g->flags = (uint16_t)flags;
	g->from = from;
	g->to = to;
	if (!htab_insert(&grows, &g->h)) {
		mp_arena_free(g, sizeof(*g));
		return NULL;
	}
	return g;
}

mp_map_inst_t *mp_maps_find_locked(uintptr_t key)
{
	uint64_t h = mix(key);
	for (mp_hnode_t *n = htab_head(&insts, h); n; n = n->next) {
		mp_map_inst_t *m = (mp_map_inst_t *)n;
		if (m->key == key)
			return m;
	}
	return NULL;
}

mp_map_inst_t *mp_maps_create_locked(uintptr_t key, uint32_t stack, uint64_t now)
{
	mp_map_inst_t *old = mp_maps_find_locked(key);
	if (old)
		mp_maps_kill_locked(old, now);
	mp_map_site_t *s = site_get(stack, key & 3);
	if (!s)
		return NULL;
	mp_map_inst_t *m = mp_arena_alloc(sizeof(*m));
	if (!m)
		return NULL;
	m->h.hash = mix(key);
	m->key = key;
	m->serial = ++next_serial;
	m->site = s;
	m->created = now;
	m->buckets = 1;
	if (!htab_insert(&insts, &m->h)) {
		mp_arena_free(m, sizeof(*m));
		return NULL;
	}
	s->agg.instances++;
	if (++s->agg.live > s->agg.max_live)
		s->agg.max_live = s->agg.live;
	return m;
}

static unsigned hist_bucket(uint64_t v, unsigned n)
{
	unsigned b = v ? 64 - (unsigned)__builtin_clzll(v) : 0;
	return b < n ? b : n - 1;
}

/* The facts an instance contributes to its site only at its end (or, for a live one, at a
 * dump). */
void mp_maps_fold(mp_site_agg_t *a, const mp_map_inst_t *m, uint64_t now)
{
	if (m->grows > a->max_grows)
		a->max_grows = m->grows;
	if (m->max_size <= 4)
		a->tiny++;
	uint64_t nt = m->ntids;
	if (nt > a->max_threads)
		a->max_threads = nt;
	/* The largest count reached: what a reserve() must cover (a table emptied item by item
	 * before it dies would otherwise look empty). */
	a->size_hist[hist_bucket(m->max_size, MP_HIST_SIZE_BUCKETS)]++;
	a->life_hist[hist_bucket(now > m->created ? now - m->created : 0, MP_HIST_LIFE_BUCKETS)]++;
}

static struct array *array_find(const void *p)
{
	uint64_t h = mix((uintptr_t)p);
	for (mp_hnode_t *n = htab_head(&arrays, h); n; n = n->next) {
		struct array *a = (struct array *)n;
		if (a->p == p)
			return a;
	}
	return NULL;
}

static void array_drop(struct array *a)
{
	htab_remove(&arrays, &a->h);
	__atomic_store_n(&n_arrays, arrays.n, __ATOMIC_RELAXED);
	mp_table_lock(); /* the filter's counters are written under the table lock */
	mp_filter_remove(a->p);
	mp_table_unlock();
	mp_arena_free(a, sizeof(*a));
}

void mp_maps_kill_locked(mp_map_inst_t *m, uint64_t now)
{
	if (m->array) {
		struct array *a = array_find(m->array);
		if (a && a->serial == m->serial)
			array_drop(a);
	}
	mp_map_site_t *s = m->site;
	mp_maps_fold(&s->agg, m, now);
	s->agg.live--;
	htab_remove(&insts, &m->h);
	mp_arena_free(m, sizeof(*m));
}

void mp_maps_set_size_locked(mp_map_inst_t *m, uint64_t elements)
{
	m->size = elements;
	if (elements > m->max_size) {
		m->max_size = elements;
		if (elements > m->site->agg.max_size)
			m->site->agg.max_size = elements;
	}
}

static void add_tid(mp_map_inst_t *m, uint32_t tid)
{
	for (unsigned i = 0; i < m->ntids && i < MP_MAP_TIDS; i++)
		if (m->tids[i] == tid)
			return;
	if (m->ntids < MP_MAP_TIDS)
		m->tids[m->ntids++] = tid;
	else
		m->ntids = MP_MAP_TIDS + 1; /* more threads than we keep: saturates */
	if (m->ntids == 2)
		m->site->agg.shared++;
}

mp_map_grow_t *mp_maps_grow_locked(mp_map_inst_t *m, uint32_t stack, unsigned flags, uint64_t from,
				   uint64_t to, uint64_t elements, uint64_t bytes, uint64_t ns)
{
	mp_map_site_t *s = m->site;
	m->grows++;
	m->buckets = to;
	if (elements > m->size)
		mp_maps_set_size_locked(m, elements);
	add_tid(m, mp_maps_tid());
	if ((flags & MP_GROW_EXPLICIT) && !m->explicit_grow) {
		m->explicit_grow = true;
		s->agg.reserved++;
		s->flags |= MP_SITE_RESERVES;
	}
	s->agg.grows++;
	s->agg.grow_bytes += bytes;
	mp_map_grow_t *g = grow_get(stack, m->key & 3, flags, from, to);
	if (g) {
		g->count++;
		g->rehashed += elements;
		g->bytes += bytes;
	}
	mp_maps_grow_ns_locked(s, g, ns);
	return g;
}

void mp_maps_grow_ns_locked(mp_map_site_t *s, mp_map_grow_t *g, uint64_t ns)
{
	if (g)
		g->ns += ns;
	s->agg.grow_ns += ns;
	if (ns > s->agg.max_grow_ns)
		s->agg.max_grow_ns = ns;
}

void mp_maps_noexpand_locked(mp_map_inst_t *m)
{
	if (!m->noexpand) {
		m->noexpand = true;
		m->site->agg.noexpand++;
	}
}

bool mp_maps_array_add_locked(mp_map_inst_t *m, void *p)
{
	struct array *a = array_find(p);
	if (a) { /* a stale entry (its free was missed): take it over */
		a->key = m->key;
		a->serial = m->serial;
		m->array = p;
		return true;
	}
	a = mp_arena_alloc(sizeof(*a));
	if (!a)
		return false;
	a->h.hash = mix((uintptr_t)p);
	a->p = p;
	a->key = m->key;
	a->serial = m->serial;
	if (!htab_insert(&arrays, &a->h)) {
		mp_arena_free(a, sizeof(*a));
		return false;
	}
	__atomic_store_n(&n_arrays, arrays.n, __ATOMIC_RELAXED);
	mp_table_lock();
	mp_filter_add(p);
	mp_table_unlock();
	m->array = p;
	return true;
}

bool mp_maps_array_remove_locked(void *p, uintptr_t *key, uint64_t *serial)
{
	struct array *a = array_find(p);
	if (!a)
		return false;
	*key = a->key;
	*serial = a->serial;
	array_drop(a);
	return true;
}

/* Lock not held: a cheap "nothing tracked" test before taking it. */
bool mp_maps_have_arrays(void)
{
	return __atomic_load_n(&n_arrays, __ATOMIC_RELAXED) != 0;
}

void mp_maps_adopt_locked(mp_map_inst_t *old, mp_map_inst_t *fresh, uint64_t bytes)
{
	mp_map_site_t *fs = fresh->site, *os = old->site;
	/* Undo what fresh's one grow and its creation added to fresh's site. */
	fs->agg.instances--;
	fs->agg.live--;
	fs->agg.grows--;
	fs->agg.grow_bytes -= bytes;
	if (fresh->explicit_grow)
		fs->agg.reserved--;
	os->agg.grows++;
	os->agg.grow_bytes += bytes;
	old->grows++;
	old->buckets = fresh->buckets;
	if (fresh->max_size > old->size)
		mp_maps_set_size_locked(old, fresh->max_size);
	for (unsigned i = 0; i < fresh->ntids && i < MP_MAP_TIDS; i++)
		add_tid(old, fresh->tids[i]);
	if (fresh->explicit_grow && !old->explicit_grow) {
		old->explicit_grow = true;
		os->agg.reserved++;
		os->flags |= MP_SITE_RESERVES;
	}
	htab_remove(&insts, &fresh->h);
	htab_remove(&insts, &old->h);
	old->key = fresh->key;
	old->h.hash = fresh->h.hash;
	old->array = NULL;
	if (fresh->array) {
		struct array *a = array_find(fresh->array);
		if (a && a->serial == fresh->serial) {
			a->key = old->key;
			a->serial = old->serial;
			old->array = fresh->array;
		}
	}
	htab_insert(&insts, &old->h); /* cannot fail: the table just lost two entries */
	mp_arena_free(fresh, sizeof(*fresh));
}

mp_htab_t *mp_maps_sites_locked(void)
{
	return &sites;
}

mp_htab_t *mp_maps_grows_locked(void)
{
	return &grows;
}

mp_htab_t *mp_maps_insts_locked(void)
{
	return &insts;
}

/* --- the hooks the shim core calls (record.c) --- */

/* Guard held, no lock held. Only the unordered_map front end sets map_pending with a kind that
 * needs work here; uthash and the API label their own allocations. */
unsigned mp_maps_on_alloc(mp_tls_t *t, void *p, size_t size)
{
	unsigned kind = t->map_kind;
	t->map_pending = 0;
	if (kind == MP_KIND_UNORDERED_MAP)
		return mp_maps_cxx_on_alloc(t, p, size);
	return kind;
}

/* Guard held, no lock held, before the real free. */
void mp_maps_on_free(mp_tls_t *t, void *p)
{
	if (mp_maps_have_arrays())
		mp_maps_cxx_on_free(t, p);
}
