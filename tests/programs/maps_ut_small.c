/* SPDX-License-Identifier: MIT */
/* uthash tables that start with 4 buckets (tests/integration/maps.sh): 4 x 16 bytes is as large
 * as the UT_hash_table itself, so the shim cannot tell the first bucket array from a table by
 * its size. Built with mapprof/uthash.h force-included. Counts its own tables and expansions by
 * watching num_buckets; prints "tables N grows G items K". */
#include <stdio.h>
#include <stdlib.h>
#include <uthash.h>
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS_LOG2 2U
#define HASH_INITIAL_NUM_BUCKETS      4U

struct item {
	int key;
	UT_hash_handle hh;
};

#define TABLES 100
#define ITEMS  200

static __attribute__((noinline)) unsigned fill_small(void)
{
	struct item *head = NULL, *it, *tmp;
	unsigned grows = 0;
	for (int k = 0; k < ITEMS; k++) {
		it = calloc(1, sizeof(*it));
		if (!it)
			exit(1);
		it->key = k;
		unsigned before = head ? head->hh.tbl->num_buckets : 0;
		HASH_ADD_INT(head, key, it);
		if (before && head->hh.tbl->num_buckets > before)
			grows++;
	}
	HASH_ITER(hh, head, it, tmp)
	{
		HASH_DEL(head, it);
		free(it);
	}
	return grows;
}

int main(void)
{
	unsigned grows = 0;
	for (int n = 0; n < TABLES; n++)
		grows += fill_small();
	printf("tables %d grows %u items %d\n", TABLES, grows, ITEMS);
	return 0;
}
