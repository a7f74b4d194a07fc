/* SPDX-License-Identifier: MIT */
/* presize for uthash with small tables in the same file (tests/integration/churn.sh; built with
 * -include mapprof/uthash.h): uthash's initial size is one for the whole file from its #define
 * on, so the suggestion for load_table's tables of 600 items would give tag_table's tables of
 * two items its 512 buckets too (14 times their bytes, seen): the suggestion names them. */
#include <stdio.h>
#include <stdlib.h>
#include "uthash.h"

struct item {
	int key, value;
	UT_hash_handle hh;
};

static void drop(struct item **head)
{
	struct item *it, *tmp;
	HASH_ITER(hh, *head, it, tmp)
	{
		HASH_DEL(*head, it);
		free(it);
	}
}

__attribute__((noinline)) static long load_table(int n)
{
	struct item *head = NULL;
	for (int k = 0; k < n; k++) {
		struct item *it = malloc(sizeof(*it));
		it->key = k * 13;
		it->value = k;
		HASH_ADD_INT(head, key, it); /* SITE_LOAD */
	}
	long sum = HASH_COUNT(head);
	drop(&head);
	return sum;
}

__attribute__((noinline)) static long tag_table(int n)
{
	struct item *head = NULL;
	for (int k = 0; k < n; k++) {
		struct item *it = malloc(sizeof(*it));
		it->key = k;
		it->value = k;
		HASH_ADD_INT(head, key, it); /* SITE_TAGS */
	}
	long sum = HASH_COUNT(head);
	drop(&head);
	return sum;
}

int main(void)
{
	long sum = 0;
	for (int t = 0; t < 40; t++)
		sum += load_table(600) + tag_table(2);
	printf("checksum %ld\n", sum);
	return 0;
}
