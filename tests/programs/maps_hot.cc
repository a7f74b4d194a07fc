// SPDX-License-Identifier: MIT
// Threads that all grow large sets at once (tests/integration/maps.sh): their grow times add
// up to more than the run's duration, which the report took as "the time measured" (a site's
// grow time read as 368% of it with 32 threads). Usage: maps_hot [THREADS=32]; prints the
// elements inserted.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unordered_set>
#include <vector>

__attribute__((noinline)) static size_t build(int n, uint64_t seed)
{
	std::unordered_set<uint64_t> s;
	for (int i = 0; i < n; i++)
		s.insert(seed * 977 + (uint64_t)i);
	return s.size();
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? std::atoi(argv[1]) : 32;
	std::vector<std::thread> all;
	std::vector<size_t> got((size_t)threads);
	for (int k = 0; k < threads; k++)
		all.emplace_back([k, &got] {
			for (int r = 0; r < 2; r++)
				got[(size_t)k] += build(150000, (uint64_t)k * 10 + (uint64_t)r);
		});
	size_t sum = 0;
	for (int k = 0; k < threads; k++) {
		all[(size_t)k].join();
		sum += got[(size_t)k];
	}
	std::printf("inserted %zu\n", sum);
	return 0;
}
