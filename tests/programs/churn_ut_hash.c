/* SPDX-License-Identifier: MIT */
/* hash for uthash (tests/integration/churn.sh; built with -include mapprof/uthash.h): one index
 * table of 3000 items whose hash function takes only the key's low 2 bits, so every item lands
 * in one of 4 chains; after two expansions that do not help, uthash stops expanding the table
 * ("noexpand") and every lookup walks a chain of 750. Built with -DFIXED, uthash's own hash:
 * the table expands normally and hash must not fire. Prints
 * "index_table instances 1 grows G explicit 0 max 3000 grow_bytes B noexpand N". */
#include <stdio.h>
#include <stdlib.h>
#include "uthash.h"
#include "churn_common.h"

#ifndef FIXED
#undef HASH_FUNCTION
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = (unsigned)(*(const int *)(keyptr)) & 3u)
#endif

#define ITEMS 3000

struct item {
	int key;
	UT_hash_handle hh;
};

static unsigned grows, grow_bytes;

__attribute__((noinline)) static struct item *index_table(void)
{
	struct item *head = NULL;
	for (int k = 0; k < ITEMS; k++) {
		struct item *it = malloc(sizeof(*it));
		it->key = k;
		unsigned b = head ? head->hh.tbl->num_buckets : 0;
		HASH_ADD_INT(head, key, it); /* SITE */
		if (b && head->hh.tbl->num_buckets != b) {
			grows++;
			grow_bytes += head->hh.tbl->num_buckets * (unsigned)sizeof(UT_hash_bucket);
		}
	}
	return head;
}

int main(void)
{
	other_work(8 << 20, 50);
	struct item *head = index_table(), *it, *tmp;
	long sum = 0;
	for (int k = 0; k < ITEMS; k += 7) {
		HASH_FIND_INT(head, &k, it);
		sum += it ? it->key : -1;
	}
	printf("index_table instances 1 grows %u explicit 0 max %u grow_bytes %u noexpand %u\n",
	       grows, HASH_COUNT(head), grow_bytes, head->hh.tbl->noexpand);
	printf("checksum %ld\n", sum);
	HASH_ITER(hh, head, it, tmp)
	{
		HASH_DEL(head, it);
		free(it);
	}
	return 0;
}
