/* SPDX-License-Identifier: MIT */
/* The ALLOCATOR section: the underlying allocator's own view at dump time. jemalloc through
 * mallctl when it is the allocator; glibc's mallinfo2 when glibc's malloc is. Looked up by
 * dlsym so neither is a link dependency. Both take the allocator's locks, which code a signal
 * handler interrupted may hold (a handler that called _exit hung the process in the final
 * dump): read only as the dump's mp_dump_stats says (mp.h). Guard held, no lock of ours held. */
#include <dlfcn.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "mapprof/dump_format.h"
#include "objects.h"
#include "stack.h"
#include "table.h"

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef struct mallinfo2 (*mallinfo2_fn)(void);

static void kv(mp_allocstats_t *s, const char *key, uint64_t v)
{
	if (s->n < MP_ALLOCSTATS_MAX) {
		s->key[s->n] = key;
		s->value[s->n++] = v;
	}
}

static bool same_object(void *a, void *bfn)
{
	return a && bfn && mp_loaded_object(a) && mp_loaded_object(a) == mp_loaded_object(bfn);
}

/* Looked up at start-up, with the real functions (init.c): a dlsym for a missing name at dump
 * time allocates its error text, which a dump from a handler that interrupted malloc cannot. */
static mallctl_fn mallctl_p;
static mallinfo2_fn mallinfo2_p;
static uintptr_t brk0; /* the program break at start-up (heap_small) */

void mp_allocstats_init(void)
{
	void *b = sbrk(0);
	brk0 = b == (void *)-1 ? 0 : (uintptr_t)b;
	/* The program's allocator: the one we forward to, unless another listed before us takes
	 * its calls (jemalloc first in LD_PRELOAD): glibc's figures, all zeros, were shown then. */
	void *used = dlsym(RTLD_DEFAULT, "malloc");
	if (!used || same_object(used, (void *)mp_allocstats_init))
		used = (void *)mp_real.malloc;
	mallctl_fn mallctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
	if (mallctl && same_object((void *)mallctl, used)) {
		mallctl_p = mallctl;
		return;
	}
	mallinfo2_fn mi2 = (mallinfo2_fn)dlsym(RTLD_DEFAULT, "mallinfo2");
	if (mi2 && same_object((void *)mi2, used))
		mallinfo2_p = mi2;
}

/* glibc's mallinfo2 walks every free chunk, holding the arena's lock: 0.8 s, with every malloc
 * of the program waiting, in a process whose 180 MB of small maps had just been freed. So it is
 * read only where the heap stayed small: the main arena's extent (the program break since
 * start-up, inherited by a fork child, whose in-use estimate starts afresh) and the in-use
 * estimate's peak, which covers the other arenas (one sample weighs about the rate: at rates
 * above 8 MiB, twice the rate; unknown at rate 0). jemalloc's counters are kept up to date and
 * cost nothing to read. */
#define MALLINFO_HEAP_MAX ((uint64_t)16 << 20)

static bool heap_small(void)
{
	uintptr_t b = (uintptr_t)sbrk(0); /* glibc's cached break: no system call */
	if (brk0 && b != (uintptr_t)-1 && b > brk0 && b - brk0 > MALLINFO_HEAP_MAX)
		return false;
	if (mp_config.rate == 0)
		return true;
	uint64_t most =
	    mp_config.rate > MALLINFO_HEAP_MAX / 2 ? 2 * mp_config.rate : MALLINFO_HEAP_MAX;
	return mp_table_peak_est() <= most;
}

void mp_allocstats_read(mp_allocstats_t *s, bool read)
{
	s->n = 0;
	mallctl_fn mallctl = read ? mallctl_p : NULL;
	mallinfo2_fn mi2 = read && heap_small() ? mallinfo2_p : NULL;
	if (mallctl) {
		uint64_t epoch = 1;
		size_t sz = sizeof(epoch);
		mallctl("epoch", &epoch, &sz, &epoch, sz);
		static const char *const names[][2] = {
		    {"stats.allocated", "jemalloc.stats.allocated"},
		    {"stats.active", "jemalloc.stats.active"},
		    {"stats.resident", "jemalloc.stats.resident"},
		    {"stats.mapped", "jemalloc.stats.mapped"}};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t v = 0;
			sz = sizeof(v);
			if (mallctl(names[i][0], &v, &sz, NULL, 0) == 0)
				kv(s, names[i][1], v);
		}
	} else if (mi2) {
		struct mallinfo2 m = mi2();
		kv(s, "glibc.arena", m.arena);
		kv(s, "glibc.ordblks", m.ordblks);
		kv(s, "glibc.hblkhd", m.hblkhd);
		kv(s, "glibc.uordblks", m.uordblks);
		kv(s, "glibc.fordblks", m.fordblks);
		kv(s, "glibc.keepcost", m.keepcost);
	}
}

void mp_allocstats_dump(struct mp_buf *b, const mp_allocstats_t *s)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_ALLOCATOR);
	mp_buf_u32(b, s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		mp_buf_str(b, s->key[i], strlen(s->key[i]));
		mp_buf_u64(b, s->value[i]);
	}
	mp_buf_section_end(b, at);
}
