/* SPDX-License-Identifier: MIT */
/* Objects unloaded by dlclose. The OBJECTS section lists what is loaded at the dump, so without
 * this the stacks through a plugin closed before the dump had no object (unsymbolized), and a
 * library loaded later at the same address took them over.
 *
 * dlclose is interposed: the objects loaded before the real call and missing after it are
 * retired, each with its OBJECTS entry and an unload epoch (1, 2, ... in order). Interned stacks
 * carry a key (table.c): the highest epoch among the retired ranges that cover one of their pcs
 * when they were interned, so the same pcs captured before and after a reload are two stacks.
 * The reader finds a pc's object as the first retired one covering it with an epoch above the
 * stack's key, else the loaded one (DUMP_FORMAT.md, sections 9, 10): every retirement covering
 * the pc after the key was taken came after the capture.
 *
 * The loaded objects' entries (path resolved, build ID copied) are kept between closes
 * (`known`): before the real call every loaded object gets one; after it, under track_lock,
 * every entry whose object is gone is retired and removed. So two threads closing at once
 * retire an object once (whoever looks first), and a close costs two walks of the loader's
 * list, not a copy of every object. track_lock is never held across the real dlclose: a
 * library constructor running under the loader's lock may itself call dlclose.
 *
 * Every close that unloads gets its record, even of the same library at the same address: the
 * stacks captured through one load must not be taken for those of the next, which may be
 * another library. So a plugin closed and reopened N times has N records and its stacks up to
 * N ids (identical, they merge in the profile). The key costs a look at the distinct retired
 * ranges per pc, and only on a stack not found in the thread's caches. */
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
	mp_object_t o; /* strings in the arena */
	uint32_t epoch;
};

/* The distinct address ranges retired so far, read without a lock by mp_unload_key. A set is
 * never changed but by appending (entries written before n is published) and by the epoch of
 * an entry (an atomic); a full one is replaced by a copy twice its size, the old one left in
 * place for readers still on it. */
struct range {
	uint64_t start, limit;
	uint32_t epoch; /* of the range's last retirement */
};
struct range_set {
	uint32_t n, cap;
	struct range r[];
};

/* lock: the records and ranges (dlclose writes, the dump reads; the fork child re-inits it). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range_set *ranges;
static struct retired *recs;
static uint32_t nrecs, cap_recs;
static uint32_t epoch;

/* track_lock: the loaded objects seen so far (by load bias: two loaded objects never share
 * one). tracking: this thread is inside a tracked close (a library destructor closing another
 * library: glibc defers that one to the outer close, whose second walk sees it go). */
static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
struct known {
	const char *name; /* dlpi_name as the loader has it (copy) */
	mp_object_t o;	  /* path resolved, strings copied */
	uint64_t age;	  /* order first seen: an object seen earlier was loaded earlier */
	uint32_t seen;	  /* the pass of retire_gone's last walk that found it loaded */
	bool replaced;	  /* another object is at its bias now: gone, to be retired */
};
static uint64_t ages;
static struct known *known;
static uint32_t nknown, cap_known, pass;
static __thread bool tracking __attribute__((tls_model("initial-exec")));
static bool warned;
static int (*next_dlclose)(void *);

void mp_unload_init(void)
{
	next_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
}

