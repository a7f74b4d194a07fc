// SPDX-License-Identifier: MIT
// Map churn with std::unordered_map<std::string, int> and no reserve(): NMAPS maps of
// 1..MAXITEMS items, so each map rehashes through the prime bucket counts (about 4 rehashes a
// map, ~300k rehashes a second). Usage: unordered_map_churn [NMAPS=100000] [MAXITEMS=256]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include "bench_common.h"

static uint64_t churn_one(uint64_t *rng, long maxitems)
{
	std::unordered_map<std::string, int> map;
	long n = 1 + (long)(bench_rand(rng) % (uint64_t)maxitems);
	uint64_t h = 0;

	for (long i = 0; i < n; i++)
		map.emplace("key-" + std::to_string(i), (int)(i * 7));
	for (int k = 0; k < 8; k++) {
		long want = (long)(bench_rand(rng) % (uint64_t)(n + 2));
		auto it = map.find("key-" + std::to_string(want));
		h = bench_mix(h, it != map.end() ? (uint64_t)it->second : 0xffff);
	}
	return bench_mix(h, map.size() * 1000 + map.bucket_count());
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
	bench_print("unordered_map_churn", h);
	return 0;
}
