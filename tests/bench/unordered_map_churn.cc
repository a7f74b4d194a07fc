// SPDX-License-Identifier: MIT
// Map churn with std::unordered_map<std::string, int> and no reserve(): NMAPS maps of
// 1..MAXITEMS items, so each map rehashes through the prime bucket counts (about 4 rehashes a
// map), each looked up LOOKUPS times before it dies. With the default 8 lookups the maps are
// mostly filled and dropped: about 500k rehashes a second on the benchmark VM (2-core AMD EPYC),
// the heavier load. LOOKUPS 128 (one per element, on average) reads them about as often as they
// were filled: about 300k rehashes a second there, the map-growth issue's load for its speed
// target. The checksum line ends with the rehash count (bucket_count changes, counted by the
// program itself), from which scripts/bench.py gives the rate.
// Usage: unordered_map_churn [NMAPS=100000] [MAXITEMS=256] [LOOKUPS=8]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include "bench_common.h"

static uint64_t churn_one(uint64_t *rng, long maxitems, long lookups, long *rehashes)
{
	std::unordered_map<std::string, int> map;
	long n = 1 + (long)(bench_rand(rng) % (uint64_t)maxitems);
	uint64_t h = 0;

	for (long i = 0; i < n; i++) {
		size_t before = map.bucket_count();
		map.emplace("key-" + std::to_string(i), (int)(i * 7));
		*rehashes += map.bucket_count() != before;
	}
	for (long k = 0; k < lookups; k++) {
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
	long lookups = bench_arg(argc, argv, 3, 8);
	long rehashes = 0;
	uint64_t rng = 0x9e3779b97f4a7c15ULL, h = 0;

	if (maxitems < 1)
		maxitems = 1;
	for (long m = 0; m < nmaps; m++)
		h = bench_mix(h, churn_one(&rng, maxitems, lookups, &rehashes));
	printf("checksum unordered_map_churn %016llx rehashes %ld\n", (unsigned long long)h,
	       rehashes);
	return 0;
}
