/* SPDX-License-Identifier: MIT */
/* The map-tracking store: live instances, creation sites with their aggregates, grow
 * aggregates per (stack, kind, flags, from, to) and the tracked unordered_map bucket arrays.
 * The front ends (maps_uthash.c, maps_stdcxx.c, maps_api.c) turn hook calls into the
 * operations below; maps_dump.c serializes the result. Dead instances fold into their site and
 * are freed, so memory is bounded by live maps plus the (capped) number of stacks. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "arena.h"
#include "maps_int.h"
#include "stack.h"
#include "table.h"

/* The maps lock (maps_int.h) protects every table and counter in this file and the
 * site/grow/instance objects they hold. It is taken only on map events (grows, creations,
 * deaths, frees of tracked bucket arrays) and dumps, never on the unsampled malloc path. Lock
 * order: maps -> table -> arena (see maps_int.h). Reset in the fork child by mp_maps_reset. */
int mp_maps_lock_word;
static mp_htab_t insts;	 /* mp_map_inst_t by key */
static mp_htab_t sites;	 /* mp_map_site_t by (stack, kind) */
static mp_htab_t grows;	 /* mp_map_grow_t by (stack, kind, flags, from, to) */
static mp_htab_t arrays; /* mp_map_inst_t (through its ah node) by bucket array */
static mp_htab_t pcgs;	 /* mp_map_pcg_t by (kind, pc, key) */
/* The aggregates of recent grows, direct-mapped by a cheap hash of (from, to, stack): a churning
 * site repeats the same few bucket-count steps, found here without the three mixes and the
 * chain walk of the table. Maps lock held; emptied with the table (fork child). */
#define GROW_CACHE 64
static mp_map_grow_t *grow_cache[GROW_CACHE];
static uint64_t next_serial;
static mp_map_inst_t *free_insts; /* dead instances for reuse: no arena lock per map */
/* Ticks -> ns: the first (tsc, ns) pair, the last refresh and the rate between them. */
static uint64_t cal_tsc0, cal_ns0, cal_tsc_last;
static double ns_per_tick;

/* Written by mp_maps_reset (fork child), read by the front ends. */
uint32_t mp_maps_gen;
__thread mp_maps_tls_t mp_maps_tls __attribute__((tls_model("initial-exec")));
static uint32_t next_tid; /* atomic */
/* Written once by mp_maps_init (before profiling starts), read-only afterwards. */
bool mp_maps_use_tsc;

static inline uint64_t mix(uint64_t x)
{
	return mp_mix64(x);
}

/* a + b, held at UINT64_MAX: the public API takes any value (a SIZE_MAX-byte grow), and a sum
 * must not wrap below its parts. */
static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
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

/* The contended paths of maps_int.h's lock, as glibc's low-level lock: the word is 2 while a
 * thread may sleep on it, so the holder's unlock knows to wake one. errno is the program's:
 * a futex call that fails (EAGAIN, EINTR) leaves it as it was. */
