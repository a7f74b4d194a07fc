/* SPDX-License-Identifier: MIT */
/* presize for uthash (tests/integration/churn.sh; built with -include mapprof/uthash.h): many
 * tables filled to the same size from uthash's 32 initial buckets, each expanding several times.
 * Built with -DFIXED, the file applies the report's own suggestion (HASH_INITIAL_NUM_BUCKETS
 * redefined after uthash.h, with the log2 the report suggests for ELEMS items), so the tables
 * never expand and presize must not fire. Prints
 * "load_table instances N grows G explicit 0 max M grow_bytes B", counted by the program itself
 * (tbl->num_buckets watched around every add). */
#include <stdio.h>
#include <stdlib.h>
#include "uthash.h"
#include "churn_common.h"

#ifdef FIXED
/* The log2 the report suggests for ELEMS (1000) items; churn.sh also builds this file with the
 * log2 read from the report (-DFIXED_LOG2=k). */
#ifndef FIXED_LOG2
#define FIXED_LOG2 9
#endif
#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS      (1U << FIXED_LOG2)
#define HASH_INITIAL_NUM_BUCKETS_LOG2 FIXED_LOG2
#endif

#ifndef TABLES /* churn.sh also builds 12 tables of 100000 items */
#define TABLES 64
#endif
#ifndef ELEMS
#define ELEMS 1000
#endif
/* Item k's key in table t (the big build gives every table keys of its own) */
#ifndef KEY
#define KEY(k, t) ((k)*13)
#endif

struct item {
	int key, value;
	UT_hash_handle hh;
};

static unsigned grows;
static size_t grow_bytes;

__attribute__((noinline)) static void load_table(struct item **head, int t)
{
	(void)t;
	for (int k = 0; k < ELEMS; k++) {
		struct item *it = malloc(sizeof(*it));
		it->key = KEY(k, t);
		it->value = k;
		unsigned b = *head ? (*head)->hh.tbl->num_buckets : 0;
		HASH_ADD_INT(*head, key, it); /* SITE */
		if (b && (*head)->hh.tbl->num_buckets != b) {
			grows++;
			grow_bytes += (*head)->hh.tbl->num_buckets * sizeof(UT_hash_bucket);
		}
	}
}

int main(void)
{
	other_work(8 << 20, 100);
	struct item *tables[TABLES] = {0}; /* all alive at once: no reuse */
	long sum = 0;
	for (int t = 0; t < TABLES; t++) {
		load_table(&tables[t], t);
		int k = KEY(t, t);
		struct item *it;
		HASH_FIND_INT(tables[t], &k, it);
		sum += it->value;
	}
	for (int t = 0; t < TABLES; t++) {
		struct item *it, *tmp, *all = tables[t];
		HASH_CLEAR(hh, tables[t]); /* frees the table while it still counts ELEMS items */
		for (it = all; it; it = tmp) {
			tmp = it->hh.next;
			free(it);
		}
	}
	printf("load_table instances %d grows %u explicit 0 max %d grow_bytes %zu\n", TABLES, grows,
	       ELEMS, grow_bytes);
	printf("checksum %ld\n", sum);
	return 0;
}
