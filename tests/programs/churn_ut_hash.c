/* SPDX-License-Identifier: MIT */
/* hash for uthash (tests/integration/churn.sh; built with -include mapprof/uthash.h): 12 index
 * tables of 3000 items, kept alive together, whose hash function takes only the key's low 2
 * bits, so every item lands in one of 4 chains; after two expansions that do not help, uthash
 * stops expanding each table ("noexpand") and every lookup walks a chain of 750. Those grows
 * come from the hash, not from the size: presizing (HASH_INITIAL_NUM_BUCKETS) would not spare
 * them, so presize must not fire (it did, and the advice applied grew 16 times the bytes).
 * Built with -DFIXED, uthash's own hash: the tables expand normally, hash must not fire, and
 * presize does (12 tables grown from empty to the same size). Prints
 * "index_table instances 12 grows G explicit 0 max 3000 grow_bytes B noexpand N". */
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

#define TABLES 12

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
	struct item *heads[TABLES], *it, *tmp;
	for (int t = 0; t < TABLES; t++)
		heads[t] = index_table();
	long sum = 0;
	unsigned stopped = 0, max = 0;
	for (int t = 0; t < TABLES; t++) {
		for (int k = t; k < ITEMS; k += 7) {
			HASH_FIND_INT(heads[t], &k, it);
			sum += it ? it->key : -1;
		}
		stopped += heads[t]->hh.tbl->noexpand != 0;
		if (HASH_COUNT(heads[t]) > max)
			max = HASH_COUNT(heads[t]);
	}
	printf("index_table instances %d grows %u explicit 0 max %u grow_bytes %u noexpand %u\n",
	       TABLES, grows, max, grow_bytes, stopped);
	printf("checksum %ld\n", sum);
	for (int t = 0; t < TABLES; t++) {
		HASH_ITER(hh, heads[t], it, tmp)
		{
			HASH_DEL(heads[t], it);
			free(it);
		}
	}
	return 0;
}
