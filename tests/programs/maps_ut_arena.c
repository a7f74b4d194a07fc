/* SPDX-License-Identifier: MIT */
/* uthash with the program's own allocator (tests/integration/maps.sh): a bump arena over a
 * static buffer, reset per round, as uthash_malloc/uthash_free defined before the header
 * (which keeps them: expansions are still recorded). Its bucket arrays never reach malloc, so
 * their bytes are no share of the bytes allocated. */
#include <stdio.h>
#include <stdlib.h>
static char arena[1 << 20];
static size_t used;
static void *arena_alloc(size_t n)
{
	void *p = arena + used;
	used += (n + 15) & ~(size_t)15;
	return used <= sizeof(arena) ? p : NULL;
}
#define uthash_malloc(sz)  arena_alloc(sz)
#define uthash_free(p, sz) ((void)(p), (void)(sz))
#include "mapprof/uthash.h"

struct item {
	int key;
	UT_hash_handle hh;
};
static struct item items[1000];

int main(void)
{
	long sum = 0;
	for (int r = 0; r < 50; r++) {
		struct item *h = NULL;
		used = 0;
		for (int i = 0; i < 1000; i++) {
			items[i].key = i;
			HASH_ADD_INT(h, key, &items[i]); /* ARENA_SITE */
		}
		sum += HASH_COUNT(h);
		HASH_CLEAR(hh, h);
	}
	/* More through malloc than the tables' arrays: their share would show (the report takes
	 * bytes beyond everything allocated as not malloc's anyway). */
	for (int k = 0; k < 4; k++) {
		char *volatile big = malloc(8u << 20);
		free(big);
	}
	printf("checksum %ld\n", sum);
	return 0;
}