void mp_maps_lock_slow(void)
{
	for (int i = 0; i < 100; i++) {
		__builtin_ia32_pause();
		/* 0 -> 1 only: an exchange could overwrite the 2 of a thread gone to sleep
		 * meanwhile, and the unlock would then wake no one. */
		int z = 0;
		if (__atomic_load_n(&mp_maps_lock_word, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&mp_maps_lock_word, &z, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
	}
	int e = errno;
	while (__atomic_exchange_n(&mp_maps_lock_word, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, &mp_maps_lock_word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
	errno = e;
}

void mp_maps_wake(void)
{
	int e = errno;
	syscall(SYS_futex, &mp_maps_lock_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = e;
}

void mp_maps_lock_all(void)
{
	mp_maps_lock();
}

void mp_maps_unlock_all(void)
{
	mp_maps_unlock();
}

/* Map events that could not be recorded: an instance (and the grow that made it) or a grow's
 * record, with no memory for them (the arena's cap). Written under the maps lock; read by the
 * dump (a racy read sees this count or the one before). */
static uint64_t dropped;

#define INST_OF_AH(n) ((mp_map_inst_t *)((char *)(n)-offsetof(mp_map_inst_t, ah)))

/* Fork children: the bucket arrays their parents (and theirs) tracked, as one bit each of a
 * hash (an array that shares a bit with one is taken for one too): a map grown from one was
 * filled before the fork, in the parent, and is no copy (maps_stdcxx.c). Never cleared; set by
 * mp_maps_reset, with no memory to allocate. */
#define INHERITED_BITS 17
static uint64_t inherited[((size_t)1 << INHERITED_BITS) / 64];
static bool any_inherited;

static inline size_t inherited_bit(const void *p)
{
	return (size_t)(mix((uintptr_t)p) >> (64 - INHERITED_BITS));
}

bool mp_maps_inherited_locked(const void *p)
{
	if (!any_inherited)
		return false;
	size_t b = inherited_bit(p);
	return (inherited[b / 64] >> (b % 64)) & 1;
}

/* Fork child, single-threaded, lock free: the parent's stacks are gone, so is everything that
 * refers to them. Arena memory of the old objects is simply dropped. */
void mp_maps_reset(void)
{
	mp_maps_lock_word = 0;
	dropped = 0;
	for (size_t i = 0; arrays.n && i < arrays.nb; i++) {
		for (mp_hnode_t *n = arrays.b[i]; n; n = n->next) {
			size_t b = inherited_bit(INST_OF_AH(n)->array);
			inherited[b / 64] |= (uint64_t)1 << (b % 64);
			any_inherited = true;
		}
	}
	htab_clear(&insts);
	htab_clear(&sites);
	htab_clear(&grows);
	memset(grow_cache, 0, sizeof(grow_cache));
	htab_clear(&arrays);
	htab_clear(&pcgs);
	mp_maps_hint_reset();
	mp_maps_gen++;
	mp_maps_tls.stage = 0;
	mp_maps_tls.new_array = NULL;
	mp_maps_tls.policy = NULL;
	mp_maps_tls.ut_array = NULL;
}

/* Init, single-threaded: the TSC is used only where the kernel keeps time with it. */
void mp_maps_init(void)
{
	char buf[16] = {0};
	int cs = mp_nocancel();
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		mp_maps_use_tsc = n >= 3 && !memcmp(buf, "tsc", 3) && (n == 3 || buf[3] == '\n');
	}
	mp_cancel_restore(cs);
	cal_tsc0 = cal_tsc_last = __builtin_ia32_rdtsc();
	cal_ns0 = mp_mono_ns();
}

/* The rate is re-measured against CLOCK_MONOTONIC whenever the time since the last
 * measurement exceeds 1/64 of the time since init, so its relative error (two clock reads'
 * jitter over the span) keeps shrinking, at a logarithmic number of clock reads. */
uint64_t mp_maps_ns_locked(uint64_t ticks, uint64_t now)
{
	if (!mp_maps_use_tsc)
		return ticks;
	if (ns_per_tick == 0 || now - cal_tsc_last > (now - cal_tsc0) / 64) {
		uint64_t ns = mp_mono_ns();
		uint64_t t = __builtin_ia32_rdtsc();
		if (t > cal_tsc0 && ns > cal_ns0)
			ns_per_tick = (double)(ns - cal_ns0) / (double)(t - cal_tsc0);
		cal_tsc_last = t;
	}
	return (uint64_t)((double)ticks * ns_per_tick);
}

uint32_t mp_maps_tid(void)
{
	mp_thread_t *r = mp_tls.rec; /* this thread's lifetime counts as grow time's base */
	if (r && !__atomic_load_n(&r->grew_maps, __ATOMIC_RELAXED))
		__atomic_store_n(&r->grew_maps, 1, __ATOMIC_RELAXED);
	mp_maps_tls_t *x = &mp_maps_tls;
	if (mp_unlikely(x->tid == 0))
		x->tid = __atomic_add_fetch(&next_tid, 1, __ATOMIC_RELAXED);
	return x->tid;
}

/* --- sites, grows, instances --- */

static mp_map_pcg_t *pcg_get(unsigned kind, uintptr_t pc, uint32_t key)
{
	uint64_t h = mix(pc ^ ((uint64_t)key << 48) ^ ((uint64_t)kind << 62));
	for (mp_hnode_t *n = htab_head(&pcgs, h); n; n = n->next) {
		mp_map_pcg_t *g = (mp_map_pcg_t *)n;
		if (n->hash == h && g->pc == pc && g->key == key && g->kind == kind)
			return g;
	}
	mp_map_pcg_t *g = mp_arena_alloc(sizeof(*g));
	if (!g)
		return NULL;
	g->h.hash = h;
	g->pc = pc;
	g->key = key;
	g->kind = (uint16_t)kind;
	if (!htab_insert(&pcgs, &g->h)) {
		mp_arena_free(g, sizeof(*g));
		return NULL;
	}
	return g;
}

/* A new site's groups: one per distinct pc among its stack's first frames (a recursive stack
 * repeats one). Maps lock held; the table lock after it (the order maps -> table). */
static void site_groups(mp_map_site_t *s)
{
	uintptr_t pc[MP_SITE_PC_DEPTH];
	uint32_t n = 0, key = 0;
	mp_table_lock();
	const mp_stack_t *st = mp_table_stack_locked(s->stack);
	if (st) {
		n = st->n < MP_SITE_PC_DEPTH ? st->n : MP_SITE_PC_DEPTH;
		memcpy(pc, st->pc, n * sizeof(*pc));
		key = st->key;
	}
	mp_table_unlock();
	uint32_t k = 0;
	for (uint32_t d = 0; d < n; d++) {
		mp_map_pcg_t *g = pcg_get(s->kind, pc[d], key);
		bool seen = false;
		for (uint32_t e = 0; e < k; e++)
			seen |= s->pcg[e] == g;
		if (g && !seen)
			s->pcg[k++] = g;
	}
}

/* One instance of s more (+1) or fewer (-1) alive. */
static void live_add(mp_map_site_t *s, int delta)
{
	s->agg.live += (uint64_t)(int64_t)delta;
	if (s->agg.live > s->agg.max_live)
		s->agg.max_live = s->agg.live;
	for (int d = 0; d < MP_SITE_PC_DEPTH && s->pcg[d]; d++) {
		mp_map_pcg_t *g = s->pcg[d];
		g->live += (uint64_t)(int64_t)delta;
		if (g->live > g->max_live)
			g->max_live = g->live;
	}
}

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
	if (stack != MP_NO_STACK)
		site_groups(s);
	return s;
}

static inline unsigned grow_slot(uint32_t stack, uint64_t from, uint64_t to)
{
	return (unsigned)(((from * 0x9e3779b97f4a7c15ULL) ^ (to * 0xc2b2ae3d27d4eb4fULL) ^ stack) >>
			  58);
}

static mp_map_grow_t *grow_get(uint32_t stack, unsigned kind, unsigned flags, uint64_t from,
			       uint64_t to)
{
	mp_map_grow_t **c = &grow_cache[grow_slot(stack, from, to)];
	mp_map_grow_t *hit = *c;
	if (hit && hit->stack == stack && hit->kind == kind && hit->flags == flags &&
	    hit->from == from && hit->to == to)
		return hit;
	uint64_t h = mix(mix(((uint64_t)stack << 20) | (kind << 16) | flags) ^ from) ^ mix(to);
	for (mp_hnode_t *n = htab_head(&grows, h); n; n = n->next) {
		mp_map_grow_t *g = (mp_map_grow_t *)n;
		if (n->hash == h && g->stack == stack && g->kind == kind && g->flags == flags &&
		    g->from == from && g->to == to)
			return *c = g;
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
	return *c = g;
}

uint64_t mp_maps_dropped(void)
{
	return __atomic_load_n(&dropped, __ATOMIC_RELAXED);
}

static void drop_locked(void)
{
	__atomic_store_n(&dropped, dropped + 1, __ATOMIC_RELAXED);
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
	if (!s) {
		drop_locked();
		return NULL;
	}
	mp_map_inst_t *m = free_insts;
	if (m)
		free_insts = (mp_map_inst_t *)m->h.next;
	else if (!(m = mp_arena_alloc(sizeof(*m)))) {
		drop_locked();
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	m->h.hash = mix(key);
	m->key = key;
	m->serial = ++next_serial;
	m->site = s;
	m->created = now;
	m->buckets = 1;
	if (!htab_insert(&insts, &m->h)) {
		m->serial = 0; /* never live */
		m->h.next = (mp_hnode_t *)free_insts;
		free_insts = m;
		drop_locked();
		return NULL;
	}
	s->agg.instances++;
	live_add(s, 1);
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
	if (m->max_size > a->max_size) /* raised without the lock by mapprof_uthash_size */
		a->max_size = m->max_size;
	uint64_t nt = m->ntids;
	if (nt > a->max_threads)
		a->max_threads = nt;
	/* The largest count reached: what a reserve() must cover (a table emptied item by item
	 * before it dies would otherwise look empty). */
	a->size_hist[hist_bucket(m->max_size, MP_HIST_SIZE_BUCKETS)]++;
	uint64_t life = mp_maps_ns_locked(now > m->created ? now - m->created : 0, now);
	a->life_hist[hist_bucket(life, MP_HIST_LIFE_BUCKETS)]++;
}

static mp_map_inst_t *array_find(const void *p)
{
	uint64_t h = mix((uintptr_t)p);
	for (mp_hnode_t *n = htab_head(&arrays, h); n; n = n->next)
		if (INST_OF_AH(n)->array == p)
			return INST_OF_AH(n);
	return NULL;
}

/* m's array leaves the table and the filter. */
static void array_drop(mp_map_inst_t *m)
{
	/* The thread whose inserts count m's elements knows m by this array: the next map to get
	 * the same address must not be taken for m. Marked unknown instead, so that its next
	 * insert at m's address asks the array table (maps_stdcxx.c, other_array). */
	mp_maps_tls_t *c = m->cached_by;
	if (c && __atomic_load_n(&c->policy_buckets, __ATOMIC_RELAXED) == m->array)
		__atomic_store_n(&c->policy_buckets, MP_MAPS_ARRAY_GONE, __ATOMIC_RELAXED);
	htab_remove(&arrays, &m->ah);
	mp_filter_remove_map(m->array);
	if (m->hinted)
		mp_maps_hint_drop_locked(m, m->array);
	m->array = NULL;
}

void mp_maps_kill_locked(mp_map_inst_t *m, uint64_t now)
{
	if (m->array)
		array_drop(m);
	__atomic_store_n(&m->learned, NULL, __ATOMIC_RELAXED);
	mp_maps_cxx_uncache_locked(m); /* perhaps another thread, which filled it after its grow */
	mp_map_site_t *s = m->site;
	mp_maps_fold(&s->agg, m, now);
	live_add(s, -1);
	htab_remove(&insts, &m->h);
	m->serial = 0; /* dead: pointers kept outside the lock no longer match it */
	m->h.next = (mp_hnode_t *)free_insts;
	free_insts = m;
}

/* m's explicit grow to `to` buckets came after its first grow (a reserve() or rehash() once
 * filled): its site counts the largest such, per instance. */
static void late_reserve(mp_map_inst_t *m, uint64_t to)
{
	if (to <= m->late_to)
		return;
	mp_site_agg_t *a = &m->site->agg;
	if (!m->late_to)
		a->late_reserved++;
	a->late_buckets = sat_add(a->late_buckets - m->late_to, to);
	m->late_prev = m->late_to;
	m->late_last = true;
	m->late_to = to;
}

/* Sets m's late reserve count back to `to` (below its own): its last grow, which raised it,
 * failed (to: what it was before), or m is no instance after all (to: 0). */
static void unlate(mp_map_inst_t *m, uint64_t to)
{
	if (m->late_to <= to)
		return;
	mp_site_agg_t *a = &m->site->agg;
	if (!to)
		a->late_reserved--;
	a->late_buckets -= m->late_to - to;
	m->late_to = to;
	m->late_last = false;
}

void mp_maps_discard_locked(mp_map_inst_t *m)
{
	if (m->array)
		array_drop(m);
	m->site->agg.instances--;
	if (m->copy)
		m->site->agg.copies--;
	if (m->lf_lowered)
		m->site->agg.lf_lowered--;
	unlate(m, 0);
	live_add(m->site, -1);
	htab_remove(&insts, &m->h);
	m->serial = 0;
	m->h.next = (mp_hnode_t *)free_insts;
	free_insts = m;
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
	bool known = false;
	for (unsigned i = 0; i < m->ntids && i < MP_MAP_TIDS; i++)
		known |= m->tids[i] == tid;
	/* Back to a thread that grew it before, another one in between (a thread beyond the
	 * first MP_MAP_TIDS is not known: a long relay of threads is no turn taking). */
	if (known && m->last_tid && m->last_tid != tid && !m->turns) {
		m->turns = true;
		m->site->agg.turns++;
	}
	m->last_tid = tid;
	if (known)
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
	m->late_last = false; /* this grow's, if it raises it */
	/* A reserve once the map holds elements: after its first grow, or an API table's first
	 * grow that finds elements in it (its own initial size held them; an unordered_map's
	 * first insert grows it, and a copy's first reserve is the copies' advice). */
	bool filled = m->grows > 1 || ((m->key & 3) == MP_KIND_API && elements > 0);
	if ((flags & MP_GROW_EXPLICIT) && filled)
		late_reserve(m, to);
	if (elements > m->size)
		mp_maps_set_size_locked(m, elements);
	uint32_t tid = mp_maps_tid();
	if (tid != m->last_tid) /* the thread of its last grow again: known, no turn */
		add_tid(m, tid);
	/* A site reserves when its maps are sized before their first grow: a reserve() after
	 * inserts, or one that libstdc++ makes itself for a bulk operation (a multimap merge,
	 * assigning an initializer list), leaves the insert-driven growth before it to presize. */
	if ((flags & MP_GROW_EXPLICIT) && !m->explicit_grow && !filled) {
		m->explicit_grow = true;
		s->agg.reserved++;
		s->flags |= MP_SITE_RESERVES;
	}
	s->agg.grows++;
	s->agg.grow_bytes = sat_add(s->agg.grow_bytes, bytes);
	/* The API's arrays are the program's to tell (taken as malloc's); uthash's and an
	 * unordered_map's count when their front ends saw them allocated. */
	if ((m->key & 3) == MP_KIND_API)
		s->agg.heap_grow_bytes = sat_add(s->agg.heap_grow_bytes, bytes);
	mp_map_grow_t *g = grow_get(stack, m->key & 3, flags, from, to);
	if (g) {
		g->count++;
		g->rehashed = sat_add(g->rehashed, elements);
		g->bytes = sat_add(g->bytes, bytes);
	} else {
		drop_locked(); /* counted at its site, not in the grow profile */
	}
	mp_maps_grow_ns_locked(s, g, ns);
	return g;
}

void mp_maps_ungrow_locked(mp_map_inst_t *m, mp_map_grow_t *g, unsigned flags, uint64_t from,
			   uint64_t elements, uint64_t bytes)
{
	mp_map_site_t *s = m->site;
	if (m->late_last) /* the failed grow (its last) raised it */
		unlate(m, m->late_prev);
	m->grows--;
	m->buckets = from;
	if ((flags & MP_GROW_EXPLICIT) && m->explicit_grow && m->grows == 0) {
		m->explicit_grow = false; /* its first grow was this reserve: it did not size it */
		if (--s->agg.reserved == 0)
			s->flags &= ~MP_SITE_RESERVES;
	}
	s->agg.grows--;
	s->agg.grow_bytes -= bytes;
	if ((m->key & 3) == MP_KIND_API)
		s->agg.heap_grow_bytes -= bytes;
	if (g) {
		g->count--;
		g->rehashed -= elements;
		g->bytes -= bytes;
	}
}

void mp_maps_grow_ns_locked(mp_map_site_t *s, mp_map_grow_t *g, uint64_t ns)
{
	if (g)
		g->ns = sat_add(g->ns, ns);
	s->agg.grow_ns = sat_add(s->agg.grow_ns, ns);
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

void mp_maps_array_add_locked(mp_map_inst_t *m, void *p)
{
	/* p's own filter count is in already: a count of 1 is p's alone, so no entry is there
	 * to look for (a lookup is a cache miss or two once a million maps are alive). */
	mp_map_inst_t *o =
	    ((mp_filter_get(p) >> MP_FILTER_MAP_SHIFT) & 15) > 1 ? array_find(p) : NULL;
	if (o) /* a stale entry (its free was missed): it is p's second filter count */
		array_drop(o);
	if (m->array)
		array_drop(m);
	m->array = p;
	m->unseen = false;
	__atomic_store_n(&m->learned, NULL, __ATOMIC_RELAXED);
	m->ah.hash = mix((uintptr_t)p);
	if (!htab_insert(&arrays, &m->ah)) {
		mp_filter_remove_map(p);
		m->array = NULL;
		mp_maps_hint_unseen(); /* an array we do not know: as one we did not see */
		return;
	}
	/* Only for a map some insert looked up: any other finds it through the lock once. Its
	 * array's slot may hold a stale "no instance" answer: a read checks the filter first. */
	if (m->hinted)
		mp_maps_hint_put_locked(m, p);
}

size_t mp_maps_array_count_locked(void)
{
	return arrays.n;
}

mp_map_inst_t *mp_maps_array_owner_locked(const void *p)
{
	return array_find(p);
}

static void rekey(mp_map_inst_t *m, uintptr_t key)
{
	htab_remove(&insts, &m->h);
	m->key = key;
	m->h.hash = mix(key);
	htab_insert(&insts, &m->h); /* cannot fail: the table just lost an entry */
}

void mp_maps_detach_locked(mp_map_inst_t *m)
{
	__atomic_store_n(&m->learned, NULL, __ATOMIC_RELAXED); /* the map here now is not it */
	mp_maps_cxx_uncache_locked(m); /* its count so far is its own: the map here now is not it */
	rekey(m, mp_maps_key(m->key & 3, m->array));
}

void mp_maps_rekey_locked(mp_map_inst_t *m, uintptr_t key, uint64_t now)
{
	mp_map_inst_t *o = mp_maps_find_locked(key);
	if (o == m)
		return;
	if (o && o->array)
		mp_maps_detach_locked(o);
	else if (o)
		mp_maps_kill_locked(o, now);
	rekey(m, key);
}

mp_map_inst_t *mp_maps_array_remove_locked(void *p, mp_map_inst_t *hint)
{
	mp_map_inst_t *m = hint && hint->array == p ? hint : array_find(p);
	if (m)
		array_drop(m);
	return m;
}

void mp_maps_adopt_locked(mp_map_inst_t *old, mp_map_inst_t *fresh, uint64_t bytes)
{
	mp_map_site_t *fs = fresh->site, *os = old->site;
	/* Undo what fresh's one grow and its creation added to fresh's site. */
	fs->agg.instances--;
	live_add(fs, -1);
	fs->agg.grows--;
	fs->agg.grow_bytes -= bytes;
	fs->agg.heap_grow_bytes -= bytes; /* its array was seen: adoption needs that */
	if (fresh->explicit_grow)
		fs->agg.reserved--;
	if (fresh->copy) /* not a copy: the map it was, moved here */
		fs->agg.copies--;
	if (fresh->lf_lowered) /* its one grow was an insert's: its reserve was old's */
		fs->agg.lf_lowered--;
	os->agg.grows++;
	os->agg.grow_bytes += bytes;
	os->agg.heap_grow_bytes += bytes;
	old->grows++;
	old->buckets = fresh->buckets;
	if (fresh->array && fresh->hinted) /* what inserts counted for fresh since its grow */
		mp_maps_hint_drop_locked(fresh, fresh->array);
	if (fresh->max_size > old->size)
		mp_maps_set_size_locked(old, fresh->max_size);
	for (unsigned i = 0; i < fresh->ntids && i < MP_MAP_TIDS; i++)
		add_tid(old, fresh->tids[i]);
	if (fresh->explicit_grow && !old->explicit_grow && old->grows == 1) { /* its first */
		old->explicit_grow = true;
		os->agg.reserved++;
		os->flags |= MP_SITE_RESERVES;
	} else if (fresh->explicit_grow && old->grows > 1) { /* old's, after it was filled */
		late_reserve(old, fresh->buckets);
	}
	os->flags |= fresh->site->flags & MP_SITE_LOWLOAD; /* its grow's load factor too */
	htab_remove(&insts, &fresh->h);
	htab_remove(&insts, &old->h);
	old->key = fresh->key;
	old->h.hash = fresh->h.hash;
	if (old->array)
		array_drop(old);
	if (fresh->array) { /* fresh's array node becomes old's: same pointer, same filter count */
		htab_remove(&arrays, &fresh->ah);
		old->array = fresh->array;
		old->ah.hash = fresh->ah.hash;
		htab_insert(&arrays, &old->ah); /* cannot fail: the table just lost an entry */
		fresh->array = NULL;
		if (old->hinted || fresh->hinted)
			mp_maps_hint_put_locked(old, old->array);
	}
	htab_insert(&insts, &old->h); /* cannot fail: the table just lost two entries */
	fresh->serial = 0;
	fresh->h.next = (mp_hnode_t *)free_insts;
	free_insts = fresh;
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

mp_htab_t *mp_maps_pcgs_locked(void)
{
	return &pcgs;
}

/* --- the hooks the shim core calls (record.c) --- */

/* Guard held, no lock held. Only the unordered_map front end sets map_pending with a kind that
 * needs work here; uthash and the API label their own allocations. */
unsigned mp_maps_on_alloc(mp_tls_t *t, void *p, size_t size)
{
	unsigned kind = t->map_kind;
	mp_map_pending_set(t, 0);
	if (kind == MP_KIND_UNORDERED_MAP)
		return mp_maps_cxx_on_alloc(t, p, size);
	return kind;
}

/* Guard held, no lock held, before the real free: p hit the filter's map counter. */
void mp_maps_on_free(mp_tls_t *t, void *p)
{
	mp_maps_cxx_on_free(t, p);
}

void mp_maps_park(mp_tls_t *t, mp_maps_park_t *p)
{
	p->pending = t->map_pending;
	p->kind = t->map_kind;
	t->map_pending = 0;
}

void mp_maps_unpark(mp_tls_t *t, const mp_maps_park_t *p)
{
	/* Only the hook's own allocations and map events move the stage: still 1, the grow
	 * still waits (a handler's map grow of its own ends it, or leaves a wait of its own). */
	if (p->pending && !t->map_pending && mp_maps_tls.stage == 1) {
		t->map_kind = p->kind;
		t->map_pending = p->pending;
	}
}

void mp_maps_alloc_failed(mp_tls_t *t, size_t size)
{
	if (t->map_kind != MP_KIND_UNORDERED_MAP)
		return;
	t->guard++;
	mp_maps_cxx_alloc_failed(t, size);
	t->guard--;
}
