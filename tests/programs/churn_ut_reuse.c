/* SPDX-License-Identifier: MIT */
/* reuse for uthash (tests/integration/churn.sh; built with -include mapprof/uthash.h): a dedup
 * table made and dropped on every call, many calls one after another. Built with -DFIXED, one
 * table is kept across calls: uthash frees its table when the last item goes (HASH_CLEAR or the
 * last HASH_DEL), so the fix keeps a sentinel item in it and deletes only the others; one
 * instance, and reuse must not fire. Prints
 * "dedup instances N grows G explicit 0 max M grow_bytes 0". */
#include <stdio.h>
#include <stdlib.h>
#include "uthash.h"
#include "churn_common.h"

#define CALLS 2000
#define DRAWS 40

struct item {
	int key;
	UT_hash_handle hh;
};

static unsigned instances, grows, max_elems;
#ifdef FIXED
static struct item *kept, sentinel = {.key = -1};
#endif

__attribute__((noinline)) static int dedup(unsigned *seed)
{
#ifdef FIXED
	if (!kept) {
		HASH_ADD_INT(kept, key, &sentinel); /* SITE_FIXED */
		instances++;
	}
	struct item **seen = &kept;
#else
	struct item *head = NULL, **seen = &head;
#endif
	int unique = 0;
	for (int i = 0; i < DRAWS; i++) {
		*seed = *seed * 1103515245u + 12345u;
		int k = (int)(*seed >> 8) % 64;
		struct item *it;
		HASH_FIND_INT(*seen, &k, it);
		if (!it) {
			it = malloc(sizeof(*it));
			it->key = k;
			if (!*seen)
				instances++;
			unsigned b = *seen ? (*seen)->hh.tbl->num_buckets : 0;
			HASH_ADD_INT(*seen, key, it); /* SITE */
			grows += b && (*seen)->hh.tbl->num_buckets != b;
			unique++;
		}
	}
	if (HASH_COUNT(*seen) > max_elems)
		max_elems = HASH_COUNT(*seen);
	struct item *it, *tmp;
	HASH_ITER(hh, *seen, it, tmp)
	{
		if (it->key >= 0) {
			HASH_DEL(*seen, it);
			free(it);
		}
	}
	return unique;
}

int main(void)
{
	other_work(8 << 20, 100);
	unsigned seed = 1;
	long sum = 0;
	for (int c = 0; c < CALLS; c++)
		sum += dedup(&seed);
	printf("dedup instances %u grows %u explicit 0 max %u grow_bytes 0\n", instances, grows,
	       max_elems);
	printf("checksum %ld\n", sum);
	return 0;
}
