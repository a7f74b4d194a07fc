/* SPDX-License-Identifier: MIT */
/* Objects unloaded by dlclose. The OBJECTS section lists what is loaded at the dump, so without
 * this the stacks through a plugin closed before the dump had no object (unsymbolized), and a
 * library loaded later at the same address took them over.
 *
 * dlclose is interposed: the objects loaded before the real call and missing after it are
 * retired, each with a copy of its OBJECTS entry and an unload epoch (1, 2, ... in order).
 * Interned stacks carry a key (table.c): the highest epoch among the retired ranges that
 * cover one of their pcs when they were interned, so the same pcs captured before and after a
 * reload are two stacks. The reader finds a pc's object as the first retired one covering it
 * with an epoch above the stack's key, else the loaded one (DUMP_FORMAT.md, sections 9, 10):
 * every retirement covering the pc after the key was taken came after the capture.
 *
 * Every close that unloads gets its record, even of the same library at the same address: the
 * stacks captured through one load must not be taken for those of the next, which may be
 * another library. So a plugin closed and reopened N times has N records and its stacks up to
 * N ids (identical, they merge in the profile). The key costs a look at the few distinct
 * retired ranges per pc, and only on a stack not found in the thread's caches. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include "arena.h"
#include "mapprof/dump_format.h"
#include "objects.h"
#include "stack.h"
#include "table.h"
#include "unload.h"

struct retired {
	mp_object_t o; /* strings copied into the arena */
	uint32_t epoch;
};

/* The distinct address ranges retired so far, read without a lock by mp_unload_key: entries
 * are written before nranges publishes them, and epoch is an atomic. Fixed capacity, so that
 * a reader never sees the array move. */
#define MAX_RANGES 1024
struct range {
	uint64_t start, limit;
	uint32_t epoch; /* of the range's last retirement */
	uint32_t last;	/* its index in recs */
};

/* lock: writers of everything below (dlclose, fork child re-inits it); the dump reads recs
 * under it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *ranges;
static uint32_t nranges;
static struct retired *recs;
static uint32_t nrecs, cap_recs;
static uint32_t epoch;
static bool warned;
static int (*next_dlclose)(void *);

void mp_unload_init(void)
{
	next_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
}

uint32_t mp_unload_key(const uintptr_t *pc, int n)
{
	uint32_t nr = __atomic_load_n(&nranges, __ATOMIC_ACQUIRE);
	if (mp_likely(nr == 0))
		return 0;
	uint32_t key = 0;
	for (int i = 0; i < n; i++)
		for (uint32_t r = 0; r < nr; r++) {
			const struct range *g = &ranges[r];
			if (pc[i] > g->start && pc[i] <= g->limit) { /* a return address */
				uint32_t e = __atomic_load_n(&g->epoch, __ATOMIC_RELAXED);
				key = e > key ? e : key;
			}
		}
	return key;
}

static char *copy(const void *p, size_t n)
{
	char *c = mp_arena_alloc(n + 1);
	if (c && n)
		memcpy(c, p, n);
	return c;
}

/* Lock held. Records o (whose strings are still mapped) as unloaded; false when out of room. */
static bool retire_locked(const mp_object_t *o)
{
	struct range *g = NULL;
	for (uint32_t r = 0; r < nranges; r++)
		if (ranges[r].start == o->start && ranges[r].limit == o->limit)
			g = &ranges[r];
	if (!g && nranges == MAX_RANGES)
		return false;
	if (!ranges && !(ranges = mp_arena_alloc(MAX_RANGES * sizeof(*ranges))))
		return false;
	if (nrecs == cap_recs) {
		uint32_t ncap = cap_recs ? 2 * cap_recs : 16;
		struct retired *nv = mp_arena_alloc(ncap * sizeof(*nv));
		if (!nv)
			return false;
		if (recs) {
			memcpy(nv, recs, nrecs * sizeof(*nv));
			mp_arena_free(recs, cap_recs * sizeof(*nv));
		}
		recs = nv;
		cap_recs = ncap;
	}
	struct retired *r = &recs[nrecs];
	r->o = *o;
	r->o.path = copy(o->path, o->path_len);
	r->o.build_id = (const uint8_t *)copy(o->build_id, o->build_id_len);
	if (!r->o.path || !r->o.build_id)
		return false;
	r->epoch = ++epoch;
	if (g) {
		g->last = nrecs;
		__atomic_store_n(&g->epoch, r->epoch, __ATOMIC_RELAXED);
	} else {
		ranges[nranges] = (struct range){o->start, o->limit, r->epoch, nrecs};
		__atomic_store_n(&nranges, nranges + 1, __ATOMIC_RELEASE);
	}
	nrecs++;
	return true;
}

