/* SPDX-License-Identifier: MIT */
/* mmap-backed internal allocator: bump allocation from 1 MiB chunks, power-of-two free lists
 * for reuse (tables that grow give their old arrays back), and direct mappings for large
 * blocks. All profiler metadata comes from here, so the program's heap never holds ours. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
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

static unsigned size_class(size_t size)
{
	unsigned c = 4; /* 16 bytes */
	while (((size_t)1 << c) < size)
		c++;
	return c;
}

static void *map_pages(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mapped += size;
	return p;
}

void *mp_arena_alloc(size_t size)
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
		p = map_pages(csize); /* fresh anonymous pages are already zero */
		pthread_mutex_unlock(&arena_lock);
		return p;
	}
	/* Power-of-two blocks from a chunk, aligned to min(size, 64): a bump allocator whose
	 * blocks never straddle cache lines needlessly. */
	size_t align = csize < 64 ? csize : 64;
	char *cur = (char *)(((uintptr_t)chunk_cur + align - 1) & ~(uintptr_t)(align - 1));
	if (!chunk_cur || cur + csize > chunk_end) {
		char *chunk = map_pages(CHUNK);
		if (!chunk) {
			pthread_mutex_unlock(&arena_lock);
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
