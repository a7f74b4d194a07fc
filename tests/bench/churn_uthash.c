/* SPDX-License-Identifier: MIT */
/* Map churn with uthash: NMAPS maps of 1..MAXITEMS items (item and key each malloc'd) are
 * filled, looked up 8 times and freed. With 1..64 items uthash's 32-bucket table never
 * expands, so MAXITEMS 256 is what makes it grow. Built with -include mapprof/uthash.h when the
 * repo has that header (map tracking), else with plain <uthash.h>.
 * Usage: churn_uthash [NMAPS=100000] [MAXITEMS=256] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "bench_common.h"

struct item {
	char *key;
	long value;
	UT_hash_handle hh;
};

static uint64_t churn_one(uint64_t *rng, long maxitems)
{
	struct item *map = NULL, *it, *tmp;
	long n = 1 + (long)(bench_rand(rng) % (uint64_t)maxitems);
	uint64_t h = 0;
	char key[32];

	for (long i = 0; i < n; i++) {
		it = malloc(sizeof(*it));
		int len = snprintf(key, sizeof(key), "key-%ld", i);
		it->key = malloc((size_t)len + 1);
		memcpy(it->key, key, (size_t)len + 1);
		it->value = i * 7;
		HASH_ADD_KEYPTR(hh, map, it->key, (unsigned)len, it);
	}
	for (int k = 0; k < 8; k++) {
		long want = (long)(bench_rand(rng) % (uint64_t)(n + 2)); /* some misses */
		int len = snprintf(key, sizeof(key), "key-%ld", want);
		HASH_FIND(hh, map, key, (unsigned)len, it);
		h = bench_mix(h, it ? (uint64_t)it->value : 0xffff);
	}
	h = bench_mix(h, HASH_COUNT(map));
	HASH_ITER(hh, map, it, tmp)
	{
		HASH_DEL(map, it);
		free(it->key);
		free(it);
	}
	return h;
}

int main(int argc, char **argv)
{
	long nmaps = bench_arg(argc, argv, 1, 100000);
	long maxitems = bench_arg(argc, argv, 2, 256);
	uint64_t rng = 0x9e3779b97f4a7c15ULL, h = 0;

	if (maxitems < 1)
		maxitems = 1;
	for (long m = 0; m < nmaps; m++)
		h = bench_mix(h, churn_one(&rng, maxitems));
	bench_print("churn_uthash", h);
	return 0;
}