/* --- the snapshot around the real dlclose --- */

/* The loaded objects but the executable, with copies of their strings: an object that goes
 * away takes its own with it. */
struct snap {
	mp_object_t *o;
	uint32_t n, cap;
	bool failed;
};

static void snap_free(struct snap *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		mp_arena_free((void *)s->o[i].path, s->o[i].path_len + 1);
		mp_arena_free((void *)s->o[i].build_id, s->o[i].build_id_len + 1);
	}
	if (s->o)
		mp_arena_free(s->o, s->cap * sizeof(*s->o));
}

static int snap_one(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct snap *s = data;
	mp_object_t o;
	char path[MP_OBJECT_PATH_MAX]; /* a relative name's file: copied below */
	if (!info->dlpi_name || !info->dlpi_name[0] || !mp_object_of(info, path, &o))
		return 0; /* the executable (never unloaded), or no code */
	if (s->n == s->cap) {
		uint32_t ncap = s->cap ? 2 * s->cap : 64;
		mp_object_t *nv = mp_arena_alloc(ncap * sizeof(*nv));
		if (!nv) {
			s->failed = true;
			return 1;
		}
		if (s->o) {
			memcpy(nv, s->o, s->n * sizeof(*nv));
			mp_arena_free(s->o, s->cap * sizeof(*nv));
		}
		s->o = nv;
		s->cap = ncap;
	}
	o.path = copy(o.path, o.path_len);
	o.build_id = (const uint8_t *)copy(o.build_id, o.build_id_len);
	if (!o.path || !o.build_id) {
		s->failed = true;
		return 1;
	}
	s->o[s->n++] = o;
	return 0;
}

struct after {
	const struct snap *before;
	bool *loaded; /* per snapshot entry: still loaded after the close */
};

static int mark_loaded(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct after *a = data;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0; /* the executable, not in the snapshot */
	/* Two loaded objects never share a load bias: the same bias is the same object (the
	 * snapshot's path may be the resolved file of a relative name). */
	for (uint32_t i = 0; i < a->before->n; i++)
		if (a->before->o[i].bias == info->dlpi_addr)
			a->loaded[i] = true;
	return 0;
}

/* Guard held, after the real dlclose: retires what the snapshot had and the loader lost. */
static void retire_gone(struct snap *s)
{
	bool *loaded = mp_arena_alloc(s->n ? s->n : 1);
	if (!loaded)
		return;
	struct after a = {s, loaded};
	dl_iterate_phdr(mark_loaded, &a);
	bool changed = false, full = false;
	pthread_mutex_lock(&lock);
	uint32_t before = epoch;
	for (uint32_t i = 0; i < s->n; i++)
		if (!loaded[i] && !retire_locked(&s->o[i]))
			full = true;
	changed = epoch != before;
	pthread_mutex_unlock(&lock);
	mp_arena_free(loaded, s->n ? s->n : 1);
	if (changed) {
		/* Cached stack ids may stand for pcs whose object just changed. */
		mp_table_forget_cached();
		mp_stack_cache_forget_all();
	}
	if (full && !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		mp_log("cannot record more unloaded libraries; stacks through later ones may be "
		       "attributed to what is loaded at the dump");
}

MP_EXPORT int dlclose(void *handle)
{
	mp_tls_t *t = &mp_tls;
	if (mp_unlikely(!next_dlclose))
		next_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
	if (mp_state != MP_READY || t->guard || !next_dlclose)
		return next_dlclose ? next_dlclose(handle) : -1;
	struct snap s = {0};
	t->guard++;
	dl_iterate_phdr(snap_one, &s);
	t->guard--;
	int r = next_dlclose(handle); /* runs the library's destructors: the program's code */
	t->guard++;
	if (!s.failed)
		retire_gone(&s);
	snap_free(&s);
	t->guard--;
	return r;
}

void mp_unload_dump(struct mp_buf *b)
{
	pthread_mutex_lock(&lock);
	if (nrecs) {
		size_t at = mp_buf_section_begin(b, MP_SEC_UNLOADED);
		mp_buf_u32(b, nrecs);
		for (uint32_t i = 0; i < nrecs; i++) {
			mp_object_put(b, &recs[i].o);
			mp_buf_u32(b, recs[i].epoch);
		}
		mp_buf_section_end(b, at);
	}
	pthread_mutex_unlock(&lock);
}

void mp_unload_reset_child(void)
{
	pthread_mutex_init(&lock, NULL);
}
