/* SPDX-License-Identifier: MIT */
/* uthash tables that start with 4 buckets (tests/integration/maps.sh): 4 x 16 bytes is as large
 * as the UT_hash_table itself, so the shim cannot tell the first bucket array from a table by
 * its size. Built with mapprof/uthash.h force-included. Counts its own tables and expansions by
 * watching num_buckets; prints "tables N grows G items K". Then tables that start with 2
 * buckets, whose expansion to 4 allocates a table-sized array: 50 of 25 items in two_big, each
 * followed by one of 3 items in two_small (which must still be seen); prints
 * "two_big T grows G two_small S". The header tells those 4-bucket arrays from tables by the
 * text of uthash's size expressions. */
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

#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS_LOG2 1U
#define HASH_INITIAL_NUM_BUCKETS      2U

/* The two sites must be apart: a lost table at one and a fake one at the other would add up. */
#define FILL_TWO(items, grows)                                                                     \
	struct item *head = NULL;                                                                  \
	for (int k = 0; k < (items); k++) {                                                        \
		struct item *it = calloc(1, sizeof(*it));                                          \
		if (!it)                                                                           \
			exit(1);                                                                   \
		it->key = k;                                                                       \
		unsigned before = head ? head->hh.tbl->num_buckets : 0;                            \
		HASH_ADD_INT(head, key, it);                                                       \
		if (before && head->hh.tbl->num_buckets > before)                                  \
			(*(grows))++;                                                              \
	}                                                                                          \
	return head

static __attribute__((noinline)) struct item *two_big(unsigned *grows)
{
	FILL_TWO(25, grows);
}

static __attribute__((noinline)) struct item *two_small(unsigned *grows)
{
	FILL_TWO(3, grows);
}

static void drop(struct item *head)
{
	struct item *it, *tmp;
	HASH_ITER(hh, head, it, tmp)
	{
		HASH_DEL(head, it);
		free(it);
	}
}

int main(void)
{
	unsigned grows = 0, grows2 = 0;
	for (int n = 0; n < TABLES; n++)
		grows += fill_small();
	printf("tables %d grows %u items %d\n", TABLES, grows, ITEMS);
	for (int n = 0; n < 50; n++) {
		struct item *a = two_big(&grows2), *b = two_small(&grows2);
		drop(a);
		drop(b);
	}
	printf("two_big 50 grows %u two_small 50\n", grows2);
	return 0;
}
