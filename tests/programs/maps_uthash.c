/* SPDX-License-Identifier: MIT */
/* uthash growth, counted by the program itself: each site watches num_buckets after every add
 * and prints how many expansions and tables it made. Built twice (Makefile): with
 * `-include mapprof/uthash.h` (maps_uthash) and plain (maps_uthash_plain). The output must not
 * depend on the shim. Sites: ut_loop (tables of growing sizes, emptied item by item, so each is
 * destroyed by deleting its last item), ut_clear (one big table, HASH_CLEAR). */
#include <stdio.h>
#include <stdlib.h>
#include "uthash.h"

struct item {
	int key;
	UT_hash_handle hh;
};

static struct item *pool;

/* Adds n items to *head, counting bucket-count changes. */
static unsigned fill(struct item **head, int base, int n)
{
	unsigned grows = 0;
	for (int i = 0; i < n; i++) {
		struct item *it = &pool[base + i];
		it->key = base + i;
		unsigned before = *head ? (*head)->hh.tbl->num_buckets : 0;
		HASH_ADD_INT(*head, key, it);
		if (before && (*head)->hh.tbl->num_buckets != before)
			grows++;
	}
	return grows;
}

__attribute__((noinline)) void ut_loop(int tables, unsigned *grows)
{
	for (int t = 0; t < tables; t++) {
		struct item *head = NULL, *it, *tmp;
		int seen = 0;
		unsigned b = 0;
		for (int i = 0; i < 50 + t * 40; i++) {
			struct item *x = &pool[i];
			x->key = i;
			b = head ? head->hh.tbl->num_buckets : 0;
			HASH_ADD_INT(head, key, x);
			if (b && head->hh.tbl->num_buckets != b)
				seen++;
		}
		*grows += (unsigned)seen;
		HASH_ITER(hh, head, it, tmp)
		{
			HASH_DEL(head, it); /* the last one frees the table */
		}
	}
}

__attribute__((noinline)) unsigned ut_clear(int n)
{
	struct item *head = NULL;
	unsigned grows = fill(&head, 0, n);
	HASH_CLEAR(hh, head);
	return grows;
}

int main(void)
{
	pool = calloc(10000, sizeof(*pool));
	unsigned loop_grows = 0;
	ut_loop(20, &loop_grows);
	unsigned clear_grows = ut_clear(5000);
	printf("ut_loop instances 20 grows %u\n", loop_grows);
	printf("ut_clear instances 1 grows %u size 5000\n", clear_grows);
	free(pool);
	return 0;
}
