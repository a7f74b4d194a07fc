/* SPDX-License-Identifier: MIT */
/* mmap-backed internal allocator: bump allocation from 1 MiB chunks, power-of-two free lists
 * for reuse (tables that grow give their old arrays back), and direct mappings for large
 * blocks. All profiler metadata comes from here, so the program's heap never holds ours. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "arena.h"

#define CHUNK	   (1u << 20)
#define NCLASS	   48
#define DIRECT_MIN (256u << 10) /* blocks this large get their own mapping */

struct free_block {
	struct free_block *next;
};

/* All state below is written and read under arena_lock. A plain mutex: the arena is used only
 * on slow paths (sampled allocations, table growth, dumps), never on the unsampled fast path. */
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static char *chunk_cur, *chunk_end;
static struct free_block *free_lists[NCLASS];
static size_t mapped;
/* The profiler's share of the process's address-space or data limit: a quarter of the smaller.
 * Past it the tables stop growing: samples and map events are dropped, and said once, rather
 * than the program's own allocations failing for the profiler's sake (a program that fit its
 * limit plain ran out under the shim). Dump buffers are exempt: a profile that cannot be
 * written loses everything. The limits are read at each new mapping (1 MiB at least, rare):
 * they may change from outside (prlimit), and a vfork child's setrlimit is not the parent's. */
static size_t cap; /* the last one computed, for the line */
static bool cap_reached;
/* Whether a line said the profiler ran short of memory: one line per process, whichever comes
 * first, the cap's or a dropped sample's (both can happen in one run: an mmap refused by the
 * limit itself, then the cap, in an order the layout decides). */
static bool short_said;

static size_t limit_of(int resource)
{
	struct rlimit r;
	return getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY ? (size_t)r.rlim_cur
									   : SIZE_MAX;
}

/* Arena lock held: whether `size` more bytes mapped would pass the cap. */
static bool over_cap(size_t size)
{
	size_t as = limit_of(RLIMIT_AS), data = limit_of(RLIMIT_DATA);
	size_t lim = as < data ? as : data;
	if (lim == SIZE_MAX)
		return false;
	cap = lim / 4;
	return mapped + size > cap;
}

static unsigned size_class(size_t size)
{
	unsigned c = 4; /* 16 bytes */
	while (((size_t)1 << c) < size)
		c++;
	return c;
}

static void *map_pages(size_t size, bool capped)
{
	if (capped && over_cap(size)) {
		__atomic_store_n(&cap_reached, true, __ATOMIC_RELAXED);
		return NULL;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mapped += size;
	return p;
}

/* Out of line, after the lock: the line that the cap was reached, once. */
static __attribute__((noinline, cold)) void say_cap(void)
{
	if (!mp_arena_short_first())
		return;
	char msg[200];
	snprintf(msg, sizeof(msg),
		 "the profiler's memory reached its share of the process's memory limit (%.1f MiB, "
		 "a quarter of it): from now on new stacks, samples and map events are dropped",
		 (double)cap / (1 << 20));
	mp_log(msg);
}

static void *alloc(size_t size, bool capped)
{
	if (size == 0)
		size = 1;
	unsigned c = size_class(size);
	if (c >= NCLASS)
		return NULL;
	size_t csize = (size_t)1 << c;
	void *p = NULL;
	pthread_mutex_lock(&arena_lock);
	if (free_lists[c]) {
		p = free_lists[c];
		free_lists[c] = free_lists[c]->next;
		pthread_mutex_unlock(&arena_lock);
		memset(p, 0, csize);
		return p;
	}
	if (csize >= DIRECT_MIN) {
		p = map_pages(csize, capped); /* fresh anonymous pages are already zero */
		bool said = !p && cap_reached;
		pthread_mutex_unlock(&arena_lock);
		if (said)
			say_cap();
		return p;
	}
	/* Power-of-two blocks from a chunk, aligned to min(size, 64): a bump allocator whose
	 * blocks never straddle cache lines needlessly. */
	size_t align = csize < 64 ? csize : 64;
	char *cur = (char *)(((uintptr_t)chunk_cur + align - 1) & ~(uintptr_t)(align - 1));
	if (!chunk_cur || cur + csize > chunk_end) {
		char *chunk = map_pages(CHUNK, capped);
		if (!chunk) {
			bool said = cap_reached;
			pthread_mutex_unlock(&arena_lock);
			if (said)
				say_cap();
			return NULL;
		}
		chunk_cur = chunk;
		chunk_end = chunk + CHUNK;
		cur = chunk;
	}
	p = cur;
	chunk_cur = cur + csize;
	pthread_mutex_unlock(&arena_lock);
	return p; /* chunk memory is handed out once, so it is still zero */
}

void *mp_arena_alloc(size_t size)
{
	return alloc(size, true);
}

void *mp_arena_alloc_dump(size_t size)
{
	return alloc(size, false);
}

bool mp_arena_short_first(void)
{
	return !__atomic_exchange_n(&short_said, true, __ATOMIC_RELAXED);
}

void mp_arena_short_reset(void)
{
	__atomic_store_n(&short_said, false, __ATOMIC_RELAXED);
}

void mp_arena_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size == 0)
		size = 1;
	unsigned c = size_class(size);
	size_t csize = (size_t)1 << c;
	pthread_mutex_lock(&arena_lock);
	if (csize >= DIRECT_MIN) {
		munmap(p, csize);
		mapped -= csize;
	} else {
		struct free_block *b = p;
		b->next = free_lists[c];
		free_lists[c] = b;
	}
	pthread_mutex_unlock(&arena_lock);
}

size_t mp_arena_mapped(void)
{
	pthread_mutex_lock(&arena_lock);
	size_t m = mapped;
	pthread_mutex_unlock(&arena_lock);
	return m;
}

void mp_arena_lock(void)
{
	pthread_mutex_lock(&arena_lock);
}

void mp_arena_unlock(void)
{
	pthread_mutex_unlock(&arena_lock);
}