uint32_t mp_unload_key(const uintptr_t *pc, int n)
{
	const struct range_set *rs = __atomic_load_n(&ranges, __ATOMIC_ACQUIRE);
	if (mp_likely(rs == NULL))
		return 0;
	uint32_t nr = __atomic_load_n(&rs->n, __ATOMIC_ACQUIRE), key = 0;
	for (int i = 0; i < n; i++)
		for (uint32_t r = 0; r < nr; r++) {
			const struct range *g = &rs->r[r];
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

/* Grows an arena array of elem-sized items to hold want; false on no memory. */
static bool grow(void **arr, uint32_t *cap, size_t elem, uint32_t want)
{
	if (want <= *cap)
		return true;
	uint32_t ncap = *cap ? 2 * *cap : 16;
	void *nv = mp_arena_alloc(ncap * elem);
	if (!nv)
		return false;
	if (*arr) {
		memcpy(nv, *arr, *cap * elem);
		mp_arena_free(*arr, *cap * elem);
	}
	*arr = nv;
	*cap = ncap;
	return true;
}

/* lock held. The range entry for [start, limit), added if new; NULL on no memory. */
static struct range *range_of(uint64_t start, uint64_t limit)
{
	struct range_set *rs = ranges;
	for (uint32_t r = 0; rs && r < rs->n; r++)
		if (rs->r[r].start == start && rs->r[r].limit == limit)
			return &rs->r[r];
	if (!rs || rs->n == rs->cap) {
		uint32_t cap = rs ? 2 * rs->cap : 64;
		struct range_set *nrs = mp_arena_alloc(sizeof(*nrs) + cap * sizeof(nrs->r[0]));
		if (!nrs)
			return NULL;
		nrs->cap = cap;
		if (rs) {
			memcpy(nrs->r, rs->r, rs->n * sizeof(rs->r[0]));
			nrs->n = rs->n;
		}
		__atomic_store_n(&ranges, nrs, __ATOMIC_RELEASE); /* the old set stays readable */
		rs = nrs;
	}
	rs->r[rs->n] = (struct range){start, limit, 0};
	__atomic_store_n(&rs->n, rs->n + 1, __ATOMIC_RELEASE);
	return &rs->r[rs->n - 1];
}

/* Records the object of k as unloaded (its strings move into the record); false on no memory. */
static bool retire(struct known *k)
{
	pthread_mutex_lock(&lock);
	bool ok = grow((void **)&recs, &cap_recs, sizeof(*recs), nrecs + 1);
	struct range *g = ok ? range_of(k->o.start, k->o.limit) : NULL;
	if (g) {
		recs[nrecs] = (struct retired){k->o, ++epoch};
		__atomic_store_n(&g->epoch, epoch, __ATOMIC_RELAXED);
		nrecs++;
	}
	pthread_mutex_unlock(&lock);
	return g != NULL;
}

/* --- around the real dlclose (track_lock held) --- */

/* The entry of the object loaded at bias, searched from the one after the last found: the
 * loader lists its objects in the same order at every walk, so this is mostly one compare. */
static uint32_t hint;

static struct known *find_known(uint64_t bias)
{
	for (uint32_t j = 0; j < nknown; j++) {
		uint32_t i = (hint + j) % nknown;
		if (known[i].o.bias == bias && !known[i].replaced) {
			hint = i + 1;
			return &known[i];
		}
	}
	return NULL;
}

/* Drops entry f (its strings, those not moved into a record) from the table. */
static void forget(struct known *f)
{
	mp_arena_free((void *)f->name, strlen(f->name) + 1);
	if (f->o.path)
		mp_arena_free((void *)f->o.path, f->o.path_len + 1);
	if (f->o.build_id)
		mp_arena_free((void *)f->o.build_id, f->o.build_id_len + 1);
	*f = known[--nknown];
}

/* Records the object of entry f as unloaded and drops the entry. track_lock held. */
static void retire_entry(struct known *f)
{
	if (retire(f)) {
		f->o.path = NULL; /* moved into the record */
		f->o.build_id = NULL;
		/* Cached stack ids may stand for pcs whose object just changed. */
		mp_table_forget_cached();
		mp_stack_cache_forget_all();
	} else if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED)) {
		mp_log("out of memory for unloaded libraries; stacks through later ones may be "
		       "unnamed or named after what is loaded at the dump");
	}
	forget(f);
}

static int note_before(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const char *name = info->dlpi_name;
	if (!name || !name[0])
		return 0; /* the executable, never unloaded */
	struct known *f = find_known(info->dlpi_addr);
	if (f && !strcmp(f->name, name))
		return 0; /* known already */
	if (f) /* another object at that bias: the old one is gone, closed by a thread whose
		* second walk has not come yet; retired with the others, in order */
		f->replaced = true;
	char path[MP_OBJECT_PATH_MAX]; /* a relative name's file: copied below */
	mp_object_t o;
	if (!mp_object_of(info, path, &o) ||
	    !grow((void **)&known, &cap_known, sizeof(*known), nknown + 1))
		return 0;
	struct known k = {copy(name, strlen(name)), o, ++ages, pass, false};
	k.o.path = copy(o.path, o.path_len);
	k.o.build_id = (const uint8_t *)copy(o.build_id, o.build_id_len);
	if (k.name && k.o.path && k.o.build_id)
		known[nknown++] = k;
	return 0;
}

static int note_after(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* the same object: the same bias and name (another library may have been mapped where a
	 * closed one was, by another thread, before this walk) */
	struct known *f = find_known(info->dlpi_addr);
	if (f && info->dlpi_name && !strcmp(f->name, info->dlpi_name))
		f->seen = pass;
	return 0;
}

/* The objects known and no longer loaded are retired and forgotten. track_lock held. */
static void retire_gone(void)
{
	pass++;
	dl_iterate_phdr(note_after, NULL);
	/* Oldest first: of two objects gone over one range, the one loaded first was unloaded
	 * first, and the reader's rule needs the epochs in that order. */
	for (;;) {
		struct known *oldest = NULL;
		for (uint32_t i = 0; i < nknown; i++) {
			struct known *k = &known[i];
			if ((k->seen != pass || k->replaced) && (!oldest || k->age < oldest->age))
				oldest = k;
		}
		if (!oldest)
			break;
		retire_entry(oldest);
	}
}

MP_EXPORT int dlclose(void *handle)
{
	mp_tls_t *t = &mp_tls;
	if (mp_unlikely(!next_dlclose))
		next_dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
	if (mp_state != MP_READY || t->guard || tracking || !next_dlclose)
		return next_dlclose ? next_dlclose(handle) : -1;
	tracking = true;
	t->guard++;
	pthread_mutex_lock(&track_lock);
	dl_iterate_phdr(note_before, NULL);
	pthread_mutex_unlock(&track_lock);
	t->guard--;
	int r = next_dlclose(handle); /* runs the library's destructors: the program's code */
	t->guard++;
	pthread_mutex_lock(&track_lock);
	retire_gone();
	pthread_mutex_unlock(&track_lock);
	t->guard--;
	tracking = false;
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

/* The child of a fork made while another thread tracked a close: that close is not the child's,
 * and the table of loaded objects may be half updated; it is rebuilt at the next close. */
void mp_unload_reset_child(void)
{
	pthread_mutex_init(&lock, NULL);
	pthread_mutex_init(&track_lock, NULL);
	known = NULL;
	nknown = cap_known = 0;
	tracking = false;
}
