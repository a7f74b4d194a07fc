/* SPDX-License-Identifier: MIT */
/* uthash tables that could not be made (tests/integration/maps.sh). Built with
 * -DHASH_NONFATAL_OOM=1 and mapprof/uthash.h force-included. fail_make's tables start with 2^31
 * buckets (32 GiB, beyond the address-space limit set here): the table block is allocated, its
 * bucket array is not, and uthash frees the table again with no item in it; the add fails and
 * no table ever existed. Then good tables at another site, counted by watching num_buckets.
 * Prints "failed F tables T grows G". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static long ooms;
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(e) ooms++
#include <uthash.h>

struct item {
	int key;
	UT_hash_handle hh;
};

#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS_LOG2 31U
#define HASH_INITIAL_NUM_BUCKETS      (1U << 31)

static __attribute__((noinline)) int fail_make(struct item *it)
{
	struct item *head = NULL;
	HASH_ADD_INT(head, key, it);
	return head != NULL;
}

#undef HASH_INITIAL_NUM_BUCKETS
#undef HASH_INITIAL_NUM_BUCKETS_LOG2
#define HASH_INITIAL_NUM_BUCKETS_LOG2 5U
#define HASH_INITIAL_NUM_BUCKETS      32U

static __attribute__((noinline)) unsigned good_table(int n)
{
	struct item *head = NULL, *it, *tmp;
	unsigned grows = 0;
	for (int k = 0; k < n; k++) {
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
	/* 32 GiB cannot be had under a 4 GiB address space, whatever the machine's memory */
	struct rlimit rl = {(rlim_t)4 << 30, (rlim_t)4 << 30};
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 2;
	struct item items[10];
	int made = 0;
	for (int i = 0; i < 10; i++) {
		items[i].key = i;
		made += fail_make(&items[i]);
	}
	unsigned grows = 0;
	for (int i = 0; i < 5; i++)
		grows += good_table(300);
	printf("failed %ld tables %d grows %u\n", ooms, made + 5, grows);
	return 0;
}
